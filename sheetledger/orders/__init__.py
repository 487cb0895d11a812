"""Payment orders: bills to pay, from the bot and the Requests tab to the accountant and amoCRM."""
