"""
### ngss demo runner: every DAG through Airflow, locally, in one process

`run_all()` runs the real DAGs of `ngss_load.py` and `ngss_marts.py` with `dag.test()`: each
load DAG once (pull, mapped stage, publish in the `duckdb_writer` pool), then `ngss_marts` once.
It needs no scheduler, API server or executor: Airflow's metadata lives in a SQLite file under
`$NGSS_HOME/airflow/`, created on first use, and task logs go to `$NGSS_HOME/airflow/logs`.

Airflow reads its configuration when it is first imported, so `run_all` sets the environment
(`AIRFLOW_HOME`, the SQLite connection, the DAGs folder, no examples, quiet logging) before it
imports Airflow; if Airflow was imported earlier in the process, it re-points the ORM at the demo
database.

Each load DAG runs through its own `dag.test()`, exactly the DAGs the scheduler runs. Measured
on the 2-core reference machine with trivial pipeline functions and 30 sources: about 5 s for the
first `dag.test()` in a process (building the in-process Execution API app, first requests, first
sync of the DAGs folder to the metadata DB) and 0.7 to 1.6 s for each later one (mostly
re-parsing and re-syncing the whole DAGs folder, which `dag.test()` does on every call), so
Airflow's share of a 30-source demo is about 35 s.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAGS_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = DAGS_DIR.parent

#: ``progress(dag_id, state, seconds)``: called with state ``"running"`` (seconds ``None``)
#: before each DAG, and with its final state and duration after it.
Progress = Callable[[str, str, float | None], None]

_QUIET_LOGGERS = (
    "airflow",
    "airflow.task",
    "airflow.processor",
    "airflow.models.dagbag",
    "airflow.dag_processing",
    "airflow.sdk",
    "great_expectations",
    "alembic",
    "sqlalchemy",
    "httpx",
)


def airflow_env(ngss_home: Path) -> dict[str, str]:
    """The environment that points Airflow at the demo's SQLite DB, DAGs, and log folder."""
    af_home = ngss_home / "airflow"
    return {
        "AIRFLOW_HOME": str(af_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{af_home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(af_home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__LOGGING__FAB_LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "False",
    }


def configure_airflow(ngss_home: Path) -> Path:
    """Set the Airflow environment for ``ngss_home``; reconfigure Airflow if already imported.

    Returns the Airflow home (``$NGSS_HOME/airflow``).
    """
    env = airflow_env(ngss_home)
    af_home = Path(env["AIRFLOW_HOME"])
    (af_home / "logs").mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    if str(DAGS_DIR) not in sys.path:  # as Airflow's dags-folder bundle does
        sys.path.append(str(DAGS_DIR))
    if "airflow.settings" in sys.modules:
        # Airflow was imported under another environment: the config object reads the
        # environment on every lookup, but the ORM engine was built at import time.
        import airflow.configuration as af_conf
        from airflow import settings

        af_conf.AIRFLOW_HOME = env["AIRFLOW_HOME"]
        settings.DAGS_FOLDER = str(DAGS_DIR)
        settings.dispose_orm(do_log=False)
        settings.configure_vars()
        settings.configure_orm()
    return af_home


def ensure_metadata_db(af_home: Path) -> bool:
    """Create the SQLite metadata DB once (``airflow.utils.db.initdb``, what ``airflow db migrate``
    runs: ORM create-all on a new DB, Alembic upgrade on an old one) and the writer pool.

    Returns True when the DB was created by this call.
    """
    from _defaults import WRITER_POOL, WRITER_POOL_DESCRIPTION, WRITER_POOL_SLOTS
    from airflow.models.pool import Pool
    from airflow.utils import db

    created = False
    if not (af_home / "airflow.db").exists():
        db.initdb()
        created = True
    pool = Pool.get_pool(WRITER_POOL)
    if pool is None or pool.slots != WRITER_POOL_SLOTS:
        Pool.create_or_update_pool(
            WRITER_POOL, WRITER_POOL_SLOTS, WRITER_POOL_DESCRIPTION, include_deferred=False
        )
    return created


def quieten_logging(level: int = logging.WARNING) -> None:
    """Drop Airflow, GX, Alembic and SQLAlchemy console chatter below ``level``."""
    warnings.filterwarnings("ignore", message=".*`httpx` with `starlette.testclient`.*")
    # Airflow 3.3 parses .airflowignore with a pathspec API that pathspec now deprecates.
    warnings.filterwarnings("ignore", message=".*GitWildMatchPattern.*", category=DeprecationWarning)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(level)


def load_dags() -> dict[str, Any]:
    """Parse the DAGs folder the way Airflow does and return ``{dag_id: dag}``."""
    from airflow.dag_processing.dagbag import DagBag

    # Airflow 3.3 dropped `include_examples`: a DagBag reads exactly the folder it is given.
    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        problems = "; ".join(f"{f}: {e}" for f, e in bag.import_errors.items())
        raise RuntimeError(f"DAG import errors: {problems}")
    return dict(bag.dags)


def run_all(
    source_ids: list[str] | None = None,
    progress: Progress | None = None,
    *,
    retries: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run every (or the named) source's load DAG, then ``ngss_marts``, through Airflow.

    Args:
        source_ids: sources to load; ``None`` loads every source in the registry.
        progress: optional ``progress(dag_id, state, seconds)`` callback (see ``Progress``).
        retries: keep the DAGs' retries (each waits ``retry_delay``, 5 minutes); by default a
            failing task fails its DAG at once.

    Returns:
        ``{dag_id: {"state": "success" | "failed" | ..., "seconds": float, "failed_tasks":
        [task_id, ...]}}`` in run order, plus ``"_total": {"state": ..., "seconds": ...}``
        (state ``success`` only if every DAG succeeded).
    """
    from transforms.settings import Settings

    settings = Settings.from_env()
    t_start = time.perf_counter()
    af_home = configure_airflow(settings.home)
    quieten_logging()
    ensure_metadata_db(af_home)
    from _defaults import MARTS_DAG_ID, load_dag_id

    dags = load_dags()
    quieten_logging()  # Airflow's logging setup on import may have reset levels
    wanted = _wanted_sources(dags, source_ids)
    order = [load_dag_id(s) for s in wanted] + [MARTS_DAG_ID]
    results: dict[str, dict[str, Any]] = {}
    for dag_id in order:
        results[dag_id] = _test_dag(dags[dag_id], progress, retries)
    ok = all(r["state"] == "success" for r in results.values())
    results["_total"] = {
        "state": "success" if ok else "failed",
        "seconds": round(time.perf_counter() - t_start, 3),
    }
    return results


def _wanted_sources(dags: dict[str, Any], source_ids: list[str] | None) -> list[str]:
    from _defaults import LOAD_DAG_PREFIX

    known = sorted(d[len(LOAD_DAG_PREFIX) :] for d in dags if d.startswith(LOAD_DAG_PREFIX))
    if source_ids is None:
        return known
    unknown = sorted(set(source_ids) - set(known))
    if unknown:
        raise ValueError(f"unknown source ids {unknown}; known: {known}")
    return list(source_ids)


def _test_dag(dag: Any, progress: Progress | None, retries: bool) -> dict[str, Any]:
    if not retries:
        # dag.test() honours retry_delay by polling: a failing task would hold the demo for
        # five minutes per retry. The demo fails fast instead; the deployed DAGs keep retries.
        for task in dag.tasks:
            task.retries = 0
    if progress:
        progress(dag.dag_id, "running", None)
    t0 = time.perf_counter()
    dr = dag.test()
    seconds = round(time.perf_counter() - t0, 3)
    state = str(getattr(dr.state, "value", dr.state))
    failed = sorted({ti.task_id for ti in dr.get_task_instances() if ti.state == "failed"})
    if progress:
        progress(dag.dag_id, state, seconds)
    return {"state": state, "seconds": seconds, "failed_tasks": failed}
