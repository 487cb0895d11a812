"""An emulator of the Telegram Bot API, for python-telegram-bot 22 on loopback.

Independent clients work unmodified too (``tests/sandbox/test_telegram_peers.py``): aiogram 3
with ``AiohttpSession(api=TelegramAPIServer.from_base(server.url))``, pyTelegramBotAPI with
``apihelper.API_URL = f"{server.url}/bot{{0}}/{{1}}"`` (and ``FILE_URL``).

The bot side is the real wire protocol: ``POST /bot<token>/<method>`` (GET works
too; method names are case-insensitive, as on Telegram) and file downloads at
``GET /file/bot<token>/<file_path>``. Point PTB at it with both URLs, or file
downloads still go to api.telegram.org::

    Application.builder().token(token)
        .base_url(f"{server.url}/bot").base_file_url(f"{server.url}/file/bot")

Parameters may come as a query string, urlencoded or multipart form (what PTB
sends: non-string values JSON-encoded, so ``reply_markup`` is a JSON string) or
a JSON body. Answers are ``200 {"ok": true, "result": ...}``; errors carry the
real HTTP status, because PTB ignores ``ok`` and maps the status code
(400 BadRequest, 401 InvalidToken, 403 Forbidden, 409 Conflict, 429 RetryAfter
via ``parameters.retry_after``, anything else NetworkError).

What is faithful on purpose:

* ``getUpdates`` long-polls on a Condition; ``offset`` confirms every update
  below it, so anything fetched but not confirmed is delivered again on the next
  call (a bot killed mid-handler sees its update again); a negative offset keeps
  the last ``|offset|``; ``allowed_updates`` is sticky and, as on Telegram, only
  decides which *new* updates are created; a second poll terminates the first
  with 409, and so does an active webhook.
* Message ids grow per chat, update ids grow globally, dates are UTC seconds
  from ``clock``. User messages starting ``/cmd`` carry a ``bot_command`` entity
  (UTF-16 offsets), or PTB's CommandHandler never matches.
* Validation with Telegram's own descriptions: text 1-4096 characters after
  entity parsing, caption <= 1024, ``callback_data`` 1-64 UTF-8 bytes
  (``BUTTON_DATA_INVALID``), HTML/MarkdownV2 parse errors ("can't parse
  entities"), chat not found, 403 for a user who blocked the bot, "message is not
  modified", "message to edit not found", a callback query answered twice.
* Files: every file field takes an uploaded part, ``attach://<part>`` (how aiogram always
  uploads), a file_id or a URL (refused: no internet); ``sendMediaGroup`` takes up to 10
  photos or documents. A document's ``mime_type`` is the part's type, or, when the client
  gave none or ``application/octet-stream``, the one its name implies. Photos are kept in
  Telegram's sizes (90, 320, 800, 1280 px sides, stopping at the original) from the real
  PNG/JPEG/GIF/WebP size; a non-image is ``IMAGE_PROCESS_FAILED``. ``getFile`` refuses
  files over 20 MB ("file is too big"); a request body over 50 MB gets 413.
* ``editMessageText`` without ``reply_markup`` removes the inline keyboard, as
  Telegram does.
* In groups the bot is in privacy mode (``group_privacy=True``): it only gets
  commands, mentions of itself and replies to its messages.

The control side plays Telegram users, in process (``send_text``,
``edit_text``, ``send_document``, ``send_photo``, ``press_button``,
``block_bot``, ``sent``, ``wait_for_sent``, ...) and over HTTP (never counted,
never faulted):

* ``POST /_sandbox/users/{id}/messages`` ``{"text": "3500 реклама"}``, optional
  ``chat_id`` (negative, a group), ``chat_type`` ("group"/"supergroup"), ``title``,
  ``first_name``, ``username``, ``date``, ``reply_to_message_id``
* ``POST /_sandbox/users/{id}/edits`` ``{"message_id": 5, "text": "3600 реклама", "chat_id": ..}``
* ``POST /_sandbox/users/{id}/documents`` ``{"filename": "bill.pdf", "content_base64": "..",
  "mime_type": "application/pdf", "caption": ..}`` (or multipart with a file part ``document``)
* ``POST /_sandbox/users/{id}/photos`` ``{"content_base64": "..", "caption": ..}`` (or a
  file part ``photo``); the size is read from the image, or ``width``/``height``
* ``POST /_sandbox/users/{id}/albums`` 2-10 file parts (or ``{"files": [{"filename": ..,
  "content_base64": ..}]}``), ``caption``, ``kind`` ("document" or "photo"): one message
  per file sharing a ``media_group_id``, the caption on the first
* ``POST /_sandbox/users/{id}/press`` ``{"message_id": 7, "callback_data": "cat:e91:3"}``
* ``POST /_sandbox/users/{id}/chat`` ``{"first_name": ..., "username": ...}`` opens a private chat
  without a message (so the bot may write first, as after /start)
* ``POST /_sandbox/users/{id}/block`` / ``DELETE /_sandbox/users/{id}/block``
* ``GET /_sandbox/chats/{id}/sent[?count=N&timeout=S]`` the bot's messages (current
  text and markup after edits); with ``count`` it waits for that many (408 on timeout)
* ``GET /_sandbox/chats/{id}/messages`` the whole chat, users and bot
* ``GET /_sandbox/callback_answers``; ``GET /_sandbox/updates`` pending updates and
  the confirmed offset; ``GET /_sandbox/files/{file_id}`` a stored file's bytes
* ``POST /_sandbox/rate_limit`` ``{"retry_after": 3, "count": 1, "match": "sendMessage"}``
  the next matching calls get 429 with ``parameters.retry_after``
* ``POST /_sandbox/webhook`` ``{"url": ...}`` as if another deployment set a webhook

Known gaps: no inline mode, payments, video/audio, stickers; reply keyboards are
validated loosely and not shown in messages; entities are not produced for
``parse_mode`` text (``text`` holds the visible text); a photo's smaller sizes serve the
uploaded bytes (nothing is resampled or re-encoded); no automatic flood control (script
429s instead).

Where things live: ``wire`` (routes, parameters, answers, errors), ``entities`` (text,
commands, HTML/MarkdownV2), ``markup`` (inline keyboards), ``files`` (file records and the
objects messages carry), ``state`` (what both sides share, auth, faults, persistence),
``methods`` and ``media`` (the Bot API), ``people`` and ``control`` (the users, in process and
over HTTP), ``emulator`` (all of it in one class).
"""

from sheetledger.sandbox.telegram.emulator import TelegramEmulator
from sheetledger.sandbox.telegram.wire import BotAPIError, TelegramTimeout

__all__ = ["BotAPIError", "TelegramEmulator", "TelegramTimeout"]
