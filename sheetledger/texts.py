"""Text cut into Telegram messages: one rule for the bot's replies and the digest."""

from __future__ import annotations

__all__ = ["MESSAGE_LIMIT", "split_text"]

MESSAGE_LIMIT = 4096  # Telegram's limit for a message's text (a caption has 1,024)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Plain text as messages of at most ``limit`` characters, cut between lines (a single
    line longer than a message is cut where the limit falls)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current.strip():
        parts.append(current)
    return parts or [text[:limit]]
