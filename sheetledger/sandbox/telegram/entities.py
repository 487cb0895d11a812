"""Message text as Telegram sees it: UTF-16 entity offsets, commands, HTML and MarkdownV2."""

from __future__ import annotations

import html
import re

from sheetledger.sandbox.telegram.wire import JSON, BotAPIError, bad

# fmt: off
HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
})
# fmt: on
# MarkdownV2 characters that are never markup outside code: unescaped, Telegram refuses the text.
MDV2_NEVER_MARKUP = frozenset("#+-={}.!")
MDV2_MARKUP = frozenset("*_~|`[]()>")
COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def utf16_len(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[JSON]:
    entities = []
    for match in COMMAND_RE.finditer(text):
        entities.append(
            {
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
                "type": "bot_command",
            }
        )
    return entities


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as the user sees it; Telegram's "can't parse entities" errors when malformed."""
    if not parse_mode:
        return text
    mode = parse_mode.lower()
    if mode == "html":
        return strip_html(text)
    if mode == "markdownv2":
        return strip_markdown_v2(text)
    if mode == "markdown":
        return (
            re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
            .replace("*", "")
            .replace("_", "")
            .replace("`", "")
        )
    raise bad(f"unsupported parse_mode {parse_mode}")


def entities_error(message: str) -> BotAPIError:
    return bad(f"can't parse entities: {message}")


def strip_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        offset = len(text[:i].encode())
        if char == "<":
            end = text.find(">", i)
            if end == -1:
                raise entities_error(f"Unclosed start tag at byte offset {offset}")
            inner = text[i + 1 : end]
            closing = inner.startswith("/")
            words = (inner[1:] if closing else inner).split()
            name = words[0].lower() if words else ""
            if not closing:
                if name not in HTML_TAGS:
                    raise entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
                stack.append(name)
            elif not stack:
                raise entities_error(f"Unexpected end tag at byte offset {offset}")
            elif name and name != stack[-1]:
                raise entities_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                    f'found "</{name}>"'
                )
            else:
                stack.pop()
            i = end + 1
        elif char == "&":
            entity = re.match(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);", text[i:])
            if entity:
                out.append(html.unescape(entity.group(0)))
                i += len(entity.group(0))
            else:  # Telegram keeps an unknown "&..." as typed
                out.append(char)
                i += 1
        else:
            out.append(char)
            i += 1
    if stack:
        raise entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def strip_markdown_v2(text: str) -> str:
    out: list[str] = []
    i = 0
    in_code = False
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == "`":
            in_code = not in_code
            i += 1
            continue
        if in_code:
            out.append(char)
        elif char == "]" and text[i + 1 : i + 2] == "(":
            close = text.find(")", i)  # a link's URL is not shown and needs no escaping
            if close == -1:
                offset = len(text[:i].encode())
                raise entities_error(f"Can't find end of a URL at byte offset {offset}")
            i = close
        elif char in MDV2_NEVER_MARKUP:
            raise entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        elif char not in MDV2_MARKUP:
            out.append(char)
        i += 1
    return "".join(out)
