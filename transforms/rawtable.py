"""The reader's output: one table of text cells with their source positions."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_ZERO = re.compile(r"^\s*£?\s*-?0+(\.0+)?\s*$")
_NOT_PADDING = re.compile(r"[^0.£\-\s]")


def is_padding_record(cells: list[str]) -> bool:
    """True for a record that carries no data: every cell empty, or every cell empty or zero
    (``0``, ``0.00``, ``£0.00``) as in spreadsheet template rows left below the data. Such
    records are padding, counted in ``blank_rows``, never data rows."""
    if _NOT_PADDING.search("".join(cells)):  # a character no empty or zero cell has
        return False
    return all(not c.strip() or _ZERO.match(c) for c in cells)


def duplicate_positions(header: list[str]) -> dict[str, list[int]]:
    """Header names that occur more than once, with their 1-based positions in the file.

    ``["Id", "Amount", "Amount"]`` gives ``{"Amount": [2, 3]}``. The reader names the repeats
    ``Amount#2`` so a source can map them by position."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(header, start=1):
        if name.strip():
            seen.setdefault(name.strip(), []).append(i)
    return {name: pos for name, pos in seen.items() if len(pos) > 1}


def column_has_text(column) -> bool:
    """True when some cell of an Arrow column of strings holds more than whitespace (as
    ``str.strip`` sees it: each distinct value is tested once)."""
    import pyarrow.compute as pc

    return any(v.strip() for v in pc.unique(column).to_pylist())


class ArrowRows(Sequence):
    """The rows of an Arrow table of text cells, as lists of ``str``, made one at a time on
    demand: a table the Arrow reader produced keeps its cells in columns, and only the rows
    someone looks at (a quarantined row's raw values, a test) become Python lists."""

    def __init__(self, table: pa.Table):
        self._table = table

    def __len__(self) -> int:
        return self._table.num_rows

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return [col[i].as_py() for col in self._table.columns]

    def __iter__(self) -> Iterator[list[str]]:
        names = self._table.column_names
        for d in self._table.to_pylist():
            yield [d[n] for n in names]

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented


@dataclass
class RawTable:
    """Rows of one file (or one spreadsheet sheet) exactly as read, all text.

    Attributes:
        file: file name as received (no directory).
        columns: header names as in the file, trimmed; repeated names are made unique by a
            ``#2``, ``#3`` suffix in order of position; an empty header cell over a column that
            holds data becomes ``#<position>`` (1-based); empty header cells over empty columns
            are dropped (padding).
        rows: the data records, each a list of ``str`` (``""`` for an empty cell), as long as
            ``columns``. Padding records (see :func:`is_padding_record`) are not rows: they
            are counted in ``blank_rows``.
        lines: for each row, the 1-based physical line where the record starts (CSV) or the
            1-based row number in the sheet (spreadsheets).
        header_line: the 1-based line (or sheet row) of the (last) header record.
        blank_rows: padding records after the header (every cell empty, or empty or zero).
        preamble_rows: records above the header (titles).
        extra_cells: line -> the non-empty cells found beyond the header's width on that row
            (ragged rows); such rows are quarantined by validation, never silently trimmed.
        duplicate_headers: repeated header names with their 1-based positions in the file.
        sheet: sheet name for spreadsheets, else ``None``.
        encoding: the text encoding used (CSV), e.g. ``cp1252`` or ``utf-8-sig``.
        delimiter: the field delimiter used (CSV).
        arrow: the same cells as an Arrow table of non-null strings, one column per name in
            ``columns`` (in order), when the Arrow reader produced the table; ``rows`` is then
            an :class:`ArrowRows` view of it. ``None`` when the Python reader did.
    """

    file: str
    columns: list[str]
    rows: list[list[str]]
    lines: list[int]
    header_line: int
    blank_rows: int = 0
    preamble_rows: int = 0
    extra_cells: dict[int, list[str]] = field(default_factory=dict)
    duplicate_headers: dict[str, list[int]] = field(default_factory=dict)
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    arrow: pa.Table | None = None

    def frame(self) -> pd.DataFrame:
        """The cells as a pandas frame: one ``string`` column per name in ``columns``, one row
        per item of ``rows`` (default index)."""
        import pandas as pd
        import pyarrow as pa

        if self.arrow is None:
            return pd.DataFrame(self.rows, columns=self.columns, dtype="string")
        if not self.columns:
            return pd.DataFrame(index=range(self.arrow.num_rows))
        # (the column names are unique: repeats are numbered by the reader)
        return self.arrow.rename_columns(list(self.columns)).to_pandas(
            types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get
        )

    def column_has_data(self, name: str) -> bool:
        """True when some cell of column ``name`` holds more than whitespace."""
        j = self.columns.index(name)
        if self.arrow is None:
            return any(r[j].strip() for r in self.rows)
        return column_has_text(self.arrow.column(j))


@dataclass
class SheetRejected:
    """A spreadsheet sheet that is not a data table, with the reason in plain English."""

    file: str
    sheet: str
    reason: str
