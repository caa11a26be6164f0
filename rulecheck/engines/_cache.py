"""Compute-once caching that also remembers failures.

When an input is broken (the model raises, a column has NaN), every rule that needs it gets the
same ERROR message, and the failing work runs once, not once per rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rulecheck.errors import InputError

__all__ = ["Cache"]

T = TypeVar("T")


class Cache:
    """Values (or the InputError that computing them raised) by key."""

    def __init__(self) -> None:
        self._values: dict[object, object] = {}

    def once(self, key: object, compute: Callable[[], T]) -> T:
        if key not in self._values:
            try:
                self._values[key] = compute()
            except InputError as exc:
                self._values[key] = exc
        value = self._values[key]
        if isinstance(value, InputError):
            raise value
        return value  # type: ignore[return-value]  # the cache stores what compute() returned

    def forget(self, key: object) -> None:
        """Drop ``key``'s value or failure, so the next ``once`` computes it again."""
        self._values.pop(key, None)
