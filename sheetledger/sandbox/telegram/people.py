"""Telegram users in process: they write, edit, send files, press buttons, block the bot.

And what tests observe: what the bot sent, waits on the emulator's Condition (no sleeping).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sheetledger.sandbox.telegram.entities import command_entities
from sheetledger.sandbox.telegram.files import document_mime, document_object, image_size
from sheetledger.sandbox.telegram.state import MAX_ALBUM, TelegramState, without_reply
from sheetledger.sandbox.telegram.wire import JSON, TelegramTimeout, copy_json


class People(TelegramState):
    """The users who talk to the bot, and the tests' view of the chats."""

    # -- control side: users act ----------------------------------------------------------

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name or f"User{user_id}",
                "language_code": "ru",
            }
            self.users[user_id] = user
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        return user

    def _user_chat(
        self, user: JSON, chat_id: int | None, chat_type: str, title: str | None
    ) -> JSON:
        if chat_id is None or chat_id == user["id"]:
            chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            self.chats[user["id"]] = chat
            return chat
        existing = self.chats.get(chat_id)
        if existing is None:
            if chat_type not in ("group", "supergroup"):
                raise ValueError(f"chat {chat_id} needs chat_type 'group' or 'supergroup'")
            if chat_id >= 0:
                raise ValueError(f"group chat ids are negative, got {chat_id}")
            existing = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}
            self.chats[chat_id] = existing
        elif title:
            existing["title"] = title
        return existing

    def open_chat(
        self, user_id: int, *, first_name: str | None = None, username: str | None = None
    ) -> JSON:
        """The user's private chat with the bot exists (they pressed Start); returns the Chat."""
        with self.lock:
            user = self._user(user_id, first_name, username)
            return dict(self._user_chat(user, None, "private", None))

    def _reaches_bot(self, chat: JSON, message: JSON) -> bool:
        """Privacy mode: in groups a bot only sees commands, mentions and replies to itself."""
        if chat["type"] == "private" or not self.group_privacy:
            return True
        text = message.get("text") or message.get("caption") or ""
        replied = message.get("reply_to_message", {}).get("from", {}).get("id")
        return (
            text.startswith("/")
            or f"@{self.bot_user['username']}".lower() in text.lower()
            or replied == self.bot_user["id"]
        )

    def _user_message(
        self,
        user_id: int,
        content: JSON,
        *,
        chat_id: int | None,
        chat_type: str,
        title: str | None,
        first_name: str | None,
        username: str | None,
        date: int | None,
        reply_to_message_id: int | None,
    ) -> JSON:
        user = self._user(user_id, first_name, username)
        chat = self._user_chat(user, chat_id, chat_type, title)
        # Writing to a bot you blocked means pressing "Restart", which unblocks it.
        if chat["type"] == "private":
            self.blocked.discard(user_id)
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": dict(user),
            "chat": dict(chat),
            "date": int(date) if date is not None else self._now(),
            **content,
        }
        if reply_to_message_id is not None:
            original = self._find_message(chat["id"], reply_to_message_id)
            if original is None:
                raise LookupError(f"no message {reply_to_message_id} in chat {chat['id']}")
            message["reply_to_message"] = without_reply(original)
        self._store(message)
        if self._reaches_bot(chat, message):
            self._push_update("message", message)
        else:
            self.dropped_updates += 1
        return copy_json(message)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
        date: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user writes ``text`` (to the bot, or in group ``chat_id``); returns the Message."""
        content: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        with self.lock:
            return self._user_message(
                user_id,
                content,
                chat_id=chat_id,
                chat_type=chat_type,
                title=title,
                first_name=first_name,
                username=username,
                date=date,
                reply_to_message_id=reply_to_message_id,
            )

    def edit_text(
        self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None
    ) -> JSON:
        """The user edits their message: an ``edited_message`` update; returns the Message."""
        with self.lock:
            chat_key = user_id if chat_id is None else chat_id
            message = self._find_message(chat_key, message_id)
            if message is None or message["from"]["id"] != user_id:
                raise LookupError(f"user {user_id} has no message {message_id} in chat {chat_key}")
            message["text"] = new_text
            message["edit_date"] = self._now()
            entities = command_entities(new_text)
            if entities:
                message["entities"] = entities
            else:
                message.pop("entities", None)
            self._push_update("edited_message", message)
            return copy_json(message)

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """The user sends a file; the bot can getFile and download it. Returns the Message."""
        with self.lock:
            stored = self._store_file(
                content,
                kind="document",
                file_name=filename,
                mime_type=document_mime(mime_type, filename),
            )
            body: JSON = {"document": document_object(stored)}
            if caption:
                body["caption"] = caption
            return self._user_message(
                user_id,
                body,
                chat_id=chat_id,
                chat_type=chat_type,
                title=None,
                first_name=first_name,
                username=username,
                date=None,
                reply_to_message_id=None,
            )

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """The user sends a photo; returns the Message, its ``photo`` in Telegram's sizes.

        The size is read from the image (PNG, JPEG, GIF, WebP); ``width``/``height`` override
        it, for content that is not an image. Raises ``ValueError`` when neither gives one.
        """
        size = image_size(content)
        if width is not None and height is not None:
            size = (width, height)
        if size is None:
            raise ValueError("a photo must be a PNG, JPEG, GIF or WebP image (or give its size)")
        with self.lock:
            stored = self._store_photo(content, *size)
            body: JSON = {"photo": self._photo_sizes(stored)}
            if caption:
                body["caption"] = caption
            return self._user_message(
                user_id,
                body,
                chat_id=chat_id,
                chat_type=chat_type,
                title=None,
                first_name=first_name,
                username=username,
                date=None,
                reply_to_message_id=None,
            )

    def send_album(
        self,
        user_id: int,
        files: Sequence[tuple[str, bytes]],
        caption: str | None = None,
        *,
        kind: str = "document",
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
    ) -> list[JSON]:
        """The user sends 2-10 files at once, as ``kind`` "document" or "photo" (not both).

        Telegram delivers an album as one message (and one update) per file, sharing a
        ``media_group_id``, the caption on the first: a bot that wants the whole album
        gathers them. ``files`` are ``(file name, bytes)``; photos must be images.
        """
        if not 2 <= len(files) <= MAX_ALBUM:
            raise ValueError(f"an album holds 2 to {MAX_ALBUM} files, got {len(files)}")
        if kind not in ("document", "photo"):
            raise ValueError(f"an album is of documents or photos, not {kind!r}")
        photo_sizes = [image_size(content) for _, content in files]
        if kind == "photo" and None in photo_sizes:
            raise ValueError("a photo must be a PNG, JPEG, GIF or WebP image")
        with self.lock:
            group_id = str(13_000_000_000_000_000 + self._next_seq())
            messages = []
            for number, ((name, content), size) in enumerate(zip(files, photo_sizes, strict=True)):
                body: JSON = {"media_group_id": group_id}
                if kind == "photo" and size is not None:
                    body["photo"] = self._photo_sizes(self._store_photo(content, *size))
                else:
                    stored = self._store_file(
                        content,
                        kind="document",
                        file_name=name,
                        mime_type=document_mime(None, name),
                    )
                    body["document"] = document_object(stored)
                if caption and number == 0:
                    body["caption"] = caption
                message = self._user_message(
                    user_id,
                    body,
                    chat_id=chat_id,
                    chat_type=chat_type,
                    title=None,
                    first_name=first_name,
                    username=username,
                    date=None,
                    reply_to_message_id=None,
                )
                messages.append(message)
            return messages

    def press_button(
        self, user_id: int, message_id: int, callback_data: str, chat_id: int | None = None
    ) -> JSON:
        """The user taps an inline button of a bot message: a ``callback_query`` update.

        Raises ``LookupError`` when the message (as it is now, after edits) has no such button.
        """
        with self.lock:
            chat_key = user_id if chat_id is None else chat_id
            message = self._find_message(chat_key, message_id)
            if message is None or message["from"]["id"] != self.bot_user["id"]:
                raise LookupError(f"no bot message {message_id} in chat {chat_key}")
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            buttons = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in buttons:
                raise LookupError(
                    f"message {message_id} in chat {chat_key} has no button {callback_data!r};"
                    f" its buttons: {[b for b in buttons if b is not None]}"
                )
            user = self._user(user_id, None, None)
            query_id = str(4_382_000_000_000_000_000 + self._next_seq())
            query = {
                "id": query_id,
                "from": dict(user),
                "message": copy_json(message),
                "chat_instance": str(-(7_755_010_283_474_538_001 + abs(chat_key))),
                "data": callback_data,
            }
            self.callback_queries[query_id] = {
                "user_id": user_id,
                "data": callback_data,
                "answered": False,
            }
            self._push_update("callback_query", query)
            return copy_json(query)

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: sends to their chat get 403 until they write again."""
        with self.lock:
            self.blocked.add(user_id)

    def unblock_bot(self, user_id: int) -> None:
        with self.lock:
            self.blocked.discard(user_id)

    def remove_bot_from_chat(self, chat_id: int) -> None:
        """The bot is kicked from a group: sends there get 403."""
        with self.lock:
            self.blocked.add(chat_id)

    # -- control side: observing -----------------------------------------------------------

    def _sent_now(self, chat_id: int) -> list[JSON]:
        stored = self.messages.get(chat_id, {})
        ids = self.bot_message_ids.get(chat_id, [])
        return [copy_json(stored[i]) for i in ids if i in stored]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """What the bot sent to ``chat_id``, oldest first, as it is now (after edits)."""
        with self.lock:
            return self._sent_now(chat_id)

    def chat_history(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of the chat, the users' and the bot's, by message id."""
        with self.lock:
            stored = self.messages.get(chat_id, {})
            return [copy_json(stored[i]) for i in sorted(stored)]

    def wait_for_sent(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Block until the bot's messages in ``chat_id`` matching ``predicate`` number ``count``.

        Returns those messages; raises ``TelegramTimeout`` listing what was sent.
        """
        matches: list[JSON] = []

        def ready() -> bool:
            nonlocal matches
            matches = [m for m in self._sent_now(chat_id) if predicate is None or predicate(m)]
            return len(matches) >= count

        with self.cond:
            if not self.cond.wait_for(ready, timeout):
                texts = [m.get("text", m.get("caption")) for m in self._sent_now(chat_id)]
                raise TelegramTimeout(
                    f"chat {chat_id}: wanted {count} matching bot message(s) within {timeout}s, "
                    f"got {len(matches)}; the bot sent: {texts}"
                )
            return matches

    def wait_for_answers(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` callback queries have been answered."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.callback_answers) >= count, timeout):
                raise TelegramTimeout(
                    f"wanted {count} answered callback queries, got {len(self.callback_answers)}"
                )
            return list(self.callback_answers)

    def wait_until_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Block until the bot confirmed ``update_id`` (called getUpdates with a higher offset)."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.confirmed_offset > update_id, timeout):
                raise TelegramTimeout(
                    f"update {update_id} not confirmed within {timeout}s "
                    f"(confirmed offset {self.confirmed_offset})"
                )

    def wait_for_poll(self, timeout: float = 5.0) -> None:
        """Block until a getUpdates long poll is waiting for updates."""
        with self.cond:
            if not self.cond.wait_for(lambda: self._waiting_polls > 0, timeout):
                raise TelegramTimeout(f"no getUpdates long poll started within {timeout}s")

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates created and not yet confirmed by the bot (what getUpdates would return)."""
        with self.lock:
            return copy_json(self.updates)

    def file_content(self, file_id: str) -> bytes:
        with self.lock:
            return bytes(self.files[file_id]["content"])
