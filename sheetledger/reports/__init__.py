"""The management table: where each rouble went, per deal, month and dimension.

``inputs`` turns the ledger's rows into three frames (deals, receipts, costs) in whole
kopecks; ``figures`` computes the Profit, P&L and Dimensions tables from them, purely;
``tab_job`` is the daemon's thin shell that reads, recomputes when a source changed,
and writes the three tabs in one request.
"""
