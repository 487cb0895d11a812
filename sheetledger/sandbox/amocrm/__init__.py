"""An emulator of amoCRM API v4: account, users, pipelines, fields, loss reasons, leads, notes.

It answers the way the real service does (``docs/api-notes.md``, checked
against ``tests/fixtures/amocrm/``):

* HAL envelopes (``_page``, ``_links.self/next/first/prev``, ``_embedded``), successes as
  ``application/hal+json``, errors as ``application/problem+json``, non-ASCII escaped as
  ``\\uXXXX`` like the recorded real payloads;
* **an empty result is 204 with an empty body** — an empty list, a page past the end, a lead
  id that does not exist (``GET /api/v4/leads/{id}`` → 204, as the docs say);
* leads and notes lists carry ``next`` whenever a page is full, so ``next`` can lead to a
  204 page (GH#193), while custom fields and users know their totals
  (``_total_items``/``_page_count``); custom fields come at most 50 a page;
* writes are validated as a whole batch: any problem → the real 400 ``validation-errors``
  body and nothing applied; numeric values read back as strings, dates as local midnight of
  the account time zone, ``custom_fields_values`` is ``null`` when nothing is filled;
* more than 7 requests in any one second → 429 with nginx's HTML page and no
  ``Retry-After`` (GH#526); ``blocked`` → nginx's HTML 403 for every request;
* timestamps are unix seconds from the injected ``clock`` (``ManualClock`` in tests).

``seed_amocrm`` (``sandbox/seed.py``) builds the furniture account on top of it with the
in-process helpers (``add_user``, ``add_pipeline``, ``add_field``, ``add_lead``).

The package, one file per resource: ``wire`` (bodies, query parsing, validation problems),
``tokens`` (long-lived JWTs), ``core`` (state, tokens, rate limit, faults, paging),
``users`` (and the account), ``pipelines``, ``fields``, ``loss_reasons``, ``leads``, ``notes``.
"""

from __future__ import annotations

from sheetledger.sandbox.amocrm.fields import FIELD_TYPES
from sheetledger.sandbox.amocrm.leads import Leads
from sheetledger.sandbox.amocrm.notes import NOTE_TYPES, Notes
from sheetledger.sandbox.amocrm.pipelines import STATUS_LOST, STATUS_WON
from sheetledger.sandbox.amocrm.tokens import public_key_pem, token_claims
from sheetledger.sandbox.amocrm.users import Users
from sheetledger.sandbox.amocrm.wire import AmoValidationFailed, ManualClock, local_date

__all__ = [
    "FIELD_TYPES",
    "NOTE_TYPES",
    "STATUS_LOST",
    "STATUS_WON",
    "AmoEmulator",
    "AmoValidationFailed",
    "ManualClock",
    "local_date",
    "public_key_pem",
    "token_claims",
]


class AmoEmulator(Notes, Leads, Users):
    """A stateful amoCRM account behind API v4, with a long-lived token."""
