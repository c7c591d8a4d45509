"""Reading typed picks: the option(s) a person names by typing instead of tapping.

Buttons show labels, so a typed reply is read as labels first: the whole label, or any
unambiguous start of one ("manu" for Manufacturing), or its words inside it ("retail"
for "Wholesale and retail"), ignoring case, punctuation and apostrophes. Several options
are separated as people usually do: "Sales, Team working", "sales; team working",
"sales and team working", "1 9", "1,9". A number is read as an option's place in the
list (the terminal shows numbered options; on a phone it is a fallback nobody is told
about), past the end of the list as the start of a label ("25" for "25% to 49%"), and on
a scale as the point itself.

Pure functions of the text and the options; the engine turns a refusal into `Invalid`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from conversations.definition import Choice

__all__ = ["PICK_ONE_HELP", "PICK_SEVERAL_HELP", "read_pick", "read_picks"]

PICK_ONE_HELP: Final = "Please tap one of the buttons, or type the option's name."
PICK_SEVERAL_HELP: Final = (
    "Please tap the options that apply, then Done, or type their names separated by commas."
)
# Parts of a reply naming several options: commas, semicolons, new lines, then "and", "&"
# and "+" inside a part that is not itself an option ("Wholesale and retail" is one).
_PARTS: Final = re.compile(r"[,;\n]+")
_JOINS: Final = re.compile(r"\s+(?:and|&|\+)\s+|\s*[&+]\s*", re.IGNORECASE)
_PLACE: Final = re.compile(r"[0-9]{1,5}\Z")
_NUMBERS: Final = re.compile(r"[0-9]{1,5}(?:\s+[0-9]{1,5})*\Z")
_NOT_WORD: Final = re.compile(r"[^\w%+]+")
_APOSTROPHES: Final = re.compile(r"['’‘`]")
# The shortest start of a label read as naming it: one letter names too much.
MIN_PREFIX: Final = 2
_QUOTE_LIMIT: Final = 40


def _folded(text: str) -> str:
    """Text as matched: no case, no apostrophes ("don't" = "dont"), punctuation as spaces."""
    text = _APOSTROPHES.sub("", text.casefold()).replace("_", " ")
    return " ".join(_NOT_WORD.sub(" ", text).split())


@functools.lru_cache(maxsize=256)
def _folded_labels(options: tuple[Choice, ...]) -> tuple[tuple[str, str], ...]:
    """Each option's label and value as matched (worked out once per list of options)."""
    return tuple((_folded(c.label), _folded(c.value)) for c in options)


@dataclass(frozen=True, slots=True)
class _Match:
    """What one piece of a reply names: a value, several candidates, or nothing."""

    value: str | None = None
    candidates: tuple[Choice, ...] = ()


def _match(piece: str, options: Sequence[Choice], *, scale: bool) -> _Match:
    folded = _folded(piece)
    if not folded:
        return _Match()
    if _PLACE.match(folded):
        if scale:
            return _Match(next((c.value for c in options if c.value == folded), None))
        number = int(folded)
        if 1 <= number <= len(options):
            return _Match(options[number - 1].value)
        # Past the end of the list, a number may start a label ("25" for "25% to 49%").
    folded_labels = _folded_labels(tuple(options))
    for choice, (label, value) in zip(options, folded_labels, strict=True):
        if folded in (label, value):
            return _Match(choice.value)
    if len(folded) < MIN_PREFIX:
        return _Match()
    starts = tuple(
        c for c, (label, _) in zip(options, folded_labels, strict=True) if label.startswith(folded)
    )
    if len(starts) == 1:
        return _Match(starts[0].value)
    if starts:
        return _Match(candidates=starts)
    inside = tuple(
        c
        for c, (label, _) in zip(options, folded_labels, strict=True)
        if f" {folded}" in f" {label}"
    )
    if len(inside) == 1:
        return _Match(inside[0].value)
    return _Match(candidates=inside)


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[:_QUOTE_LIMIT]}…”" if len(text) > _QUOTE_LIMIT else f"“{text}”"


def _not_matched(piece: str, found: _Match, help_text: str) -> str:
    if found.candidates:
        named = [_quoted(c.label) for c in found.candidates[:3]]
        more = " or another option" if len(found.candidates) > 3 else ""
        return (
            f"{_quoted(piece)} could be {', '.join(named[:-1])} or {named[-1]}{more}. "
            "Please type a little more of it, or tap the button."
            if len(named) > 1
            else f"{_quoted(piece)} could be {named[0]}{more}. Please tap the button."
        )
    return f"I couldn't match {_quoted(piece)} to an option. {help_text}"


def _read(
    text: str, options: Sequence[Choice], *, scale: bool, help_text: str
) -> tuple[list[str], str | None]:
    """The values a reply names, in the order named, or the first thing not understood."""
    whole = _match(text, options, scale=scale)
    if whole.value is not None:
        return [whole.value], None
    values: list[str] = []
    pieces = [p.strip() for p in _PARTS.split(text) if p.strip()]
    for part in pieces:
        found = _match(part, options, scale=scale)
        if found.value is not None:
            values.append(found.value)
            continue
        for piece in (p.strip() for p in _JOINS.split(part) if p.strip()):
            found = _match(piece, options, scale=scale)
            if found.value is not None:
                values.append(found.value)
            elif _NUMBERS.match(piece):
                for number in piece.split():
                    numbered = _match(number, options, scale=scale)
                    if numbered.value is None:
                        return [], _not_matched(number, numbered, help_text)
                    values.append(numbered.value)
            else:
                return [], _not_matched(piece, found, help_text)
    if not values:
        return [], _not_matched(text, whole, help_text)
    return list(dict.fromkeys(values)), None


def read_pick(
    text: str, options: Sequence[Choice], *, scale: bool = False
) -> tuple[str | None, str | None]:
    """The one option a typed reply names, or None and a polite message saying why not."""
    values, problem = _read(text, options, scale=scale, help_text=PICK_ONE_HELP)
    if problem is not None:
        return None, problem
    if len(values) > 1:
        return None, "Please choose just one option."
    return values[0], None


def read_picks(text: str, options: Sequence[Choice]) -> tuple[list[str] | None, str | None]:
    """The options a typed reply names, in the options' order, or None and a message."""
    values, problem = _read(text, options, scale=False, help_text=PICK_SEVERAL_HELP)
    if problem is not None:
        return None, problem
    picked = set(values)
    return [c.value for c in options if c.value in picked], None
