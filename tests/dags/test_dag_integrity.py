"""DAG integrity: the DAG files are wiring, and these tests prove it.

(a) the DAGs folder imports without errors and yields one load DAG per registry source plus
    ``ngss_marts``; every DAG has tags and retries; every warehouse writer is in the writer pool;
(b) parsing reads only ``config/`` (and the DAG files and Python's own files): no landing file,
    no warehouse, no connection, no DuckDB connection, no metadata-DB query, no heavy import;
(c) ``ngss_marts`` is scheduled on the Assets the load DAGs publish;
(d) (slow) ``run_all`` runs two fake sources through Airflow in order and succeeds.

The registry used is a throw-away copy of the real ``config/domains`` (and mappings, reference)
with fake sources, so the tests do not depend on which real sources exist yet.
"""

from __future__ import annotations

import builtins
import json
import os
import pathlib
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = PROJECT_ROOT / "dags"
CONFIG_DIR = PROJECT_ROOT / "config"
WRITER_TASKS = {"publish", "build_marts"}
WRITER_POOL = "duckdb_writer"
HEAVY_MODULES = ("pandas", "duckdb", "great_expectations", "pyarrow", "transforms.pipeline")


def make_config(dst: Path, n_sources: int) -> list[str]:
    """Copy the real domains, mappings and reference files to ``dst`` and add ``n_sources`` fake
    sources spread over the domains. Returns the source ids."""
    for sub in ("domains", "mappings", "reference"):
        if (CONFIG_DIR / sub).is_dir():
            shutil.copytree(CONFIG_DIR / sub, dst / sub, dirs_exist_ok=True)
    domains = sorted(p.stem for p in (dst / "domains").glob("*.yaml"))
    assert domains, "config/domains holds no domain"
    (dst / "sources").mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(n_sources):
        domain, body = domains[i % len(domains)], f"body-{i:02d}"
        source_id = f"{body}__{domain}"
        spec = {
            "source_id": source_id,
            "body": body,
            "domain": domain,
            "title": f"Fake {domain} extract of {body}",
            "owner": {"name": "Test Owner", "email": "owner@example.org"},
            "schedule": "@monthly",
            "retries": 1 + i % 3,
            "pull": {"method": "local", "path": f"{domain}/{body}", "pattern": "*.csv"},
            "period": {"source": "filename", "regex": r"(?P<year>\d{4})-(?P<month>\d{2})"},
        }
        (dst / "sources" / f"{source_id}.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
        ids.append(source_id)
    # the registry check requires every source's body in the organisations list
    with (dst / "reference" / "organisations.csv").open("a", encoding="utf-8") as fh:
        for i in range(n_sources):
            fh.write(f"body-{i:02d},Fake body {i},other,,,\n")
    return ids


@pytest.fixture
def ngss_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fresh config with three fake sources and separate home, landing and warehouse paths."""
    config = tmp_path / "config"
    ids = make_config(config, 3)
    env = {
        "NGSS_HOME": tmp_path / "home",
        "NGSS_LANDING": tmp_path / "landing",
        "NGSS_CONFIG": config,
        "NGSS_WAREHOUSE": tmp_path / "home" / "warehouse.duckdb",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.syspath_prepend(str(DAGS_DIR))  # as Airflow's dags-folder bundle does
    return {"source_ids": ids, **env}


def parse_dags() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    # Airflow 3.3's DagBag has no `include_examples`: it reads only the folder it is given.
    return DagBag(dag_folder=str(DAGS_DIR))


def _asset_uris(condition: Any) -> set[str]:
    """Every Asset URI inside an asset condition (``Asset``, ``AssetAny``, ``AssetAll``)."""
    if hasattr(condition, "objects"):
        return set().union(*(_asset_uris(o) for o in condition.objects))
    return {condition.uri} if hasattr(condition, "uri") else set()


# --- (a) integrity ---------------------------------------------------------------------------


def test_dagbag_has_one_load_dag_per_source_plus_marts(ngss_env: dict[str, Any]) -> None:
    bag = parse_dags()
    assert bag.import_errors == {}
    expected = {f"ngss_load__{s}" for s in ngss_env["source_ids"]} | {"ngss_marts"}
    assert set(bag.dag_ids) == expected


def test_every_dag_has_tags_retries_and_fixed_start(ngss_env: dict[str, Any]) -> None:
    bag = parse_dags()
    for dag_id, dag in bag.dags.items():
        assert dag.tags and "ngss" in dag.tags, dag_id
        assert dag.catchup is False, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert dag.start_date is not None and dag.start_date.tzinfo is not None, dag_id
        assert dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id}"


def test_load_dags_follow_their_source(ngss_env: dict[str, Any]) -> None:
    from transforms.config import load_registry

    registry = load_registry(Path(ngss_env["NGSS_CONFIG"]))
    bag = parse_dags()
    for source_id, src in registry.sources.items():
        dag = bag.dags[f"ngss_load__{source_id}"]
        assert set(dag.tags) == {"ngss", src.domain, src.body}
        assert {t.retries for t in dag.tasks} == {src.retries}
        assert src.title in dag.doc_md and src.owner.email in dag.doc_md
        assert [t.task_id for t in dag.topological_sort()] == ["pull", "stage", "publish"]
        assert dag.get_task("publish").outlets[0].uri == f"x-ngss://warehouse/core/{src.domain}"


def test_every_warehouse_writer_is_in_the_writer_pool(ngss_env: dict[str, Any]) -> None:
    bag = parse_dags()
    writers = [t for d in bag.dags.values() for t in d.tasks if t.task_id in WRITER_TASKS]
    assert len(writers) == len(ngss_env["source_ids"]) + 1
    for task in writers:
        assert (task.pool, task.pool_slots) == (WRITER_POOL, 1), f"{task.dag_id}.{task.task_id}"
    others = [t for d in bag.dags.values() for t in d.tasks if t.task_id not in WRITER_TASKS]
    assert all(t.pool != WRITER_POOL for t in others)


def test_real_registry_parses_if_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from transforms.config import check_registry

    registry, problems = check_registry(CONFIG_DIR)
    if registry is None:
        pytest.skip(f"the real config/ does not load yet: {problems[:3]}")
    monkeypatch.delenv("NGSS_CONFIG", raising=False)
    monkeypatch.syspath_prepend(str(DAGS_DIR))
    bag = parse_dags()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {f"ngss_load__{s}" for s in registry.sources} | {"ngss_marts"}


# --- (b) parse-time contract -----------------------------------------------------------------


class OpenRecorder:
    """Wraps ``open`` and ``Path.open``; records every path opened while parsing."""

    def __init__(self, allowed: list[Path]) -> None:
        self.allowed = [p.resolve() for p in allowed]
        self.opened: list[Path] = []
        self.forbidden: list[Path] = []

    def check(self, file: Any) -> None:
        if isinstance(file, int) or os.fsdecode(file) == os.devnull:  # not a data file
            return
        path = Path(os.fsdecode(file)).resolve()
        self.opened.append(path)
        if not any(path.is_relative_to(a) for a in self.allowed):
            self.forbidden.append(path)


def test_parsing_touches_only_config(ngss_env: dict[str, Any]) -> None:
    import duckdb
    import sqlalchemy
    from airflow.models.connection import Connection as CoreConnection
    from airflow.sdk import BaseHook, Connection

    config = Path(ngss_env["NGSS_CONFIG"])
    python_dirs = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    recorder = OpenRecorder([config, DAGS_DIR, *python_dirs])
    real_open, real_path_open = builtins.open, pathlib.Path.open

    def recording_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        recorder.check(file)
        return real_open(file, *args, **kwargs)

    def recording_path_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        recorder.check(self)
        return real_path_open(self, *args, **kwargs)

    queries: list[str] = []

    def count_query(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        queries.append(statement)

    forbidden = mock.Mock(side_effect=AssertionError("called while parsing"))
    with ExitStack() as stack:
        stack.enter_context(mock.patch("builtins.open", recording_open))
        stack.enter_context(mock.patch.object(pathlib.Path, "open", recording_path_open))
        connect = stack.enter_context(mock.patch.object(duckdb, "connect", forbidden))
        get_conn = stack.enter_context(mock.patch.object(BaseHook, "get_connection", forbidden))
        sdk_get = stack.enter_context(mock.patch.object(Connection, "get", forbidden))
        core_get = stack.enter_context(
            mock.patch.object(CoreConnection, "get_connection_from_secrets", forbidden)
        )
        sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", count_query)
        stack.callback(
            sqlalchemy.event.remove,
            sqlalchemy.engine.Engine,
            "before_cursor_execute",
            count_query,
        )
        bag = parse_dags()

    assert bag.import_errors == {}
    assert len(bag.dags) == len(ngss_env["source_ids"]) + 1
    assert recorder.forbidden == [], f"opened outside config/ while parsing: {recorder.forbidden}"
    assert any(p.is_relative_to(config.resolve()) for p in recorder.opened), "registry not read"
    for name, patched in {
        "duckdb.connect": connect,
        "BaseHook.get_connection": get_conn,
        "Connection.get": sdk_get,
        "Connection.get_connection_from_secrets": core_get,
    }.items():
        assert not patched.called, f"{name} called while parsing"
    assert queries == [], f"metadata DB queried while parsing: {queries}"


def test_parsing_imports_nothing_heavy(ngss_env: dict[str, Any]) -> None:
    """In a fresh interpreter, parsing the DAGs imports no pandas, DuckDB, GX or pipeline."""
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(DAGS_DIR)!r})\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"before = {{m for m in {HEAVY_MODULES!r} if m in sys.modules}}\n"
        f"bag = DagBag(dag_folder={str(DAGS_DIR)!r})\n"
        f"after = [m for m in {HEAVY_MODULES!r} if m in sys.modules and m not in before]\n"
        "print(json.dumps({'errors': bag.import_errors, 'dags': len(bag.dags),"
        " 'imported': after}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert result["dags"] == len(ngss_env["source_ids"]) + 1
    assert result["imported"] == [], f"heavy modules imported while parsing: {result['imported']}"


# --- (c) marts schedule ------------------------------------------------------------------------


def test_marts_scheduled_on_the_load_dags_assets(ngss_env: dict[str, Any]) -> None:
    from airflow.sdk.definitions.asset import AssetAny

    bag = parse_dags()
    published = {
        outlet.uri
        for dag_id, dag in bag.dags.items()
        if dag_id.startswith("ngss_load__")
        for outlet in dag.get_task("publish").outlets
    }
    condition = bag.dags["ngss_marts"].timetable.asset_condition
    assert isinstance(condition, AssetAny), "any domain's update must trigger marts (|)"
    assert _asset_uris(condition) == published
    marts = bag.dags["ngss_marts"]
    assert [t.task_id for t in marts.topological_sort()] == ["build_marts", "report"]


# --- (d) end to end through Airflow --------------------------------------------------------------


@pytest.mark.slow
def test_run_all_two_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transforms import pipeline

    config = tmp_path / "config"
    ids = make_config(config, 2)
    calls: list[tuple[str, str]] = []

    def pull(settings: Any, source_id: str) -> list[dict[str, Any]]:
        calls.append(("pull", source_id))
        return [{"source_id": source_id, "file_name": f"{source_id}-{k}.csv"} for k in (1, 2)]

    def stage(settings: Any, archived: dict[str, Any]) -> list[dict[str, Any]]:
        calls.append(("stage", archived["source_id"]))
        return [{"source_id": archived["source_id"], "load_id": archived["file_name"]}]

    def publish(settings: Any, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls.append(("publish", refs[0]["source_id"]))
        assert len(refs) == 2, refs  # both files' staged loads, flattened
        return [{"load_id": r["load_id"], "rows_published": 1} for r in refs]

    def build_marts(settings: Any) -> dict[str, int]:
        calls.append(("build_marts", "-"))
        return {"mart_demo": 1}

    for name, fake in {
        "pull": pull,
        "stage": stage,
        "publish": publish,
        "build_marts": build_marts,
    }.items():
        monkeypatch.setattr(pipeline, name, fake)
    monkeypatch.setenv("NGSS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NGSS_CONFIG", str(config))
    monkeypatch.delenv("NGSS_WAREHOUSE", raising=False)
    monkeypatch.syspath_prepend(str(DAGS_DIR))

    import run_all

    for key in run_all.airflow_env(tmp_path / "home"):  # restored by monkeypatch afterwards
        monkeypatch.setenv(key, os.environ.get(key, ""))
    seen: list[tuple[str, str]] = []
    try:
        result = run_all.run_all(progress=lambda dag_id, state, s: seen.append((dag_id, state)))
    finally:
        _repoint_airflow_orm(monkeypatch)

    order = [f"ngss_load__{s}" for s in sorted(ids)] + ["ngss_marts"]
    assert list(result) == [*order, "_total"]
    states = {d: r["state"] for d, r in result.items()}
    assert states == dict.fromkeys([*order, "_total"], "success")
    assert all(result[d]["failed_tasks"] == [] for d in order)
    assert seen == [x for d in order for x in ((d, "running"), (d, "success"))]
    expected = [
        step
        for s in sorted(ids)
        for step in [("pull", s), ("stage", s), ("stage", s), ("publish", s)]
    ] + [("build_marts", "-")]
    assert calls == expected
    assert (tmp_path / "home" / "airflow" / "airflow.db").is_file()
    assert (tmp_path / "home" / "airflow" / "logs").is_dir()


def _repoint_airflow_orm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo the environment, then point Airflow's ORM back at the test-session database."""
    monkeypatch.undo()
    from airflow import settings

    settings.dispose_orm(do_log=False)
    settings.configure_vars()
    settings.configure_orm()
