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
