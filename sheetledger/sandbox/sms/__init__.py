"""An emulator of two Russian SMS gateways, sms.ru and SMSC.ru, with their real wire shapes.

One account answers both protocols on one loopback port (``smsru``: ``/sms/send``,
``/sms/status``, ``/my/balance``; ``smsc``: ``/sys/send.php``, ``/sys/balance.php``). Both
answer HTTP 200 with the outcome inside the body, bill per SMS part (``segments``), refuse
a bad key, a bad phone and a request the balance cannot pay, and treat the same text to the
same phone within a minute as a duplicate (sms.ru 231, SMSC 9). An outage is scripted with
the common faults (``fail_next(503)``, ``drop_next``) or, for sms.ru's own code 220,
``unavailable = True``.

What was delivered: ``SmsEmulator.messages()`` in-process, ``GET /_sandbox/messages`` over
HTTP (``?to=`` one phone), ``DELETE /_sandbox/messages`` to forget them; ``POST
/_sandbox/account {"balance": "0", "unavailable": true, "stop_list": [...]}`` sets the account.
"""

from __future__ import annotations

from sheetledger.sandbox.sms.core import normalize_phone
from sheetledger.sandbox.sms.segments import is_gsm7, segments
from sheetledger.sandbox.sms.smsc import SMSC_ERRORS, Smsc
from sheetledger.sandbox.sms.smsru import SMS_RU_CODES, SmsRu

__all__ = [
    "SMSC_ERRORS",
    "SMS_RU_CODES",
    "SmsEmulator",
    "is_gsm7",
    "normalize_phone",
    "segments",
]


class SmsEmulator(SmsRu, Smsc):
    """One SMS account behind sms.ru's and SMSC's HTTP APIs."""
