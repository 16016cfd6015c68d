"""Failure cases from the project's failure-case bank, run through the registry mechanism.

Each test builds a configuration folder in ``tmp_path`` from the project's ``config/domains``,
``config/mappings`` and ``config/reference`` plus the case's own registry entries
(``tests/fixtures/cases/<case>/config/sources/``), puts the case's input file in a landing
folder, runs :func:`transforms.pipeline.load_source` and checks ``expected.json`` against the
warehouse (DuckDB, read-only).

Where a case demands something the product does not do yet (a control total from a report
footer, an error listing duplicated headers with their positions, ...), the test states the
behaviour the case requires; such a test fails until the product does it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from transforms import pipeline
from transforms.config import load_registry
from transforms.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CASES = PROJECT_ROOT / "tests" / "fixtures" / "cases"
C1_CONTROLS = re.compile("[\u0080-\u009f]")


# ------------------------------------------------------------------------------- helpers
def case_dir(case: str) -> Path:
    return CASES / case


def expected(case: str) -> dict[str, Any]:
    return json.loads((case_dir(case) / "expected.json").read_text(encoding="utf-8"))


#: The failure-case bank's invented bodies, added to the throw-away organisations list (a
#: source's body must be a known body_code).
FICTIONAL_BODIES = (
    "dci,Department for Coastal Infrastructure,ministerial-department,,,DCI",
    "mrt,Ministry of Regional Transport,ministerial-department,,,MRT",
    "oprs,Office for Public Records Standards,non-ministerial-department,,,OPRS",
)


def add_fictional_bodies(orgs: Path) -> None:
    text = orgs.read_text(encoding="utf-8")
    known = {line.split(",", 1)[0] for line in text.splitlines()}
    extra = [b for b in FICTIONAL_BODIES if b.split(",", 1)[0] not in known]
    if extra:
        orgs.write_text(text.rstrip("\n") + "\n" + "\n".join(extra) + "\n", encoding="utf-8")


def make_settings(root: Path, case: str) -> Settings:
    """A throw-away installation: config = project domains/mappings/reference + the case's
    sources; empty landing root; own home and warehouse."""
    config = root / "config"
    for sub in ("domains", "mappings", "reference"):
        shutil.copytree(PROJECT_ROOT / "config" / sub, config / sub)
    shutil.copytree(case_dir(case) / "config" / "sources", config / "sources")
    add_fictional_bodies(config / "reference" / "organisations.csv")
    (root / "landing").mkdir()
    home = root / "home"
    return Settings.from_env(home=home, landing=root / "landing", config=config, warehouse=home / "warehouse.duckdb")


def land(settings: Settings, source_id: str, files: dict[str, bytes]) -> Path:
    """Make the source's landing folder hold exactly ``files`` (name -> bytes)."""
    source = load_registry(settings.config).source(source_id)
    folder = settings.landing / source.pull.path
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def case_file(case: str, name: str) -> bytes:
    return (case_dir(case) / name).read_bytes()


def run_case(
    root: Path, case: str, source_id: str, files: dict[str, bytes] | None = None
) -> tuple[Settings, list[dict[str, Any]]]:
    """Build the installation, land the case's input (or ``files``) and load the source."""
    settings = make_settings(root, case)
    if files is None:
        name = expected(case)["file"]
        files = {name: case_file(case, name)}
    land(settings, source_id, files)
    return settings, pipeline.load_source(settings, source_id)


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def published(settings: Settings, source_id: str, columns: str = "*") -> list[dict[str, Any]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        cur = con.execute(
            f"SELECT {columns} FROM core.fct_spend WHERE source_id = ? ORDER BY source_line", [source_id]
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def quarantined(settings: Settings, source_id: str) -> list[dict[str, Any]]:
    rows = query(
        settings,
        "SELECT source_line, rule_ids, reason, raw_json FROM ops.quarantine_row WHERE source_id = ? "
        "ORDER BY source_line",
        [source_id],
    )
    return [
        {"source_line": line, "rule_ids": list(rules), "reason": reason, "raw": json.loads(raw)}
        for line, rules, reason, raw in rows
    ]


def load_log(settings: Settings, source_id: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        cur = con.execute(
            "SELECT * FROM ops.load_log WHERE source_id = ? ORDER BY published_at, file_name", [source_id]
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def spend_sum(settings: Settings, source_id: str) -> Decimal:
    (total,) = query(
        settings, "SELECT coalesce(sum(amount_gbp), 0) FROM core.fct_spend WHERE source_id = ?", [source_id]
    )[0]
    return Decimal(total)


def mentions_amount(text: str, amount: str) -> bool:
    """True when ``text`` names ``amount`` (``148320.55``), with or without thousands commas."""
    return amount in text.replace(",", "").replace("£", "")


# ----------------------------------------------------------------- 02 cp1252 pound amounts
CASE_02 = "02-cp1252-pound-amounts"
SRC_02 = "oprs__spend"


def test_02_cp1252_pound_amounts_loads_every_row_with_exact_text(tmp_path: Path) -> None:
    exp = expected(CASE_02)
    settings, summaries = run_case(tmp_path, CASE_02, SRC_02)

    assert [s["status"] for s in summaries] == ["published"]
    assert summaries[0]["rows_published"] == exp["rows"] == 12
    assert summaries[0]["rows_quarantined"] == 0
    assert load_log(settings, SRC_02)[0]["encoding"] == "cp1252"

    rows = published(settings, SRC_02)
    got = [
        {
            "Transaction Number": r["transaction_number"],
            "Date": r["payment_date"].isoformat(),
            "Supplier": r["supplier_name"],
            "Amount": str(r["amount_gbp"]),
            "Description": r["description"],
        }
        for r in rows
    ]
    assert got == exp["rows_expected"]
    assert spend_sum(settings, SRC_02) == Decimal(exp["amount_sum"]) == Decimal("462136.35")
    assert all(isinstance(r["amount_gbp"], Decimal) for r in rows)

    suppliers = {r["supplier_name"] for r in rows}
    assert {"Café Lumière Catering Ltd", "Müller Paper Conservation GmbH", "Ó Briain Solicitors LLP",
            "Beaumont & Frère Learning Ltd"} <= suppliers
    descriptions = {r["description"] for r in rows}
    assert "Hospitality \u2013 Q4 stakeholder events" in descriptions
    assert "Scanning of Children\u2019s Services files" in descriptions
    assert "Annual licence \u2013 \u201cCaseVault\u201d" in descriptions
    for r in rows:
        for value in r.values():
            if isinstance(value, str):
                assert "\ufffd" not in value, value
                assert not C1_CONTROLS.search(value), value
    # The business unit is the Entity column as sent; the paying body is the source's body.
    assert {(r["business_unit"], r["entity_code"]) for r in rows} == {("OPRS", "oprs")}


def test_02_cp1252_pound_amounts_undecodable_byte_rejects_file(tmp_path: Path) -> None:
    """CASE.md: a file that is neither valid UTF-8 nor valid under the source's encoding is
    quarantined with a message naming the file and the byte offset; never loaded with
    replacement characters. 0x81 is undefined in cp1252."""
    name = "spend_over_25k_2025_03.csv"
    data = case_file(CASE_02, name).replace(b"Westmere Consulting LLP", b"Westmere Consulting\x81 LLP")
    offset = data.index(b"\x81")
    settings, summaries = run_case(tmp_path, CASE_02, SRC_02, {name: data})

    assert [s["status"] for s in summaries] == ["rejected"]
    assert published(settings, SRC_02) == []
    detail = summaries[0]["reject_detail"] or ""
    assert name in detail
    assert str(offset) in detail, f"byte offset {offset} not named in {detail!r}"


# ------------------------------------------------------------ 04 accounting amount formats
CASE_04 = "04-accounting-amount-formats"
SRC_04 = "mrt__spend__journals"


def test_04_accounting_amount_formats_exact_decimals_and_quarantine(tmp_path: Path) -> None:
    exp = expected(CASE_04)
    settings, summaries = run_case(tmp_path, CASE_04, SRC_04)

    (summary,) = summaries
    assert summary["status"] == "published"
    assert summary["rows_read"] == exp["rows_in"] == 14

    rows = published(settings, SRC_04)
    got = {r["transaction_number"]: r["amount_gbp"] for r in rows}
    want = {ref: Decimal(v["amount"]) for ref, v in exp["loaded"].items()}
    assert got == want
    assert all(isinstance(v, Decimal) for v in got.values())
    assert spend_sum(settings, SRC_04) == Decimal(exp["loaded_amount_sum"]) == Decimal("1020931.42")
    assert summary["rows_published"] == exp["rows_loaded"] == 11

    bad = quarantined(settings, SRC_04)
    assert summary["rows_quarantined"] == exp["rows_quarantined"] == 3
    by_ref = {q["raw"]["Journal Ref"]: q for q in bad}
    assert set(by_ref) == set(exp["quarantined"])
    for ref, want_q in exp["quarantined"].items():
        q = by_ref[ref]
        assert q["raw"].get("Amount", "") == want_q["raw"]
        assert "spend.amount_valid" in q["rule_ids"]
        # the reason names the column and the value as read
        assert f"[spend.amount_valid] column 'Amount' = {want_q['raw']!r}: " in q["reason"], q
    assert summary["rows_read"] == summary["rows_published"] + summary["rows_quarantined"]


# ------------------------------------------------------------------ 05 ambiguous UK dates
CASE_05 = "05-ambiguous-uk-dates"
SRC_05 = "mrt__spend__bacs"


def test_05_ambiguous_uk_dates_strict_day_first(tmp_path: Path) -> None:
    exp = expected(CASE_05)
    settings, summaries = run_case(tmp_path, CASE_05, SRC_05)

    (summary,) = summaries
    assert summary["status"] == "published"
    assert summary["period"] == "2025-04-01"
    assert summary["rows_read"] == exp["rows_in"] == 15
    assert summary["rows_published"] == exp["rows_loaded"] == 13
    assert summary["rows_quarantined"] == exp["rows_quarantined"] == 2

    rows = published(settings, SRC_05)
    got = {r["transaction_number"]: r["payment_date"].isoformat() for r in rows}
    assert got == exp["payment_date"]
    lo, hi = (date.fromisoformat(d) for d in exp["all_loaded_dates_within"])
    assert all(lo <= r["payment_date"] <= hi for r in rows)
    assert spend_sum(settings, SRC_05) == Decimal(exp["loaded_amount_sum"]) == Decimal("105213.30")

    bad = {q["raw"]["Payment Ref"]: q for q in quarantined(settings, SRC_05)}
    assert set(bad) == set(exp["quarantined"])
    for ref, want_q in exp["quarantined"].items():
        assert bad[ref]["raw"]["Payment Date"] == want_q["raw"]
        assert "spend.payment_date_valid" in bad[ref]["rule_ids"]
    # Never flipped to 13 April nor rolled over to 1 May.
    assert not any(r["payment_date"] in (date(2025, 4, 13), date(2025, 5, 1)) for r in rows)


# -------------------------------------------------------- 07 report preamble and totals
CASE_07 = "07-report-preamble-and-totals"
SRC_07 = "mrt__spend__ap-report"
FILE_07 = "ap_payments_report_p12_2024-25.csv"


def test_07_report_preamble_and_totals_header_by_content_ten_rows(tmp_path: Path) -> None:
    exp = expected(CASE_07)
    settings, summaries = run_case(tmp_path, CASE_07, SRC_07)

    (summary,) = summaries
    assert summary["status"] == "published"
    assert summary["rows_published"] == exp["rows_loaded"] == 10
    assert load_log(settings, SRC_07)[0]["header_line"] == exp["header_line_number"] == 5

    rows = published(settings, SRC_07)
    assert [r["transaction_number"] for r in rows] == exp["invoice_numbers"]
    assert [r["source_line"] for r in rows] == list(range(6, 16))
    assert all(date(2025, 3, 14) <= r["payment_date"] <= date(2025, 3, 31) for r in rows)
    assert spend_sum(settings, SRC_07) == Decimal(exp["loaded_amount_sum"]) == Decimal("148320.55")
    for r in rows:
        text = " ".join(str(v) for v in r.values() if isinstance(v, str))
        assert "Grand Total" not in text and "Page 1 of 1" not in text and "Run on" not in text
    # The footer lines are never data: if kept at all, only as quarantined totals rows.
    for q in quarantined(settings, SRC_07):
        assert q["source_line"] in (17, 18)
        assert "spend.not_totals_row" in q["rule_ids"]


@pytest.mark.parametrize(
    "preamble",
    [
        pytest.param(["MRT - Accounts Payable Payments Report,,,,"], id="2-preamble-lines"),
        pytest.param(
            ["MRT - Accounts Payable Payments Report,,,,", "Period 12 (March 2025),,,,", "Financial Year 2024/25,,,,",
             "Run on 03/04/2025 07:15 by FINSYS,,,,", "Selection: all suppliers,,,,"],
            id="6-preamble-lines",
        ),
    ],
)
def test_07_report_preamble_and_totals_any_preamble_length(tmp_path: Path, preamble: list[str]) -> None:
    lines = case_file(CASE_07, FILE_07).decode("utf-8").split("\r\n")
    body = lines[4:]  # from the header on
    text = "\r\n".join([*preamble, ",,,,", *body])
    settings, summaries = run_case(tmp_path, CASE_07, SRC_07, {FILE_07: text.encode("utf-8")})

    assert summaries[0]["status"] == "published"
    assert summaries[0]["rows_published"] == 10
    assert load_log(settings, SRC_07)[0]["header_line"] == len(preamble) + 2
    assert spend_sum(settings, SRC_07) == Decimal("148320.55")


@pytest.mark.parametrize(
    ("edit", "footer_figures", "loaded_figures"),
    [
        # The last payment line is lost: 9 rows totalling 138,212.55 against 10 / 148,320.55.
        pytest.param(lambda t: t.replace("31/03/2025,Brackenford Office Supplies Ltd,BOS-88177,MR4410,10108.00\r\n", ""),
                     ("148320.55", "10"), ("138212.55", "9"), id="truncated-file"),
        # One amount edited: 10 rows totalling 148,319.83 against 148,320.55.
        pytest.param(lambda t: t.replace(",1450.80\r\n", ",1450.08\r\n"),
                     ("148320.55",), ("148319.83",), id="edited-amount"),
    ],
)
def test_07_report_preamble_and_totals_control_total_mismatch_rejects_file(
    tmp_path: Path, edit, footer_figures: tuple[str, ...], loaded_figures: tuple[str, ...]
) -> None:
    """CASE.md: the footer is a control total; if the loaded amounts or the row count differ
    from it, the file is quarantined with both figures in the message."""
    text = edit(case_file(CASE_07, FILE_07).decode("utf-8"))
    assert text != case_file(CASE_07, FILE_07).decode("utf-8")
    settings, summaries = run_case(tmp_path, CASE_07, SRC_07, {FILE_07: text.encode("utf-8")})

    (summary,) = summaries
    assert summary["status"] == "rejected", "a file whose rows disagree with its Grand Total footer was published"
    assert published(settings, SRC_07) == []
    detail = summary["reject_detail"] or ""
    assert mentions_amount(detail, footer_figures[0]) and mentions_amount(detail, loaded_figures[0]), detail


# ----------------------------------------------------------- 08 duplicate column names
CASE_08 = "08-duplicate-column-names"
FILE_08 = "payroll_costs_2025_03.csv"


def test_08_duplicate_column_names_rejected_without_positional_mapping(tmp_path: Path) -> None:
    settings, summaries = run_case(tmp_path, CASE_08, "mrt__spend__payroll-nomap")

    (summary,) = summaries
    assert summary["status"] == "rejected"
    assert summary["reject_rule"] in ("file.no_unexpected_columns", "file.required_columns")
    assert summary["rows_published"] == 0
    assert published(settings, "mrt__spend__payroll-nomap") == []
    # Nothing read is lost: all 8 rows kept in quarantine under the file rule.
    bad = quarantined(settings, "mrt__spend__payroll-nomap")
    assert len(bad) == 8
    assert all(summary["reject_rule"] in q["rule_ids"] for q in bad)


def test_08_duplicate_column_names_rejection_lists_duplicates_with_positions(tmp_path: Path) -> None:
    """expected.json: the file is rejected before load with an error listing the duplicated
    header names and their (1-based) positions."""
    exp = expected(CASE_08)
    _, summaries = run_case(tmp_path, CASE_08, "mrt__spend__payroll-nomap")
    detail = summaries[0]["reject_detail"] or ""
    for name, (first, second) in exp["duplicate_headers"].items():
        assert re.search(rf"{re.escape(name)}\D{{0,40}}\b{first}\b\D{{1,40}}\b{second}\b", detail), (
            f"{name!r} at positions {first} and {second} not listed in: {detail!r}"
        )


def test_08_duplicate_column_names_positional_mapping_loads_8_rows(tmp_path: Path) -> None:
    from transforms.read import read_file
    from transforms.stage import header_hints

    exp = expected(CASE_08)
    settings = make_settings(tmp_path, CASE_08)
    data = case_file(CASE_08, FILE_08)
    summaries = {}
    for feed in ("basic", "overtime"):
        source_id = f"mrt__spend__payroll-{feed}"
        land(settings, source_id, {FILE_08: data})
        (summaries[feed],) = pipeline.load_source(settings, source_id)

    norm = {r["employee_number"]: r for r in exp["normalised"]}
    for feed, pay in (("basic", "basic_pay"), ("overtime", "overtime_pay")):
        source_id = f"mrt__spend__payroll-{feed}"
        assert summaries[feed]["status"] == "published"
        assert summaries[feed]["rows_published"] == exp["rows"] == 8
        assert summaries[feed]["rows_quarantined"] == 0
        rows = published(settings, source_id)
        assert {r["transaction_number"]: r["amount_gbp"] for r in rows} == {
            emp: Decimal(v[pay]) for emp, v in norm.items()
        }
        assert spend_sum(settings, source_id) == Decimal(exp["sums"][pay])
        assert {r["transaction_number"]: (r["expense_area"], r["cost_centre_code"]) for r in rows} == {
            emp: (v["home_cost_centre"], v["charged_cost_centre"]) for emp, v in norm.items()
        }
        differs = sorted(r["transaction_number"] for r in rows if r["expense_area"] != r["cost_centre_code"])
        assert differs == exp["rows_where_charged_cost_centre_differs_from_home"]
        assert {r["period"] for r in rows} == {date(2025, 3, 1)}
    assert spend_sum(settings, "mrt__spend__payroll-basic") == Decimal("20505.68")
    assert spend_sum(settings, "mrt__spend__payroll-overtime") == Decimal("1337.83")

    # The reader names repeats by position, the same way whatever the mapping; hours are not
    # in the spend model, so their sums are checked on the table as read.
    registry = load_registry(settings.config)
    source = registry.source("mrt__spend__payroll-basic")
    path = settings.landing / source.pull.path / FILE_08
    (table,) = read_file(path, source.reader, header_hints(source, registry.domains["spend"]))
    assert table.columns == [
        "Employee Number", "Pay Period", "Cost Centre", "Hours", "Amount", "Hours#2", "Amount#2", "Cost Centre#2",
    ]
    col = {c: i for i, c in enumerate(table.columns)}
    assert sum(Decimal(r[col["Hours"]]) for r in table.rows) == Decimal(exp["sums"]["basic_hours"])
    assert sum(Decimal(r[col["Hours#2"]]) for r in table.rows) == Decimal(exp["sums"]["overtime_hours"])


# --------------------------------------------------------------- 11 leading zeros codes
CASE_11 = "11-leading-zeros-codes"
SRC_11 = "mrt__spend__hr-positions"
FILE_11 = "hr_positions_2025_04.csv"
CODE_FIELDS_11 = {
    "Employee Number": "supplier_id",
    "Post Number": "transaction_number",
    "Cost Centre": "cost_centre_code",
    "Grade Code": "expense_type_code",
    "Org Unit": "project_code",
    "Pay Scale Point": "contract_number",
}


def test_11_leading_zeros_codes_read_as_fixed_width_text(tmp_path: Path) -> None:
    exp = expected(CASE_11)
    settings, summaries = run_case(tmp_path, CASE_11, SRC_11, {FILE_11: case_file(CASE_11, FILE_11)})

    (summary,) = summaries
    assert summary["status"] == "published"
    assert summary["rows_published"] == exp["rows"] == 12
    rows = published(settings, SRC_11)
    got = [{src: r[field] for src, field in CODE_FIELDS_11.items()} for r in rows]
    assert got == exp["rows_expected"]
    assert got[0] == {"Employee Number": "000388", "Post Number": "00012345", "Cost Centre": "0150",
                      "Grade Code": "07", "Org Unit": "0001", "Pay Scale Point": "03"}
    for src, width in exp["text_columns_exact_width"].items():
        assert all(isinstance(g[src], str) and len(g[src]) == width and g[src].isdigit() for g in got), src
    assert len({g["Employee Number"] for g in got}) == exp["distinct_employee_numbers"] == 12


def test_11_leading_zeros_codes_join_one_to_one_to_cost_centres(tmp_path: Path) -> None:
    exp = expected(CASE_11)
    settings, _ = run_case(tmp_path, CASE_11, SRC_11, {FILE_11: case_file(CASE_11, FILE_11)})
    reference = case_dir(CASE_11) / "cost_centres_reference.csv"
    rows = query(
        settings,
        "SELECT f.supplier_id, r.Name FROM core.fct_spend f "
        "JOIN read_csv(?, header = true, all_varchar = true) r ON r.\"Cost Centre\" = f.cost_centre_code "
        "WHERE f.source_id = ? ORDER BY f.source_line",
        [str(reference), SRC_11],
    )
    assert len(rows) == exp["rows_joined_to_reference"] == 12
    assert dict(rows) == exp["cost_centre_join"]
    assert dict(rows)["000120"] == "Internal Audit"


# ---------------------------------------------------------- 13 empty extract validation
CASE_13 = "13-empty-extract-validation"
SRC_13 = "oprs__spend__payroll"


@pytest.fixture(scope="module")
def case_13_runs(tmp_path_factory) -> Iterator[tuple[Settings, dict[str, dict[str, Any]]]]:
    """The three monthly files loaded in order as three separate runs (the landing folder holds
    that month's file only). Returns settings and each run's summary by file name."""
    root = tmp_path_factory.mktemp("case13")
    settings = make_settings(root, CASE_13)
    out: dict[str, dict[str, Any]] = {}
    for name in expected(CASE_13)["load_in_order"]:
        land(settings, SRC_13, {name: case_file(CASE_13, name)})
        (out[name],) = pipeline.load_source(settings, SRC_13)
    yield settings, out


def _feb_rows(settings: Settings) -> list[dict[str, Any]]:
    return [r for r in published(settings, SRC_13) if r["period"] == date(2025, 2, 1)]


def test_13_empty_extract_validation_february_loads(case_13_runs) -> None:
    settings, runs = case_13_runs
    exp = expected(CASE_13)["oprs_payroll_2025_02.csv"]
    feb = runs["oprs_payroll_2025_02.csv"]
    assert feb["status"] == "published"
    assert feb["period"] == "2025-02-01"
    assert feb["rows_published"] == exp["rows"] == 7
    assert feb["rows_quarantined"] == 0
    rows = _feb_rows(settings)
    assert sum(r["amount_gbp"] for r in rows) == Decimal(exp["gross_pay_sum"])
    # NI numbers are personal data: dropped on read, nowhere in the warehouse.
    for r in rows:
        assert not any(isinstance(v, str) and re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", v) for v in r.values())


def test_13_empty_extract_validation_header_only_fails_row_count(case_13_runs) -> None:
    settings, runs = case_13_runs
    mar = runs["oprs_payroll_2025_03.csv"]
    assert mar["status"] == "rejected"
    assert mar["rows_read"] == 0 and mar["rows_published"] == 0
    # The table-level row-count expectation is what fails the batch ("header present, 0 data rows").
    assert mar["reject_rule"] == "file.has_rows", mar["reject_detail"]
    results = query(
        settings,
        "SELECT success FROM ops.validation_result WHERE load_id = ? AND rule_id = 'file.has_rows'",
        [mar["load_id"]],
    )
    assert results == [(False,)]


def test_13_empty_extract_validation_zero_byte_file_is_ingest_failure(case_13_runs) -> None:
    settings, runs = case_13_runs
    apr = runs["oprs_payroll_2025_04.csv"]
    mar = runs["oprs_payroll_2025_03.csv"]
    assert apr["status"] == "rejected"
    assert apr["reject_rule"] == "file.empty"
    assert apr["rows_read"] == 0 and apr["rows_published"] == 0
    assert apr["period"] is None
    assert apr["reject_rule"] != mar["reject_rule"]  # reported separately from the header-only case
    assert "oprs_payroll_2025_04.csv" in (apr["reject_detail"] or "")


def test_13_empty_extract_validation_earlier_partition_untouched(case_13_runs) -> None:
    settings, runs = case_13_runs
    exp = expected(CASE_13)["warehouse_after_all_three"]
    feb_load = runs["oprs_payroll_2025_02.csv"]["load_id"]
    counts = dict(
        query(settings, "SELECT strftime(period, '%Y-%m'), count(*) FROM core.fct_spend WHERE source_id = ? GROUP BY 1",
              [SRC_13])
    )
    assert counts.get("2025-02", 0) == exp["payroll rows for OPRS 2025-02"] == 7
    assert counts.get("2025-03", 0) == exp["payroll rows for OPRS 2025-03"] == 0
    assert counts.get("2025-04", 0) == exp["payroll rows for OPRS 2025-04"] == 0
    assert query(settings, "SELECT period, load_id FROM ops.partition WHERE source_id = ?", [SRC_13]) == [
        (date(2025, 2, 1), feb_load)
    ]
    assert {r["load_id"] for r in _feb_rows(settings)} == {feb_load}
    log = {r["file_name"]: r["status"] for r in load_log(settings, SRC_13)}
    assert log == {
        "oprs_payroll_2025_02.csv": "published",
        "oprs_payroll_2025_03.csv": "rejected",
        "oprs_payroll_2025_04.csv": "rejected",
    }
