"""The sync cycle: read the ledger, pull from amoCRM, plan, push, write."""
