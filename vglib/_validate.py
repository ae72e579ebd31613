"""Argument checks shared by every layer: a bad choice raises ``ValueError`` naming what is allowed.

Pure Python on purpose: importing it loads neither torch nor matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any


def check_choice(name: str, value: Any, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise a ``ValueError`` listing them."""
    options = list(options)
    if value not in options:
        raise ValueError(
            f"{name}={value!r} is not supported; choose one of: {', '.join(map(repr, options))}"
        )
    return value


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int if it is a whole number within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    _check_range(name, value, minimum, maximum)
    return value


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite number within the bounds."""
    if isinstance(value, bool) or not isinstance(value, Real) or value != value:
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if strict_minimum and minimum is not None and value <= minimum:
        raise ValueError(f"{name} must be greater than {minimum}, got {value!r}")
    _check_range(name, value, None if strict_minimum else minimum, maximum)
    return value


def _check_range(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
