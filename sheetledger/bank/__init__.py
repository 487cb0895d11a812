"""Bank statements: parse 1CClientBankExchange files, match their money to payments."""
