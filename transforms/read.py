"""Read a received file into a :class:`~transforms.rawtable.RawTable` of text cells.

One generic reader for every source; what differs between bodies is configuration
(:class:`~transforms.config.ReaderSpec`), never a code branch per file.

CSV reading, step by step:

1. **Encoding.** A byte-order mark decides (UTF-8/16/32). Otherwise the file is decoded as
   UTF-8, and only the byte sequences that are not valid UTF-8 are decoded with the legacy
   code page (``cp1252`` unless the source sets ``reader.encoding``). This reads pure cp1252
   files (``£`` as byte 0xA3), pure UTF-8 files, and the mixed files real ledgers produce (a
   cp1252 file with a few UTF-8 replacement characters where a ``£`` was lost upstream)
   without a per-file setting. charset-normalizer is not trusted to choose the code page: on
   short UK files it picks cp1250, where 0xA3 is ``Ł``.
2. **Dialect.** clevercsv's sniffer picks delimiter and quote character from the first lines;
   the stdlib ``csv`` module then parses the whole text, so quoted line breaks stay inside
   their field and each record keeps the physical line it starts on.
3. **Header by content.** Unless ``reader.header_row`` is set, the header is the record among
   the first 30 that names the most known column labels (title rows above it are preamble).
4. **Shape.** Blank records are counted, not kept; empty-header columns that are entirely empty
   (padding such as HM Treasury's 242 empty columns) are dropped; repeated header names are
   numbered by position (``Account Code#2``); cells beyond the header's width are kept aside
   per line so validation can quarantine the row rather than trim it silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

import clevercsv

from transforms.config import ReaderSpec, normalise_label
from transforms.errors import FileRejected
from transforms.rawtable import (
    ArrowRows,
    RawTable,
    SheetRejected,
    column_has_text,
    duplicate_positions,
    is_padding_record,
)

log = logging.getLogger(__name__)

HEADER_SEARCH_RECORDS = 30
_LEGACY_DEFAULT = "cp1252"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

csv.field_size_limit(256 * 1024 * 1024)


class _Undecodable(Exception):
    def __init__(self, offset: int, byte: int, codec: str):
        self.offset, self.byte, self.codec = offset, byte, codec


def _legacy_fallback(codec: str):
    def handler(exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeDecodeError):
            raise exc
        bad = exc.object[exc.start : exc.end]
        try:
            return bad.decode(codec), exc.end
        except UnicodeDecodeError as inner:
            raise _Undecodable(exc.start + inner.start, bad[inner.start], codec) from None

    return handler


def _undecodable(file: str, data: bytes, offset: int, byte: int, codec: str) -> FileRejected:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return FileRejected(
        file,
        "file.undecodable",
        f"byte 0x{byte:02X} at byte offset {offset} (line {line}, character {column}) is "
        f"neither UTF-8 nor {codec}; nothing was loaded with replacement characters",
        line=line,
        column=f"character {column}",
    )


@cache
def _ascii_single_byte(codec: str) -> bool:
    """True for a code page that maps every byte to one character and bytes below 0x80 to
    ASCII (cp1252, latin-1, iso-8859-15): only then does decoding a file with it in one call
    equal decoding it byte by byte after UTF-8 (EBCDIC, cp932, UTF-16 do not qualify)."""
    try:
        if codecs.lookup(codec).name.startswith("utf"):
            return False
        text = bytes(range(256)).decode(codec, errors="replace")
    except LookupError:
        return False
    return len(text) == 256 and text[:128] == bytes(range(128)).decode("ascii")


def decode_bytes(data: bytes, encoding: str = "auto", file: str = "<bytes>") -> tuple[str, str]:
    """Decode a file's bytes to text, strictly: no byte is ever replaced.

    Args:
        data: the file as received.
        encoding: ``auto``, or a codec name. With a legacy codec name (e.g. ``cp1252``) the
            text is still decoded as UTF-8 first and the codec only fills in the byte
            sequences that are not UTF-8; ``strict:<codec>`` decodes with that codec alone.
        file: the file name, for the error message.

    Returns:
        ``(text, description)``, description naming what was used, e.g. ``utf-8`` or
        ``utf-8+cp1252`` (mixed) or ``cp1252``.

    Raises:
        FileRejected: ``file.undecodable`` naming the byte, its offset, line and character when
            a byte is valid in neither UTF-8 nor the legacy code page (e.g. 0x81 in cp1252).
    """
    if encoding.startswith("strict:"):
        codec = encoding.split(":", 1)[1]
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            raise _undecodable(file, data, exc.start, data[exc.start], codec) from None
    base = 0
    if data.startswith(codecs.BOM_UTF8):
        base, data = len(codecs.BOM_UTF8), data[len(codecs.BOM_UTF8) :]
    else:
        for bom, codec in _BOMS:
            if data.startswith(bom):
                try:
                    return data.decode(codec), codec
                except UnicodeDecodeError as exc:
                    raise _undecodable(file, data, exc.start, data[exc.start], codec) from None
    bom = "-sig" if base else ""
    try:
        return data.decode("utf-8"), f"utf-8{bom}"
    except UnicodeDecodeError:
        pass
    legacy = _LEGACY_DEFAULT if encoding in ("auto", "utf-8", "utf8") else encoding
    # No valid multi-byte UTF-8 sequence at all (what is left after dropping the invalid bytes
    # is ASCII): every byte above 0x7F is the legacy code page's, so the whole file decodes
    # with it in one C call, exactly as the byte-by-byte fallback below would.
    if not base and _ascii_single_byte(legacy) and data.decode("utf-8", errors="ignore").isascii():
        try:
            return data.decode(legacy), legacy
        except UnicodeDecodeError as exc:
            raise _undecodable(file, data, exc.start, data[exc.start], legacy) from None
    name = f"ngss-fallback-{legacy}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, _legacy_fallback(legacy))
    try:
        text = data.decode("utf-8", errors=name)
    except _Undecodable as exc:
        whole = codecs.BOM_UTF8 + data if base else data
        raise _undecodable(file, whole, exc.offset + base, exc.byte, exc.codec) from None
    # Here something decoded as UTF-8 beyond ASCII (or a BOM said UTF-8): the file is mixed.
    return text, f"utf-8{bom}+{legacy}"


def sniff_dialect(text: str, delimiter: str = "auto") -> tuple[str, str]:
    """Choose ``(delimiter, quotechar)`` for CSV text with clevercsv, from its first 40 lines.

    A configured delimiter wins. Falls back to comma and double quote when the sample is too
    small to tell (a one-column file) or the sniffer finds no quote character.
    """
    if delimiter != "auto":
        return delimiter, '"'
    # Bounded: a 200 MB field on the first line must not reach the sniffer whole.
    # (clevercsv's URL filter is quadratic in a long run of text: lines are cut to 2,048 chars)
    sample = "\n".join(line[:2048] for line in text[:2_000_000].splitlines()[:40])
    try:
        dialect = clevercsv.Sniffer().sniff(sample)
    except Exception:  # clevercsv raises its own Error or ValueError on degenerate input
        dialect = None
    delim = getattr(dialect, "delimiter", "") or ","
    quote = getattr(dialect, "quotechar", "") or '"'
    if delim not in ",;\t|":
        log.info("sniffer proposed delimiter %r; using ','", delim)
        delim = ","
    return delim, quote


def check_quotes(
    file: str, records: list[tuple[int, list[str]]], delimiter: str, width: int
) -> None:
    """Reject a file where one quoted field swallows what look like whole records.

    A stray opening quote makes the CSV parser read on, across line breaks, until the next
    quote, possibly to the end of the file: the rows it swallows would silently become text in
    one cell. A legitimate multi-line field (a long description) does not hold lines with as
    many delimiters as a record has separators, so two such lines inside one field mean an
    unbalanced quote.

    Raises:
        FileRejected: ``file.unbalanced_quote`` naming the line where the field opens.
    """
    threshold = max(2, width - 2)
    for line, cells in records:
        for j, cell in enumerate(cells):
            if "\n" not in cell:
                continue
            recordlike = [
                part for part in cell.split("\n")[1:] if part.count(delimiter) >= threshold
            ]
            if len(recordlike) >= 2:
                raise FileRejected(
                    file,
                    "file.unbalanced_quote",
                    f"a quoted field opens in column {j + 1} and runs over {cell.count(chr(10))} line "
                    f"break(s), swallowing {len(recordlike)} lines that look like records; check for a "
                    "quote character that is not closed",
                    line=line,
                    column=f"#{j + 1}",
                )


#: The longest field a CSV record may hold (characters). A longer one (a runaway quote, a
#: 200 MB blob) rejects the file naming its line and column; the file stays archived as received.
MAX_FIELD_CHARS = 1_000_000


def _records(
    text: str, delimiter: str, quotechar: str, file: str = "<text>"
) -> list[tuple[int, list[str]]]:
    """All CSV records with the 1-based physical line each starts on.

    Raises:
        FileRejected: ``file.field_too_large`` for a field over :data:`MAX_FIELD_CHARS`,
            ``file.unreadable`` when the CSV parser gives up.
    """
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar, strict=False
    )
    out: list[tuple[int, list[str]]] = []
    prev_end = 0
    try:
        for record in reader:
            if record and max(map(len, record)) > MAX_FIELD_CHARS:  # checked in C per record
                k, cell = next((k, c) for k, c in enumerate(record, 1) if len(c) > MAX_FIELD_CHARS)
                raise FileRejected(
                    file,
                    "file.field_too_large",
                    f"field {k}: a field of {len(cell):,} characters "
                    f"(limit {MAX_FIELD_CHARS:,}); check for an unclosed quote or an "
                    "embedded document",
                    line=prev_end + 1,
                    column=f"#{k}",
                )
            out.append((prev_end + 1, record))
            prev_end = reader.line_num
    except csv.Error as exc:
        raise FileRejected(
            file,
            "file.unreadable",
            f"the CSV cannot be parsed: {exc}",
            line=reader.line_num or 1,
        ) from None
    return out


def find_header(records: list[list[str]], header_hints: set[str], stacked: int = 1) -> int | None:
    """Index of the header record: the first among the first 30 naming the most hints.

    Args:
        records: records as lists of cells.
        header_hints: known column labels, already passed through ``normalise_label``.
        stacked: number of stacked header records (their labels are joined per column).

    Returns:
        The index of the last header record, or ``None`` when no record names two hints.
    """
    best, best_score = None, 1
    for i in range(min(len(records), HEADER_SEARCH_RECORDS)):
        names = flatten_header(records[max(0, i - stacked + 1) : i + 1])
        score = len({normalise_label(n) for n in names} & header_hints)
        if score > best_score:
            best, best_score = i, score
    return best


def flatten_header(rows: list[list[str]]) -> list[str]:
    """Join stacked header rows into one name per column.

    Blank cells in upper rows take the value to their left (merged cells), so
    ``["Payroll staff", ""] / ["EO", ""] / ["Headcount", "FTE"]`` becomes
    ``["Payroll staff EO Headcount", "Payroll staff EO FTE"]``.
    """
    if len(rows) == 1:
        return [c.strip() for c in rows[0]]
    width = max(len(r) for r in rows)
    filled: list[list[str]] = []
    for depth, row in enumerate(rows):
        cells = [c.strip() for c in row] + [""] * (width - len(row))
        if depth < len(rows) - 1:
            last = ""
            for j, c in enumerate(cells):
                if c:
                    last = c
                elif last and (
                    depth == 0 or filled[depth - 1][j] == filled[depth - 1][j - 1] if j else False
                ):
                    cells[j] = last
        filled.append(cells)
    return [
        " ".join(p for p in (filled[d][j] for d in range(len(rows))) if p) for j in range(width)
    ]


def _column_names(
    header: list[str], has_data: Callable[[int], bool], drop_columns: tuple[str, ...]
) -> tuple[list[str | None], list[int]]:
    """Name each column of a trimmed header and choose the columns kept.

    An empty header cell over a column where ``has_data(j)`` is true becomes ``#<j+1>``, over
    an empty column ``None`` (padding, dropped); a repeated name gets ``#2``, ``#3`` in order of
    position; names in ``drop_columns`` (compared with ``normalise_label``) are not kept.

    Returns:
        ``(names, keep)``: a name or ``None`` per position, and the positions kept, in order.
    """
    names: list[str | None] = []
    taken: set[str] = set()
    for j, h in enumerate(header):
        if not h:
            name = f"#{j + 1}" if has_data(j) else None
        else:
            name, k = h, 1
            while name in taken:  # "Amount", "Amount#2", "Amount" -> the third is "Amount#3"
                k += 1
                name = f"{h}#{k}"
        if name is not None:
            taken.add(name)
        names.append(name)
    drop = {normalise_label(d) for d in drop_columns}
    return names, [
        j for j, n in enumerate(names) if n is not None and normalise_label(n) not in drop
    ]


def shape_table(
    file: str,
    records: list[tuple[int, list[str]]],
    header_index: int,
    stacked: int = 1,
    drop_columns: tuple[str, ...] = (),
) -> RawTable:
    """Turn located records into a RawTable: name columns, drop padding, pad ragged rows.

    Args:
        file: file name for messages.
        records: ``(line, cells)`` pairs for the whole file or sheet.
        header_index: index in ``records`` of the last header record.
        stacked: number of stacked header records ending at ``header_index``.
        drop_columns: header names removed before anything is stored (personal data).
    """
    header = flatten_header([r for _, r in records[header_index - stacked + 1 : header_index + 1]])
    body = records[header_index + 1 :]
    header_key = [c.strip().casefold() for c in header]

    first_key = header_key[0] if header_key else None

    def repeated_header(cells: list[str]) -> bool:
        # Report exports print the header again on each page: not data.
        if not cells or cells[0].strip().casefold() != first_key:
            return False
        return [c.strip().casefold() for c in cells[: len(header_key)]] == header_key and not any(
            c.strip() for c in cells[len(header_key) :]
        )

    data = [
        (line, cells)
        for line, cells in body
        if not is_padding_record(cells) and not (stacked == 1 and repeated_header(cells))
    ]
    blank = len(body) - len(data)
    width = len(header)
    # An empty header cell over a column that holds data keeps the column as '#<n>'.
    has_data = [False] * width
    unknown = set(range(width))  # columns with no data seen yet
    for _, cells in data:
        found = [j for j in unknown if j < len(cells) and cells[j].strip()]
        for j in found:
            has_data[j] = True
            unknown.discard(j)
        if not unknown:
            break
    names, keep = _column_names(header, lambda j: has_data[j], drop_columns)
    rows: list[list[str]] = []
    lines: list[int] = []
    extra: dict[int, list[str]] = {}
    for line, cells in data:
        if len(cells) > width:
            beyond = [c for c in cells[width:] if c.strip()]
            if beyond:
                extra[line] = beyond
        cells = cells + [""] * (width - len(cells))
        rows.append([cells[j] for j in keep])
        lines.append(line)
    return RawTable(
        file=file,
        columns=[names[j] for j in keep],  # type: ignore[misc]
        rows=rows,
        lines=lines,
        header_line=records[header_index][0],
        blank_rows=blank,
        preamble_rows=header_index - stacked + 1,
        extra_cells=extra,
        duplicate_headers=duplicate_positions(header),
    )


#: Bytes pyarrow parses per block; a record longer than this sends the file to the Python reader.
_ARROW_BLOCK = 16 * 1024 * 1024
_SURELY_DATA = "[A-Za-z1-9]"  # a cell holding one of these is not padding (empty or zero)


def _line_count(text: str) -> int:
    """Physical lines in ``text`` as the ``csv`` module counts them: ``\n``, ``\r\n`` and a lone
    ``\r`` each end one; a last line without a terminator counts."""
    ends = text.count("\n") + text.count("\r") - text.count("\r\n")
    return ends + (0 if text.endswith(("\n", "\r")) else 1)


def _read_csv_arrow(
    file: str, text: str, delimiter: str, quotechar: str, spec: ReaderSpec, header_hints: set[str]
) -> RawTable | None:
    """The fast path of :func:`read_csv_text`: the header found as there (Python's ``csv`` on
    the first records), the records below it parsed by pyarrow's CSV reader in C++, every
    cell a string, and the table shaped in columns by :func:`shape_arrow`.

    It answers only when it can give exactly what the Python reader gives: one header record
    (``header_rows`` 1), and below it as many records as physical lines, all as wide as the
    header, no field over :data:`MAX_FIELD_CHARS`. So no record spans lines (a quoted line
    break, an unbalanced quote), no line is empty or ragged. Otherwise it returns ``None`` and
    the Python reader reads the file, with its line-exact errors.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if spec.header_rows != 1:
        return None
    sio = io.StringIO(text, newline="")
    reader = csv.reader(sio, delimiter=delimiter, quotechar=quotechar, strict=False)
    head: list[tuple[int, list[str], int, int]] = []  # (line, cells, end position, end line)
    prev_end = 0
    try:
        for record in reader:
            if record and max(map(len, record)) > MAX_FIELD_CHARS:
                return None
            head.append((prev_end + 1, record, sio.tell(), reader.line_num))
            prev_end = reader.line_num
            if len(head) >= HEADER_SEARCH_RECORDS:
                break
    except csv.Error:
        return None
    if spec.header_row is not None:
        idx = spec.header_row - 1
        if idx >= len(head):
            return None
    else:
        found = find_header([cells for _, cells, _, _ in head], header_hints, 1)
        if found is None:
            return None
        idx = found
    header_line, header_cells, data_pos, header_end = head[idx]
    width = len(header_cells)
    rest = text[data_pos:]
    # pyarrow drops a byte-order mark that opens its input; Python's csv keeps it as text (a
    # BOM in the middle of a file: two exports joined), so such a file is not for this path
    if width < 1 or not rest.strip() or rest.startswith("\ufeff"):
        return None
    names = [f"c{j}" for j in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(rest.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=_ARROW_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=quotechar or False,
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return None
    if table.num_rows != _line_count(rest):
        return None
    for col in table.columns:
        longest = pc.max(pc.utf8_length(col)).as_py()
        if longest is not None and longest > MAX_FIELD_CHARS:
            return None
    return shape_arrow(
        file, header_cells, header_line, table, header_end + 1, idx, spec.drop_columns
    )


def shape_arrow(
    file: str,
    header_cells: list[str],
    header_line: int,
    table,
    first_line: int,
    preamble_rows: int = 0,
    drop_columns: tuple[str, ...] = (),
) -> RawTable:
    """:func:`shape_table` in columns, for records that are all as wide as the header.

    Args:
        file: file name for messages.
        header_cells: the header record's cells.
        header_line: the 1-based line (or row) of the header record.
        table: pyarrow Table of non-null strings, one column per header cell, one row per
            record below the header, record ``i`` on line ``first_line + i``.
        first_line: the line of the first record.
        preamble_rows: records above the header.
        drop_columns: header names removed before anything is stored (personal data).

    Returns:
        The RawTable :func:`shape_table` gives for the same records, with ``arrow`` set.
        Padding and repeated-header records are found in columns (a cell with a letter or a
        digit 1-9 rules a record out) and confirmed one by one with the same tests.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    header = [c.strip() for c in header_cells]
    n = table.num_rows
    cols = table.columns
    # Padding candidates: records where no cell holds a letter or a digit 1-9.
    maybe = np.ones(n, dtype=bool)
    for col in cols:
        maybe &= ~pc.match_substring_regex(col, _SURELY_DATA).to_numpy(zero_copy_only=False)
        if not maybe.any():
            break
    # Repeated-header candidates: the first cell reads as the header's first name.
    header_key = [c.strip().casefold() for c in header]
    if cols:
        first = cols[0]
        values = pc.unique(first)
        hits = [v for v in values.to_pylist() if v.strip().casefold() == header_key[0]]
        if hits:
            maybe |= pc.is_in(first, value_set=pa.array(hits, pa.string())).to_numpy(
                zero_copy_only=False
            )
    drop_row = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(maybe):
        cells = [col[int(i)].as_py() for col in cols]
        if is_padding_record(cells) or [c.strip().casefold() for c in cells] == header_key:
            drop_row[i] = True
    kept = np.flatnonzero(~drop_row)
    if drop_row.any():
        table = table.take(pa.array(kept))
        cols = table.columns
    names, keep = _column_names(header, lambda j: column_has_text(cols[j]), drop_columns)
    cells = table.select(keep)
    return RawTable(
        file=file,
        columns=[names[j] for j in keep],  # type: ignore[misc]
        rows=ArrowRows(cells),
        lines=(kept + first_line).tolist(),
        header_line=header_line,
        blank_rows=int(drop_row.sum()),
        preamble_rows=preamble_rows,
        extra_cells={},
        duplicate_headers=duplicate_positions(header_cells),
        arrow=cells,
    )


def read_csv_text(file: str, text: str, spec: ReaderSpec, header_hints: set[str]) -> RawTable:
    """Parse decoded CSV text into a RawTable (see the module docstring).

    Files whose records are one per line and as wide as the header are parsed by pyarrow
    (:func:`_read_csv_arrow`); the others by Python's ``csv`` module, record by record.

    Raises:
        FileRejected: ``file.no_header`` when no header record is found.
    """
    delim, quote = sniff_dialect(text, spec.delimiter)
    table = _read_csv_arrow(file, text, delim, quote, spec, header_hints)
    if table is None:
        table = _read_csv_python(file, text, delim, quote, spec, header_hints)
    table.delimiter = delim
    return table


def _read_csv_python(
    file: str, text: str, delim: str, quote: str, spec: ReaderSpec, header_hints: set[str]
) -> RawTable:
    """Python's ``csv`` module, record by record: any CSV, with line-exact errors.

    Raises:
        FileRejected: ``file.no_header``, ``file.unbalanced_quote``, ``file.field_too_large``,
            ``file.unreadable``.
    """
    records = _records(text, delim, quote, file)
    cells_only = [r for _, r in records]
    if spec.header_row is not None:
        idx = spec.header_row - 1 + spec.header_rows - 1
        if idx >= len(records):
            raise FileRejected(
                file, "file.no_header", f"header_row {spec.header_row} is past the end of the file"
            )
    else:
        found = find_header(cells_only, header_hints, spec.header_rows)
        if found is None:
            raise FileRejected(
                file,
                "file.no_header",
                "no record among the first 30 names at least two expected columns "
                f"(expected names such as {sorted(header_hints)[:8]})",
                line=1,
            )
        idx = found
    check_quotes(file, records[idx + 1 :], delim, len(records[idx][1]))
    return shape_table(file, records, idx, spec.header_rows, spec.drop_columns)


def _cell_text(value: object) -> str:
    """A typed Parquet value as the text a CSV export would carry: dates ISO, decimals exact."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _text_column(col):
    """A Parquet column as non-null text cells, each as :func:`_cell_text` writes it: strings,
    integers, dates and decimals converted in Arrow (the same text), other types value by
    value; a null is ``""``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    # types whose Arrow cast to text is the text _cell_text writes
    same_text = (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_integer(t)
        or pa.types.is_date32(t)
        or pa.types.is_decimal(t)
    )
    if same_text:
        return pc.fill_null(col.cast(pa.string()), "")
    return pa.array([_cell_text(v) for v in col.to_pylist()], pa.string())


def read_parquet_file(file: str, path: Path, spec: ReaderSpec) -> RawTable:
    """Read a Parquet file as text cells: every column, each value as text (dates ISO 8601,
    decimals exactly as stored, whole floats without ``.0``, null as empty); ``lines`` are
    1-based row numbers, ``header_line`` 0 (the schema is the header).

    Raises:
        FileRejected: ``file.unreadable`` when the file is not valid Parquet.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
        raise FileRejected(file, "file.unreadable", f"not a readable Parquet file: {exc}") from None
    header = [str(n) for n in table.column_names]
    cells = pa.table(
        [_text_column(c) for c in table.columns], names=[f"c{j}" for j in range(len(header))]
    )
    return shape_arrow(file, header, 0, cells, 1, 0, spec.drop_columns)


# What str.strip() removes from ASCII text (str.isspace): the Arrow path below takes ASCII text
# only, so its trimming is the Python reader's exactly (lines are split by str.splitlines()).
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _read_fixed_width_arrow(
    file: str, text: str, bounds: list[tuple[int, int]], spec: ReaderSpec, header_hints: set[str]
) -> RawTable | None:
    """The fast path of :func:`read_fixed_width_text`: columns cut and trimmed in Arrow compute.

    Answers only for ASCII text where no line has text beyond the last column (an extra cell)
    and the header is found among the first lines; otherwise ``None``, and the Python reader
    reads the file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not bounds or not text.isascii():
        return None
    text_lines = pa.array(text.splitlines(), pa.string())
    end = bounds[-1][1]
    longer = pc.filter(text_lines, pc.greater(pc.utf8_length(text_lines), end))
    if (
        len(longer)
        and pc.any(
            pc.not_equal(pc.utf8_trim(pc.utf8_slice_codeunits(longer, end), _ASCII_SPACE), "")
        ).as_py()
    ):
        return None
    # ASCII: a character is a byte, so the columns are cut as bytes (binary_slice is several
    # times faster than utf8_slice_codeunits) and cast back to text. (binary_slice with no stop
    # fails in pyarrow 26 on some arrays, "Negative buffer resize": every cut here has a stop.)
    lines = text_lines.cast(pa.binary())
    cols = [
        pc.ascii_trim(pc.binary_slice(lines, a, b).cast(pa.string()), _ASCII_SPACE)
        for a, b in bounds
    ]
    head = [[c[i].as_py() for c in cols] for i in range(min(len(lines), HEADER_SEARCH_RECORDS))]
    found = find_header(head, header_hints, 1)
    if found is None:
        return None
    table = pa.table([c.slice(found + 1) for c in cols], names=[f"c{j}" for j in range(len(cols))])
    return shape_arrow(file, head[found], found + 1, table, found + 2, found, spec.drop_columns)


def read_fixed_width_text(
    file: str, text: str, spec: ReaderSpec, header_hints: set[str]
) -> RawTable:
    """Split fixed-width text into columns of ``spec.widths`` characters (trailing spaces
    trimmed), then find the header by content and shape the table as for CSV.

    Raises:
        FileRejected: ``file.no_header`` when no header record is found.
    """
    widths = spec.widths or ()
    bounds = []
    start = 0
    for w in widths:
        bounds.append((start, start + w))
        start += w
    fast = _read_fixed_width_arrow(file, text, bounds, spec, header_hints)
    return (
        fast
        if fast is not None
        else _read_fixed_width_python(file, text, bounds, spec, header_hints)
    )


def _read_fixed_width_python(
    file: str, text: str, bounds: list[tuple[int, int]], spec: ReaderSpec, header_hints: set[str]
) -> RawTable:
    """Line by line in Python: any text, an extra cell kept where a line runs past the columns.

    Raises:
        FileRejected: ``file.no_header`` when no header record is found.
    """
    start = bounds[-1][1] if bounds else 0
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        cells = [line[a:b].strip() for a, b in bounds]
        if len(line) > start and line[start:].strip():
            cells.append(line[start:].strip())
        records.append((lineno, cells))
    found = find_header([r for _, r in records], header_hints, 1)
    if found is None:
        raise FileRejected(
            file, "file.no_header", "no fixed-width record names two expected columns", line=1
        )
    return shape_table(file, records, found, 1, spec.drop_columns)


def read_file(
    path: Path, spec: ReaderSpec, header_hints: set[str], file_name: str | None = None
) -> list[RawTable | SheetRejected]:
    """Read one received file into tables of text (one per sheet for spreadsheets).

    Args:
        path: the archived file.
        spec: the source's reader options.
        header_hints: normalised labels of the domain's columns (aliases plus the source's
            configured headers), used to find the header by content.
        file_name: the name the file was received under (for messages); default ``path.name``.

    Returns:
        A list of :class:`RawTable` (CSV: exactly one) and, for workbooks,
        :class:`SheetRejected` for sheets that are not data tables.

    Raises:
        FileRejected: ``file.empty`` for a 0-byte file, ``file.no_header`` when no header is found.
    """
    name = file_name or path.name
    data = path.read_bytes()
    if not data or data.isspace():  # (no copy of a large file)
        raise FileRejected(name, "file.empty", "the file is empty (0 bytes or only whitespace)")
    if spec.format == "excel":
        from transforms.read_excel import read_workbook

        return list(read_workbook(path, spec, header_hints, name))
    if spec.format == "parquet":
        return [read_parquet_file(name, path, spec)]
    text, used = decode_bytes(data, spec.encoding, name)
    if spec.format == "fixed_width":
        table = read_fixed_width_text(name, text, spec, header_hints)
    else:
        table = read_csv_text(name, text, spec, header_hints)
    table.encoding = used
    return [table]
