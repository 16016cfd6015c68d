"""GX Data Docs built from ``ops.validation_run`` (warehouse.reports.gx_docs), on a warehouse of
two planted validation runs: one of them with a load id made only of digits, which GX's page
renderer tries to read as a date (it overflowed and GX skipped the page before run names were
prefixed with ``load-``)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pandas as pd
import pytest

from expectations.validate import validate_batch
from warehouse.connection import connect_writer
from warehouse.reports import gx_docs

DIGITS = "9170530083733920"  # the load id of the demo's dfe__spend__ap January file
HEX = "0a1b2c3d4e5f6071"


@pytest.fixture()
def warehouse(tmp_path):
    con = connect_writer(tmp_path / "w.duckdb")
    empty = validate_batch("file", pd.DataFrame({"source_line": pd.Series([], dtype="int64")}))
    full = validate_batch("file", pd.DataFrame({"source_line": [2, 3, 4]}))
    assert not empty.document["success"] and full.document["success"]
    for load_id, run, at in (
        (DIGITS, empty, datetime(2025, 2, 3, 4, 5, 6, 789)),
        (HEX, full, datetime(2025, 2, 3, 4, 5, 7)),
    ):
        con.execute(
            "insert into ops.validation_run values (?, 'file', ?, 1, ?, ?, ?)",
            [
                load_id,
                run.document["success"],
                int(run.document["success"]),
                at,
                json.dumps(run.document),
            ],
        )
    yield con
    con.close()


def test_every_validation_run_gets_its_page_offline_and_stable(warehouse, tmp_path):
    site = tmp_path / "site"
    pages = gx_docs.build_data_docs(warehouse, site)
    assert {lid: [(p.suite_name, p.success, p.path) for p in ps] for lid, ps in pages.items()} == {
        DIGITS: [
            (
                "file",
                False,
                f"gx/validations/file/load-{DIGITS}/20250203T040506.000789Z/{DIGITS}.html",
            )
        ],
        HEX: [("file", True, f"gx/validations/file/load-{HEX}/20250203T040507.000000Z/{HEX}.html")],
    }
    failed = (site / pages[DIGITS][0].path).read_text()
    # GX's own verdict: the header-only batch fails expect_table_row_count_to_be_between
    text = re.sub(r"<[^>]+>", " ", failed)
    assert re.search(r"Must have greater than or equal to\s+1\s+rows", text)
    assert re.search(r"Unsuccessful Expectations\s+1\b", text), "GX's count"
    assert re.search(r"Evaluated Expectations\s+1\b", text)
    assert f"load-{DIGITS}" in failed
    # nothing loaded from outside: CDN tags, GX's logo and CSS backgrounds are gone
    for page in site.rglob("*.html"):
        text = re.sub(r"<a\b[^>]*>", "", page.read_text())
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), page
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), page
        # GX's static folder is referenced where it is
        for ref in re.findall(r'(?:src|href)="([^"#?]*static/[^"#?]*)"', text):
            assert (page.parent / ref).resolve().exists(), (page, ref)
    # the same warehouse gives the same bytes (GX's random element ids are renumbered)
    again = gx_docs.build_data_docs(warehouse, tmp_path / "again")
    assert again == pages
    first = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    second = {
        p.relative_to(tmp_path / "again"): p.read_bytes()
        for p in (tmp_path / "again").rglob("*")
        if p.is_file()
    }
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_no_validation_run_builds_nothing(tmp_path):
    con = connect_writer(tmp_path / "w.duckdb")
    try:
        assert gx_docs.build_data_docs(con, tmp_path / "site") == {}
    finally:
        con.close()
    assert not (tmp_path / "site").exists()


def test_documents_of_a_combined_run_render_each_loads_own_counts(tmp_path):
    """Three files' row suites run together (validate_batches): each load's page shows its own
    rows' verdicts, as a run on the load alone would."""
    from expectations.validate import validate_batches

    def frame(fte):
        n = len(fte)
        f = pd.DataFrame({"source_line": range(2, n + 2)})
        for col in ("employer_code", "grade", "pay_period", "pay_date"):
            f[col] = "x"
        for col in ("ni_valid", "amounts_ok"):
            f[col] = True
        for col in ("has_extra_cells", "is_duplicate"):
            f[col] = False
        f["pay_residual_gbp"] = 0.0
        f["fte"] = pd.Series(fte, dtype="Float64")
        return f

    third = "1f2e3d4c5b6a7980"
    runs = validate_batches(
        "payroll.row", [frame([0.5, 1.5, 2.0]), frame([0.5, 1.0]), frame([1.7, 0.5])]
    )
    assert [r.document["meta"]["ngss_batch"]["position"] for r in runs] == [0, 1, 2]
    con = connect_writer(tmp_path / "w.duckdb")
    try:
        for load_id, run in ((HEX, runs[0]), (DIGITS, runs[1]), (third, runs[2])):
            stats = run.document["statistics"]
            con.execute(
                "insert into ops.validation_run values (?, 'payroll.row', ?, ?, ?, ?, ?)",
                [
                    load_id,
                    run.document["success"],
                    stats["evaluated_expectations"],
                    stats["successful_expectations"],
                    datetime(2025, 2, 3, 4, 5, 6),
                    json.dumps(run.document),
                ],
            )
        pages = gx_docs.build_data_docs(con, tmp_path / "site")
    finally:
        con.close()
    assert [(p.suite_name, p.success) for p in pages[HEX]] == [("payroll.row", False)]
    assert [(p.suite_name, p.success) for p in pages[DIGITS]] == [("payroll.row", True)]
    bad = re.sub(r"<[^>]+>", " ", (tmp_path / "site" / pages[HEX][0].path).read_text())
    assert re.search(r"Unsuccessful Expectations\s+1\b", bad)
    assert re.search(r"Evaluated Expectations\s+11\b", bad)
    assert re.search(r"2\s+unexpected values found", bad), "file 0's own 2 FTEs out of range"
    good = re.sub(r"<[^>]+>", " ", (tmp_path / "site" / pages[DIGITS][0].path).read_text())
    assert re.search(r"Unsuccessful Expectations\s+0\b", good)
    # the combined run found 3; the third load's page shows its own 1
    other = re.sub(r"<[^>]+>", " ", (tmp_path / "site" / pages[third][0].path).read_text())
    assert re.search(r"\b1\s+unexpected values? found", other)
    assert not re.search(r"\b3\s+unexpected values found", bad + other)
