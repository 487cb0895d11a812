"""``OrderNotifier``: the production ``OrderNews`` — queue once, send once, when it may.

``tell(order, event)`` plans the messages (``plan.plan_news``) and adds them to the
``news_outbox`` of ``state.db`` under their natural key; a key already there is left
alone, so the cycles that tell the same thing again and again queue it once. A paid or
rejected order cancels what is still queued of its ``created`` news and reminders.

``flush()`` (the daemon's ``notify`` job) sends what is due. Each message is claimed
(``sending``, durable) just before its request and settled after (``sent``, ``failed`` …).
A message found ``sending`` at the start of a flush was cut off by a crash (``kill -9``
between the request and the record); it is judged by what its channel can tell:

* SMSC — looked up by the ``id`` it was sent with (``/sys/status.php``): found is sent,
  not found is sent now (a repeat inside the minute would be refused with error 9 anyway);
* sms.ru — no lookup exists; sent again only within ``DUPLICATE_GUARD`` seconds of the
  claim, where sms.ru refuses the identical text as a duplicate (231, counted as sent);
  later it is marked ``unsure`` and not sent again;
* Telegram — the Bot API can neither dedupe nor be asked: ``unsure``, not sent again
  (the order is in the accountant's Orders tab, and the overdue reminder follows).

An outage (``RetriableError`` / ``FatalError``) leaves the message ``queued``, tells the
watch once, and stops that channel for this flush; the next flush sends it, once. Quiet
hours hold SMS (not Telegram) until they end, in the business's time zone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sheetledger.config import Config
from sheetledger.errors import FatalError, RetriableError, SheetledgerError
from sheetledger.notify.plan import Channel, plan_news, quiet_until, stale_events
from sheetledger.notify.sms import DUPLICATE_GUARD, SmsGateway, SmsRefused
from sheetledger.notify.telegram import Card, Sent, TelegramNotices
from sheetledger.orders.model import Order, OrderEvent
from sheetledger.outage import TELEGRAM, OutageWatch
from sheetledger.store import LocalState

__all__ = ["FlushReport", "OrderNotifier"]

log = logging.getLogger("sheetledger.notify")

QUEUED, SENDING, SENT, FAILED, UNSURE = "queued", "sending", "sent", "failed", "unsure"


@dataclass
class FlushReport:
    """What one flush did, by outcome; ``held`` SMS wait for the end of the quiet hours."""

    sent: int = 0
    failed: int = 0
    unsure: int = 0
    held: int = 0
    waiting: int = 0  # left queued by an outage
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        parts = [f"{self.sent} sent"]
        for name in ("held", "waiting", "failed", "unsure"):
            value = getattr(self, name)
            if value:
                parts.append(f"{value} {name}")
        return ", ".join(parts)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OrderNotifier:
    """Queues the news of orders in ``store`` and sends it through Telegram and SMS.

    ``telegram``: the cards' sender (``TelegramNotices``); ``sms``: the gateway of
    ``orders.sms``, or None when no SMS is configured; ``watch``: the one outage watch;
    ``now``: the clock (tests and the sandbox drive it).
    """

    def __init__(
        self,
        config: Config,
        store: LocalState,
        *,
        telegram: TelegramNotices,
        sms: SmsGateway | None = None,
        watch: OutageWatch | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.config = config
        self.store = store
        self.telegram = telegram
        self.sms = sms
        self.watch = watch or OutageWatch()
        self.now = now

    # -- OrderNews ------------------------------------------------------------------------

    def tell(self, order: Order, event: OrderEvent) -> None:
        """Queue what ``event`` of ``order`` must tell (durable on return; sent by ``flush``)."""
        stale = stale_events(event)
        if stale:
            self.store.news_cancel(str(order.id), stale)
        notices = plan_news(order, event, self.config, self.now())
        if self.sms is None:
            notices = [n for n in notices if n.channel is not Channel.SMS]
        added = self.store.news_add(n.as_entry() for n in notices)
        if added:
            log.info("order %s %s: %d message(s) queued", order.id, event, len(added))

    # -- sending --------------------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Send what is due now; see the module's docstring for what each outcome means."""
        now = self.now()
        report = FlushReport()
        due = self.store.news_due(now.timestamp())
        sms_config = self.config.orders.sms
        quiet = quiet_until(now, sms_config.quiet_hours, self.config.tz) if sms_config else None
        sms_rows = [r for r in due if r["channel"] == Channel.SMS]
        tg_rows = [r for r in due if r["channel"] == Channel.TELEGRAM]
        if sms_rows and quiet is not None:
            report.held += len(sms_rows)
            log.debug("quiet hours: %d SMS wait until %s", len(sms_rows), quiet)
        elif sms_rows:
            self._flush_sms(sms_rows, now, report)
        if tg_rows:
            self._flush_telegram(tg_rows, report)
        return report

    def _outage(self, error: SheetledgerError, report: FlushReport, left: int) -> None:
        self.watch.failed_with(error)
        report.waiting += left
        report.problems.append(str(error))

    # -- SMS --------------------------------------------------------------------------------

    def _flush_sms(self, rows: list[dict[str, Any]], now: datetime, report: FlushReport) -> None:
        gateway = self.sms
        if gateway is None:  # SMS switched off since they were queued
            for row in rows:
                self.store.news_settle(row["key"], FAILED, error="orders.sms is not configured")
                report.failed += 1
            return
        for index, row in enumerate(rows):
            key, phone, text = row["key"], row["recipient"], row["body"]["text"]
            try:
                if row["state"] == SENDING and self._sms_already(gateway, row, now, report):
                    continue
                self.store.news_claim(key, now.timestamp())
                receipt = gateway.send(phone, text, key)
            except SmsRefused as exc:
                self.store.news_settle(key, FAILED, error=exc.detail)
                report.failed += 1
                log.warning("SMS of %s to %s refused: %s", row["order_id"], phone, exc.detail)
                continue
            except (RetriableError, FatalError) as exc:
                self.store.news_settle(key, QUEUED, error=str(exc))
                self._outage(exc, report, len(rows) - index)
                return
            self.store.news_settle(key, SENT, ref=receipt.ref)
            report.sent += 1
            if receipt.duplicate:
                log.info("SMS of %s to %s: the gateway had it already", row["order_id"], phone)
        self.watch.recovered(getattr(gateway, "service", "SMS"))

    def _sms_already(
        self, gateway: SmsGateway, row: dict[str, Any], now: datetime, report: FlushReport
    ) -> bool:
        """A claimed SMS whose answer a crash lost: True when it is settled without a send."""
        key, phone = row["key"], row["recipient"]
        found = gateway.was_sent(phone, row["body"]["text"], key)
        if found:
            self.store.news_settle(key, SENT, error="found after a restart")
            report.sent += 1
            return True
        if found is None and now.timestamp() - float(row["claimed"] or 0) > DUPLICATE_GUARD:
            detail = "the answer was lost and the gateway cannot be asked; not sent again"
            self.store.news_settle(key, UNSURE, error=detail)
            report.unsure += 1
            log.warning("SMS of %s to %s: %s", row["order_id"], phone, detail)
            return True
        return False  # not there (SMSC), or inside sms.ru's duplicate minute: send again

    # -- Telegram ---------------------------------------------------------------------------

    def _flush_telegram(self, rows: list[dict[str, Any]], report: FlushReport) -> None:
        cards = []
        for row in rows:
            if row["state"] == SENDING:
                detail = "the answer was lost (a restart); Telegram cannot be asked: not resent"
                self.store.news_settle(row["key"], UNSURE, error=detail)
                report.unsure += 1
                log.warning(
                    "Telegram message of %s to %s: %s", row["order_id"], row["recipient"], detail
                )
                continue
            body = row["body"]
            cards.append(
                Card(
                    key=row["key"],
                    chat=int(row["recipient"]),
                    text=str(body["text"]),
                    order_id=str(row["order_id"]),
                    buttons=bool(body.get("buttons")),
                    bill_link=str(body.get("bill_link") or ""),
                )
            )
        done: list[Card] = []

        def claim(card: Card) -> None:
            self.store.news_claim(card.key, self.now().timestamp())

        def settle(card: Card, outcome: Sent, detail: str) -> None:
            done.append(card)
            if outcome is Sent.SENT:
                self.store.news_settle(card.key, SENT, ref=detail)
                report.sent += 1
            elif outcome is Sent.REFUSED:
                self.store.news_settle(card.key, FAILED, error=detail)
                report.failed += 1
                log.warning(
                    "Telegram refused the message of %s to %s: %s", card.order_id, card.chat, detail
                )
            elif outcome is Sent.UNKNOWN:
                self.store.news_settle(card.key, UNSURE, error=detail)
                report.unsure += 1
            else:
                self.store.news_settle(card.key, QUEUED, error=detail)

        down = self.telegram.deliver(cards, claim, settle)
        if down is not None:
            self._outage(down, report, len(cards) - len(done) + 1)
        elif cards:
            self.watch.recovered(TELEGRAM)
