"""The sandbox seen in a browser: the spreadsheets, amoCRM, the Telegram chats and the SMS.

``sheetledger sandbox`` (and ``sheetledger demo --keep``) serves it on 127.0.0.1 and prints
its address with a token. A newcomer sees the ledger the way the people of the business
do (the accountant's cabinet with its yellow columns and checkboxes, the manager's deal
card with the notes the daemon wrote, the owner's chat with the bot) and acts as them,
through the emulators' own control side. The page refreshes itself within a second of a
change, so with ``sheetledger run`` going in another terminal it shows the daemon's answer.

Server-rendered HTML and one small script; every asset ships in the package
(``templates/``, ``static/``), nothing is fetched from the internet.

* ``server`` the HTTP side (token, loopback, routes); ``actions`` what a person does;
* ``grid`` a tab as display cells (formats, checkboxes, protection, pivots, charts' data)
  and ``chart`` a chart as an SVG picture; ``sheets_view``, ``crm_view``, ``chat_view``,
  ``service_view`` the four views; ``html`` escaping and templates.
"""

from sheetledger.sandbox.web.server import WebPage

__all__ = ["WebPage"]
