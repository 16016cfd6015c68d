"""Tests of the spreadsheet reader (transforms/read_excel.py) and the workforce sources.

The expected numbers below were counted independently from python_calamine's raw rows
(``sheet.to_python(skip_empty_area=False)``) and, for the CSV, with the stdlib ``csv`` module;
they are literals on purpose, not recomputed by the code under test.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from transforms.config import (
    DomainSpec,
    ReaderSpec,
    SourceSpec,
    _check_source,
    normalise_label,
)
from transforms.errors import FileRejected
from transforms.rawtable import RawTable, SheetRejected
from transforms.read_excel import (
    cell_text,
    find_header,
    flatten_header,
    read_sheet_cells,
    read_workbook,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
SOURCES = ROOT / "config" / "sources"
WORKFORCE_SOURCES = (
    "beis__workforce",
    "moj__workforce",
    "defra__workforce",
    "dclg__workforce",
    "cabinet-office__workforce__css-2019",
    "ons__workforce__css-2013",
)


# --------------------------------------------------------------------------- helpers


def _domain() -> DomainSpec:
    data = yaml.safe_load((ROOT / "config" / "domains" / "workforce.yaml").read_text("utf-8"))
    return DomainSpec(name="workforce", **data)


def _source(source_id: str) -> SourceSpec:
    data = yaml.safe_load((SOURCES / f"{source_id}.yaml").read_text("utf-8"))
    return SourceSpec(**data)


def _hints(src: SourceSpec) -> set[str]:
    """Normalised aliases of the domain plus the source's own column names."""
    labels = [a for f in _domain().fields.values() for a in f.aliases]
    labels += [c for cols in src.columns.values() for c in cols]
    return {normalise_label(x) for x in labels}


def _file(src: SourceSpec) -> Path:
    files = sorted((SAMPLE / src.pull.path).glob(src.pull.pattern))
    assert len(files) == 1, files
    return files[0]


def _read(source_id: str) -> list[RawTable | SheetRejected]:
    src = _source(source_id)
    return read_workbook(_file(src), src.reader, _hints(src))


def _cell(table: RawTable, organisation: str, column: str) -> str:
    row = table.rows[
        [r[table.columns.index("Organisation name")] for r in table.rows].index(organisation)
    ]
    return row[table.columns.index(column)]


def _field_columns(table_columns: list[str], src: SourceSpec) -> dict[str, str]:
    """canonical field -> the table column that carries it (source columns, then aliases)."""
    by_norm = {normalise_label(c): c for c in table_columns}
    out = {}
    for name, spec in _domain().fields.items():
        for label in list(src.columns.get(name, ())) + list(spec.aliases):
            if normalise_label(label) in by_norm:
                out[name] = by_norm[normalise_label(label)]
                break
    return out


# --------------------------------------------------------------------------- sample files


def test_moj_ods() -> None:
    result = _read("moj__workforce")
    assert [type(t) for t in result] == [RawTable]
    (t,) = result
    assert t.sheet == "July_2024"
    assert t.file == "10.ods"
    assert t.header_line == 1
    assert len(t.rows) == 13
    assert t.lines == list(range(2, 15))
    assert (t.blank_rows, t.preamble_rows) == (0, 0)
    assert len(t.columns) == 41
    assert t.columns[:3] == ["Year", "Month", "Organisation name"]
    hmcts = "HM Courts and Tribunals Service"
    assert _cell(t, hmcts, "Payroll staff;\nTotal;\nHeadcount") == "15962"
    assert _cell(t, hmcts, "Non-Payroll staff costs;\nConsultancy") == "-6036"
    assert _cell(t, "Ministry of Justice", "Payroll staff;\nAO/AA;\nFull-time equivalent") == (
        "315.63352"
    )
    assert t.rows[0][0] == "2024"  # a whole float written without ".0"


def test_defra_xlsx_data_sheet_counts_template_rows_as_padding() -> None:
    result = _read("defra__workforce")
    assert [type(t) for t in result] == [RawTable]
    (t,) = result
    assert t.sheet == "Data sheet"
    assert t.header_line == 1
    # 15 organisations; sheet rows 17-25 are 9 template rows of zeros with no organisation:
    # padding (every cell empty or zero), counted with the blank rows, never data.
    assert len(t.rows) == 15
    assert t.lines == list(range(2, 17))
    assert (t.blank_rows, t.preamble_rows) == (9, 0)
    org = t.columns.index("Organisation name")
    assert all(row[org] for row in t.rows)
    # hand-picked cells
    aphA = "Animal and Plant Health Agency"
    assert _cell(t, aphA, "Payroll staff;\nAO/AA;\nFull-time equivalent") == "893.7739900000005"
    defra = "Department for Environment, Food and Rural Affairs"
    assert _cell(t, defra, "Payroll staff;\nTotal;\nHeadcount") == "7032"
    assert _cell(t, "Environment Agency", "Non-Payroll staff costs;\nContingent labour") == ""


def test_defra_other_sheets_when_all_are_read() -> None:
    """Why the source reads only 'Data sheet': the lookup sheet looks like a table."""
    src = _source("defra__workforce")
    spec = src.reader.model_copy(update={"sheets": None})
    result = read_workbook(_file(src), spec, _hints(src))
    assert [t.sheet for t in result] == ["Data sheet", "Data fields", "Organisations list"]
    assert isinstance(result[1], SheetRejected)
    assert "not a data table" in result[1].reason
    lookup = result[2]
    assert isinstance(lookup, RawTable)
    assert len(lookup.rows) == 202
    assert lookup.columns[3] == "Main, parent or sponsoring department#2"


def test_dclg_xls_three_stacked_header_rows() -> None:
    result = _read("dclg__workforce")
    assert [type(t) for t in result] == [RawTable]
    (t,) = result
    assert t.sheet == "February 2014"
    assert dt.datetime.strptime(t.sheet, _source("dclg__workforce").period.format).date() == (
        dt.date(2014, 2, 1)
    )
    assert t.header_line == 3
    assert len(t.rows) == 8
    assert t.lines == list(range(4, 12))
    assert (t.blank_rows, t.preamble_rows) == (0, 0)
    assert len(t.columns) == 41
    assert t.columns[:3] == [
        "Organisation name",
        "Organisation type",
        "Main, parent or sponsoring department",
    ]
    assert t.columns[5] == "Payroll staff Executive Officers Headcount"
    # the fill from 'Total' (merged over two columns) must not leak into 'Grand Total'
    assert t.columns[27:29] == [
        "Grand Total (workforce numbers) Headcount",
        "Grand Total (workforce numbers) Full-time equivalent",
    ]
    assert t.columns[-1] == "Comments and notes"
    dclg = "Department for Communities and Local Government"
    assert _cell(t, dclg, "Payroll staff Total Employees Full-time equivalent") == "1651.3"
    assert _cell(t, "Planning Inspectorate", "Payroll staff Total Employees Headcount") == "803"
    vts = "Valuation Tribunal Service"
    assert _cell(t, vts, "Payroll staff Admin officers/admin assistants Full-time equivalent") == (
        "25.046"
    )


def test_beis_csv_is_not_a_workbook() -> None:
    src = _source("beis__workforce")
    assert src.reader.format == "csv"
    with pytest.raises(FileRejected) as err:
        read_workbook(_file(src), ReaderSpec(format="excel"), _hints(src))
    assert err.value.rule_id == "file.unreadable"
    assert "not an XLS, XLSX or ODS workbook" in err.value.detail


def test_beis_csv_through_the_reader_entry_point() -> None:
    read_file = pytest.importorskip("transforms.read").read_file
    src = _source("beis__workforce")
    (t,) = read_file(_file(src), src.reader, _hints(src))
    # 15 organisations on lines 66-80, then 31 template rows of zeros and £0.00 (padding)
    assert len(t.rows) == 15
    assert t.header_line == 1  # the header record spans lines 1-65 (line breaks in cells)
    assert (t.lines[0], t.lines[-1]) == (66, 80)
    assert t.blank_rows == 31
    beis = "Department for Business, Energy and Industrial Strategy"
    assert _cell(t, beis, "Total\nEmployees\nHeadcount") == "5,847"
    assert _cell(t, beis, "Payroll staff costs\nTotal paybill") == "£32,489,663.80"
    acas = "Advisory Conciliation & Arbitration Service (ACAS)"
    assert _cell(t, acas, "Total Employees\nFull-time equivalent") == "994"


@pytest.mark.parametrize(
    ("source_id", "file", "sheets"),
    [
        ("cabinet-office__workforce__css-2019", "Civil Service Statistics 2019.xlsx", 55),
        ("ons__workforce__css-2013", "Civil Service Statistics 2013.xls", 43),
    ],
)
def test_css_presentation_workbooks_are_rejected_sheet_by_sheet(
    source_id: str, file: str, sheets: int
) -> None:
    result = _read(source_id)
    assert len(result) == sheets
    rejected = [t for t in result if isinstance(t, SheetRejected)]
    assert len(rejected) == sheets
    assert all(t.file == file for t in rejected)
    contents = next(t for t in rejected if t.sheet == "Contents")
    assert contents.reason.startswith(
        "sheet 'Contents' is not a data table: no row among the first 30 names at least 2 of "
        "the expected columns (main, parent or sponsoring department, month, "
    )
    table_1 = next(t for t in rejected if t.sheet == "Table 1")
    assert "is not a data table" in table_1.reason


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("source_id", WORKFORCE_SOURCES)
def test_source_entry_is_valid(source_id: str) -> None:
    path = SOURCES / f"{source_id}.yaml"
    src = _source(source_id)
    assert src.source_id == path.stem
    assert _check_source(path, src, {"workforce": _domain()}, {}) == []
    assert _file(src).is_file()


@pytest.mark.parametrize(
    "source_id", ["beis__workforce", "moj__workforce", "defra__workforce", "dclg__workforce"]
)
def test_source_maps_required_fields_and_acknowledges_every_other_column(source_id: str) -> None:
    src = _source(source_id)
    if src.reader.format == "csv":
        read_file = pytest.importorskip("transforms.read").read_file
        tables = read_file(_file(src), src.reader, _hints(src))
    else:
        tables = read_workbook(_file(src), src.reader, _hints(src))
    (t,) = tables
    assert isinstance(t, RawTable)
    found = _field_columns(t.columns, src)
    required = {n for n, f in _domain().fields.items() if f.required}
    assert required <= set(found)
    if src.period.source == "columns":
        assert {"year", "month"} <= set(found)
    assert {"paybill_gbp", "organisation_type", "parent_department"} <= set(found)
    mapped = {normalise_label(c) for c in found.values()}
    ignored = {normalise_label(c) for c in src.ignore_columns}
    leftover = [c for c in t.columns if normalise_label(c) not in mapped | ignored]
    assert leftover == []


def test_normalise_label_splits_paragraphs_on_semicolons() -> None:
    assert normalise_label("Payroll staff;\nAO/AA;\nHeadcount") == "payroll staff ao/aa headcount"
    assert normalise_label("Payroll staff; Total;  Headcount") == "payroll staff total headcount"
    assert normalise_label("Main, parent or \nsponsoring department: ") == (
        "main, parent or sponsoring department"
    )
    assert normalise_label("a;b") == "a;b"  # no whitespace after ';': not a paragraph break


# --------------------------------------------------------------------------- content detection


@pytest.mark.parametrize("fake_name", ["10.xlsx", "10.xls", "10"])
def test_format_is_picked_by_content_not_extension(tmp_path: Path, fake_name: str) -> None:
    original = SAMPLE / "workforce" / "ministry-of-justice" / "10.ods"
    renamed = tmp_path / fake_name
    shutil.copy(original, renamed)
    src = _source("moj__workforce")
    (t,) = read_workbook(renamed, src.reader, _hints(src))
    assert isinstance(t, RawTable)
    assert t.file == fake_name
    assert len(t.rows) == 13


def test_file_name_as_received_is_used(tmp_path: Path) -> None:
    archived = tmp_path / "0b1c2d.bin"
    shutil.copy(SAMPLE / "workforce" / "ministry-of-justice" / "10.ods", archived)
    src = _source("moj__workforce")
    (t,) = read_workbook(archived, src.reader, _hints(src), file_name="10.ods")
    assert t.file == "10.ods"


def test_text_file_named_xlsx_is_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "spend.xlsx"
    fake.write_text("Organisation name,Year\nHMRC,2024\n", encoding="utf-8")
    with pytest.raises(FileRejected) as err:
        read_workbook(fake, ReaderSpec(format="excel"), {"organisation name", "year"})
    assert err.value.file == "spend.xlsx"
    assert err.value.rule_id == "file.unreadable"


def test_damaged_zip_is_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "broken.xlsx"
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(FileRejected) as err:
        read_workbook(fake, ReaderSpec(format="excel"), {"organisation name", "year"})
    assert err.value.rule_id == "file.unreadable"


def test_missing_configured_sheet_is_a_sheet_rejection() -> None:
    src = _source("defra__workforce")
    spec = src.reader.model_copy(update={"sheets": ("Data Sheet ", "Summary")})
    result = read_workbook(_file(src), spec, _hints(src))
    assert isinstance(result[0], RawTable)  # found after normalise_label
    assert result[0].sheet == "Data sheet"
    assert isinstance(result[1], SheetRejected)
    assert result[1].sheet == "Summary"
    assert "no sheet named 'Summary'" in result[1].reason


# --------------------------------------------------------------------------- cell text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("", ""),
        (" as sent \n", " as sent \n"),
        (330.0, "330"),
        (-6036.0, "-6036"),
        (0.0, "0"),
        (-0.0, "0"),
        (315.63352, "315.63352"),
        (893.7739900000005, "893.7739900000005"),
        (0.1 + 0.2, "0.30000000000000004"),
        (12, "12"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.date(2019, 3, 31), "2019-03-31"),
        (dt.datetime(2013, 3, 31, 0, 0), "2013-03-31"),
        (dt.datetime(2013, 3, 31, 14, 5, 9), "2013-03-31 14:05:09"),
        (dt.time(9, 30), "09:30:00"),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


# --------------------------------------------------------------------------- header logic

HINTS = {"organisation name", "headcount", "year", "payroll staff total headcount"}


def _spec(**kw: object) -> ReaderSpec:
    return ReaderSpec(format="excel", **kw)


def test_dclg_like_header_without_merge_information() -> None:
    """The ODS path (no merged ranges reported): blanks are filled from the left only within
    the same group, and never into a column with nothing below."""
    cells = [
        ["Organisation name", "Payroll staff", "", "", "", "Grand Total", "", "Notes", ""],
        ["", "EO", "", "Total", "", "", "", "", ""],
        ["", "Headcount", "FTE", "Headcount", "FTE", "Headcount", "FTE", "", ""],
    ]
    names = flatten_header(cells, 0, 3, 9)
    assert names == [
        "Organisation name",
        "Payroll staff EO Headcount",
        "Payroll staff EO FTE",
        "Payroll staff Total Headcount",
        "Payroll staff Total FTE",
        "Grand Total Headcount",
        "Grand Total FTE",
        "Notes",
        "",
    ]


def test_merged_ranges_drive_the_fill_when_given() -> None:
    cells = [
        ["Organisation name", "Payroll staff", "", "Comments"],
        ["", "Headcount", "FTE", ""],
    ]
    # 'Payroll staff' merged over columns 1-2; 'Comments' vertically over both rows.
    merges = [((0, 1), (0, 2)), ((0, 3), (1, 3)), ((0, 0), (1, 0))]
    assert flatten_header(cells, 0, 2, 4, merges) == [
        "Organisation name",
        "Payroll staff Headcount",
        "Payroll staff FTE",
        "Comments",
    ]
    # a merge reported elsewhere (a title) does not switch off the heuristic for the header
    assert flatten_header([["Title", "", "", ""], *cells], 1, 2, 4, [((0, 0), (0, 3))]) == [
        "Organisation name",
        "Payroll staff Headcount",
        "Payroll staff FTE",
        "Comments",
    ]


def test_merged_ranges_stop_the_fill_where_the_merge_ends() -> None:
    """'Notes' sits in the lower row only; the heuristic alone would read it as part of the
    'Payroll staff' group, the merged range (columns 1-2) says otherwise."""
    cells = [
        ["Organisation name", "Payroll staff", "", ""],
        ["", "Headcount", "FTE", "Notes"],
    ]
    assert flatten_header(cells, 0, 2, 4, [((0, 1), (0, 2))])[3] == "Notes"
    # without merge information (ODS) the heuristic cannot tell: a known limitation
    assert flatten_header(cells, 0, 2, 4, None)[3] == "Payroll staff Notes"


def test_parts_are_cleaned_and_joined_with_one_space() -> None:
    cells = [
        ["Main, parent or \nsponsoring department: ", "Total\u00a0\nEmployees"],
        ["", "Full-time \nequivalent"],
    ]
    assert flatten_header(cells, 0, 2, 2) == [
        "Main, parent or sponsoring department",
        "Total Employees Full-time equivalent",
    ]


def test_find_header_first_best_row_and_at_least_two() -> None:
    cells = [
        ["Workforce return"],
        ["Organisation name", "Notes"],  # only one hint
        ["Organisation name", "Headcount"],  # two
        ["Organisation name", "Headcount"],  # also two: the first one wins
    ]
    assert find_header(cells, HINTS)[0] == 2
    assert find_header(cells[:2], HINTS)[0] is None
    assert find_header(cells[:2], HINTS)[1] == 1
    # beyond the first 30 rows a header is not looked for
    padded = [["x"]] * 30 + cells[2:]
    assert find_header(padded, HINTS)[0] is None


def test_stacked_header_does_not_start_on_an_empty_row() -> None:
    cells = [
        ["Monthly return", "", "", ""],
        ["", "", "", ""],
        ["Organisation name", "Payroll staff", "", "Year"],
        ["", "Headcount", "FTE", ""],
        ["HMRC", "10", "9.5", "2024"],
    ]
    # rows 2-3 and rows 3-4 both name 'organisation name' and 'year'; the block that starts
    # on the empty row 2 must not win
    t = read_sheet_cells(
        cells, file="f", sheet="S", spec=_spec(header_rows=2), hints={"organisation name", "year"}
    )
    assert t.header_line == 4
    assert t.preamble_rows == 2
    assert t.columns == [
        "Organisation name",
        "Payroll staff Headcount",
        "Payroll staff FTE",
        "Year",
    ]
    assert t.rows == [["HMRC", "10", "9.5", "2024"]]


def test_read_sheet_cells_shapes_the_table() -> None:
    cells = [
        ["Monthly return", "", "", "", "", ""],
        ["", "", "", "", "", ""],
        ["Organisation name", "Headcount", "", "Headcount", "", "Year"],
        ["HMRC", "10", "note", "11", "", "2024"],
        ["", "", "", "", "", ""],
        ["  ", "", "", "", "", ""],
        ["DWP", "0", "", "0", "", ""],
        ["", "", "", "", "", ""],
    ]
    t = read_sheet_cells(cells, file="f.xlsx", sheet="S", spec=_spec(), hints=HINTS)
    assert isinstance(t, RawTable)
    assert t.columns == ["Organisation name", "Headcount", "#3", "Headcount#2", "Year"]
    assert t.rows == [["HMRC", "10", "note", "11", "2024"], ["DWP", "0", "", "0", ""]]
    assert t.lines == [4, 7]
    assert (t.header_line, t.preamble_rows, t.blank_rows) == (3, 2, 3)
    assert t.sheet == "S" and t.file == "f.xlsx"
    assert t.extra_cells == {}


def test_row_offset_keeps_true_sheet_rows() -> None:
    cells = [["Organisation name", "Year"], ["HMRC", "2024"]]
    t = read_sheet_cells(cells, file="f", sheet="S", spec=_spec(), hints=HINTS, row_offset=4)
    assert (t.header_line, t.preamble_rows, t.lines) == (5, 4, [6])


def test_explicit_header_row_and_drop_columns() -> None:
    cells = [
        ["Anything", "at", "all"],
        ["Organisation name", "Contact e-mail", "Headcount"],
        ["HMRC", "someone@example.org", "10"],
    ]
    spec = _spec(header_row=2, drop_columns=("contact e-mail",))
    t = read_sheet_cells(cells, file="f", sheet="S", spec=spec, hints=set())
    assert t.columns == ["Organisation name", "Headcount"]
    assert t.rows == [["HMRC", "10"]]
    past_end = read_sheet_cells(cells, file="f", sheet="S", spec=_spec(header_row=9), hints=set())
    assert isinstance(past_end, SheetRejected)


def test_rejections_name_the_sheet() -> None:
    empty = read_sheet_cells([], file="f", sheet="Blank", spec=_spec(), hints=HINTS)
    assert isinstance(empty, SheetRejected)
    assert empty.reason == "sheet 'Blank' is empty"
    titles = [["Civil Service Statistics"], ["Organisation name", "Notes"]]
    rej = read_sheet_cells(titles, file="f", sheet="Contents", spec=_spec(), hints=HINTS)
    assert isinstance(rej, SheetRejected)
    assert rej.reason == (
        "sheet 'Contents' is not a data table: no row among the first 30 names at least 2 of "
        "the expected columns (headcount, organisation name, payroll staff total headcount, "
        "year); the best, row 2, names only 1"
    )


def test_openpyxl_workbook_round_trip(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "March 2024"
    ws.append(["Monthly return"])
    ws.append([])
    ws.append(["Organisation name", "Payroll staff", None, "Year"])
    ws.append([None, "Headcount", "FTE", None])
    ws.merge_cells("B3:C3")
    ws.append(["HMRC", 10, 9.5, 2024])
    ws.append([dt.date(2024, 3, 31), None, None, None])
    path = tmp_path / "return.xlsx"
    wb.save(path)
    (t,) = read_workbook(path, _spec(header_rows=2), {"organisation name", "year"})
    assert t.columns == [
        "Organisation name",
        "Payroll staff Headcount",
        "Payroll staff FTE",
        "Year",
    ]
    assert t.rows == [["HMRC", "10", "9.5", "2024"], ["2024-03-31", "", "", ""]]
    assert (t.header_line, t.preamble_rows, t.lines) == (4, 2, [5, 6])
