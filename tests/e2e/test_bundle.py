"""End-to-end checks of the bundle warehouse against the raw files, parsed independently.

Every bundled spend, organogram and workforce file is loaded once by the ``bundle_warehouse``
fixture (tests/conftest.py). The tests below re-read the same raw files from ``data/sample``
with their own small parser -- stdlib ``csv`` for text files, ``python_calamine`` for
spreadsheets, nothing from ``transforms`` -- and compare what they find with what the
warehouse holds. Expected values are either computed here from the raw bytes or were read by
hand from the raw files (line numbers are physical 1-based lines where the record starts);
none is copied from warehouse output.

All tests share one xdist worker (``--dist loadgroup``) so the fixture is built once.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
import yaml
from python_calamine import CalamineWorkbook

pytestmark = pytest.mark.xdist_group("bundle")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
SOURCES_DIR = ROOT / "config" / "sources"

# ----------------------------------------------------------------------------- the raw files
# Header record line (physical, 1-based) of every bundled CSV data file, read by hand.
CSV_HEADER_LINE: dict[str, int] = {
    "spend/ministry-of-justice/moj-aramis-april-12.csv.csv": 3,  # title line 1, empty line 2
    "spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv": 1,
    "spend/department-for-work-pensions/dwp-payments-april11.csv": 1,
    "spend/hm-revenue-customs/25k-trans-nov.csv": 1,
    "spend/hm-treasury/25k_data_September_2013_final.csv": 1,
    "spend/cabinet-office/062015_June_2015_-_25k.csv": 1,
    "spend/department-of-health/25k_May_2014.csv": 1,
    "spend/foreign-commonwealth-office/April_2015_Spend_Report_-_for_publishing.csv": 1,
    "spend/department-for-education/DfE-Spend-February-2016.csv": 1,
    "spend/intellectual-property-office/1004ipopayments.csv": 1,
    "spend/nhs-business-services-authority/01_-_April(2012).csv": 1,
    "spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv": 1,
    "spend/department-for-business-innovation-skills/BIS_June_2015.csv": 1,
    "spend/department-for-science-innovation-and-technology/dsit-spending-over-25000-july-2024.csv": 1,
    "spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv": 1,
    "spend/craven-district-council/payments.csv": 1,
    "organogram/ministry-of-justice/ministry_of_justice-2011-09-30-senior.csv": 1,
    "organogram/national-offender-management-service/national_offender_management_service-2011-09-30-senior.csv": 1,
    "organogram/hm-treasury/hm_treasury-2011-09-30-senior.csv": 1,
    "organogram/hm-treasury/hm_treasury-2011-09-30-junior.csv": 1,
    "organogram/department-for-transport/department_for_transport-2011-09-30-senior.csv": 1,
    "organogram/department-for-transport/department_for_transport-2011-09-30-junior.csv": 1,
    "organogram/home-office/130930-Home-Office-Organogram-Data-senior.csv": 1,
    "organogram/home-office/130930-Home-Office-Organogram-Data-junior.csv": 1,
    # header record starts on line 1 but spans many lines (quoted line breaks in cells)
    "workforce/department-for-business-energy-and-industrial-strategy/1010.csv": 1,
}
# Spreadsheet data files: the data sheet(s) and the last header row (1-based) of each, by hand.
SHEET_HEADER_ROW: dict[str, dict[str, int]] = {
    "workforce/ministry-of-justice/10.ods": {"July_2024": 1},
    # three stacked header rows (group / grade / measure)
    "workforce/department-for-communities-and-local-government/1039.xls": {"February 2014": 3},
    # the other two sheets ("Data fields", "Organisations list") are instructions and a lookup
    "workforce/department-for-environment-food-rural-affairs/1059.xlsx": {"Data sheet": 1},
}
# Presentation workbooks: every sheet is rejected as not tabular; sheet counts from SOURCES.md.
CSS_WORKBOOKS: dict[str, int] = {
    "workforce/cabinet-office/Civil Service Statistics 2019.xlsx": 55,
    "workforce/office-for-national-statistics/Civil Service Statistics 2013.xls": 43,
}
DATA_KINDS = ("spend", "organogram", "workforce")


def _cp1252_per_byte(exc: UnicodeDecodeError):
    """Decode the bytes that are not valid UTF-8 as cp1252 (latin-1 for its 5 holes)."""
    out = []
    for b in exc.object[exc.start : exc.end]:
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(bytes([b]).decode("latin-1"))
    return "".join(out), exc.end


codecs.register_error("test_bundle_cp1252_per_byte", _cp1252_per_byte)


def decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 files, and the DfT file which mixes UTF-8 sequences with cp1252 bytes
        return data.decode("utf-8", errors="test_bundle_cp1252_per_byte")


@cache
def csv_records(rel: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """Every CSV record of the file as (physical line where it starts, cells)."""
    text = decode((SAMPLE / rel).read_bytes())
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    reader = csv.reader(iter(lines))
    out = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        out.append((start, tuple(row)))
    return tuple(out)


_ZERO = re.compile(r"^-?£?0+(\.0+)?$")


def _empty_or_zero(cell) -> bool:
    if cell is None:
        return True
    if isinstance(cell, bool):
        return False
    if isinstance(cell, int | float):
        return cell == 0
    text = str(cell).strip()
    return text == "" or bool(_ZERO.match(text))


def is_padding(cells) -> bool:
    """Padding: every cell empty, or every cell empty or a zero (0, 0.00, £0.00)."""
    return all(_empty_or_zero(c) for c in cells)


@cache
def csv_header(rel: str) -> tuple[str, ...]:
    line = CSV_HEADER_LINE[rel]
    return next(cells for ln, cells in csv_records(rel) if ln == line)


@cache
def csv_after_header(rel: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
    line = CSV_HEADER_LINE[rel]
    recs = csv_records(rel)
    i = next(i for i, (ln, _) in enumerate(recs) if ln == line)
    return recs[i + 1 :]


@cache
def csv_data(rel: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
    return tuple(r for r in csv_after_header(rel) if not is_padding(r[1]))


@cache
def sheet_rows(rel: str, sheet: str) -> list[list]:
    wb = CalamineWorkbook.from_path(str(SAMPLE / rel))
    return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def count_data_and_padding(rel: str) -> tuple[int, int]:
    """(data records, padding records) after the header, summed over the file's data sheets."""
    if rel in CSV_HEADER_LINE:
        after = csv_after_header(rel)
        data = sum(1 for _, cells in after if not is_padding(cells))
        return data, len(after) - data
    data = pad = 0
    for sheet, header_row in SHEET_HEADER_ROW[rel].items():
        for row in sheet_rows(rel, sheet)[header_row:]:
            if is_padding(row):
                pad += 1
            else:
                data += 1
    return data, pad


def bundled_data_files() -> list[str]:
    return sorted(
        str(p.relative_to(SAMPLE))
        for kind in DATA_KINDS
        for p in (SAMPLE / kind).rglob("*")
        if p.is_file()
    )


@cache
def registry_pulls() -> tuple[tuple[str, str, str], ...]:
    """(source_id, pull.path, pull.pattern) of every registered source, read from the YAML."""
    out = []
    for path in sorted(SOURCES_DIR.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        out.append((spec["source_id"], spec["pull"]["path"], spec["pull"]["pattern"]))
    return tuple(out)


def source_of(rel: str) -> str:
    p = Path(rel)
    hits = [
        sid
        for sid, folder, pattern in registry_pulls()
        if Path(folder) == p.parent and fnmatch.fnmatch(p.name, pattern)
    ]
    assert len(hits) == 1, f"{rel}: matched by {hits}"
    return hits[0]


def test_file_lists_are_complete():
    """The hand-written header tables cover exactly the bundled data files."""
    listed = set(CSV_HEADER_LINE) | set(SHEET_HEADER_ROW) | set(CSS_WORKBOOKS)
    assert listed == set(bundled_data_files())
    assert len([f for f in listed if f.startswith("spend/")]) == 16
    assert len([f for f in listed if f.startswith("organogram/")]) == 8
    assert len([f for f in listed if f.startswith("workforce/")]) == 6


# ------------------------------------------------------------------------ warehouse helpers
LATEST_LOADS = """
    select * from ops.load_log l
    where attempt = (select max(attempt) from ops.load_log m where m.load_id = l.load_id)
"""


def loads_of(con, rel: str) -> list[dict]:
    cur = con.execute(
        f"select * from ({LATEST_LOADS}) where source_id = ? and file_name = ? order by sheet",
        [source_of(rel), Path(rel).name],
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def _rel_id(rel: str) -> str:
    return rel.replace(" ", "_")


TABULAR_FILES = sorted(set(CSV_HEADER_LINE) | set(SHEET_HEADER_ROW))


# ------------------------------------------------------------------------------- 1. load log
def test_load_log_rows_balance(bundle_db):
    rows = bundle_db.execute(
        "select load_id, attempt, file_name, sheet, rows_read, rows_published, rows_quarantined "
        "from ops.load_log"
    ).fetchall()
    assert rows
    bad = [r for r in rows if r[4] != r[5] + r[6]]
    assert bad == []


def test_every_bundled_data_file_was_loaded(bundle_db):
    for rel in bundled_data_files():
        assert loads_of(bundle_db, rel), f"{rel}: no load in ops.load_log"


# ---------------------------------------------------------------- 2. rows read, independently
@pytest.mark.parametrize("rel", TABULAR_FILES, ids=_rel_id)
def test_rows_read_equals_independent_count(bundle_db, rel):
    loads = loads_of(bundle_db, rel)
    expected_data, _ = count_data_and_padding(rel)
    if rel in SHEET_HEADER_ROW:
        assert {ld["sheet"] for ld in loads} == set(SHEET_HEADER_ROW[rel])
    assert sum(ld["rows_read"] for ld in loads) == expected_data


@pytest.mark.parametrize("rel", TABULAR_FILES, ids=_rel_id)
def test_rows_blank_equals_independent_padding_count(bundle_db, rel):
    loads = loads_of(bundle_db, rel)
    _, expected_padding = count_data_and_padding(rel)
    assert sum(ld["rows_blank"] for ld in loads) == expected_padding


def test_known_data_and_padding_counts():
    """Counts stated in SOURCES.md, recomputed by the independent parser."""
    assert count_data_and_padding(
        "spend/department-for-business-innovation-skills/BIS_June_2015.csv"
    ) == (3617, 666)
    assert count_data_and_padding("spend/cabinet-office/062015_June_2015_-_25k.csv") == (200, 799)
    assert count_data_and_padding("spend/hm-treasury/25k_data_September_2013_final.csv") == (50, 4)
    assert count_data_and_padding(
        "spend/department-for-work-pensions/dwp-payments-april11.csv"
    ) == (16591, 1)
    assert count_data_and_padding("spend/ministry-of-justice/moj-aramis-april-12.csv.csv") == (
        756,
        0,
    )
    assert count_data_and_padding(
        "spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv"
    ) == (8371, 0)
    assert count_data_and_padding(
        "spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv"
    ) == (3922, 0)
    # Craven: 171 payments plus the unlabelled grand-total row (data, not padding)
    assert count_data_and_padding("spend/craven-district-council/payments.csv") == (172, 0)
    assert count_data_and_padding(
        "organogram/home-office/130930-Home-Office-Organogram-Data-junior.csv"
    ) == (1387, 0)
    # BEIS: 46 records, of which 31 carry only empty cells and £0.00 costs
    assert count_data_and_padding(
        "workforce/department-for-business-energy-and-industrial-strategy/1010.csv"
    ) == (15, 31)
    # Defra: 15 organisation rows then 9 all-zero template rows
    assert count_data_and_padding(
        "workforce/department-for-environment-food-rural-affairs/1059.xlsx"
    ) == (15, 9)
    assert count_data_and_padding(
        "workforce/department-for-communities-and-local-government/1039.xls"
    ) == (8, 0)
    assert count_data_and_padding("workforce/ministry-of-justice/10.ods") == (13, 0)


@pytest.mark.parametrize("rel", sorted(CSS_WORKBOOKS), ids=_rel_id)
def test_civil_service_statistics_rejected_per_sheet(bundle_db, rel):
    sheets = CalamineWorkbook.from_path(str(SAMPLE / rel)).sheet_names
    assert len(sheets) == CSS_WORKBOOKS[rel]
    loads = loads_of(bundle_db, rel)
    assert sorted(ld["sheet"] for ld in loads) == sorted(sheets)
    for ld in loads:
        assert ld["status"] == "rejected", ld["sheet"]
        assert ld["reject_rule"] == "file.not_tabular", ld["sheet"]
        assert ld["rows_published"] == 0


# ---------------------------------------------------------------------- 3. publisher coverage
SPEND_BODIES = {
    "moj",
    "dft",
    "dwp",
    "hmrc",
    "hmt",
    "cabinet-office",
    "dh",
    "dfe",
    "fco",
    "ipo",
    "nhsbsa",
    "mod",
    "bis",
    "dsit",
    "oxford-city-council",
    "craven-district-council",
}
POST_BODIES = {"hmt", "dft", "home-office", "noms", "moj"}


def test_fct_spend_has_every_spend_publisher(bundle_db):
    got = {
        r[0] for r in bundle_db.execute("select distinct body_code from core.fct_spend").fetchall()
    }
    assert got == SPEND_BODIES


def test_fct_post_has_every_organogram_body(bundle_db):
    got = {
        r[0] for r in bundle_db.execute("select distinct body_code from core.fct_post").fetchall()
    }
    assert got == POST_BODIES


# --------------------------------------------------------------------- 4. pinned spend values
# (file, line, amount cell exactly as in the raw file, amount_gbp, payment_date, supplier_name)
# All read by hand from the raw files.
# fmt: off
SPEND_PINS = [
    # MoJ: £ from cp1252 0xA3, credits -£, dates dd-Mon-yy, header on line 3
    ("spend/ministry-of-justice/moj-aramis-april-12.csv.csv", 6, "£25,202.11", "25202.11", date(2012, 4, 5), "ATOS IT SERVICES UK LTD"),
    ("spend/ministry-of-justice/moj-aramis-april-12.csv.csv", 327, "-£81,770.30", "-81770.30", date(2012, 4, 3), "DERBYSHIRE COURTS LTD"),
    ("spend/ministry-of-justice/moj-aramis-april-12.csv.csv", 18, "£27,661.84", "27661.84", date(2012, 4, 5), "ATOS IT SERVICES UK LTD"),  # spans lines 18-19
    ("spend/ministry-of-justice/moj-aramis-april-12.csv.csv", 20, "£27,665.40", "27665.40", date(2012, 4, 5), "FUJITSU SERVICES LTD"),
    ("spend/ministry-of-justice/moj-aramis-april-12.csv.csv", 789, "£3,395,362.32", "3395362.32", date(2012, 4, 18), "JUDICIAL PENSIONS SCHEME"),
    # DfT: plain, negative, thousands comma, a £
    ("spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv", 2, "2274", "2274.00", date(2014, 12, 1), "CAPITA BUSINESS SERVICES LTD"),
    ("spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv", 27, "-1899.59", "-1899.59", date(2014, 12, 1), "CORONA ENERGY RETAIL 4 LTD"),
    ("spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv", 6423, "1,003.24", "1003.24", date(2014, 12, 23), "KAM Auto Engineering"),
    ("spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv", 6617, "£1,080.33", "1080.33", date(2014, 12, 30), "xxxxxx"),
    ("spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv", 8372, "8333.33", "8333.33", date(2014, 12, 31), "CAA"),
    # DWP: quoted with thousands commas
    ("spend/department-for-work-pensions/dwp-payments-april11.csv", 2, "29,512,539.75", "29512539.75", date(2011, 4, 28), "TELEREAL TRILLIUM"),
    ("spend/department-for-work-pensions/dwp-payments-april11.csv", 16371, "-0.69", "-0.69", date(2011, 4, 5), "CARLSON WAGONLIT TRAVEL"),
    ("spend/department-for-work-pensions/dwp-payments-april11.csv", 16592, "-544,050.25", "-544050.25", date(2011, 4, 20), "HP ENTERPRISE SERVICES UK LTD"),
    # HMRC
    ("spend/hm-revenue-customs/25k-trans-nov.csv", 2, "£25,986.00", "25986.00", date(2012, 11, 1), "TNS - BMRB"),
    ("spend/hm-revenue-customs/25k-trans-nov.csv", 225, "-£52,784.59", "-52784.59", date(2012, 11, 12), "MAPELEY STEPS LTD"),
    ("spend/hm-revenue-customs/25k-trans-nov.csv", 387, "£151,646.88", "151646.88", date(2012, 11, 30), "FUJITSU SERVICES LTD"),
    # HMT: dd-Mon-yyyy
    ("spend/hm-treasury/25k_data_September_2013_final.csv", 2, "150000", "150000.00", date(2013, 9, 2), "UK FINANCIAL INVESTMENTS LTD"),
    ("spend/hm-treasury/25k_data_September_2013_final.csv", 27, "68305", "68305.00", date(2013, 9, 18), "DELOITTE LLP"),
    ("spend/hm-treasury/25k_data_September_2013_final.csv", 51, "82548.91", "82548.91", date(2013, 9, 30), "FUJITSU SERVICES LIMITED"),
    # Cabinet Office: unpadded d/m/yyyy
    ("spend/cabinet-office/062015_June_2015_-_25k.csv", 2, "71603.00", "71603.00", date(2015, 6, 1), "TREASURER TO THE QUEEN"),
    ("spend/cabinet-office/062015_June_2015_-_25k.csv", 102, "34431.17", "34431.17", date(2015, 6, 16), "CAPITA BUSINESS SERVICES LTD"),
    ("spend/cabinet-office/062015_June_2015_-_25k.csv", 201, "67695.00", "67695.00", date(2015, 6, 30), "MISCO COMPUTER SUPPLIES LTD"),
    # DH
    ("spend/department-of-health/25k_May_2014.csv", 2, "50833", "50833.00", date(2014, 5, 1), "ROTHERHAM DONCASTER AND SOUTH HUMBER NHS FOUNDATION TRUST"),
    ("spend/department-of-health/25k_May_2014.csv", 118, "-0.01", "-0.01", date(2014, 5, 13), "MARTINDALE PHARMACEUTICALS LTD"),
    ("spend/department-of-health/25k_May_2014.csv", 547, "41824", "41824.00", date(2014, 5, 30), "CITY UNIVERSITY"),
    # FCO: quoted, sometimes without decimals
    ("spend/foreign-commonwealth-office/April_2015_Spend_Report_-_for_publishing.csv", 2, "36,975.28", "36975.28", date(2015, 4, 7), "ASPAUD CO"),
    ("spend/foreign-commonwealth-office/April_2015_Spend_Report_-_for_publishing.csv", 4, "250,000", "250000.00", date(2015, 4, 7), "MULTINATIONAL FORCE AND OBSERVERS"),
    ("spend/foreign-commonwealth-office/April_2015_Spend_Report_-_for_publishing.csv", 20, "-25,650", "-25650.00", date(2015, 4, 9), "BURN RITE"),
    # DfE, incl. the aggregate redactions row
    ("spend/department-for-education/DfE-Spend-February-2016.csv", 2, "25000.00", "25000.00", date(2016, 2, 1), "PORTWAY PRIMARY SCHOOL"),
    ("spend/department-for-education/DfE-Spend-February-2016.csv", 31, "-200.00", "-200.00", date(2016, 2, 2), "UNIVERSITY OF BRISTOL"),
    ("spend/department-for-education/DfE-Spend-February-2016.csv", 1135, "3597979499.58", "3597979499.58", date(2016, 2, 29), "EDUCATION FUNDING AGENCY"),
    # IPO: Excel serial 40275 = 2010-04-07
    ("spend/intellectual-property-office/1004ipopayments.csv", 2, "9.74", "9.74", date(2010, 4, 7), "Amazon"),
    ("spend/intellectual-property-office/1004ipopayments.csv", 40, "123.38", "123.38", date(2010, 4, 7), "Stanco"),
    ("spend/intellectual-property-office/1004ipopayments.csv", 103, "-376", "-376.00", date(2010, 4, 7), "Nildram Ltd"),
    # NHSBSA
    ("spend/nhs-business-services-authority/01_-_April(2012).csv", 2, "813,072.46", "813072.46", date(2012, 4, 2), "CAPITA BUSINESS SERVICES LTD"),
    ("spend/nhs-business-services-authority/01_-_April(2012).csv", 3, "-14,252.59", "-14252.59", date(2012, 4, 2), "CAPITA BUSINESS SERVICES LTD"),
    ("spend/nhs-business-services-authority/01_-_April(2012).csv", 22, "72,000.00", "72000.00", date(2012, 4, 10), "THE COAL AUTHORITY"),
    # MoD: trailing NBSP (0xA0) on line 4, -£ credits, a record after a 2-line record
    ("spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv", 2, "£38,719,600.00", "38719600.00", date(2015, 2, 13), "OFFICE OF COMMUNICATIONS (OFCOM)"),
    ("spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv", 4, "£11,014,782.31\xa0", "11014782.31", date(2015, 2, 19), "BARCLAYS BANK PLC"),
    ("spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv", 4036, "-£6.18", "-6.18", date(2015, 2, 3), "AAH PHARMACEUTICALS LTD"),
    ("spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv", 4077, "-£195,000.00", "-195000.00", date(2015, 2, 12), "BAE SYSTEMS (OPERATIONS) LIMITED"),
    # BIS
    ("spend/department-for-business-innovation-skills/BIS_June_2015.csv", 2, "-85.70", "-85.70", date(2015, 6, 15), "DAISY COMMUNICATIONS LTD"),
    ("spend/department-for-business-innovation-skills/BIS_June_2015.csv", 1810, "4.05", "4.05", date(2015, 6, 17), "Personal Expense, Name Witheld"),
    ("spend/department-for-business-innovation-skills/BIS_June_2015.csv", 3688, "792.44", "792.44", date(2015, 6, 24), "THAMES WATER UTILITIES LTD"),
    # DSIT: £ in every amount
    ("spend/department-for-science-innovation-and-technology/dsit-spending-over-25000-july-2024.csv", 2, "£58,608.00", "58608.00", date(2024, 7, 9), "Open Data Institute (Odi)"),
    ("spend/department-for-science-innovation-and-technology/dsit-spending-over-25000-july-2024.csv", 103, "£182,812,884.79", "182812884.79", date(2024, 7, 31), "Consolidated Fund Account 6622"),
    ("spend/department-for-science-innovation-and-technology/dsit-spending-over-25000-july-2024.csv", 203, "£1,000,000.00", "1000000.00", date(2024, 7, 10), "British Technology Investments Ltd"),
    # Oxford: right-padded supplier names are trimmed
    ("spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv", 2, "1054.11", "1054.11", date(2015, 4, 7), "Redacted personal data"),
    ("spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv", 142, "-0.97", "-0.97", date(2015, 4, 21), "CHAMPION EMPLOYMENT LTD"),
    ("spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv", 3994, "5000", "5000.00", date(2015, 6, 23), "VRS VERICLAIM"),
    # Craven
    ("spend/craven-district-council/payments.csv", 2, "1,000.00", "1000.00", date(2017, 3, 6), "Harrogate Borough Council"),
    ("spend/craven-district-council/payments.csv", 88, "3,510.00", "3510.00", date(2017, 3, 3), "Cipfa Business Ltd"),
    ("spend/craven-district-council/payments.csv", 3, "696.06", "696.06", date(2017, 3, 24), "Brenntag Uk Ltd"),
]
# fmt: on

# The amount column of each spend file (hand-read header names).
SPEND_AMOUNT_COLUMN = {
    "spend/ministry-of-justice/moj-aramis-april-12.csv.csv": "Amount",
    "spend/department-for-transport/150127_December_14_Transparency_Consolidated.csv": "Amount",
    "spend/department-for-work-pensions/dwp-payments-april11.csv": "Amount",
    "spend/hm-revenue-customs/25k-trans-nov.csv": "Amount",
    "spend/hm-treasury/25k_data_September_2013_final.csv": "Amount",
    "spend/cabinet-office/062015_June_2015_-_25k.csv": "Amount",
    "spend/department-of-health/25k_May_2014.csv": "Amount £",
    "spend/foreign-commonwealth-office/April_2015_Spend_Report_-_for_publishing.csv": "Invoice Amount",
    "spend/department-for-education/DfE-Spend-February-2016.csv": "Amount",
    "spend/intellectual-property-office/1004ipopayments.csv": "Amount",
    "spend/nhs-business-services-authority/01_-_April(2012).csv": "Amount",
    "spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv": "Total",
    "spend/department-for-business-innovation-skills/BIS_June_2015.csv": "Amount",
    "spend/department-for-science-innovation-and-technology/dsit-spending-over-25000-july-2024.csv": "Amount",
    "spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv": "Amount",
    "spend/craven-district-council/payments.csv": "Amount",
}
SPEND_DATE_COLUMN = {
    "spend/department-for-business-innovation-skills/BIS_June_2015.csv": "Date of Payment",
    "spend/department-for-science-innovation-and-technology/dsit-spending-over-25000-july-2024.csv": "Date of Payment",
    "spend/foreign-commonwealth-office/April_2015_Spend_Report_-_for_publishing.csv": "Payment date",
    "spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv": "Payment Date",
    "spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv": "Paid Date",
    "spend/craven-district-council/payments.csv": "Payment Date",
}  # all others: "Date"
SPEND_SUPPLIER_COLUMN = {
    "spend/foreign-commonwealth-office/April_2015_Spend_Report_-_for_publishing.csv": "Supplier ",
    "spend/ministry-of-defence/20150324-Transparency_Final_File_New.csv": "Supplier Name",
    "spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv": "Supplier Name",
    "spend/craven-district-council/payments.csv": "Supplier Name",
}  # all others: "Supplier"
SPEND_ENTITY_COLUMN = {
    "spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv": "Body Name",
    "spend/craven-district-council/payments.csv": "Body Name",
    "spend/department-for-science-innovation-and-technology/dsit-spending-over-25000-july-2024.csv": None,
}  # all others: "Entity"


def col(rel: str, name: str) -> int:
    return csv_header(rel).index(name)


def cell(cells: tuple[str, ...], i: int) -> str:
    return cells[i] if i < len(cells) else ""


def parse_amount(text: str) -> Decimal:
    return Decimal(text.replace("\xa0", "").replace("£", "").replace(",", "").strip())


def parse_date(rel: str, text: str) -> date:
    text = text.strip()
    if "moj-aramis" in rel:
        return datetime.strptime(text, "%d-%b-%y").date()
    if "hm-treasury" in rel:
        return datetime.strptime(text, "%d-%b-%Y").date()
    if text.isdigit():  # IPO: Excel serial day number (1900 date system)
        return date(1899, 12, 30) + timedelta(days=int(text))
    return datetime.strptime(text, "%d/%m/%Y").date()


def spend_raw(rel: str) -> dict[int, tuple[Decimal, date, str | None]]:
    """line -> (amount, payment date, trimmed supplier) for every dated spend record."""
    ai = col(rel, SPEND_AMOUNT_COLUMN[rel])
    di = col(rel, SPEND_DATE_COLUMN.get(rel, "Date"))
    si = col(rel, SPEND_SUPPLIER_COLUMN.get(rel, "Supplier"))
    out = {}
    for line, cells in csv_data(rel):
        if not cell(cells, di).strip():
            continue  # no date: cannot be a payment line (see the quarantine tests)
        out[line] = (
            parse_amount(cell(cells, ai)),
            parse_date(rel, cell(cells, di)),
            cell(cells, si).strip() or None,
        )
    return out


def test_excel_serial_date_sanity():
    assert parse_date("spend/intellectual-property-office/1004ipopayments.csv", "40275") == date(
        2010, 4, 7
    )


def _pin_id(p) -> str:
    return f"{Path(p[0]).parent.name}-L{p[1]}-{p[2].strip()}"


@pytest.mark.parametrize("pin", SPEND_PINS, ids=_pin_id)
def test_pinned_spend_row(bundle_db, pin):
    rel, line, raw_amount, amount, paid, supplier = pin
    cells = dict(csv_records(rel))[line]
    assert cell(cells, col(rel, SPEND_AMOUNT_COLUMN[rel])) == raw_amount  # the pin is the file's
    got = bundle_db.execute(
        "select amount_gbp, payment_date, supplier_name from core.fct_spend "
        "where source_file = ? and source_line = ?",
        [Path(rel).name, line],
    ).fetchall()
    assert got == [(Decimal(amount), paid, supplier)]


def test_every_publisher_has_at_least_three_pins():
    per_file = Counter(p[0] for p in SPEND_PINS)
    assert set(per_file) == set(SPEND_AMOUNT_COLUMN)
    assert min(per_file.values()) >= 3


SPEND_FILES = sorted(SPEND_AMOUNT_COLUMN)


@pytest.mark.parametrize("rel", SPEND_FILES, ids=lambda r: Path(r).parent.name)
def test_spend_file_sum_and_lines_match_raw(bundle_db, rel):
    """Every dated record of the file is published with its own line, amount, date and supplier,
    and the file's total equals the independent sum."""
    raw = spend_raw(rel)
    rows = bundle_db.execute(
        "select source_line, amount_gbp, payment_date, supplier_name from core.fct_spend "
        "where source_id = ? and source_file = ?",
        [source_of(rel), Path(rel).name],
    ).fetchall()
    got = {r[0]: (r[1], r[2], r[3]) for r in rows}
    assert len(got) == len(rows)
    assert sum(v[0] for v in got.values()) == sum(v[0] for v in raw.values())
    assert set(got) == set(raw)
    diffs = {ln: (raw[ln], got[ln]) for ln in raw if raw[ln] != got[ln]}
    assert diffs == {}


def test_independent_file_sums_known_values():
    """A few file totals by the independent parser, as a check on the parser itself."""
    assert sum(
        v[0] for v in spend_raw("spend/hm-treasury/25k_data_September_2013_final.csv").values()
    ) == Decimal("11745107.33")
    assert sum(
        v[0]
        for v in spend_raw("spend/nhs-business-services-authority/01_-_April(2012).csv").values()
    ) == Decimal("951989963.42")
    # Craven: the 171 payments add up to the file's own unlabelled grand total
    assert sum(
        v[0] for v in spend_raw("spend/craven-district-council/payments.csv").values()
    ) == Decimal("726583.94")


def test_ipo_excel_serial_dates(bundle_db):
    rel = "spend/intellectual-property-office/1004ipopayments.csv"
    di = col(rel, "Date")
    serial = {ln: cells[di] for ln, cells in csv_data(rel) if cells[di].strip().isdigit()}
    assert len(serial) == 45  # SOURCES.md
    got = dict(
        bundle_db.execute(
            "select source_line, payment_date from core.fct_spend where source_file = ?",
            [Path(rel).name],
        ).fetchall()
    )
    for line, text in serial.items():
        assert got[line] == date(1899, 12, 30) + timedelta(days=int(text)), line


def test_craven_duplicate_columns(bundle_db):
    """expense_type is the SECOND 'Account Code' column (the description), expense_type_code the
    first; expense_area the second 'Cost Centre Code', cost_centre_code the first."""
    rel = "spend/craven-district-council/payments.csv"
    header = csv_header(rel)
    acc = [i for i, h in enumerate(header) if h == "Account Code"]
    cc = [i for i, h in enumerate(header) if h == "Cost Centre Code"]
    assert len(acc) == 2 and len(cc) == 2
    expected = {
        ln: (cells[acc[1]], cells[acc[0]], cells[cc[1]], cells[cc[0]])
        for ln, cells in csv_data(rel)
        if cells[col(rel, "Payment Date")].strip()
    }
    assert expected[2] == ("Miscellaneous", "2280", "Development Control", "R255")  # by hand
    rows = bundle_db.execute(
        "select source_line, expense_type, expense_type_code, expense_area, cost_centre_code "
        "from core.fct_spend where source_file = ?",
        [Path(rel).name],
    ).fetchall()
    got = {r[0]: tuple(r[1:]) for r in rows}
    assert got == expected


# ----------------------------------------------------------------------- 4. pinned post values
# (file, line, grade_as_sent, canonical grade, fte, pay floor, pay ceiling) by hand.
# Withheld pay: MoJ/NOMS write N/D, HMT/DfT/Home Office write 0 -> NULL.
# fmt: off
POST_PINS = [
    ("organogram/ministry-of-justice/ministry_of_justice-2011-09-30-senior.csv", 2, "SCS1", "SCS1", "1", None, None),  # N/D pay
    ("organogram/ministry-of-justice/ministry_of_justice-2011-09-30-senior.csv", 3, "SCS2", "SCS2", "1", "120000", "124999"),
    ("organogram/ministry-of-justice/ministry_of_justice-2011-09-30-senior.csv", 65, "SCS1A", "SCS1", "1", None, None),  # blank pay
    ("organogram/national-offender-management-service/national_offender_management_service-2011-09-30-senior.csv", 2, "SCS1", "SCS1", "1", None, None),  # N/D pay
    ("organogram/national-offender-management-service/national_offender_management_service-2011-09-30-senior.csv", 8, "SCS2", "SCS2", "1", "135000", "139999"),
    ("organogram/national-offender-management-service/national_offender_management_service-2011-09-30-senior.csv", 78, "SCS1", "SCS1", "1", None, None),
    ("organogram/hm-treasury/hm_treasury-2011-09-30-senior.csv", 2, "SCS1", "SCS1", "1", None, None),  # 0/0 pay
    ("organogram/hm-treasury/hm_treasury-2011-09-30-senior.csv", 93, "SCS1A", "SCS1", "1", "185000", "189999"),
    ("organogram/hm-treasury/hm_treasury-2011-09-30-senior.csv", 6, "SCS2", "SCS2", "0.83", "40000", "44999"),
    ("organogram/hm-treasury/hm_treasury-2011-09-30-junior.csv", 2, "Range B", "AO", "0.6", "16063", "21663"),
    ("organogram/hm-treasury/hm_treasury-2011-09-30-junior.csv", 6, "Range D", "HEO", "1", "24094", "38255"),
    ("organogram/hm-treasury/hm_treasury-2011-09-30-junior.csv", 408, "Range E", "G7", "3", "40731", "57801"),
    ("organogram/department-for-transport/department_for_transport-2011-09-30-senior.csv", 2, "SCS2", "SCS2", "1", "80000", "84999"),
    ("organogram/department-for-transport/department_for_transport-2011-09-30-senior.csv", 3, "SCS1", "SCS1", "1", None, None),  # 0/0 pay
    ("organogram/department-for-transport/department_for_transport-2011-09-30-senior.csv", 115, "SCS1", "SCS1", "1", None, None),
    ("organogram/department-for-transport/department_for_transport-2011-09-30-junior.csv", 2, "PB4FS", "HEO", "1", "26765", "36435"),
    ("organogram/department-for-transport/department_for_transport-2011-09-30-junior.csv", 3, "PB3", "EO", "1", "22838", "27992"),
    ("organogram/department-for-transport/department_for_transport-2011-09-30-junior.csv", 511, "PB1", "AA", "1", "16169", "20100"),
    ("organogram/home-office/130930-Home-Office-Organogram-Data-senior.csv", 2, "SCS4", "SCS4", "1.0", "180000", "184999"),
    ("organogram/home-office/130930-Home-Office-Organogram-Data-senior.csv", 3, "SCS1", "SCS1", "1.0", None, None),
    ("organogram/home-office/130930-Home-Office-Organogram-Data-senior.csv", 268, "SCS1", "SCS1", "1.0", None, None),
    ("organogram/home-office/130930-Home-Office-Organogram-Data-junior.csv", 2, "Grade 6", "G6", "1.0", "54705", "70504"),
    ("organogram/home-office/130930-Home-Office-Organogram-Data-junior.csv", 3, "Grade 7", "G7", "6.0", "44656", "57553"),
    ("organogram/home-office/130930-Home-Office-Organogram-Data-junior.csv", 1388, "Grade 7", "G7", "1.0", "44656", "57553"),
]
# fmt: on


def _post_pin_id(p) -> str:
    kind = "senior" if "senior" in p[0] else "junior"
    return f"{Path(p[0]).parent.name}-{kind}-L{p[1]}-{p[2].replace(' ', '_')}"


def _grade_col(rel: str) -> int:
    return next(i for i, h in enumerate(csv_header(rel)) if h in ("Grade", "Grade (or equivalent)"))


def _fte_col(rel: str) -> int:
    return next(i for i, h in enumerate(csv_header(rel)) if h in ("FTE", "Number of Posts in FTE"))


@pytest.mark.parametrize("pin", POST_PINS, ids=_post_pin_id)
def test_pinned_post_row(bundle_db, pin):
    rel, line, grade_as_sent, grade, fte, floor, ceiling = pin
    cells = dict(csv_records(rel))[line]
    assert cells[_grade_col(rel)] == grade_as_sent
    assert cells[_fte_col(rel)] == fte
    got = bundle_db.execute(
        "select grade_as_sent, grade, fte, pay_floor_gbp, pay_ceiling_gbp from core.fct_post "
        "where source_file = ? and source_line = ?",
        [Path(rel).name, line],
    ).fetchall()
    dec = lambda v: None if v is None else Decimal(v)  # noqa: E731
    assert got == [(grade_as_sent, grade, Decimal(fte), dec(floor), dec(ceiling))]


def test_every_organogram_file_has_three_pins():
    per_file = Counter(p[0] for p in POST_PINS)
    assert set(per_file) == {f for f in CSV_HEADER_LINE if f.startswith("organogram/")}
    assert min(per_file.values()) >= 3


@pytest.mark.parametrize(
    ("body", "grade_as_sent", "canonical"),
    [
        ("hmt", "Range D", "HEO"),
        ("dft", "PB4FS", "HEO"),
        ("hmt", "SCS1A", "SCS1"),
        ("moj", "SCS1A", "SCS1"),
    ],
    ids=lambda v: str(v).replace(" ", "_"),
)
def test_canonical_grade_of_department_bands(bundle_db, body, grade_as_sent, canonical):
    # Range D (HMT, £24,094-£38,255) starts at HEO; PB4FS is DfT's PB4 on the Fast Stream scale
    # (fast streamers are appointed at HEO); SCS1A is deputy-director pay band 1A (SCS1 level).
    got = {
        r[0]
        for r in bundle_db.execute(
            "select distinct grade from core.fct_post where body_code = ? and grade_as_sent = ?",
            [body, grade_as_sent],
        ).fetchall()
    }
    assert got == {canonical}


@pytest.mark.parametrize(
    "rel",
    sorted(
        [f for f in CSV_HEADER_LINE if f.startswith("organogram/")],
    ),
    ids=lambda r: Path(r).stem,
)
def test_post_lines_and_fte_match_raw(bundle_db, rel):
    fi = _fte_col(rel)
    gi = _grade_col(rel)
    expected = {ln: (cells[gi], Decimal(cells[fi])) for ln, cells in csv_data(rel)}
    got = {
        r[0]: (r[1], r[2])
        for r in bundle_db.execute(
            "select source_line, grade_as_sent, fte from core.fct_post where source_id = ? and source_file = ?",
            [source_of(rel), Path(rel).name],
        ).fetchall()
    }
    # grades are compared after trimming (Home Office sends 'SPS ' with a trailing space)
    assert {k: (v[0].strip(), v[1]) for k, v in got.items()} == {
        k: (v[0].strip(), v[1]) for k, v in expected.items()
    }


NAME_MARKERS = {"", "n/d", "nd", "vacant", "eliminated"}


def senior_names() -> set[str]:
    names = set()
    for rel in CSV_HEADER_LINE:
        if rel.startswith("organogram/") and rel.endswith("senior.csv"):
            ni = csv_header(rel).index("Name")
            for _, cells in csv_data(rel):
                name = cells[ni].strip()
                if name.strip("'\" ").lower() in NAME_MARKERS or "withheld" in name.lower():
                    continue
                names.add(name)
    return names


def test_no_person_name_in_fct_post_or_quarantine(bundle_db):
    names = senior_names()
    assert {"John Dowie", "Mark Sedwill", "Robin Wilkinson", "Gerry Smith"} <= names
    assert len(names) > 100
    lowered = [n.lower() for n in names]
    cols = [
        r[0]
        for r in bundle_db.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'core' and table_name = 'fct_post' and data_type = 'VARCHAR'"
        ).fetchall()
    ]
    assert "job_title" in cols
    values = set()
    for row in bundle_db.execute(f"select {', '.join(cols)} from core.fct_post").fetchall():
        values.update(v.lower() for v in row if v)
    for row in bundle_db.execute("select raw_json from ops.quarantine_row").fetchall():
        values.add(row[0].lower())
    leaks = sorted({n for n in lowered for v in values if n in v})
    assert leaks == []


# ------------------------------------------------------------------------------ 5. redaction
def _supplier_lines(rel: str, predicate) -> set[int]:
    si = col(rel, SPEND_SUPPLIER_COLUMN.get(rel, "Supplier"))
    return {ln for ln, cells in csv_data(rel) if predicate(cell(cells, si).strip())}


def _flags(con, rel: str) -> dict[int, tuple[bool, str | None]]:
    return {
        r[0]: (r[1], r[2])
        for r in con.execute(
            "select source_line, is_redacted_payee, supplier_key from core.fct_spend where source_file = ?",
            [Path(rel).name],
        ).fetchall()
    }


def test_oxford_redacted_personal_data(bundle_db):
    rel = "spend/oxford-city-council/expenditure-over-500-apr-jun-2015.csv"
    redacted = _supplier_lines(rel, lambda s: s == "Redacted personal data")
    redactive = _supplier_lines(rel, lambda s: s == "REDACTIVE MEDIA SALES LIMITED")
    assert len(redacted) == 92  # SOURCES.md
    assert len(redactive) == 3
    flags = _flags(bundle_db, rel)
    assert all(flags[ln] == (True, None) for ln in redacted)
    assert all(flags[ln][0] is False and flags[ln][1] for ln in redactive)
    assert {ln for ln, (red, _) in flags.items() if red} == redacted


def test_bis_personal_expense_name_witheld(bundle_db):
    rel = "spend/department-for-business-innovation-skills/BIS_June_2015.csv"
    redacted = _supplier_lines(rel, lambda s: s == "Personal Expense, Name Witheld")
    assert len(redacted) == 1862  # SOURCES.md, verified by the count above
    flags = _flags(bundle_db, rel)
    assert {ln for ln, (red, _) in flags.items() if red} == redacted
    assert all(flags[ln][1] is None for ln in redacted)


def test_ipo_personal_expenses_name_witheld(bundle_db):
    rel = "spend/intellectual-property-office/1004ipopayments.csv"
    redacted = _supplier_lines(rel, lambda s: s == "Personal expenses name witheld")
    assert len(redacted) == 160  # SOURCES.md
    flags = _flags(bundle_db, rel)
    assert {ln for ln, (red, _) in flags.items() if red} == redacted
    assert all(flags[ln][1] is None for ln in redacted)


# ------------------------------------------------------------------------------ 6. quarantine
def expected_quarantine_lines(rel: str) -> set[int]:
    """Records that cannot be published, found independently.

    Spend: a record without a payment date is not a payment line (Craven's unlabelled grand
    total ``,,,,,,,,,"726,583.94"`` is the only one in the bundle); every other spend record has a
    day-first date and an amount that ``parse_amount`` reads (checked line by line in
    test_spend_file_sum_and_lines_match_raw), an entity naming the publisher or one of its
    bodies, and no cells beyond the header. Posts: a record is bad if its FTE is not a
    non-negative number or a senior post's FTE exceeds 1; none is. Workforce: a row is bad when
    its total FTE exceeds its total headcount (each person is at most 1 FTE); in the BEIS file
    the UK Space Agency (line 79) reports 268 FTE for 266 people, its grade columns visibly
    swapped (121.8 "headcount" beside 123 "FTE").
    """
    if rel.startswith("spend/"):
        di = col(rel, SPEND_DATE_COLUMN.get(rel, "Date"))
        return {ln for ln, cells in csv_data(rel) if not cell(cells, di).strip()}
    if rel.startswith("organogram/"):
        fi = _fte_col(rel)
        bad = set()
        for ln, cells in csv_data(rel):
            try:
                fte = Decimal(cells[fi])
            except ArithmeticError:
                bad.add(ln)
                continue
            if fte < 0 or (rel.endswith("senior.csv") and fte > 1):
                bad.add(ln)
        return bad
    if rel.endswith("1010.csv"):
        records = csv_data(rel)
        hi, fi = col(rel, "Total\nEmployees\nHeadcount"), col(rel, "Total Employees\nFull-time equivalent")
        return {
            ln
            for ln, cells in records
            if cell(cells, hi).strip()
            and Decimal(cell(cells, fi).replace(",", "")) > Decimal(cell(cells, hi).replace(",", "")) + Decimal("0.5")
        }
    return set()


@pytest.mark.parametrize("rel", TABULAR_FILES, ids=_rel_id)
def test_quarantine_per_file(bundle_db, rel):
    expected = expected_quarantine_lines(rel)
    loads = loads_of(bundle_db, rel)
    assert sum(ld["rows_quarantined"] for ld in loads) == len(expected)
    lines = {
        r[0]
        for r in bundle_db.execute(
            "select source_line from ops.quarantine_row where source_id = ? and source_file = ?",
            [source_of(rel), Path(rel).name],
        ).fetchall()
    }
    assert lines == expected


def test_only_craven_totals_row_is_quarantined(bundle_db):
    expected = {rel: expected_quarantine_lines(rel) for rel in TABULAR_FILES}
    assert {rel: lines for rel, lines in expected.items() if lines} == {
        "spend/craven-district-council/payments.csv": {173},
        "workforce/department-for-business-energy-and-industrial-strategy/1010.csv": {79},
    }
    assert dict(csv_records("spend/craven-district-council/payments.csv"))[173] == (
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "726,583.94",
    )


def test_craven_totals_row_quarantine_record(bundle_db):
    rows = bundle_db.execute(
        "select source_line, rule_ids, raw_json, body_code from ops.quarantine_row "
        "where source_file = 'payments.csv'"
    ).fetchall()
    assert len(rows) == 1
    line, rules, raw_json, body = rows[0]
    assert line == 173
    assert body == "craven-district-council"
    assert "spend.not_totals_row" in rules
    # no date and no paying entity either
    assert "spend.payment_date_valid" in rules
    assert json.loads(raw_json).get("Amount") == "726,583.94"
    published = bundle_db.execute(
        "select count(*) from core.fct_spend where source_file = 'payments.csv' and source_line = 173"
    ).fetchone()[0]
    assert published == 0


def test_dwp_total_expense_types_are_published(bundle_db):
    rel = "spend/department-for-work-pensions/dwp-payments-april11.csv"
    ti = col(rel, "Expense Type")
    total_lines = {
        ln: cells[ti] for ln, cells in csv_data(rel) if cells[ti].upper().startswith("TOTAL ")
    }
    assert Counter(total_lines.values()) == {
        "TOTAL SUPPLIES & SERVICES": 3,
        "TOTAL IT & EQUIPMENT COSTS": 3,
    }
    got = dict(
        bundle_db.execute(
            "select source_line, expense_type from core.fct_spend where source_file = ? "
            "and source_line in (select unnest(?))",
            [Path(rel).name, sorted(total_lines)],
        ).fetchall()
    )
    assert got == total_lines
    quarantined = bundle_db.execute(
        "select count(*) from ops.quarantine_row where source_id = 'dwp__spend'"
    ).fetchone()[0]
    assert quarantined == 0


@pytest.mark.parametrize(
    ("rel", "blank"),
    [
        ("spend/department-for-business-innovation-skills/BIS_June_2015.csv", 666),
        ("spend/cabinet-office/062015_June_2015_-_25k.csv", 799),
        ("spend/hm-treasury/25k_data_September_2013_final.csv", 4),
        ("spend/department-for-work-pensions/dwp-payments-april11.csv", 1),
    ],
    ids=lambda v: Path(v).parent.name if isinstance(v, str) else str(v),
)
def test_rows_blank_known_files(bundle_db, rel, blank):
    assert count_data_and_padding(rel)[1] == blank
    assert sum(ld["rows_blank"] for ld in loads_of(bundle_db, rel)) == blank


# ---------------------------------------------------------------------- 7. shared suppliers
# Paying body of each row = its entity, mapped by hand for the entities these suppliers appear
# under (DWP's entity column names its business units, all paid by DWP itself).
ENTITY_BODY = {
    "CABINET OFFICE": "cabinet-office",
    "Corporate": "dwp",
    "Pension, Disability Carers Services": "dwp",
    "Jobcentre Plus": "dwp",
    "DEPARTMENT FOR EDUCATION": "dfe",
    "DVSA": "dvsa",
    "Department for Business, Innovation and Skills": "bis",
    "Department for Transport": "dft",
    "Driver & Vehicle Licensing Agency": "dvla",
    "HS2 Ltd": "hs2",
    "Intellectual Property Office": "ipo",
    "Ministry of Defence": "mod",
    "NHS Business Services Authority": "nhsbsa",
    "Oxford City Council": "oxford-city-council",
    "BTP": "btp",
    "FCO": "fco",
    "Highways Agency": "highways-agency",
    "Department of Health": "dh",
    "HMRC": "hmrc",
}

SHARED_SUPPLIERS = {
    # supplier_key: my own name pattern (case-insensitive, whitespace collapsed)
    "capita business services": re.compile(r"^capita business services( ltd| limited)?$"),
    "computacenter": re.compile(r"^computacenter( \(?uk\)?)?( ltd| limited)?$"),
    "williams lea": re.compile(r"^williams lea( ltd| limited)?$"),
}


def independent_supplier_payments(pattern: re.Pattern) -> list[tuple[str, str, Decimal]]:
    """(file, paying entity, amount) of every raw spend record whose supplier matches."""
    out = []
    for rel in SPEND_FILES:
        si = col(rel, SPEND_SUPPLIER_COLUMN.get(rel, "Supplier"))
        ei_name = SPEND_ENTITY_COLUMN.get(rel, "Entity")
        ei = col(rel, ei_name) if ei_name else None
        ai = col(rel, SPEND_AMOUNT_COLUMN[rel])
        for _, cells in csv_data(rel):
            name = " ".join(cell(cells, si).lower().split())
            if pattern.match(name):
                entity = cell(cells, ei).strip() if ei is not None else ""
                out.append((rel, entity, parse_amount(cell(cells, ai))))
    return out


@pytest.mark.parametrize("key", sorted(SHARED_SUPPLIERS))
def test_shared_supplier_bodies(bundle_db, key):
    payments = independent_supplier_payments(SHARED_SUPPLIERS[key])
    assert payments
    expected = sorted({ENTITY_BODY[entity] for _, entity, _ in payments})
    assert len(expected) >= 2
    got = bundle_db.execute(
        "select body_codes, payment_count from marts.mart_shared_suppliers where supplier_id in (select supplier_id from marts.int_supplier_resolution where supplier_key = ?)",
        [key],
    ).fetchall()
    assert len(got) == 1
    assert sorted(got[0][0]) == expected
    assert got[0][1] == len(payments)


def test_shared_supplier_capita_bodies_by_hand():
    expected = {
        "bis",
        "cabinet-office",
        "dfe",
        "dft",
        "dvla",
        "dvsa",
        "dwp",
        "hs2",
        "ipo",
        "mod",
        "nhsbsa",
        "oxford-city-council",
    }
    payments = independent_supplier_payments(SHARED_SUPPLIERS["capita business services"])
    assert {ENTITY_BODY[e] for _, e, _ in payments} == expected
    # 9 spend publishers' files (SOURCES.md), the DfT file counting DfT, DVLA, DVSA and HS2
    assert len({rel for rel, _, _ in payments}) == 9


@pytest.mark.parametrize("key", ["williams lea", "computacenter"])
def test_shared_supplier_total(bundle_db, key):
    payments = independent_supplier_payments(SHARED_SUPPLIERS[key])
    got = bundle_db.execute(
        "select total_gbp from marts.mart_shared_suppliers where supplier_id in (select supplier_id from marts.int_supplier_resolution where supplier_key = ?)", [key]
    ).fetchone()
    assert got == (sum(a for _, _, a in payments),)


# --------------------------------------------------------------------- 8. function FTE mart
def test_function_fte_hmt(bundle_db):
    total = Decimal(0)
    finance = Decimal(0)
    hr = Decimal(0)
    for rel in (
        "organogram/hm-treasury/hm_treasury-2011-09-30-senior.csv",
        "organogram/hm-treasury/hm_treasury-2011-09-30-junior.csv",
    ):
        fi = _fte_col(rel)
        pi = col(rel, "Professional/Occupational Group")
        for _, cells in csv_data(rel):
            fte = Decimal(cells[fi])
            total += fte
            if cells[pi].strip() == "Finance":
                finance += fte
            if cells[pi].strip().lower() == "human resources":
                hr += fte
    got = dict(
        (r[0], (r[1], r[2]))
        for r in bundle_db.execute(
            "select back_office_function, function_fte, total_fte from marts.mart_function_fte "
            "where body_code = 'hmt' and snapshot_date = date '2011-09-30'"
        ).fetchall()
    )
    assert got["FINANCE"] == (finance, total)
    assert got["HR"] == (hr, total)
    assert (finance, total) == (Decimal("47.9"), Decimal("1153.92"))


SENIOR_FILES = sorted(
    f for f in CSV_HEADER_LINE if f.startswith("organogram/") and f.endswith("senior.csv")
)
WITHHELD_PAY = {"", "N/D", "0"}  # MoJ/NOMS N/D (and blank), HMT/DfT/Home Office 0


@pytest.mark.parametrize("rel", SENIOR_FILES, ids=lambda r: Path(r).parent.name)
def test_senior_pay_null_where_withheld(bundle_db, rel):
    fl = col(rel, "Actual Pay Floor (£)")
    ce = col(rel, "Actual Pay Ceiling (£)")
    pay = lambda v: None if v.strip() in WITHHELD_PAY else Decimal(v.strip())  # noqa: E731
    expected = {ln: (pay(cells[fl]), pay(cells[ce])) for ln, cells in csv_data(rel)}
    got = {
        r[0]: (r[1], r[2])
        for r in bundle_db.execute(
            "select source_line, pay_floor_gbp, pay_ceiling_gbp from core.fct_post where source_file = ?",
            [Path(rel).name],
        ).fetchall()
    }
    assert got == expected


def test_withheld_pay_counts_from_sources_md():
    def withheld(rel, marker):
        fl = col(rel, "Actual Pay Floor (£)")
        ce = col(rel, "Actual Pay Ceiling (£)")
        return sum(1 for _, c in csv_data(rel) if c[fl] == marker and c[ce] == marker)

    assert withheld("organogram/hm-treasury/hm_treasury-2011-09-30-senior.csv", "0") == 85
    assert (
        withheld("organogram/ministry-of-justice/ministry_of_justice-2011-09-30-senior.csv", "N/D")
        > 0
    )
    assert (
        withheld(
            "organogram/national-offender-management-service/national_offender_management_service-2011-09-30-senior.csv",
            "N/D",
        )
        > 0
    )
