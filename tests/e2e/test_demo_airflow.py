"""The main job through the real Airflow DAGs (``dag.test()`` for every source, then the marts):
every DAG succeeds and the warehouse equals the one the direct pipeline builds from the same
files (row counts and sums of every core and marts table)."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, SAMPLE

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bundle")]


def warehouse_fingerprint(path) -> dict[str, tuple]:
    """Row count and, for every numeric column, its sum, per core and marts table."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('core', 'marts') order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            numeric = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                    "and (data_type like 'DECIMAL%' or data_type in ('INTEGER', 'BIGINT', 'DOUBLE')) "
                    "and column_name not in ('source_line')",
                    [schema, table],
                ).fetchall()
            ]
            exprs = ", ".join(["count(*)"] + [f'sum("{c}")' for c in numeric])
            out[f"{schema}.{table}"] = tuple(
                con.execute(f"select {exprs} from {schema}.{table}").fetchall()[0]
            )
        return out
    finally:
        con.close()


def test_demo_dags_build_the_same_warehouse_as_the_pipeline(
    tmp_path, monkeypatch, bundle_warehouse
):
    direct_settings, _ = bundle_warehouse
    home = tmp_path / "home"
    for key, value in {
        "NGSS_HOME": home,
        "NGSS_LANDING": SAMPLE,
        "NGSS_CONFIG": PROJECT_ROOT / "config",
        "NGSS_WAREHOUSE": home / "warehouse.duckdb",
    }.items():
        monkeypatch.setenv(key, str(value))
    from dags.run_all import run_all

    outcome = run_all()
    failed = {k: v for k, v in outcome.items() if v.get("state") != "success"}
    assert not failed, failed
    assert sum(1 for k in outcome if k.startswith("ngss_load__")) == 30
    assert "ngss_marts" in outcome
    via_airflow = warehouse_fingerprint(home / "warehouse.duckdb")
    direct = warehouse_fingerprint(direct_settings.warehouse)
    assert via_airflow == direct
    assert via_airflow["core.fct_spend"][0] > 40_000
