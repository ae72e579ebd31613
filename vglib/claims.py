"""Prose bound to numbers: the sentences a chapter says about its computed results, checked.

A sentence that characterises computed numbers ("the 30-block plain net is worst at every
learning rate", "ten orders of magnitude", "closer to X than to Y") is a claim. The cell that
computes or glues the numbers states the claim with :func:`claim`; when a rerun, a new
library version or an edit makes it false, the cell raises :class:`ClaimError` and the book
build fails (``allow_errors: false``) with a message that quotes the sentence::

    claim(
        losses["plain30"] > losses["plain3"],
        "the 30-block plain net ends with a higher loss than the 3-block one",
        plain30=losses["plain30"], plain3=losses["plain3"],
    )

Where the word itself depends on the data, compute the word and glue it
(:func:`pick` returns the key of the smallest or largest value, :func:`orders_of_magnitude`
the whole number of decades between two values), then claim what the prose says around it.

Pure Python on purpose: importing it loads neither torch nor matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["ClaimError", "claim", "orders_of_magnitude", "pick"]

K = TypeVar("K")


class ClaimError(AssertionError):
    """A sentence of the course is no longer true of the numbers it describes."""


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _show(value.item())
    return repr(value)


def claim(condition: Any, sentence: str, **numbers: Any) -> None:
    """Raise :class:`ClaimError` quoting ``sentence`` unless ``condition`` is true.

    Parameters
    ----------
    condition
        The claim as a boolean (numpy and torch booleans are accepted).
    sentence
        What the prose says, in the prose's own words, so a failure names the sentence to fix.
    **numbers
        The numbers the claim is about; they are printed with the failure.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError("claim() needs the sentence it checks, as a non-empty string")
    if not bool(condition):
        detail = ", ".join(f"{name}={_show(value)}" for name, value in numbers.items())
        raise ClaimError(
            f"claim no longer true: {sentence!r}"
            + (f" (measured: {detail})" if detail else "")
            + ". Rewrite the sentence (and anything built on it) to say what the numbers say."
        )


def pick(values: Mapping[K, float], *, best: Callable[..., Any] = min) -> K:
    """The key whose value is smallest (``best=min``, the default) or largest (``best=max``).

    Raises ``ValueError`` for an empty mapping or a tie, where no single word is true.
    """
    if best not in (min, max):
        raise ValueError("best must be min or max")
    if not values:
        raise ValueError("pick() needs at least one value")
    key = best(values, key=values.__getitem__)
    winners = [k for k, v in values.items() if v == values[key]]
    if len(winners) > 1:
        raise ValueError(
            f"pick(): {winners} tie at {values[key]!r}; no single one is {best.__name__}"
        )
    return key


def orders_of_magnitude(larger: float, smaller: float) -> int:
    """Whole decades between two positive numbers: ``floor(log10(larger / smaller))``."""
    if not (larger > 0 and smaller > 0) or not all(map(math.isfinite, (larger, smaller))):
        raise ValueError(
            f"orders_of_magnitude needs two finite positive numbers, got {larger!r} and {smaller!r}"
        )
    return math.floor(math.log10(larger / smaller))
