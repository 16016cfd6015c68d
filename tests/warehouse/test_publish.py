"""Publishing a partition: idempotent reruns, replacement by a corrected file, rejection keeps
the previous partition, every row read published or quarantined."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from tests.helpers import HEADER, drop, make_home
from transforms import pipeline

MARCH = (
    HEADER
    + 'HMRC,HMRC,01/03/2025,IT,Digital,FUJITSU SERVICES LTD,5100001,"£151,646.88"\n'
    + 'HMRC,HMRC,14/03/2025,Estates,Estates,MITIE LTD,5100002,"-£1,200.50"\n'
    + "HMRC,HMRC,31/03/2025,IT,Digital,CAPITA BUSINESS SERVICES LTD,5100003,TBC\n"
    + "HMRC,HMRC,31/03/2025,IT,Digital,SERCO LTD,5100005,100\n"
    + "HMRC,HMRC,28/03/2025,IT,Digital,SERCO LTD,5100006,200.5\n"
)
# The corrected resubmission: the TBC amount fixed, one more line.
MARCH_FIXED = (
    MARCH.replace("TBC", "30000.00") + "HMRC,HMRC,31/03/2025,IT,Digital,SERCO LTD,5100004,25000\n"
)


def _snapshot(settings) -> dict:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return {
            "rows": con.execute("select count(*), sum(amount_gbp) from core.fct_spend").fetchall()[
                0
            ],
            "lines": con.execute(
                "select list(source_line order by source_line) from core.fct_spend"
            ).fetchall()[0][0],
            "quarantine": con.execute(
                "select count(*) from ops.quarantine_row q join ops.partition p using (load_id)"
            ).fetchall()[0][0],
        }
    finally:
        con.close()


def test_golden_path_counts_and_values(tmp_path):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "25k-march.csv", MARCH)
    (summary,) = pipeline.load_source(settings, "hmrc__spend")
    assert summary["status"] == "published"
    assert (summary["rows_read"], summary["rows_published"], summary["rows_quarantined"]) == (
        5,
        4,
        1,
    )
    assert summary["period"] == "2025-03-01"
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        "select source_line, amount_gbp, payment_date::varchar, entity_code from core.fct_spend order by 1"
    ).fetchall()
    assert rows == [
        (2, Decimal("151646.88"), "2025-03-01", "hmrc"),
        (3, Decimal("-1200.50"), "2025-03-14", "hmrc"),
        (5, Decimal("100.00"), "2025-03-31", "hmrc"),
        (6, Decimal("200.50"), "2025-03-28", "hmrc"),
    ]
    q = con.execute("select source_line, rule_ids, raw_json from ops.quarantine_row").fetchall()
    assert q[0][0] == 4 and q[0][1] == ["spend.amount_valid"] and '"Amount": "TBC"' in q[0][2]


def test_rerun_of_the_same_file_changes_nothing(tmp_path):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "25k-march.csv", MARCH)
    first = pipeline.load_source(settings, "hmrc__spend")
    before = _snapshot(settings)
    second = pipeline.load_source(settings, "hmrc__spend")
    assert _snapshot(settings) == before
    assert first[0]["load_id"] == second[0]["load_id"]
    assert (first[0]["attempt"], second[0]["attempt"]) == (1, 2)


def test_corrected_file_replaces_the_partition(tmp_path):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "25k-march.csv", MARCH)
    (old,) = pipeline.load_source(settings, "hmrc__spend")
    drop(settings, "hmrc", "25k-march-v2.csv", MARCH_FIXED)
    (new,) = pipeline.load_source(settings, "hmrc__spend")
    assert new["replaced_load_id"] == old["load_id"]
    assert (new["rows_read"], new["rows_published"], new["rows_quarantined"]) == (6, 6, 0)
    snap = _snapshot(settings)
    assert snap["rows"] == (
        6,
        Decimal("151646.88")
        - Decimal("1200.50")
        + Decimal("30000.00")
        + Decimal("100")
        + Decimal("200.50")
        + Decimal("25000.00"),
    )
    assert snap["quarantine"] == 0
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute("select load_id from ops.partition").fetchall() == [(new["load_id"],)]


def test_rejected_file_keeps_the_previous_partition(tmp_path):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "25k-march.csv", MARCH)
    pipeline.load_source(settings, "hmrc__spend")
    before = _snapshot(settings)
    # Same month, but the Amount column renamed: schema drift rejects the whole file.
    drifted = MARCH_FIXED.replace(",Amount\n", ",Value Paid\n")
    drop(settings, "hmrc", "25k-march-v3.csv", drifted)
    (summary,) = pipeline.load_source(settings, "hmrc__spend")
    assert summary["status"] == "rejected"
    assert summary["reject_rule"] == "file.required_columns"
    assert (
        "amount_gbp" in summary["reject_detail"] and "25k-march-v3.csv" in summary["reject_detail"]
    )
    assert (summary["rows_read"], summary["rows_published"], summary["rows_quarantined"]) == (
        6,
        0,
        6,
    )
    assert _snapshot(settings) == before


def test_unexpected_column_is_named(tmp_path):
    settings = make_home(tmp_path)
    text = (
        HEADER.replace("\n", ",VAT\n") + "HMRC,HMRC,01/03/2025,IT,Digital,FUJITSU,1,100.00,20.00\n"
    )
    drop(settings, "hmrc", "march.csv", text)
    (summary,) = pipeline.load_source(settings, "hmrc__spend")
    assert summary["reject_rule"] == "file.no_unexpected_columns"
    assert "'VAT'" in summary["reject_detail"] and "line 1" in summary["reject_detail"]


@pytest.mark.parametrize(
    "text, rule",
    [
        pytest.param("", "file.empty", id="zero-bytes"),
        pytest.param(HEADER, "file.has_rows", id="header-only"),
        pytest.param("just,some\nwords,here\n", "file.no_header", id="no-header"),
    ],
)
def test_file_level_rejections(tmp_path, text, rule):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "bad.csv", text)
    (summary,) = pipeline.load_source(settings, "hmrc__spend")
    assert summary["status"] == "rejected"
    if rule == "file.has_rows":
        # A header-only file has no period to find: rejected before the row count is checked.
        assert summary["reject_rule"] in ("file.has_rows", "file.period_in_window")
    else:
        assert summary["reject_rule"] == rule
    assert summary["rows_published"] == 0


def test_too_many_bad_rows_rejects_and_quarantines_everything(tmp_path):
    settings = make_home(tmp_path)
    text = (
        HEADER
        + "".join(f"HMRC,HMRC,0{d}/03/2025,IT,Digital,X,{d},TBC\n" for d in range(1, 4))
        + "HMRC,HMRC,05/03/2025,IT,Digital,X,9,10.00\n"
    )
    drop(settings, "hmrc", "march.csv", text)
    (summary,) = pipeline.load_source(settings, "hmrc__spend")
    assert summary["reject_rule"] == "file.bad_row_share"
    assert (summary["rows_read"], summary["rows_published"], summary["rows_quarantined"]) == (
        4,
        0,
        4,
    )
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rules = dict(con.execute("select source_line, rule_ids from ops.quarantine_row").fetchall())
    assert rules[2] == ["file.bad_row_share", "spend.amount_valid"]
    assert rules[5] == ["file.bad_row_share"]
