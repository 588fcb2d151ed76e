"""Type checks of user-given values and their names in words, one vocabulary for grids, metric
options and method hyperparameters: each error says "must be <words>, got <value>"."""

from __future__ import annotations

import math
import typing
from typing import Any, Literal


def is_number(value: Any) -> bool:
    """An int or a float, not a bool (TOML's ``true`` is no number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint``: ``float`` means a finite number (an int
    too), ``int`` an integer, ``Literal``, ``list[...]`` and unions as written."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value) if args else True
    if args and origin is not None:  # X | Y
        return any(conforms(value, a) for a in args)
    if hint is float:
        return is_number(value) and math.isfinite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def type_words(hint: Any) -> str:
    """``hint`` as the words of an error message: "an integer", "one of 'a', 'b'", …"""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list:
        return f"a list of {type_words(args[0]).removeprefix('a ').removeprefix('an ')}s" if args else "a list"
    if args and origin is not None:  # a union
        return " or ".join(type_words(a) for a in args)
    names = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false", type(None): "none"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def interval_words(low: float, high: float) -> str:
    """A closed range in words: ``a finite number ≥ 1``, ``between 0 and 1``."""
    if high == math.inf:
        return f"a finite number ≥ {low:g}"
    return f"between {low:g} and {high:g}"


def within(value: Any, low: float, high: float) -> bool:
    """Whether a number (or every number of a list; ``None`` passes) lies in ``[low, high]``."""
    values = value if isinstance(value, list) else [value]
    return all(v is None or (math.isfinite(v) and low <= v <= high) for v in values)
