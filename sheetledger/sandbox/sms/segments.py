"""How many SMS a text costs: GSM 7-bit or UCS-2, single or concatenated.

A text of GSM 03.38 characters fits 160 per SMS, 153 per part once it is split (the part
header takes 7); any other character (Cyrillic) makes the whole text UCS-2: 70 alone, 67 per
part, so a Cyrillic notification fits one SMS up to 70 characters and two up to 134. The
extension characters (``^{}\\[~]|€``) take two places. Both gateways bill per part.
"""

from __future__ import annotations

__all__ = ["MAX_SEGMENTS", "is_gsm7", "segments"]

MAX_SEGMENTS = 8  # sms.ru refuses a longer text with code 205

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    """Whether every character has a GSM 7-bit code (else the SMS goes as UCS-2)."""
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text)


def segments(text: str) -> int:
    """The number of SMS parts ``text`` is sent and billed as (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        length = sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text)
        single, part = 160, 153
    else:
        # UCS-2 counts UTF-16 code units: a character beyond the BMP (an emoji) takes two.
        length = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if length <= single else -(-length // part)
