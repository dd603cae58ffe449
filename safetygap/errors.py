"""Errors raised at the boundary of the package.

Validation collects every problem it finds and raises one
:class:`ValidationError` that lists them all, so a user fixes a file in one
pass instead of one error at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OPTION = re.compile(r"option `([a-z][a-z0-9_]*)`")
"""How the core names one of its options in a message: the word option and its Python
name in backticks (``option `calls_crs```). The core never spells a command-line option or
an API field; the adapters show the name their way (:func:`name_options`)."""


def option(name: str) -> str:
    """``name`` marked as an option in a message (see :data:`OPTION`)."""
    return f"option `{name}`"


def name_options(text: str, names: Mapping[str, str] | Callable[[str], str]) -> str:
    """``text`` with every option the core marked shown as ``names`` spells it (the command
    line's option, the API's field): a function of the name, or a mapping (an option the
    mapping lacks shows as its bare name)."""
    spell = names if callable(names) else (lambda name: names.get(name, name))
    return OPTION.sub(lambda m: spell(m.group(1)), text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input.

    ``where`` names the argument or file (empty when ``message`` already says
    it), ``column`` the column (if any), ``value`` the offending value (already
    shortened for display) and ``allowed`` what would have been accepted.
    """

    where: str
    message: str
    column: str | None = None
    value: object = None
    allowed: str | None = None

    def __str__(self) -> str:
        parts = [self.where] if self.where else []
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        text = ", ".join(parts) + f": {self.message}" if parts else self.message
        if self.value is not None:
            text += f" (got {_short(self.value)})"
        if self.allowed is not None:
            text += f"; allowed: {self.allowed}"
        return text


def _short(value: object, limit: int = 80) -> str:
    """``value``'s repr in at most ``limit`` characters: a long one keeps its start and its
    end (the end of a path is the file's name) around "..."."""
    text = repr(value)
    if len(text) <= limit:
        return text
    head = (limit - 3) // 2
    return text[:head] + "..." + text[len(text) - (limit - 3 - head):]


class ValidationError(ValueError):
    """Bad input: carries every :class:`Problem` found, one per line, then ``notes``:
    hints that concern several problems at once (e.g. the columns a file has), printed
    once after the list."""

    def __init__(self, problems: Sequence[Problem] | Problem | str,
                 notes: Sequence[str] = ()):
        if isinstance(problems, str):
            problems = [Problem(where="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.notes: list[str] = list(dict.fromkeys(notes))
        lines = [str(p) for p in self.problems]
        head = "1 problem" if len(lines) == 1 else f"{len(lines)} problems"
        text = f"{head}:\n  - " + "\n  - ".join(lines)
        if self.notes:
            text += "".join(f"\n  {n}" for n in self.notes)
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its message and attributes (subclasses' own ``__init__``
        signatures are not called again): it crosses to and from child processes."""
        return (_restore_error, (type(self), self.args, self.__dict__))

    @classmethod
    def merge(cls, errors: Iterable[ValidationError]) -> ValidationError:
        """One error with the problems and notes of all of ``errors``, in order."""
        errors = list(errors)
        return cls([p for e in errors for p in e.problems],
                   [n for e in errors for n in e.notes])


def _restore_error(cls: type[ValidationError], args: tuple[Any, ...],
                   state: dict[str, Any]) -> ValidationError:
    error = cls.__new__(cls)
    ValueError.__init__(error, *args)
    error.__dict__.update(state)
    return error


@dataclass
class Problems:
    """Collector used by validators: add problems, then :meth:`raise_if_any`."""

    items: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        where: str,
        message: str,
        *,
        column: str | None = None,
        value: object = None,
        allowed: str | Iterable[str] | None = None,
    ) -> None:
        if allowed is not None and not isinstance(allowed, str):
            allowed = ", ".join(repr(a) for a in allowed)
        self.items.append(Problem(where, message, column, value, allowed))

    def note(self, text: str) -> None:
        """A hint printed once after the problems (only when there are problems)."""
        self.notes.append(text)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items, self.notes)


class CRSMismatchError(ValidationError):
    """Two layers that must share a CRS do not; the message shows both."""
