"""Restoring the ledger from amoCRM (``sheetledger rebuild``), and noticing when it is needed.

* ``notes``   amoCRM's marker notes read back as confirmation events;
* ``plan``    the pure plan: the pull planner's rows plus the notes' confirmations;
* ``run``     the shell that reads amoCRM and writes the ledger once;
* ``guard``   a deleted or emptied tab stops the sync and says to rebuild;
* ``command`` the CLI command's body.
"""
