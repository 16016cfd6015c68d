"""The main job through the real Airflow DAGs (``dag.test()`` for every source, then the marts),
on the bundled files plus a small generated set: every DAG succeeds, the warehouse equals the one
the direct pipeline builds from the same files (row counts and sums of every core and marts
table), and neither XComs nor the Airflow home hold an NI number or a person's name."""

from __future__ import annotations

import shutil
import sqlite3

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, SAMPLE, SYNTHETIC_BODIES, SYNTHETIC_SEED

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
            numeric = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                "and (data_type like 'DECIMAL%' or data_type in ('INTEGER', 'BIGINT', 'DOUBLE')) "
                "and column_name not in ('source_line')", [schema, table]).fetchall()]
            exprs = ", ".join(["count(*)"] + [f'sum("{c}")' for c in numeric])
            out[f"{schema}.{table}"] = tuple(con.execute(f"select {exprs} from {schema}.{table}").fetchall()[0])
        return out
    finally:
        con.close()


def _environment(monkeypatch, home):
    for key, value in {
        "NGSS_HOME": home,
        "NGSS_LANDING": SAMPLE,
        "NGSS_CONFIG": PROJECT_ROOT / "config",
        "NGSS_WAREHOUSE": home / "warehouse.duckdb",
        "NGSS_HMAC_KEY": "7a" * 32,
    }.items():
        monkeypatch.setenv(key, str(value))


def test_demo_dags_build_the_same_warehouse_as_the_pipeline(tmp_path, monkeypatch):
    from transforms import generate as gen
    from transforms import pipeline
    from transforms.config import load_registry
    from transforms.settings import Settings

    airflow_home, direct_home = tmp_path / "airflow-run", tmp_path / "direct-run"
    gen.generate(airflow_home / "generated", PROJECT_ROOT / "config", SYNTHETIC_BODIES[:4],
                 gen.parse_months("2025-01"), SYNTHETIC_SEED, 0.05)
    shutil.copytree(airflow_home / "generated", direct_home / "generated")

    _environment(monkeypatch, direct_home)
    direct = Settings.from_env()
    for source_id in sorted(load_registry(direct.config).sources):
        pipeline.load_source(direct, source_id)
    pipeline.build_marts(direct)

    _environment(monkeypatch, airflow_home)
    from dags.run_all import run_all

    outcome = run_all()
    failed = {k: v for k, v in outcome.items() if v.get("state") != "success"}
    assert not failed, failed
    n_sources = len(load_registry(direct.config).sources)
    assert sum(1 for k in outcome if k.startswith("ngss_load__")) == n_sources
    assert "ngss_marts" in outcome
    via_airflow = warehouse_fingerprint(airflow_home / "warehouse.duckdb")
    assert via_airflow == warehouse_fingerprint(direct.warehouse)
    assert via_airflow["core.fct_spend"][0] > 40_000 and via_airflow["core.fct_payroll"][0] > 100

    # Privacy: no NI number or name in XComs or anywhere in the Airflow home.
    from tests.e2e.test_synthetic import _people_in_extracts, _spaced

    class _S:
        generated = airflow_home / "generated"

    nis, names = _people_in_extracts(_S)
    assert nis and names
    # ... nor the person-key secret (set through NGSS_HMAC_KEY for this run)
    needles = nis | {_spaced(n) for n in nis} | names | {"7a" * 32}
    db = sqlite3.connect(airflow_home / "airflow" / "airflow.db")
    xcoms = [str(v) for (v,) in db.execute("select value from xcom").fetchall()]
    assert len(xcoms) > n_sources  # pull, stage and publish results of every DAG
    assert not [x for x in xcoms if any(n in x for n in needles)]
    for path in (airflow_home / "airflow").rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", ".txt", ".cfg", ".db"):
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert not any(n in text for n in needles), path
