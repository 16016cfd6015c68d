"""The Arrow CSV path (transforms.read._read_csv_arrow) gives exactly what the Python reader
gives, or declines: every field of the RawTable equal, on hand-made quirks and on generated
text full of quotes, line breaks, padding, repeated headers and ragged rows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.config import ReaderSpec, normalise_label
from transforms.errors import FileRejected
from transforms.read import _read_csv_arrow, _read_csv_python

HINTS = {normalise_label(h) for h in ("Date", "Supplier", "Amount", "Expense Type")}
SPEC = ReaderSpec()
FIELDS = (
    "columns",
    "lines",
    "header_line",
    "blank_rows",
    "preamble_rows",
    "extra_cells",
    "duplicate_headers",
)


def _both(text: str, spec: ReaderSpec = SPEC, delim: str = ",", quote: str = '"'):
    fast = _read_csv_arrow("f.csv", text, delim, quote, spec, HINTS)
    try:
        slow = _read_csv_python("f.csv", text, delim, quote, spec, HINTS)
    except FileRejected as exc:
        slow = exc
    return fast, slow


def _same(fast, slow) -> None:
    assert not isinstance(slow, FileRejected), f"Arrow path read what Python rejects: {slow}"
    for name in FIELDS:
        assert getattr(fast, name) == getattr(slow, name), name
    assert list(fast.rows) == slow.rows
    assert fast.frame().equals(slow.frame())


def test_a_plain_file_takes_the_arrow_path_with_lines_padding_and_repeated_headers():
    text = (
        "Spend report,,,\r\n"
        "Date,Supplier,Amount,\r\n"
        '01/04/2025,"Smith, Jones & Co",£1.00,\r\n'
        ",,,\r\n"
        "Date,Supplier,Amount,\r\n"
        '02/04/2025,"He said ""hi""",0.00,x\r\n'
        ",£0.00,-0,\r\n"
        "03/04/2025,A Ltd,5,\r\n"
    )
    fast, slow = _both(text)
    assert fast is not None and fast.arrow is not None
    _same(fast, slow)
    assert fast.columns == ["Date", "Supplier", "Amount", "#4"]
    assert fast.lines == [3, 6, 8]  # line 4 and 7 are padding, line 5 the header again
    assert fast.blank_rows == 3 and fast.header_line == 2 and fast.preamble_rows == 1
    assert fast.rows[1] == ["02/04/2025", 'He said "hi"', "0.00", "x"]


@pytest.mark.parametrize(
    "text",
    [
        'Date,Supplier,Amount\n01/04/2025,"two\nlines",5\n',  # a quoted line break
        "Date,Supplier,Amount\n01/04/2025,A Ltd,5,extra\n",  # ragged
        "Date,Supplier,Amount\n01/04/2025,A Ltd\n",  # short
        "Date,Supplier,Amount\n\n01/04/2025,A Ltd,5\n",  # an empty line
        'Date,Supplier,Amount\n01/04/2025,"open,5\n02/04/2025,B,6\n',  # unbalanced quote
    ],
)
def test_the_arrow_path_declines_what_only_the_python_reader_reads_exactly(text):
    fast, _ = _both(text)
    assert fast is None


def test_stacked_headers_and_long_fields_go_to_the_python_reader():
    assert _both("Group,,\nDate,Supplier,Amount\n1,2,3\n", ReaderSpec(header_rows=2))[0] is None
    long = "Date,Supplier,Amount\n01/04/2025," + "x" * 1_000_001 + ",5\n"
    fast, slow = _both(long)
    assert (
        fast is None and isinstance(slow, FileRejected) and slow.rule_id == "file.field_too_large"
    )


ANY = st.text(alphabet=list('ab1 0.£-,"\n\r\t\u00a0;xZ'), max_size=6)
SAFE = st.text(alphabet=list("ab1 0.£-\t\u00a0;xZ"), max_size=6)  # no delimiter, quote, line break
CELL = st.one_of(SAFE, SAFE, SAFE, ANY)
ROW = st.lists(CELL, min_size=0, max_size=5)


HEADERS = [
    ["Date", "Supplier", "Amount"],
    ["Date", "Supplier", "Amount", ""],
    ["Date", "Date", "Amount", "Supplier"],
    ["Supplier", "Amount"],
]


@settings(max_examples=800, deadline=None)
@given(
    data=st.data(),
    pre=st.lists(ROW, max_size=2),
    header=st.sampled_from(HEADERS),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    tail=st.sampled_from(["", "\n", "\n\n"]),
    quote_all=st.booleans(),
)
def test_arrow_path_equals_python_reader_whenever_it_answers(
    data, pre, header, newline, tail, quote_all
):
    """Rows mostly as wide as the header (so the Arrow path answers often), cells drawn from
    the characters that matter: delimiters, quotes, line breaks, zeros, pound signs, spaces."""
    w = len(header)
    row = st.one_of(
        st.lists(CELL, min_size=w, max_size=w),
        st.just([" ", "0.00", "£0", "-0"][:w]),  # padding
        st.just(list(header)),  # the header again
        ROW,  # any width
    )
    body = data.draw(st.lists(row, min_size=1, max_size=8))

    def line(cells: list[str]) -> str:
        if quote_all:
            return ",".join('"' + c.replace('"', '""') + '"' for c in cells)
        return ",".join(cells)

    text = newline.join(line(r) for r in [*pre, header, *body]) + tail
    fast, slow = _both(text)
    if fast is not None:
        _same(fast, slow)


def test_parquet_cells_are_the_text_of_each_value(tmp_path):
    """Every type as the reader has always written it: strings as stored, integers, ISO dates,
    decimals exactly, whole floats without '.0', other floats as Python prints them, date-times
    ISO, booleans as True/False; a null is an empty cell; names dropped on read are gone."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from transforms.read import read_parquet_file

    table = pa.table(
        {
            "Employee": ["007", None, " x "],
            "Last name": ["Smith", "Jones", "Brown"],
            "Count": pa.array([1, None, -3], pa.int64()),
            "Paid on": [dt.date(2025, 1, 31), None, dt.date(2024, 12, 1)],
            "Gross": pa.array([Decimal("1.50"), Decimal("-0.05"), None], pa.decimal128(18, 2)),
            "FTE": [1.0, 0.6, None],
            "At": [dt.datetime(2025, 1, 31, 9, 30), None, None],
            "Flag": [True, False, None],
        }
    )
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    t = read_parquet_file(
        "p.parquet", path, ReaderSpec(format="parquet", drop_columns=("Last name",))
    )
    assert t.columns == ["Employee", "Count", "Paid on", "Gross", "FTE", "At", "Flag"]
    assert t.rows == [
        ["007", "1", "2025-01-31", "1.50", "1", "2025-01-31T09:30:00", "True"],
        ["", "", "", "-0.05", "0.6", "", "False"],
        [" x ", "-3", "2024-12-01", "", "", "", ""],
    ]
    assert t.lines == [1, 2, 3] and t.header_line == 0 and t.blank_rows == 0


FW_CELL = st.text(alphabet=list("ab 0.£-1\t\u00a0"), max_size=5)


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    widths=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_fixed_width_arrow_path_equals_python_reader_whenever_it_answers(data, widths, newline):
    """Lines of fixed-width cells (sometimes non-ASCII, sometimes running past the last
    column): the Arrow path answers for ASCII text with nothing beyond the columns, and then
    gives exactly the Python reader's table."""
    from transforms.read import _read_fixed_width_arrow, _read_fixed_width_python

    bounds, start = [], 0
    for w in widths:
        bounds.append((start, start + w))
        start += w
    names = ["Date", "Supplier", "Amount", "Expense Type"][: len(widths)]
    header = "".join(n[:w].ljust(w) for n, w in zip(names, widths, strict=False))
    hints = {normalise_label(n[:w]) for n, w in zip(names, widths, strict=False)}
    body = data.draw(
        st.lists(
            st.lists(FW_CELL, min_size=len(widths), max_size=len(widths)).map(
                lambda cells: "".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True))
            )
            | st.text(alphabet=list("ab 01\u00a0"), max_size=start + 3),
            max_size=8,
        )
    )
    pre = data.draw(st.lists(st.text(alphabet=list("ab 1"), max_size=8), max_size=2))
    text = newline.join([*pre, header, *body]) + newline
    fast = _read_fixed_width_arrow("f.txt", text, bounds, SPEC, hints)
    if fast is None:
        return
    try:
        slow = _read_fixed_width_python("f.txt", text, bounds, SPEC, hints)
    except FileRejected as exc:
        slow = exc
    _same(fast, slow)


def test_fixed_width_arrow_path_on_a_plain_file():
    from transforms.read import _read_fixed_width_arrow, _read_fixed_width_python

    text = "PAYROLL EXTRACT\nDate      Supplier  Amount\n01/04/2025A Ltd        5.00\n\n02/04/2025B Ltd       -6.10\n"
    bounds = [(0, 10), (10, 20), (20, 30)]
    fast = _read_fixed_width_arrow("f.txt", text, bounds, SPEC, HINTS)
    assert fast is not None and fast.arrow is not None
    _same(fast, _read_fixed_width_python("f.txt", text, bounds, SPEC, HINTS))
    assert fast.rows == [["01/04/2025", "A Ltd", "5.00"], ["02/04/2025", "B Ltd", "-6.10"]]
    assert fast.lines == [3, 5] and fast.blank_rows == 1 and fast.header_line == 2
    # a line running past the last column, or a non-ASCII character: the Python reader's
    assert (
        _read_fixed_width_arrow(
            "f.txt", text + "03/04/2025C Ltd           7.00 extra\n", bounds, SPEC, HINTS
        )
        is None
    )
    assert (
        _read_fixed_width_arrow("f.txt", text.replace("A Ltd", "Á Ltd"), bounds, SPEC, HINTS)
        is None
    )


def test_a_byte_order_mark_opening_the_first_record_goes_to_the_python_reader():
    """pyarrow drops a U+FEFF that opens its input; the Python reader keeps it as text, so the
    ragged row below is quarantined there (found by a helper trying to break the Arrow path)."""
    text = 'Date,Supplier,Amount\r\n\ufeff"01/04/2025,A",B,1.00\r\n02/04/2025,C,2.00\r\n'
    fast, slow = _both(text)
    assert fast is None
    assert slow.rows[0] == ['\ufeff"01/04/2025', 'A"', "B"] and slow.extra_cells == {2: ["1.00"]}


@pytest.mark.parametrize("options", [{"header_row": 0}, {"header_row": -1}, {"header_rows": 0}])
def test_header_row_and_rows_start_at_one(options):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ReaderSpec(**options)
