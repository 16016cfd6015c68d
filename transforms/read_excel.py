"""Read spreadsheet workbooks (XLS, XLSX, ODS) into :class:`~transforms.rawtable.RawTable` s.

One library, ``python_calamine``, reads all three formats; the format is detected from the
file's content (its leading bytes), never from its extension, so a ``.xls`` that is really an
XLSX, or a file renamed to a number, reads the same.

Each sheet becomes either a :class:`RawTable` (all cells as text, with 1-based sheet row numbers)
or a :class:`SheetRejected` with a plain-English reason when no header row can be found in it.

Cell text (the only thing this module decides about values):

* numbers: a float that is a whole number is written without a decimal part (``330.0`` ->
  ``"330"``, ``-6036.0`` -> ``"-6036"``); any other float is written with Python's shortest
  round-trip ``repr`` (``"315.63352"``, ``"893.7739900000005"``: rounding is the normaliser's
  job, not the reader's);
* dates: ISO ``YYYY-MM-DD``; a date-time with a time of day is ``YYYY-MM-DD HH:MM:SS``;
* booleans: ``TRUE`` / ``FALSE`` as spreadsheets display them;
* text: exactly as stored (line breaks kept); an empty cell is ``""``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import python_calamine

from transforms.config import ReaderSpec, normalise_label
from transforms.errors import FileRejected
from transforms.rawtable import RawTable, SheetRejected, duplicate_positions, is_padding_record

logger = logging.getLogger(__name__)

#: How many sheet rows from the top are searched for the header.
HEADER_SEARCH_ROWS = 30
#: The fewest known column labels a header row must name.
MIN_HEADER_HINTS = 2

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # XLS (Excel 97-2003 compound file)
_ZIP_MAGIC = b"PK\x03\x04"  # XLSX and ODS (zip containers)

Merge = tuple[tuple[int, int], tuple[int, int]]


def read_workbook(
    path: Path, spec: ReaderSpec, header_hints: set[str], file_name: str | None = None
) -> list[RawTable | SheetRejected]:
    """Read every sheet (or only ``spec.sheets``) of a workbook into tables of text.

    Args:
        path: the workbook file (XLS, XLSX or ODS, detected from the content).
        spec: the source's reader settings. Used here: ``sheets`` (names to read, in that order;
            ``None`` = all sheets in workbook order, hidden ones included), ``header_row``
            (1-based sheet row of the first header row; ``None`` = found by content),
            ``header_rows`` (stacked header rows flattened into one name per column) and
            ``drop_columns`` (columns removed on read, compared with ``normalise_label``).
        header_hints: the labels a header is expected to name (the domain's aliases and the
            source's column names); compared after :func:`normalise_label`, so raw or normalised
            labels both work.
        file_name: the name the file was received under, used in the results and messages
            (default ``path.name``; the archived copy may be named differently).

    Returns:
        One item per sheet read, in order: a :class:`RawTable` (``lines`` are 1-based sheet row
        numbers, ``header_line`` is the last header row, ``preamble_rows`` counts the sheet rows
        above the first header row, ``blank_rows`` the all-empty rows below the header) or a
        :class:`SheetRejected` when the sheet has no header row (not a data table) or a sheet
        named in ``spec.sheets`` is missing.

    Raises:
        FileRejected: ``file.unreadable`` when the file is not a workbook calamine can open
            (e.g. a CSV, a damaged file, a password-protected workbook).
    """
    path = Path(path)
    name_received = file_name or path.name
    hints = {normalise_label(h) for h in header_hints if normalise_label(h)}
    workbook = _open_workbook(path, name_received)
    try:
        available = list(workbook.sheet_names)
        if spec.sheets is None:
            wanted = available
        else:
            wanted = list(spec.sheets)
        out: list[RawTable | SheetRejected] = []
        for requested in wanted:
            name = _resolve_sheet_name(requested, available)
            if name is None:
                reason = (
                    f"the workbook has no sheet named {requested!r}; its sheets are "
                    + ", ".join(repr(s) for s in available)
                )
                logger.warning("%s: %s", name_received, reason)
                out.append(SheetRejected(file=name_received, sheet=requested, reason=reason))
                continue
            try:
                sheet = workbook.get_sheet_by_name(name)
                grid = sheet.to_python(skip_empty_area=False)
                merges = sheet.merged_cell_ranges
                end = sheet.end
            except python_calamine.CalamineError as exc:  # e.g. a chart sheet
                reason = f"sheet {name!r} cannot be read as cells: {exc}"
                logger.warning("%s: %s", name_received, reason)
                out.append(SheetRejected(file=name_received, sheet=name, reason=reason))
                continue
            # ``skip_empty_area=False`` starts at A1; keep the offset anyway in case a reader
            # version trims leading empty rows, so that line numbers stay true sheet rows.
            row_offset = max(0, (end[0] + 1) - len(grid)) if end and grid else 0
            # (text cells, most of a sheet, are kept as they are without a call per cell)
            cells = [[v if type(v) is str else cell_text(v) for v in row] for row in grid]
            if merges and row_offset:
                merges = [
                    ((r0 - row_offset, c0), (r1 - row_offset, c1)) for (r0, c0), (r1, c1) in merges
                ]
            out.append(
                read_sheet_cells(
                    cells,
                    file=name_received,
                    sheet=name,
                    spec=spec,
                    hints=hints,
                    merges=merges,
                    row_offset=row_offset,
                )
            )
        return out
    finally:
        workbook.close()


def _open_workbook(path: Path, file: str) -> Any:
    """Open ``path`` with calamine, choosing the format from the content (not the name);
    ``file`` is the received name used in :class:`FileRejected`."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise FileRejected(file, "file.unreadable", f"cannot be opened: {exc}") from exc
    if not (head.startswith(_OLE2_MAGIC) or head.startswith(_ZIP_MAGIC)):
        raise FileRejected(
            file,
            "file.unreadable",
            "is not an XLS, XLSX or ODS workbook (its first bytes are neither an Excel 97 "
            "compound file nor a zip container); if it is a CSV, set reader.format to csv",
        )
    try:
        with path.open("rb") as fh:
            return python_calamine.CalamineWorkbook.from_filelike(fh)
    except python_calamine.PasswordError as exc:
        raise FileRejected(
            file, "file.unreadable", f"the workbook is password-protected: {exc}"
        ) from exc
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise FileRejected(file, "file.unreadable", f"cannot be read as a workbook: {exc}") from exc


def _resolve_sheet_name(requested: str, available: Sequence[str]) -> str | None:
    """The workbook's sheet named ``requested``: exact match first, then after
    :func:`normalise_label` (``"Data sheet "`` finds ``"Data Sheet"``); ``None`` if absent."""
    if requested in available:
        return requested
    key = normalise_label(requested)
    matches = [s for s in available if normalise_label(s) == key]
    return matches[0] if len(matches) == 1 else None


def cell_text(value: Any) -> str:
    """One calamine cell value as text (see the module docstring for the rules).

    Args:
        value: what ``python_calamine`` returns for a cell: ``str``, ``float``, ``int``,
            ``bool``, ``datetime.date``/``datetime``/``time``/``timedelta`` or ``None``.

    Returns:
        The text; ``""`` for an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _blank(text: str) -> bool:
    return not text.strip()


def _clean_part(text: str) -> str:
    """One stacked header part cleaned like :func:`normalise_label` but keeping its case:
    whitespace (line breaks, non-breaking spaces) collapsed, trimmed, a trailing ``;:.,``
    dropped (``"Main, parent or \\nsponsoring department: "`` -> ``"Main, parent or
    sponsoring department"``)."""
    text = text.replace("\u00a0", " ").replace("\ufeff", "")
    text = re.sub(r";\s+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"[\s:;.,]+$", "", text)


def flatten_header(
    cells: Sequence[Sequence[str]],
    top: int,
    height: int,
    width: int,
    merges: Iterable[Merge] | None = None,
) -> list[str]:
    """One name per column from ``height`` stacked header rows starting at row index ``top``.

    Args:
        cells: the sheet as text, ``cells[r][c]`` with 0-based row and column indexes.
        top: 0-based index of the first header row.
        height: number of stacked header rows (1 = a plain header row).
        width: number of columns to name.
        merges: the sheet's merged ranges ``((r0, c0), (r1, c1))`` (0-based, inclusive) or
            ``None`` when the format does not report them (ODS).

    Returns:
        ``width`` names. With one header row, each is the cell trimmed (as in the file). With
        several, blanks in the upper rows are first forward-filled to the right where a cell was
        merged across columns (using ``merges`` that start in the upper header rows; when there
        are none, a blank is filled from its left neighbour if both columns share the same labels
        in the rows above and the column has a label further down), then each column's non-empty
        parts are cleaned (:func:`_clean_part`) and joined with one space: ``Payroll staff`` /
        ``Executive Officers`` / ``Headcount`` -> ``"Payroll staff Executive Officers
        Headcount"``. Empty string where the column has no label.
    """

    def cell(r: int, c: int) -> str:
        row = cells[r] if r < len(cells) else ()
        return row[c] if c < len(row) else ""

    if height <= 1:
        return [cell(top, c).strip() for c in range(width)]
    block = [[cell(r, c) for c in range(width)] for r in range(top, top + height)]
    upper = range(height - 1)
    header_merges = [
        ((r0, c0), (r1, c1))
        for (r0, c0), (r1, c1) in (merges or ())
        if top <= r0 < top + height - 1 and c1 > c0
    ]
    if header_merges:
        for (r0, c0), (_r1, c1) in header_merges:
            row = block[r0 - top]
            if c0 >= width:
                continue
            for c in range(c0 + 1, min(c1, width - 1) + 1):
                if _blank(row[c]):
                    row[c] = row[c0]
    else:
        for k in upper:
            for c in range(1, width):
                if not _blank(block[k][c]) or _blank(block[k][c - 1]):
                    continue
                same_parents = all(block[p][c] == block[p][c - 1] for p in range(k))
                labelled_below = any(not _blank(block[q][c]) for q in range(k + 1, height))
                if same_parents and labelled_below:
                    block[k][c] = block[k][c - 1]
    names = []
    for c in range(width):
        parts = [_clean_part(block[k][c]) for k in range(height)]
        names.append(" ".join(p for p in parts if p))
    return names


def find_header(
    cells: Sequence[Sequence[str]],
    hints: set[str],
    height: int = 1,
    merges: Iterable[Merge] | None = None,
    search_rows: int = HEADER_SEARCH_ROWS,
) -> tuple[int | None, int, int | None]:
    """Find the header by content.

    Args:
        cells: the sheet as text (0-based rows).
        hints: normalised labels a header is expected to name.
        height: stacked header rows (see :func:`flatten_header`).
        merges: merged ranges, as for :func:`flatten_header`.
        search_rows: how many rows from the top are candidates for the first header row.

    Returns:
        ``(top, best_score, best_top)``: ``top`` is the 0-based index of the first header row,
        i.e. the first candidate whose flattened names contain the most distinct ``hints`` and
        at least :data:`MIN_HEADER_HINTS` of them, or ``None`` (with stacked rows, a candidate
        whose first row is empty is skipped); ``best_score`` / ``best_top``
        describe the best candidate seen (for the rejection message).
    """
    width = max((len(r) for r in cells), default=0)
    best_top: int | None = None
    best_score = 0
    for top in range(min(search_rows, len(cells) - height + 1)):
        if height > 1 and all(_blank(c) for c in cells[top]):
            # A stacked header never starts with an empty row; without this, the block one row
            # higher (empty row + first header rows) could tie with the true block and win.
            continue
        names = flatten_header(cells, top, height, width, merges)
        score = len({normalise_label(n) for n in names} & hints)
        if score > best_score:
            best_top, best_score = top, score
    if best_score >= MIN_HEADER_HINTS:
        return best_top, best_score, best_top
    return None, best_score, best_top


def _not_a_table_reason(sheet: str, hints: set[str], best_score: int, best_row: int | None) -> str:
    shown = sorted(hints)
    listed = ", ".join(shown[:4]) + (", ..." if len(shown) > 4 else "")
    reason = (
        f"sheet {sheet!r} is not a data table: no row among the first {HEADER_SEARCH_ROWS} "
        f"names at least {MIN_HEADER_HINTS} of the expected columns ({listed})"
    )
    if best_score and best_row is not None:
        reason += f"; the best, row {best_row}, names only {best_score}"
    return reason


def read_sheet_cells(
    cells: Sequence[Sequence[str]],
    *,
    file: str,
    sheet: str,
    spec: ReaderSpec,
    hints: set[str],
    merges: Iterable[Merge] | None = None,
    row_offset: int = 0,
) -> RawTable | SheetRejected:
    """Turn one sheet's text cells into a :class:`RawTable` (or reject the sheet).

    Args:
        cells: ``cells[r][c]`` text of the sheet, row 0 being sheet row ``1 + row_offset``.
        file: file name as received (no directory).
        sheet: sheet name.
        spec: reader settings (``header_row``, ``header_rows``, ``drop_columns``).
        hints: normalised header labels to look for.
        merges: merged ranges (0-based, inclusive) or ``None``.
        row_offset: sheet rows above ``cells[0]`` (0 when ``cells`` starts at row 1).

    Returns:
        A :class:`RawTable` whose columns are named as described in
        :class:`~transforms.rawtable.RawTable`, or :class:`SheetRejected` when no header row
        names at least two expected columns (or the sheet is empty).
    """
    height = max(1, spec.header_rows)
    width = max((len(r) for r in cells), default=0)
    if not cells or width == 0 or all(_blank(c) for r in cells for c in r):
        reason = f"sheet {sheet!r} is empty"
        logger.info("%s: %s", file, reason)
        return SheetRejected(file=file, sheet=sheet, reason=reason)
    if spec.header_row is not None:
        top = spec.header_row - 1 - row_offset
        if top < 0 or top + height > len(cells):
            reason = (
                f"sheet {sheet!r} has no header at row {spec.header_row} "
                f"(it has {len(cells) + row_offset} rows)"
            )
            return SheetRejected(file=file, sheet=sheet, reason=reason)
    else:
        found, best_score, best_top = find_header(cells, hints, height, merges)
        if found is None:
            best_row = None if best_top is None else best_top + 1 + row_offset
            reason = _not_a_table_reason(sheet, hints, best_score, best_row)
            logger.info("%s: %s", file, reason)
            return SheetRejected(file=file, sheet=sheet, reason=reason)
        top = found

    header = flatten_header(cells, top, height, width, merges)
    body_start = top + height
    data_rows: list[list[str]] = []
    lines: list[int] = []
    blank_rows = 0
    for r in range(body_start, len(cells)):
        row = list(cells[r]) + [""] * (width - len(cells[r]))
        if is_padding_record(row):
            blank_rows += 1
            continue
        data_rows.append(row)
        lines.append(r + 1 + row_offset)

    keep: list[int] = []
    names: list[str] = []
    for c, name in enumerate(header):
        if name:
            keep.append(c)
            names.append(name)
        elif any(not _blank(row[c]) for row in data_rows):
            keep.append(c)
            names.append(f"#{c + 1}")
    names = _unique(names)

    drop = {normalise_label(d) for d in spec.drop_columns}
    if drop:
        dropped = [n for n in names if normalise_label(n) in drop]
        if dropped:
            logger.info("%s [%s]: dropped on read: %s", file, sheet, dropped)
        pairs = [(c, n) for c, n in zip(keep, names, strict=True) if normalise_label(n) not in drop]
        keep = [c for c, _ in pairs]
        names = [n for _, n in pairs]

    rows = [[row[c] for c in keep] for row in data_rows]
    table = RawTable(
        file=file,
        columns=names,
        rows=rows,
        lines=lines,
        header_line=top + height + row_offset,
        blank_rows=blank_rows,
        preamble_rows=top + row_offset,
        duplicate_headers=duplicate_positions(list(header)),
        sheet=sheet,
    )
    logger.info(
        "%s [%s]: header at row %d, %d columns, %d rows, %d blank, %d preamble",
        file,
        sheet,
        table.header_line,
        len(names),
        len(rows),
        blank_rows,
        table.preamble_rows,
    )
    return table


def _unique(names: Sequence[str]) -> list[str]:
    """Make repeated names unique in order of position: the second ``X`` becomes ``X#2``, the
    third ``X#3`` (skipping a suffix that is already taken by another column)."""
    taken = set(names)
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0) + 1
        seen[name] = n
        if n == 1:
            out.append(name)
            continue
        candidate = f"{name}#{n}"
        while candidate in taken:
            n += 1
            candidate = f"{name}#{n}"
        seen[name] = n
        taken.add(candidate)
        out.append(candidate)
    return out
