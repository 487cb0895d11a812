"""Salon and city tags in an expense's comment: «аренда 45к салон Ленина», «@Ленина». Pure.

The management table shares costs among salons and cities (sheetledger.reports); an expense
typed to the bot can name its salon or city so it lands on that salon's net profit instead
of being allocated. The config lists each salon and city as the deals name them, with the
words people type for them (``expenses.salons``, ``expenses.cities``). Recognised, in the
comment left once the amount, the date and the ``#ref`` are taken out:

* ``@Ленина`` — a salon's or a city's alias (or its name as one word), salons first;
* ``салон Ленина`` / ``салона Ленина`` — a salon's alias after the word; ``город Пермь`` /
  ``г. Пермь`` — a city's.

Matching ignores case and ``ё``/``е``; a salon tag brings its configured city along. The tag
is taken out of the comment; an ``@word`` that names nothing configured stays in it, as
typed. One salon and one city per line: the first of each wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sheetledger.config import CityAlias, SalonAlias

__all__ = ["PlaceTag", "find_place"]

_AT = re.compile(r"(?<![\w@])@([\w.-]+)")
_SALON = re.compile(r"(?<!\w)салон(?:а|у|е|ом)?\s+([\w.-]+)", re.IGNORECASE)
_CITY = re.compile(r"(?<!\w)(?:город(?:а|е)?|г\.)\s*([\w.-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class PlaceTag:
    salon: str = ""
    city: str = ""
    comment: str = ""


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е").strip(".-")


def _names(name: str, aliases: Sequence[str]) -> set[str]:
    found = {_fold(a) for a in aliases if a.strip()}
    if " " not in name.strip():
        found.add(_fold(name))
    return found


def find_place(comment: str, salons: Sequence[SalonAlias], cities: Sequence[CityAlias]) -> PlaceTag:
    """The salon and city a comment names, and the comment without their tags."""
    if not salons and not cities:
        return PlaceTag(comment=comment)
    salon_of = {word: s for s in reversed(salons) for word in _names(s.name, s.aliases)}
    city_of = {word: c for c in reversed(cities) for word in _names(c.name, c.aliases)}
    salon: SalonAlias | None = None
    city: CityAlias | None = None
    cut: list[tuple[int, int]] = []
    for match in sorted(
        [*_AT.finditer(comment), *_SALON.finditer(comment), *_CITY.finditer(comment)],
        key=lambda m: m.start(),
    ):
        word = _fold(match.group(1))
        kind = match.re
        if kind is not _CITY and salon is None and word in salon_of:
            salon = salon_of[word]
        elif kind is not _SALON and city is None and word in city_of:
            city = city_of[word]
        else:
            continue
        cut.append(match.span())
    text = comment
    for start, end in sorted(cut, reverse=True):
        text = text[:start] + text[end:]
    tidy = " ".join(text.split()).strip(" ,;")
    city_name = city.name if city else ((salon.city or "") if salon else "")
    return PlaceTag(salon.name if salon else "", city_name, tidy)
