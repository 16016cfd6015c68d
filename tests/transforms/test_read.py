"""Unit tests of transforms.read: decoding, header search and table shaping on small inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.config import ReaderSpec
from transforms.errors import FileRejected
from transforms.read import decode_bytes, find_header, read_csv_text, read_file, shape_table

HINTS = {"date", "supplier", "amount", "transaction number", "description"}


# ----------------------------------------------------------------------------- decoding
@pytest.mark.parametrize(
    ("data", "encoding", "text", "used"),
    [
        pytest.param(b"Supplier,Amount\r\nCaf\xe9 Ltd,\xa325.00\r\n", "auto",
                     "Supplier,Amount\r\nCafé Ltd,£25.00\r\n", "cp1252", id="cp1252-pound-0xA3"),
        pytest.param(b"Note\r\nA \x96 B \x93Q\x94 Children\x92s\r\n", "auto",
                     "Note\r\nA \u2013 B \u201cQ\u201d Children\u2019s\r\n", "cp1252", id="cp1252-dash-and-quotes"),
        pytest.param(b"\xef\xbb\xbfDate,Amount\n01/04/2025,\xc2\xa35\n", "auto",
                     "Date,Amount\n01/04/2025,£5\n", "utf-8-sig", id="utf8-bom-stripped"),
        pytest.param(b"Amount\n\xc2\xa35\n", "auto", "Amount\n£5\n", "utf-8", id="utf8-no-bom"),
        pytest.param(b"Amount\n\xc2\xa35\n", "cp1252", "Amount\n£5\n", "utf-8", id="valid-utf8-wins-over-legacy"),
        pytest.param(b"Hospitality \x96 Q4,per diem \xef\xbf\xbd120\r\n", "auto",
                     "Hospitality \u2013 Q4,per diem \ufffd120\r\n", "utf-8+cp1252", id="mixed-cp1252-and-utf8"),
        pytest.param(b"\xff\xfeA\x00\xa3\x00", "auto", "A£", "utf-16", id="utf16-bom"),
        pytest.param(b"Amount\n\xc2\xa35\n", "strict:cp1252", "Amount\nÂ£5\n", "cp1252", id="strict-codec-alone"),
        pytest.param(b"Note\n\x96\n", "strict:latin-1", "Note\n\x96\n", "latin-1", id="strict-latin-1-no-utf8-first"),
    ],
)
def test_decode_bytes(data: bytes, encoding: str, text: str, used: str) -> None:
    assert decode_bytes(data, encoding) == (text, used)


# ------------------------------------------------------------------------- find_header
@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([["Date", "Supplier", "Amount"], ["01/04/2025", "A", "1"]], 0, id="header-first"),
        pytest.param(
            [["Spend over £25,000 - April 2025", "", ""], ["Run on 03/05/2025", "", ""], ["", "", ""],
             ["Date", "Supplier", "Amount"], ["01/04/2025", "A", "1"]],
            3, id="title-rows-above-header",
        ),
        pytest.param(
            [["Amount column totals", "Date", ""], [" date ", "SUPPLIER", "Amount:"], ["01/04/2025", "A", "1"]],
            1, id="most-hints-wins-labels-normalised",
        ),
        pytest.param([["Date", "Amount"], ["Supplier", "Amount"]], 0, id="tie-first-wins"),
        pytest.param([["Date", "Other"], ["1", "2"]], None, id="one-hint-is-not-a-header"),
        pytest.param([["x", "y"]] * 30 + [["Date", "Supplier", "Amount"]], None, id="header-beyond-30-records"),
    ],
)
def test_find_header(records: list[list[str]], expected: int | None) -> None:
    assert find_header(records, HINTS) == expected


# ------------------------------------------------------------------------- shape_table
def _shape(records: list[tuple[int, list[str]]], **kw):
    idx = find_header([r for _, r in records], HINTS)
    assert idx is not None
    return shape_table("t.csv", records, idx, **kw)


def test_shape_table_title_row_above_header() -> None:
    t = _shape([(1, ["Payments report", "", ""]), (2, ["Date", "Supplier", "Amount"]), (3, ["01/04/2025", "A Ltd", "5"])])
    assert t.columns == ["Date", "Supplier", "Amount"]
    assert t.rows == [["01/04/2025", "A Ltd", "5"]]
    assert (t.header_line, t.preamble_rows, t.lines) == (2, 1, [3])


def test_shape_table_padding_columns_dropped() -> None:
    t = _shape([(1, ["Date", "Supplier", "Amount", "", "", ""]),
                (2, ["01/04/2025", "A Ltd", "5", "", "", ""]),
                (3, ["02/04/2025", "B Ltd", "6", "", ""])])
    assert t.columns == ["Date", "Supplier", "Amount"]
    assert t.rows == [["01/04/2025", "A Ltd", "5"], ["02/04/2025", "B Ltd", "6"]]
    assert t.extra_cells == {}


@pytest.mark.parametrize(
    ("header", "row", "columns"),
    [
        pytest.param(["Date", "Supplier", "Amount", "Amount"], ["01/04/2025", "A", "5", "6"],
                     ["Date", "Supplier", "Amount", "Amount#2"], id="repeat-numbered-2"),
        pytest.param(["Date", "Amount", "Supplier", "Amount", "Amount"], ["01/04/2025", "5", "A", "6", "7"],
                     ["Date", "Amount", "Supplier", "Amount#2", "Amount#3"], id="repeat-numbered-3"),
        pytest.param(["Date", "Supplier", "", "Amount"], ["01/04/2025", "A", "note", "5"],
                     ["Date", "Supplier", "#3", "Amount"], id="empty-header-over-data"),
        pytest.param(["Date", "Supplier", "", "Amount"], ["01/04/2025", "A", "", "5"],
                     ["Date", "Supplier", "Amount"], id="empty-header-over-empty-column"),
    ],
)
def test_shape_table_column_names(header: list[str], row: list[str], columns: list[str]) -> None:
    t = _shape([(1, header), (2, row)])
    assert t.columns == columns
    assert len(t.rows[0]) == len(columns)


def test_shape_table_ragged_rows() -> None:
    t = _shape([
        (1, ["Date", "Supplier", "Amount"]),
        (2, ["01/04/2025", "A Ltd"]),                          # short: padded
        (3, ["02/04/2025", "B Ltd", "6", "", " "]),             # long but the extra cells are empty
        (4, ["03/04/2025", "C Ltd", "7", "stray", "", "9"]),    # long with data beyond the header
    ])
    assert t.rows == [["01/04/2025", "A Ltd", ""], ["02/04/2025", "B Ltd", "6"], ["03/04/2025", "C Ltd", "7"]]
    assert t.lines == [2, 3, 4]
    assert t.extra_cells == {4: ["stray", "9"]}


def test_shape_table_blank_and_zero_only_records_counted() -> None:
    t = _shape([
        (1, ["Date", "Supplier", "Amount"]),
        (2, ["01/04/2025", "A Ltd", "5"]),
        (3, ["", "", ""]),
        (4, []),
        (5, ["0", "0.00", "£0.00"]),
        (6, ["", " ", "0"]),
        (7, ["02/04/2025", "B Ltd", "0.00"]),   # a real zero payment is data
    ])
    assert t.blank_rows == 4
    assert t.lines == [2, 7]
    assert t.rows[-1] == ["02/04/2025", "B Ltd", "0.00"]


def test_shape_table_drop_columns_before_storing() -> None:
    t = _shape([(1, ["Date", "Supplier", "NI Number", "Amount"]), (2, ["01/04/2025", "A", "AB123456C", "5"])],
               drop_columns=("NI number",))
    assert t.columns == ["Date", "Supplier", "Amount"]
    assert "AB123456C" not in t.rows[0]


# ---------------------------------------------------------------------- read_csv_text
def test_read_csv_text_quoted_line_breaks_keep_start_line() -> None:
    text = (
        "Payments April 2025\r\n"
        "Date,Supplier,Description,Amount\r\n"
        '01/04/2025,A Ltd,"line one\r\nline two\r\nline three",5.00\r\n'
        "02/04/2025,B Ltd,plain,6.00\r\n"
        '03/04/2025,"C, D & Co",x,"1,000.00"\r\n'
    )
    t = read_csv_text("t.csv", text, ReaderSpec(), HINTS)
    assert t.header_line == 2
    assert t.lines == [3, 6, 7]
    assert t.rows[0][2] == "line one\r\nline two\r\nline three"
    assert t.rows[2] == ["03/04/2025", "C, D & Co", "x", "1,000.00"]
    assert t.delimiter == ","


def test_read_csv_text_no_header_rejected() -> None:
    with pytest.raises(FileRejected) as exc:
        read_csv_text("t.csv", "a,b,c\r\n1,2,3\r\n", ReaderSpec(), HINTS)
    assert exc.value.rule_id == "file.no_header"


@pytest.mark.parametrize(
    "data", [pytest.param(b"", id="zero-bytes"), pytest.param(b" \r\n\r\n", id="whitespace-only")]
)
def test_read_file_empty_is_rejected(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(data)
    with pytest.raises(FileRejected) as exc:
        read_file(path, ReaderSpec(), HINTS)
    assert exc.value.rule_id == "file.empty"


def test_read_file_cp1252_records_encoding(tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_bytes(b"Date,Supplier,Amount\r\n03/03/2025,Caf\xe9 Lumi\xe8re Ltd,\"\xa327,450.00\"\r\n")
    (t,) = read_file(path, ReaderSpec(), HINTS)
    assert t.encoding == "cp1252"
    assert t.rows == [["03/03/2025", "Café Lumière Ltd", "£27,450.00"]]
