"""The load DAGs under Airflow's real scheduler (issue 5, items 1 and 3).

One throw-away deployment (``tests/scheduler/stack.py``): ``airflow scheduler``,
``airflow dag-processor`` and ``airflow api-server`` as subprocesses, LocalExecutor with
parallelism 4, PostgreSQL metadata, the project's ``dags/`` folder, the ``duckdb_writer`` pool with
one slot. Its registry is the project's, cut down to the sources used here (parsing is faster), with
the parallel-load sources set to ``schedule: null`` (so unpausing them does not add the
scheduler's own run for the latest month next to the one the test triggers).

``test_parallel_loads``: 8 bodies x 3 generated domains (payroll, HR, accounts payable; six file
layouts) = 24 load DAGs triggered at once through the REST API, ``ngss_marts`` left to run on
their Assets. Every run succeeds; no log line anywhere under the Airflow home carries a DuckDB
lock or write-conflict error; stage tasks of different DAGs ran side by side; and every ``core``
and ``marts`` table equals, row count and order-free checksum of every column, the warehouse a
sequential ``load_source`` + ``build_marts`` builds from the same files.

``test_retries_and_backfill`` (same deployment, after the first test): one ``publish`` fails
*after* it committed and one ``stage`` fails before it starts (``dags/_faults.py``); Airflow's
retries (3 s delay through ``NGSS_RETRY_DELAY_SECONDS``) finish both runs and the warehouse is
still the sequential one; ``ops.load_log`` shows the extra attempts. Then a 12-month backfill of
one payroll feed (``POST /api/v2/backfills``, ``@monthly`` from 2025-01 to 2025-12), run twice
(the second with ``reprocess_behavior=completed``): each backfill run loads only its month's file
(``dags/_window.py``), and the warehouse equals one clean sequential pass with attempts 1 and 2
of each month in ``ops.load_log``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from tests.scheduler.stack import AirflowStack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("scheduler")]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PARALLEL_BODIES = ["hmrc", "dft", "hmt", "moj", "home-office", "dwp", "dvla", "nhsbsa"]
FEEDS = ("payroll", "employment", "spend__ap")
BACKFILL_BODY = "dfe"
BACKFILL_SOURCE = f"{BACKFILL_BODY}__payroll"
SEED, SCALE = 4242, 0.02
HMAC_KEY = "3c" * 32
MARTS = "ngss_marts"


def dag_id(source_id: str) -> str:
    return f"ngss_load__{source_id}"


PARALLEL_SOURCES = [f"{b}__{f}" for b in PARALLEL_BODIES for f in FEEDS]


# ------------------------------------------------------------------------------ fingerprints
def fingerprint(path: Path) -> dict[str, tuple[int, int]]:
    """Per ``core`` / ``marts`` table: row count and the sum of a hash of every row (all columns
    but timestamps; core and marts have none today, the ops tables' timestamps differ per run)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('core', 'marts') order by 1, 2"
        ).fetchall():
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = ? and "
                    "table_name = ? and data_type not like 'TIMESTAMP%' order by column_index",
                    [schema, table],
                ).fetchall()
            ]
            row = ", ".join(f'"{c}"' for c in cols)
            count, checksum = con.execute(
                f"select count(*), coalesce(sum(hash({row})::hugeint), 0) from {schema}.{table}"
            ).fetchone()
            out[f"{schema}.{table}"] = (count, int(checksum))
        return out
    finally:
        con.close()


def load_attempts(path: Path, source_ids: list[str]) -> dict[tuple[str, str], list[int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select source_id, strftime(period, '%Y-%m'), list(attempt order by attempt) "
            "from ops.load_log where list_contains(?, source_id) group by all",
            [source_ids],
        ).fetchall()
        return {(s, p): a for s, p, a in rows}
    finally:
        con.close()


# ------------------------------------------------------------------------------------ set-up
def make_config(dest: Path) -> Path:
    """The project's configuration with only this test's sources (see the module docstring)."""
    shutil.copytree(PROJECT_ROOT / "config", dest, ignore=shutil.ignore_patterns("sources"))
    (dest / "sources").mkdir()
    for source_id in [*PARALLEL_SOURCES, BACKFILL_SOURCE]:
        text = (PROJECT_ROOT / "config" / "sources" / f"{source_id}.yaml").read_text("utf-8")
        if source_id != BACKFILL_SOURCE:
            assert 'schedule: "@monthly"' in text, source_id
            text = text.replace('schedule: "@monthly"', "schedule: null")
        (dest / "sources" / f"{source_id}.yaml").write_text(text, "utf-8")
    return dest


def ngss_env(home: Path, config: Path) -> dict[str, str]:
    return {
        "NGSS_HOME": str(home),
        "NGSS_CONFIG": str(config),
        "NGSS_LANDING": str(PROJECT_ROOT / "data" / "sample"),
        "NGSS_WAREHOUSE": str(home / "warehouse.duckdb"),
        "NGSS_HMAC_KEY": HMAC_KEY,
    }


def sequential_load(home: Path, config: Path, sources: list[str]) -> Path:
    """Load ``sources`` one after the other without Airflow, then the marts."""
    from transforms import pipeline
    from transforms.settings import Settings

    old = {k: os.environ.get(k) for k in ("NGSS_HMAC_KEY",)}
    os.environ["NGSS_HMAC_KEY"] = HMAC_KEY
    try:
        settings = Settings.from_env(home=home, config=config, warehouse=home / "warehouse.duckdb")
        for source_id in sources:
            pipeline.load_source(settings, source_id)
        pipeline.build_marts(settings)
        return settings.warehouse
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def generate(out: Path, config: Path, bodies: list[str], months: str, domains=None) -> None:
    from transforms import generate as gen

    kwargs = {"domains": domains} if domains else {}
    gen.generate(out, config, bodies, gen.parse_months(months), SEED, SCALE, **kwargs)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """``(stack, root, config)``: the running deployment, with the 8 bodies' January extracts
    already in its ``NGSS_HOME/generated``."""
    root = tmp_path_factory.mktemp("scheduler")
    config = make_config(root / "config")
    home = root / "ngss-airflow"
    generate(home / "generated", config, PARALLEL_BODIES, "2025-01")
    env = ngss_env(home, config)
    env["NGSS_RETRY_DELAY_SECONDS"] = "3"
    env["NGSS_FAIL_ONCE_DIR"] = str(root / "faults")
    (root / "faults").mkdir()
    stack = AirflowStack(root, env, parallelism=4)
    try:
        stack.start()
        stack.wait_for_dags([dag_id(s) for s in [*PARALLEL_SOURCES, BACKFILL_SOURCE]] + [MARTS])
        stack.set_pool("duckdb_writer", 1, "DuckDB allows one writing process")
        yield stack, root, config
    finally:
        stack.stop()


def settle_marts(stack: AirflowStack, timeout: float = 600) -> None:
    """Wait until ``ngss_marts`` has rebuilt the marts after the last publish: its runs (asset-
    triggered by the publishes) are all finished and one of them started after the last
    ``publish`` ended; trigger one by hand if the Assets did not."""
    deadline = time.monotonic() + timeout
    triggered = False
    while time.monotonic() < deadline:
        quiet = 0
        while quiet < 3:  # three quiet polls: no marts run queued or running
            active = stack.query(
                "select count(*) from dag_run where dag_id = %s and state not in ('success', 'failed')",
                (MARTS,),
            )[0][0]
            quiet = 0 if active else quiet + 1
            time.sleep(2)
        last_publish = stack.query(
            "select max(end_date) from task_instance where task_id = 'publish'"
        )[0][0]
        rows = stack.query(
            "select state from dag_run where dag_id = %s and start_date > %s order by start_date",
            (MARTS, last_publish),
        )
        if rows:
            assert all(state == "success" for (state,) in rows), rows
            return
        if not triggered:
            stack.trigger(MARTS)
            triggered = True
    raise TimeoutError("ngss_marts did not rebuild after the last publish")


# ------------------------------------------------------------------------------------- tests
def test_parallel_loads(deployment):
    stack, root, config = deployment
    t0 = time.monotonic()
    dags = [dag_id(s) for s in PARALLEL_SOURCES]
    for d in dags:
        stack.unpause(d)
    for d in dags:
        stack.trigger(d)
    seen: dict[str, int] = {}
    # ngss_marts stays paused during the burst (24 Asset events would queue rebuilds that hold
    # the writer slot); it is unpaused after, and follows every later publish on its Assets.
    states = stack.wait_runs(dags, timeout=900, sample=seen)
    stack.unpause(MARTS)
    settle_marts(stack)
    seconds = time.monotonic() - t0

    failed = {d: s for d, s in states.items() if s != ["success"]}
    assert not failed, failed

    # the sequential warehouse from the same files (another NGSS_HOME)
    seq_home = root / "ngss-sequential"
    shutil.copytree(root / "ngss-airflow" / "generated", seq_home / "generated")
    sequential = sequential_load(seq_home, config, PARALLEL_SOURCES)

    lock_errors = stack.lock_errors()
    overlap = stack.max_overlap("stage", "ngss_load__")
    publish_overlap = stack.max_overlap("publish", "ngss_load__")
    marts_runs = stack.query("select count(*) from dag_run where dag_id = %s", (MARTS,))[0][0]
    via_airflow = fingerprint(root / "ngss-airflow" / "warehouse.duckdb")
    print(  # noqa: T201
        f"\n[scheduler] {len(dags)} load runs (8 bodies x 3 domains) + {marts_runs} ngss_marts runs "
        f"in {seconds:.0f} s; stage tasks running at once: max {max(overlap, seen.get('stage', 0))} "
        f"(interval overlap {overlap}, sampled {seen.get('stage', 0)}); publish tasks at once: "
        f"{publish_overlap}; DuckDB lock errors in logs: {len(lock_errors)}"
    )
    assert lock_errors == []
    assert publish_overlap == 1  # the one-slot pool: never two warehouse writers
    assert overlap >= 2  # loads really ran side by side
    assert via_airflow == fingerprint(sequential)
    assert via_airflow["core.fct_payroll"][0] > 0 and via_airflow["core.fct_employment"][0] > 0
    assert via_airflow["core.fct_spend"][0] > 0
    attempts = load_attempts(root / "ngss-airflow" / "warehouse.duckdb", PARALLEL_SOURCES)
    assert len(attempts) == len(PARALLEL_SOURCES)
    assert all(a == [1] for a in attempts.values()), attempts


def test_retries_and_backfill(deployment):
    stack, root, config = deployment
    warehouse = root / "ngss-airflow" / "warehouse.duckdb"
    faults = Path(stack.ngss_env["NGSS_FAIL_ONCE_DIR"])

    # --- retries: publish fails after its commit, stage fails before it starts
    (faults / f"{dag_id('hmrc__payroll')}.publish.after").touch()
    (faults / f"{dag_id('dft__employment')}.stage.before").touch()
    retried = [dag_id("hmrc__payroll"), dag_id("dft__employment")]
    for d in retried:
        stack.trigger(d)
    states = stack.wait_runs(retried, timeout=600)
    assert all(s == ["success", "success"] for s in states.values()), states
    assert not list(faults.iterdir())  # both injected failures happened
    tries = dict(
        stack.query(
            "select dag_id || '.' || task_id, max(try_number) from task_instance "
            "where dag_id = any(%s) group by 1",
            (retried,),
        )
    )
    assert tries[f"{retried[0]}.publish"] == 2 and tries[f"{retried[1]}.stage"] == 2, tries
    failed_tries = stack.query(
        "select dag_id, task_id, try_number, state from task_instance_history "
        "where dag_id = any(%s) and state in ('failed', 'up_for_retry')",
        (retried,),
    )
    assert {(d, t) for d, t, _, _ in failed_tries} == {
        (retried[0], "publish"),
        (retried[1], "stage"),
    }, failed_tries
    settle_marts(stack)
    sequential_home = root / "ngss-sequential"
    assert fingerprint(warehouse) == fingerprint(sequential_home / "warehouse.duckdb")
    attempts = load_attempts(warehouse, ["hmrc__payroll", "dft__employment"])
    # hmrc payroll: first load, the try that failed after committing, its retry; dft: one more
    assert attempts == {
        ("hmrc__payroll", "2025-01"): [1, 2, 3],
        ("dft__employment", "2025-01"): [1, 2],
    }

    # --- backfill: 12 months of one payroll feed, twice
    backfill_dag = dag_id(BACKFILL_SOURCE)
    stack.unpause(backfill_dag)  # the scheduler's own run for the latest month finds no file
    stack.wait_runs([backfill_dag], timeout=180)
    generate(
        root / "ngss-airflow" / "generated",
        config,
        [BACKFILL_BODY],
        "2025-01..2025-12",
        domains=("payroll",),
    )
    shutil.copytree(
        root / "ngss-airflow" / "generated" / BACKFILL_BODY,
        sequential_home / "generated" / BACKFILL_BODY,
    )
    t0 = time.monotonic()
    stack.pause(MARTS)  # rebuilt once after both backfills rather than after each publish
    for reprocess in ("none", "completed"):
        backfill_id = stack.backfill(
            backfill_dag, "2025-01-01T00:00:00Z", "2025-12-01T00:00:00Z", reprocess
        )
        deadline = time.monotonic() + 900
        while stack.api("GET", f"/api/v2/backfills/{backfill_id}")["completed_at"] is None:
            assert time.monotonic() < deadline, "backfill did not complete"
            stack._check_alive()
            time.sleep(2)
        states = stack.wait_runs([backfill_dag], timeout=120)
    stack.unpause(MARTS)
    settle_marts(stack)
    seconds = time.monotonic() - t0
    runs = stack.query(
        "select run_type, state, count(*) from dag_run where dag_id = %s group by 1, 2",
        (backfill_dag,),
    )
    staged = stack.query(
        "select count(*), max(map_index), max(try_number) from task_instance t join dag_run r "
        "on r.dag_id = t.dag_id and r.run_id = t.run_id "
        "where t.dag_id = %s and t.task_id = 'stage' and r.run_type = 'backfill'",
        (backfill_dag,),
    )[0]
    print(  # noqa: T201
        f"\n[scheduler] retries: publish failed after commit then retried (try 2), stage failed "
        f"then retried (try 2); backfill {BACKFILL_SOURCE} 12 months x 2 in {seconds:.0f} s: "
        f"runs {runs}; stage tasks in backfill runs {staged[0]} (one file each)"
    )
    # the second backfill (reprocess "completed") reruns the same 12 runs: their tasks' try 2
    assert dict(((t, s), n) for t, s, n in runs)[("backfill", "success")] == 12, runs
    assert all(s == "success" for _, s, _ in runs), runs
    assert staged == (12, 0, 2)  # each backfill run staged exactly its month's one file, twice

    reference = sequential_load(sequential_home, config, [BACKFILL_SOURCE])
    assert fingerprint(warehouse) == fingerprint(reference)
    attempts = load_attempts(warehouse, [BACKFILL_SOURCE])
    assert attempts == {(BACKFILL_SOURCE, f"2025-{m:02d}"): [1, 2] for m in range(1, 13)}
    assert stack.lock_errors() == []
