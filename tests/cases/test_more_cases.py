"""Failure cases 01, 10, 14 and 16 of the failure-case bank, through the registry mechanism.

Same harness as ``test_reading_cases.py``: a throw-away configuration from the project's
domains, mappings and reference plus the case's own ``config/sources/``, the case's files in a
landing folder, :func:`transforms.pipeline.load_source` (or pull / stage / publish), and the
case's ``expected.json`` checked against the warehouse.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.cases.test_reading_cases import (
    CASES,
    case_file,
    expected,
    land,
    load_log,
    make_settings,
    published,
    quarantined,
    query,
    spend_sum,
)
from transforms import pipeline
from transforms.periods import periods

# ------------------------------------------------------- 01 concurrent writers
CASE_01 = "01-duckdb-concurrent-writers"


def _stage_in_child(args: tuple[dict, str]) -> list[dict]:
    """One load's pull and stage in its own process (no warehouse access)."""
    settings_kw, source_id = args
    from transforms.settings import Settings

    settings = Settings(**{k: Path(v) for k, v in settings_kw.items()})
    return [ref for a in pipeline.pull(settings, source_id) for ref in pipeline.stage(settings, a)]


def _publish_in_child(args: tuple[dict, list[dict]]) -> list[dict]:
    settings_kw, refs = args
    from transforms.settings import Settings

    settings = Settings(**{k: Path(v) for k, v in settings_kw.items()})
    return pipeline.publish(settings, refs)


def test_01_concurrent_writers_parallel_staging_serialised_publish(tmp_path: Path) -> None:
    exp = expected(CASE_01)
    settings = make_settings(tmp_path, CASE_01)
    sources = {}
    for name, spec in exp["files"].items():
        source_id = f"{spec['entity'].lower()}__spend"
        land(settings, source_id, {name: case_file(CASE_01, name)})
        sources[source_id] = name
    kw = {k: str(getattr(settings, k)) for k in ("home", "landing", "config", "warehouse")}
    ctx = mp.get_context("spawn")
    with ctx.Pool(3) as pool:
        # three stagings at once, then three publishes *also* started at once: the writer
        # lock queues them, none meets "Could not set lock on file"
        staged = pool.map(_stage_in_child, [(kw, s) for s in sources])
        summaries = pool.map(_publish_in_child, [(kw, refs) for refs in staged])
    flat = [s for group in summaries for s in group]
    assert [s["status"] for s in flat] == ["published"] * 3

    # A retry of every publish (Airflow retrying after a failure) inserts nothing twice.
    for refs in staged:
        again = pipeline.publish(settings, refs)
        assert [s["status"] for s in again] == ["published"]
        assert again[0]["attempt"] == 2

    total = Decimal(0)
    for source_id, name in sources.items():
        spec = exp["files"][name]
        rows = published(settings, source_id)
        assert len(rows) == spec["rows"]
        assert sorted(r["transaction_number"] for r in rows) == sorted(spec["transaction_numbers"])
        assert spend_sum(settings, source_id) == Decimal(spec["amount_sum"])
        total += spend_sum(settings, source_id)
    (n, distinct) = query(settings, "SELECT count(*), count(DISTINCT transaction_number) FROM core.fct_spend")[0]
    assert n == distinct == exp["total_rows"] == 24
    assert total == Decimal(exp["total_amount"])
    # Readers use the read snapshot: it holds the same 24 rows.
    from warehouse.connection import connect_reader

    con = connect_reader(settings.warehouse)
    try:
        assert con.execute("SELECT count(*), sum(amount_gbp) FROM core.fct_spend").fetchall() == [
            (24, Decimal(exp["total_amount"]))
        ]
    finally:
        con.close()


def test_01_concurrent_writers_failed_publish_leaves_no_rows(tmp_path: Path, monkeypatch) -> None:
    """Each file is all-or-nothing: a publish that fails part-way (here the reconciliation
    guard, after the rows were inserted) leaves none of its rows behind; a retry loads all."""
    exp = expected(CASE_01)
    settings = make_settings(tmp_path, CASE_01)
    name = "dci_spend_2025_03.csv"
    land(settings, "dci__spend", {name: case_file(CASE_01, name)})
    refs = [r for a in pipeline.pull(settings, "dci__spend") for r in pipeline.stage(settings, a)]
    broken = [dict(refs[0], rows_read=refs[0]["rows_read"] + 1)]
    with pytest.raises(Exception, match="rows read"):
        pipeline.publish(settings, broken)
    assert published(settings, "dci__spend") == []
    (summary,) = pipeline.publish(settings, refs)
    assert summary["rows_published"] == exp["files"][name]["rows"] == 8


# ------------------------------------------------ 10 type inference beyond sample
CASE_10 = "10-type-inference-beyond-sample"
SRC_10 = "mrt__spend__payroll-hours"


def test_10_type_inference_beyond_sample_nothing_rounded(tmp_path: Path) -> None:
    exp = expected(CASE_10)
    settings = make_settings(tmp_path, CASE_10)
    land(settings, SRC_10, {exp["file"]: case_file(CASE_10, exp["file"])})
    (summary,) = pipeline.load_source(settings, SRC_10)

    assert summary["status"] == "published", summary["reject_detail"]
    assert summary["rows_read"] == summary["rows_published"] == exp["rows"] == 20600
    assert summary["rows_quarantined"] == exp["rejected_rows"] == 0
    ((hours, tail, pay),) = query(
        settings,
        "SELECT sum(CAST(description AS DECIMAL(10,2))), "
        "sum(CAST(description AS DECIMAL(10,2))) FILTER (WHERE expense_area = 'Ports and Harbours Part-Time Pool'), "
        "sum(amount_gbp) FROM core.fct_spend WHERE source_id = ?",
        [SRC_10],
    )
    assert hours == Decimal(exp["contracted_hours_sum"]) == Decimal("691473.25")
    assert tail == Decimal(exp["contracted_hours_sum_tail_directorate"])
    assert pay == Decimal(exp["basic_pay_sum"])
    got = dict(
        ((emp, (pos, hrs)) for emp, pos, hrs in query(
            settings,
            "SELECT supplier_id, transaction_number, description FROM core.fct_spend WHERE source_id = ?",
            [SRC_10],
        ))
    )
    for emp, want in exp["spot_checks"].items():
        assert got[emp] == (want["Position Number"], want["Contracted Hours"]), emp
    types = dict(query(
        settings,
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'fct_spend' "
        "AND column_name IN ('transaction_number', 'supplier_id', 'amount_gbp')",
    ))
    assert types == {"transaction_number": "VARCHAR", "supplier_id": "VARCHAR", "amount_gbp": "DECIMAL(18,2)"}
    # nothing changed silently: every value as sent, leading zeros and decimals kept
    assert sum(1 for _, (pos, _h) in got.items() if pos.startswith("00")) == 100


def test_10_type_inference_beyond_sample_bad_value_late_is_quarantined_with_line(tmp_path: Path) -> None:
    """A value that really does not fit the contract, past any sample, quarantines that row
    with its line number; it is never cast loosely."""
    exp = expected(CASE_10)
    text = case_file(CASE_10, exp["file"]).decode("utf-8")
    lines = text.splitlines(keepends=True)
    last = lines[-1]
    cells = last.rstrip("\r\n").split(",")
    cells[-1] = '"1.234,56"'  # a European-format amount on the last line
    lines[-1] = ",".join(cells) + "\n"
    settings = make_settings(tmp_path, CASE_10)
    land(settings, SRC_10, {exp["file"]: "".join(lines).encode("utf-8")})
    (summary,) = pipeline.load_source(settings, SRC_10)
    assert summary["status"] == "published"
    assert summary["rows_quarantined"] == 1 and summary["rows_published"] == 20599
    (q,) = quarantined(settings, SRC_10)
    assert q["source_line"] == len(lines) and "spend.amount_valid" in q["rule_ids"]
    assert q["raw"]["Basic Pay"] == "1.234,56"


# --------------------------------------------------- 14 schema drift renamed column
CASE_14 = "14-schema-drift-renamed-column"


def _load_14(tmp_path: Path, aliased: bool) -> tuple:
    """February, then March, under the contract as first agreed; with ``aliased``, a person
    then reviews the drift report, maps the new names in the source's configuration
    (``config/aliased/dci__spend.yaml`` replaces ``config/sources/dci__spend.yaml``) and March
    is loaded again."""
    from transforms.config import _cached_registry

    settings = make_settings(tmp_path, CASE_14)
    out = {}
    for name in ("dci_spend_2025_02.csv", "dci_spend_2025_03.csv"):
        land(settings, "dci__spend", {name: case_file(CASE_14, name)})
        (out[name],) = pipeline.load_source(settings, "dci__spend")
    if aliased:
        target = settings.config / "sources" / "dci__spend.yaml"
        target.write_bytes((CASES / CASE_14 / "config" / "aliased" / "dci__spend.yaml").read_bytes())
        _cached_registry.cache_clear()
        pipeline._resolver.cache_clear()
        (out["dci_spend_2025_03.csv"],) = pipeline.load_source(settings, "dci__spend")
    return settings, out


def test_14_schema_drift_without_alias_rejects_with_drift_report(tmp_path: Path) -> None:
    exp = expected(CASE_14)
    settings, runs = _load_14(tmp_path, aliased=False)
    feb, mar = runs["dci_spend_2025_02.csv"], runs["dci_spend_2025_03.csv"]
    assert feb["status"] == "published" and feb["rows_published"] == exp["dci_spend_2025_02.csv"]["rows"] == 5
    assert mar["status"] == "rejected"
    assert mar["rows_published"] == exp["dci_spend_2025_03.csv"]["without_alias_config"]["rows_loaded"] == 0
    detail = mar["reject_detail"]
    drift = exp["dci_spend_2025_03.csv"]["drift_report"]
    assert "dci_spend_2025_03.csv" in detail
    for col in drift["missing_required"]:
        assert repr(col) in detail, (col, detail)
    for col in drift["new_columns"]:
        assert col in detail, (col, detail)
    # every March row kept in quarantine, none published; no NULL amount anywhere
    assert len(quarantined(settings, "dci__spend")) == 6 + 0
    rows = published(settings, "dci__spend")
    assert {r["period"] for r in rows} == {date(2025, 2, 1)}
    assert spend_sum(settings, "dci__spend") == Decimal(exp["dci_spend_2025_02.csv"]["amount_sum"])
    assert query(settings, "SELECT count(*) FROM core.fct_spend WHERE amount_gbp IS NULL OR supplier_name IS NULL") == [(0,)]


def test_14_schema_drift_with_alias_loads_gross_and_keeps_net_and_vat(tmp_path: Path) -> None:
    exp = expected(CASE_14)["dci_spend_2025_03.csv"]["with_alias_config"]
    settings, runs = _load_14(tmp_path, aliased=True)
    mar = runs["dci_spend_2025_03.csv"]
    assert mar["status"] == "published", mar["reject_detail"]
    assert mar["rows_published"] == exp["rows"] == 6
    rows = [r for r in published(settings, "dci__spend") if r["period"] == date(2025, 3, 1)]
    assert sum(r["amount_gbp"] for r in rows) == Decimal(exp["amount_sum"])
    assert sum(r["net_amount_gbp"] for r in rows) == Decimal(exp["net_sum"])
    assert sum(r["vat_amount_gbp"] for r in rows) == Decimal(exp["vat_sum"])
    assert all(r["supplier_name"] and r["amount_gbp"] is not None for r in rows)
    # Net is never taken as the amount: each row's amount is the gross, net + VAT = gross
    assert all(r["net_amount_gbp"] + r["vat_amount_gbp"] == r["amount_gbp"] for r in rows)
    assert {r["period"] for r in published(settings, "dci__spend")} == {date(2025, 2, 1), date(2025, 3, 1)}


# --------------------------------------------------------- 16 BST period boundaries
CASE_16 = "16-bst-period-boundaries"


@pytest.mark.parametrize(
    ("source_id", "file_name"),
    [("dci__spend__bank-utc", "bank_payments_utc.csv"), ("dci__spend__payroll-local", "payroll_payments_local.csv")],
)
def test_16_bst_period_boundaries_local_dates(tmp_path: Path, source_id: str, file_name: str) -> None:
    exp = expected(CASE_16)[file_name]
    settings = make_settings(tmp_path, CASE_16)
    land(settings, source_id, {file_name: case_file(CASE_16, file_name)})
    (summary,) = pipeline.load_source(settings, source_id)
    assert summary["status"] == "published", summary["reject_detail"]
    assert summary["rows_published"] == len(exp) and summary["rows_quarantined"] == 0
    rows = {r["transaction_number"]: r for r in published(settings, source_id)}
    assert set(rows) == set(exp)
    for ref, want in exp.items():
        got = periods(rows[ref]["payment_date"])
        assert got == {k: want[k] for k in got}, ref
        wrong = want.get("utc_date_would_give") or want.get("if_wrongly_treated_as_utc_then_converted")
        if wrong != want["local_date"]:
            assert rows[ref]["payment_date"].isoformat() != wrong, ref


def test_16_bst_period_boundaries_total_rows(tmp_path: Path) -> None:
    exp = expected(CASE_16)
    settings = make_settings(tmp_path, CASE_16)
    n = 0
    for source_id, name in (("dci__spend__bank-utc", "bank_payments_utc.csv"),
                            ("dci__spend__payroll-local", "payroll_payments_local.csv")):
        land(settings, source_id, {name: case_file(CASE_16, name)})
        (s,) = pipeline.load_source(settings, source_id)
        n += s["rows_published"]
        assert s["rows_quarantined"] == exp["errors_allowed"] == 0
    assert n == exp["rows_total"] == 18
    assert json.loads(json.dumps(load_log(settings, "dci__spend__bank-utc"), default=str))[0]["status"] == "published"


def test_16_period_helpers_match_every_expected_row() -> None:
    exp = expected(CASE_16)
    for file_name in ("bank_payments_utc.csv", "payroll_payments_local.csv"):
        for ref, want in exp[file_name].items():
            got = periods(date.fromisoformat(want["local_date"]))
            assert got == {k: want[k] for k in got}, ref


_ = duckdb  # imported for type context in helpers
