"""Malformed CSV rows: rows whose number of fields differs from the header's.

A malformed row is skipped, counted and listed with its line number (the header is
line 1; a quoted value that spans lines counts as one line), never silently dropped and
never a reason to refuse a whole file on its own: the file is refused only when the
malformed rows are more than ``max_share`` of its rows (default
:data:`DEFAULT_MAX_MALFORMED_SHARE`, the ``max_malformed_share`` analysis option and the
``SAFETYGAP_MAX_MALFORMED_SHARE`` setting), and the message then says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safetygap.errors import Problems, option

DEFAULT_MAX_MALFORMED_SHARE = 0.01
"""Largest share of a CSV file's rows that may be malformed before the file is refused."""
LISTED_IN_MESSAGE = 20
"""Malformed rows named in a message (all of them are in ``quality.json``)."""


@dataclass
class MalformedRows:
    """The malformed rows of one CSV file, collected while pyarrow parses it
    (:meth:`handler` is its ``invalid_row_handler``; the parse must be single-threaded
    for pyarrow to give row numbers)."""

    lines: list[int] = field(default_factory=list)
    """Line of each malformed row (the header is line 1); 0 when pyarrow gave none."""
    fields: list[int] = field(default_factory=list)
    """Fields found on each malformed row."""
    expected: int = 0
    """Fields of the header."""
    files: list[str | None] = field(default_factory=list)
    """File of each malformed row when the calls are a dataset of several files (None:
    the one file)."""

    def handler(self, row: Any) -> str:
        self.lines.append(int(row.number) if row.number is not None else 0)
        self.fields.append(int(row.actual_columns))
        self.files.append(None)
        self.expected = int(row.expected_columns)
        return "skip"

    def extend(self, other: MalformedRows, *, file: str | None = None) -> None:
        """Add the malformed rows of another file (named ``file`` in listings)."""
        self.lines.extend(other.lines)
        self.fields.extend(other.fields)
        self.files.extend([file] * len(other))
        self.expected = other.expected or self.expected

    def merge(self, other: MalformedRows) -> None:
        """Add the malformed rows of other files, each keeping its file."""
        self.lines.extend(other.lines)
        self.fields.extend(other.fields)
        self.files.extend(other.files)
        self.expected = other.expected or self.expected

    def __len__(self) -> int:
        return len(self.lines)

    def data_rows(self) -> np.ndarray:
        """Data-row numbers (1 = the first row under the header) of the malformed rows,
        sorted (the ones whose line pyarrow did not give left out)."""
        rows = np.asarray(self.lines, dtype=np.int64) - 1
        return np.sort(rows[rows > 0])

    def listing(self, limit: int = LISTED_IN_MESSAGE) -> str:
        """``line 4 (8 fields), line 9 (2 fields)``, the first ``limit`` only."""
        shown = [(f"{name} " if name else "")
                 + (f"line {ln} ({f} field{'s' if f != 1 else ''})" if ln else
                    f"a line ({f} fields)")
                 for ln, f, name in zip(self.lines[:limit], self.fields[:limit],
                                        self.files[:limit], strict=True)]
        more = f" and {len(self) - limit:,} more" if len(self) > limit else ""
        return ", ".join(shown) + more

    def to_dict(self, total_rows: int, max_share: float) -> dict[str, Any]:
        """What ``quality.json`` records: every malformed row, the share and the bound."""
        return {
            "count": len(self),
            "share": round(len(self) / total_rows, 6) if total_rows else 0.0,
            "max_share": max_share,
            "expected_fields": self.expected,
            "rows": [{"line": ln or None, "fields": f} | ({"file": name} if name else {})
                     for ln, f, name in zip(self.lines, self.fields, self.files,
                                            strict=True)],
            "note": ("rows whose number of fields differs from the header's are left out "
                     "and listed here; the header is line 1"),
        }

    def check(self, where: str, total_rows: int, max_share: float) -> None:
        """Raise a ValidationError when the malformed rows are more than ``max_share`` of
        ``total_rows`` (the good rows and the malformed ones); else warn when there are
        any (the warning names them). ``max_share`` 0 refuses any malformed row."""
        if not self.lines:
            return
        share = len(self) / total_rows if total_rows else 1.0
        what = (f"{len(self):,} of {total_rows:,} rows ({share:.1%}) have a number of "
                f"fields other than the header's {self.expected}: {self.listing()}")
        if share > max_share:
            why = ("every row must be well-formed" if max_share <= 0 else
                   f"more than {max_share:.1%} of its rows are malformed "
                   f"(SAFETYGAP_MAX_MALFORMED_SHARE, {option('max_malformed_share')})")
            problems = Problems()
            problems.add(where, f"{what}; the file is refused because {why}",
                         allowed="fix those lines (a missing or extra delimiter, an "
                                 "unbalanced quote)")
            problems.raise_if_any()
        warnings.warn(f"{where}: {what}; they are left out and listed in quality.json",
                      stacklevel=3)


def kept_row_numbers(after: int, n: int, malformed_rows: np.ndarray) -> np.ndarray:
    """The data-row numbers of ``n`` consecutive good rows read after data row ``after``:
    the ``n`` smallest numbers above ``after`` that are not in ``malformed_rows`` (sorted
    data-row numbers of the rows skipped as malformed)."""
    skipped = malformed_rows[malformed_rows > after]
    if not len(skipped):  # the usual case: no row skipped
        return np.arange(after + 1, after + 1 + n, dtype=np.int64)
    candidates = np.arange(after + 1, after + 1 + n + len(skipped), dtype=np.int64)
    return candidates[~np.isin(candidates, skipped)][:n]
