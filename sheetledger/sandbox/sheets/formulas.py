"""Formulas: plain arithmetic, cell references and a few functions; anything else reads as empty."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sheetledger.sandbox.a1 import column_index, column_letters, parse_cells
from sheetledger.sandbox.sheets.cells import json_number
from sheetledger.sandbox.sheets.formats import render_formatted

_FORMULA_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)"
    r"|(?P<ref>\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)"
    r"|(?P<func>[A-Za-z][A-Za-z0-9.]*)\s*\("
    r'|(?P<str>"(?:[^"]|"")*")'
    r"|(?P<op><>|<=|>=|[-+*/^&(),=<>]))"
)


class FormulaError(Exception):
    """A formula we cannot evaluate (unsupported, or a Sheets error like #DIV/0!)."""

    def __init__(self, code: str | None) -> None:
        super().__init__(code)
        self.code = code  # "#DIV/0!" etc.; None = unsupported (reads as empty)


class _FormulaEval:
    """Recursive descent over a formula's arithmetic, reading cells from ``lookup``."""

    FUNCTIONS = frozenset({"SUM", "MIN", "MAX", "COUNT", "AVERAGE", "ABS", "ROUND"})

    def __init__(self, text: str, lookup: Callable[[int, int], Any]) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.lookup = lookup

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _FORMULA_TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise FormulaError(None)
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FormulaError(None)
        self.pos += 1
        return token

    def run(self) -> Any:
        value = self.expr()
        if self.peek() is not None:
            raise FormulaError(None)
        return self.scalar(value)

    def scalar(self, value: Any) -> Any:
        if isinstance(value, list):
            flat = [v for row in value for v in row]
            return flat[0] if flat else None
        return value

    def num(self, value: Any) -> float:
        value = self.scalar(value)
        if value is None or value == "":
            return 0.0
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value))
        except ValueError as exc:
            raise FormulaError("#VALUE!") from exc

    def expr(self) -> Any:
        left = self.concat()
        while (
            (token := self.peek())
            and token[0] == "op"
            and token[1] in ("=", "<>", "<", ">", "<=", ">=")
        ):
            self.take()
            right = self.concat()
            a, b = self.scalar(left), self.scalar(right)
            left = {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[
                token[1]
            ]
        return left

    def concat(self) -> Any:
        left = self.additive()
        while (token := self.peek()) and token == ("op", "&"):
            self.take()
            right = self.additive()
            left = render_formatted(self.scalar(left), None, "en_US") + render_formatted(
                self.scalar(right), None, "en_US"
            )
        return left

    def additive(self) -> Any:
        left = self.term()
        while (token := self.peek()) and token[0] == "op" and token[1] in "+-":
            self.take()
            right = self.term()
            left = (
                self.num(left) + self.num(right)
                if token[1] == "+"
                else self.num(left) - self.num(right)
            )
        return left

    def term(self) -> Any:
        left = self.power()
        while (token := self.peek()) and token[0] == "op" and token[1] in "*/":
            self.take()
            right = self.num(self.power())
            if token[1] == "/":
                if right == 0:
                    raise FormulaError("#DIV/0!")
                left = self.num(left) / right
            else:
                left = self.num(left) * right
        return left

    def power(self) -> Any:
        base = self.unary()
        while (token := self.peek()) and token == ("op", "^"):
            self.take()
            base = self.num(base) ** self.num(self.unary())
        return base

    def unary(self) -> Any:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in "+-":
            self.take()
            value = self.num(self.unary())
            return -value if token[1] == "-" else value
        return self.atom()

    def atom(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            bounds = parse_cells(text.replace("$", ""))
            r0, r1, c0, c1 = bounds.clip(10**7, 10**5)
            if r1 - r0 == 1 and c1 - c0 == 1:
                return self.lookup(r0, c0)
            return [[self.lookup(r, c) for c in range(c0, c1)] for r in range(r0, r1)]
        if kind == "func":
            return self.call(text.upper())
        if (kind, text) == ("op", "("):
            value = self.expr()
            if self.take() != ("op", ")"):
                raise FormulaError(None)
            return value
        raise FormulaError(None)

    def call(self, name: str) -> Any:
        args: list[Any] = []
        if self.peek() != ("op", ")"):
            while True:
                args.append(self.expr())
                token = self.take()
                if token == ("op", ")"):
                    break
                if token != ("op", ","):
                    raise FormulaError(None)
        else:
            self.take()
        if name not in self.FUNCTIONS:
            raise FormulaError(None)  # no formula engine: anything else reads as empty
        numbers = []
        for arg in args:
            if isinstance(arg, list):
                numbers += [
                    v
                    for row in arg
                    for v in row
                    if isinstance(v, int | float) and not isinstance(v, bool)
                ]
            else:
                numbers.append(self.num(arg))
        if name == "SUM":
            return float(math.fsum(numbers))
        if name == "MIN":
            return min(numbers) if numbers else 0.0
        if name == "MAX":
            return max(numbers) if numbers else 0.0
        if name == "COUNT":
            return float(len(numbers))
        if name == "AVERAGE":
            if not numbers:
                raise FormulaError("#DIV/0!")
            return math.fsum(numbers) / len(numbers)
        if name == "ABS" and len(args) == 1:
            return abs(self.num(args[0]))
        if name == "ROUND" and 1 <= len(args) <= 2:
            places = int(self.num(args[1])) if len(args) == 2 else 0
            quantum = Decimal(1).scaleb(-places)
            return float(Decimal(repr(self.num(args[0]))).quantize(quantum, rounding=ROUND_HALF_UP))
        raise FormulaError(None)


def evaluate_formula(text: str, lookup: Callable[[int, int], Any]) -> Any:
    """The value of ``text`` (``=...``); ``FormulaError`` when it cannot be computed."""
    value = _FormulaEval(text[1:], lookup).run()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise FormulaError("#NUM!")
        return json_number(round(value, 12) if abs(value) < 1e15 else value)
    return value


_STRING = re.compile(r'"(?:[^"]|"")*"')
# A cell reference: not part of a longer name, not a function call such as LOG10(.
_REFERENCE = re.compile(
    r"(?<![A-Za-z0-9_.$])(\$?)([A-Za-z]{1,3})(\$?)([1-9][0-9]*)(?![A-Za-z0-9_(])"
)


def shift_references(formula: str, rows: int, columns: int) -> str:
    """``formula`` copied ``rows`` down and ``columns`` right: its relative references follow.

    ``=A1*2`` one column right is ``=B1*2``; ``$A$1`` stays put; text in quotes is left
    alone; a reference pushed off the sheet becomes ``#REF!``, as in Sheets.
    """

    def move(match: re.Match[str]) -> str:
        column_fixed, letters, row_fixed, digits = match.groups()
        column = column_index(letters) + (0 if column_fixed else columns)
        row = int(digits) + (0 if row_fixed else rows)
        if column < 0 or row < 1:
            return "#REF!"
        return f"{column_fixed}{column_letters(column)}{row_fixed}{row}"

    parts, position = [], 0
    for literal in _STRING.finditer(formula):
        parts.append(_REFERENCE.sub(move, formula[position : literal.start()]))
        parts.append(literal.group(0))
        position = literal.end()
    parts.append(_REFERENCE.sub(move, formula[position:]))
    return "".join(parts)
