"""Reconciliation: the ledger against amoCRM and itself, and what keeps it safe.

* ``findings`` the pure planner: snapshots in, findings with stable codes out;
* ``track``    first/last seen, muted by a person's Seen tick, resolved (pure);
* ``run``      the shell: amoCRM read in bulk, the Reconciliation tab written once;
* ``command``  the CLI command's body.
"""
