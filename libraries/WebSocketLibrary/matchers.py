"""Criteria that select messages: JSON field values, JSONPath expressions, regular expressions.

Field names are dotted paths (``payload.items.0.name``) or JSONPath expressions
starting with ``$`` (``$.payload.items[0].name``). Robot Framework hands values
over as strings, so a string expectation also matches a JSON number, boolean or
null written the same way (``id=7`` matches ``{"id": 7}``), and an object or array
given as JSON text, however spaced (``tags=[1,2]`` matches ``{"tags": [1, 2]}``).
A field that is absent never matches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath

from .inbox import Message


@lru_cache(maxsize=256)
def _compiled_jsonpath(expression: str) -> Any:
    try:
        return parse_jsonpath(expression)
    except (JsonPathParserError, ValueError, TypeError) as error:
        raise ValueError(f"Invalid JSONPath '{expression}': {error}") from None


def check_path(path: str) -> None:
    """Raise ``ValueError`` now, not while waiting, when ``path`` is a broken JSONPath."""
    if path.startswith("$"):
        _compiled_jsonpath(path)


def lookup(document: Any, path: str) -> list[Any]:
    """All values at ``path`` in ``document``; empty when there are none."""
    if path.startswith("$"):
        return [found.value for found in _compiled_jsonpath(path).find(document)]
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return []
    return [value]


def as_text(value: Any) -> str:
    """How a JSON value reads when written in a Robot Framework test."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def values_equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str) and not isinstance(actual, str):
        if _is_number(actual):
            try:
                return float(expected) == actual
            except ValueError:
                return False
        if isinstance(actual, (dict, list)):
            # Written in a test as JSON, spaced any way: compare the values.
            try:
                return values_equal(actual, json.loads(expected))
            except ValueError:
                return False
        return as_text(actual) == expected
    if isinstance(actual, bool) != isinstance(expected, bool):
        return False  # JSON true is not the number 1.
    return bool(actual == expected)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Criteria:
    """What a wanted message looks like. No criteria match every message."""

    fields: dict[str, Any] = field(default_factory=dict)
    regex: str | None = None
    kind: str | None = None
    """``text``, ``binary`` or ``None`` for either."""
    arrived_after: float | None = None
    """Only messages that arrived after this ``time.monotonic()`` value."""

    def __post_init__(self) -> None:
        for path in self.fields:
            check_path(path)
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as error:
                raise ValueError(f"Invalid regular expression '{self.regex}': {error}") from None

    def __call__(self, message: Message) -> bool:
        return self.matches(message)

    def matches(self, message: Message) -> bool:
        if self.kind is not None and message.kind != self.kind:
            return False
        if self.arrived_after is not None and message.monotonic < self.arrived_after:
            return False
        if self.regex is not None:
            text = message.data if isinstance(message.data, str) else message.data.decode("latin-1")
            if re.search(self.regex, text) is None:
                return False
        if self.fields:
            if not message.is_json:
                return False
            document = message.json
            for path, expected in self.fields.items():
                if not any(values_equal(found, expected) for found in lookup(document, path)):
                    return False
        return True

    def describe(self) -> str:
        parts = [f"{path} == {expected!r}" for path, expected in self.fields.items()]
        if self.regex is not None:
            parts.append(f"matching regex {self.regex!r}")
        if self.kind is not None:
            parts.insert(0, f"of kind {self.kind}")
        if self.arrived_after is not None:
            parts.append("arriving after the last send")
        return "where " + " and ".join(parts) if parts else "of any kind"

    @property
    def is_any(self) -> bool:
        return (
            not self.fields
            and self.regex is None
            and self.kind is None
            and self.arrived_after is None
        )
