"""Notifications of payment orders: planned (``plan``, ``texts``), queued and sent (``outbox``).

``outbox.OrderNotifier`` is the production ``OrderNews``: ``tell(order, event)`` queues each
message in ``state.db`` once per order, event, channel and recipient; the daemon's ``notify``
job flushes the queue through the Telegram (``telegram``) and SMS (``sms``) adapters.
"""
