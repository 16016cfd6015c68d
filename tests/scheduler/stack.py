"""A real Airflow deployment for tests: scheduler, DAG processor and API server as subprocesses.

:class:`AirflowStack` runs Airflow's own three long-lived commands (``airflow scheduler``,
``airflow dag-processor``, ``airflow api-server``) with the LocalExecutor, on a throw-away
``AIRFLOW_HOME`` and ``NGSS_HOME``, against the project's ``dags/`` folder, and talks to them only
the way an operator does: the public REST API (``/api/v2``) to create pools, unpause, trigger and
backfill, and the metadata database (read-only) to see task-instance history.

Metadata DB: PostgreSQL, as Airflow runs in production. A throw-away PostgreSQL 16 server from the
``pgserver`` wheel (it bundles the server binaries: nothing to install on the machine) keeps its
data directory in ``<root>/postgres``, listens only on a Unix socket in that directory (no TCP
port) and trusts local connections; Airflow gets a database of its own, ``airflow``. Airflow's
sync engine connects with psycopg2 (``postgresql+psycopg2://postgres:@/airflow?host=<socket
dir>``) and its async engine with asyncpg (the same URL as ``postgresql+asyncpg``); this module's
own reads use psycopg2 in read-only sessions. Run as root, pgserver runs the server as a system
user ``pgserver`` that it creates (``useradd``) and opens read and traverse permission on the
data directory's parent folders (pytest's ``/tmp/pytest-of-root`` included, which any pytest
session starting meanwhile makes 0700 again: :meth:`AirflowStack.stop` opens it once more so
``pg_ctl stop``, run as that user, reaches the data directory). :meth:`AirflowStack.stop` ends
the Airflow processes, then stops the server (pgserver's ``atexit`` hook stops it too if the test
process exits without ``stop``).

The deployment ran on SQLite before: SQLite has no row locks (Airflow's ``with_row_locks`` is a
no-op there), so the API server creating a backfill and the scheduler examining the same runs
raced on ``dag_run`` (a CI run's scheduler died on "UPDATE statement on table 'dag_run' expected
to update 1 row(s); 0 were matched"), and a writer meeting another's lock got "database is
locked" (HTTP 5xx answers to triggers and backfills, which the test then had to repeat).
PostgreSQL's row locks serialise those writers as in production, so no REST call is repeated.

Authentication: the simple auth manager with ``simple_auth_manager_all_admins`` (every request
is an admin; this is a loopback-only throw-away deployment), and one JWT secret shared by the
API server and the scheduler so task tokens verify.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

with warnings.catch_warnings():
    # pgserver asks platformdirs for a runtime folder (for its lock file) when imported; without
    # XDG_RUNTIME_DIR (CI, containers) platformdirs warns and uses /tmp/runtime-<uid>: harmless
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pgserver
    from pgserver.utils import ensure_prefix_permissions

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
DAGS_DIR = PROJECT_ROOT / "dags"

TERMINAL = {"success", "failed"}

#: What a DuckDB lock or write-write conflict looks like in a log.
LOCK_PATTERNS = (
    "Could not set lock on file",
    "Conflicting lock is held",
    "TransactionContext Error",
    "Write-Write conflict",
    "write-write conflict",
    "Catalog write-write conflict",
)
#: Airflow's database in the stack's PostgreSQL server.
DATABASE = "airflow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def airflow_bin() -> str:
    return str(VENV_BIN / "airflow")


@dataclass
class AirflowStack:
    """One throw-away Airflow deployment (see the module docstring)."""

    root: Path
    ngss_env: dict[str, str]
    parallelism: int = 4
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    postgres: pgserver.PostgresServer | None = None

    @property
    def home(self) -> Path:
        return self.root / "airflow"

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres"

    @property
    def db_uri(self) -> str:
        """libpq URI of Airflow's database (``postgresql://postgres:@/airflow?host=<socket dir>``);
        the server must be running."""
        assert self.postgres is not None, "PostgreSQL not started"
        return self.postgres.get_uri(DATABASE)

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NGSS_"))}
        env.update(self.ngss_env)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                # the Unix socket is named by the host= query parameter, which both drivers
                # (psycopg2, asyncpg) read; the async URL is the one Airflow would derive, spelt out
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sqlalchemy_uri("psycopg2"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": self.sqlalchemy_uri("asyncpg"),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.log_dir),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # react quickly: list the DAGs folder often, schedule often
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "PYTHONUNBUFFERED": "1",
                "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        return env

    def sqlalchemy_uri(self, driver: str) -> str:
        scheme, rest = self.db_uri.split(":", 1)
        assert scheme == "postgresql", self.db_uri
        return f"{scheme}+{driver}:{rest}"

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        env = self.env()
        self._env = env
        subprocess.run(
            [airflow_bin(), "db", "migrate"],
            env=env,
            check=True,
            stdout=(self.home / "db-migrate.out").open("w"),
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
        for name, cmd in (
            ("api-server", ["api-server"]),
            ("dag-processor", ["dag-processor"]),
            ("scheduler", ["scheduler"]),
        ):
            out = (self.home / f"{name}.out").open("w")
            self.procs[name] = subprocess.Popen(
                [airflow_bin(), *cmd],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() ends its children
            )
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            with contextlib.suppress(OSError, urllib.error.URLError):
                if self.api("GET", "/api/v2/monitor/health").get("metadatabase"):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"API server not up after {timeout}s: {self.tail('api-server')}")
            time.sleep(1)

    def start_postgres(self) -> None:
        """Start the stack's PostgreSQL server (a new data directory) and create Airflow's
        database in it."""
        self.pgdata.mkdir(parents=True, exist_ok=False)
        self.postgres = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        con = psycopg2.connect(self.postgres.get_uri())
        try:
            con.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with con.cursor() as cur:
                cur.execute(f"create database {DATABASE}")
        finally:
            con.close()

    def stop(self) -> None:
        """SIGTERM each process group this stack started, then SIGKILL what is left; then stop
        the PostgreSQL server (also when ending the processes failed)."""
        try:
            self._stop_procs()
        finally:
            if self.postgres is not None:
                if self.postgres.system_user is not None:  # run as root: see the module docstring
                    ensure_prefix_permissions(self.pgdata)
                self.postgres.cleanup()  # cleanup_mode "stop": pg_ctl stop, the data stays
                self.postgres = None

    def _stop_procs(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"airflow {name} exited with {proc.returncode}: {self.tail(name)}"
                )

    def tail(self, name: str, chars: int = 4000) -> str:
        path = self.home / f"{name}.out"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # ------------------------------------------------------------------ REST API
    def api(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        """One REST call, never repeated: an HTTP error raises :class:`RuntimeError` (a 5xx with
        the API server's log tail)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode()[:2000]
            if exc.code >= 500:  # the API server logs the cause under the error's ID
                detail += "\n--- api-server log (tail):\n" + self.tail("api-server", 3000)
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {detail}") from exc
        return json.loads(text) if text else None

    def set_pool(self, name: str, slots: int, description: str = "") -> None:
        body = {"name": name, "slots": slots, "description": description, "include_deferred": False}
        try:
            self.api("PATCH", f"/api/v2/pools/{name}", body)
        except RuntimeError:
            self.api("POST", "/api/v2/pools", body)

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180) -> None:
        """Wait until the DAG processor has serialised every DAG in ``dag_ids``."""
        deadline = time.monotonic() + timeout
        want = set(dag_ids)
        while True:
            self._check_alive()
            found = {d["dag_id"] for d in self.api("GET", "/api/v2/dags?limit=1000")["dags"]}
            if want <= found:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"DAGs not parsed after {timeout}s: {sorted(want - found)[:5]}; "
                    f"{self.tail('dag-processor')}"
                )
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Trigger one run of ``dag_id`` now and return its run id."""
        body = {"logical_date": None, "conf": conf or {}}
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def backfill(self, dag_id: str, from_date: str, to_date: str, reprocess: str = "none") -> int:
        """Create a backfill of ``dag_id`` (at most 4 runs at once) and return its id."""
        body = {
            "dag_id": dag_id,
            "from_date": from_date,
            "to_date": to_date,
            "reprocess_behavior": reprocess,
            "max_active_runs": 4,
            "run_backwards": False,
            "dag_run_conf": {},
        }
        return self.api("POST", "/api/v2/backfills", body)["id"]

    # ------------------------------------------------------------------ metadata DB (read-only)
    @contextlib.contextmanager
    def db(self) -> Iterator[psycopg2.extensions.connection]:
        """A read-only, autocommit connection to Airflow's database (each statement sees what
        was committed when it started; no transaction is left open between polls)."""
        con = psycopg2.connect(self.db_uri)
        try:
            con.set_session(readonly=True, autocommit=True)
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        """Rows of one statement (psycopg2 placeholders: ``%s``; a list parameter is an array,
        for ``= any(%s)``)."""
        with self.db() as con, con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def running_count(self, task_id: str) -> int:
        return self.query(
            "select count(*) from task_instance where task_id = %s and state = 'running'",
            (task_id,),
        )[0][0]

    def wait_runs(
        self,
        dag_ids: list[str],
        timeout: float,
        sample: dict[str, int] | None = None,
        poll: float = 0.5,
    ) -> dict[str, list[str]]:
        """Wait until no run of ``dag_ids`` is queued or running (and each has one); while
        waiting, record in ``sample['stage']`` the most ``stage`` task instances seen running
        at once. Returns ``{dag_id: [state of each run]}``."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            if sample is not None:
                sample["stage"] = max(sample.get("stage", 0), self.running_count("stage"))
            rows = self.query(
                "select dag_id, state from dag_run where dag_id = any(%s)", (list(dag_ids),)
            )
            states: dict[str, list[str]] = {d: [] for d in dag_ids}
            for dag_id, state in rows:
                states[dag_id].append(state)
            if all(s and all(x in TERMINAL for x in s) for s in states.values()):
                return states
            if time.monotonic() > deadline:
                pending = {d: s for d, s in states.items() if not s or set(s) - TERMINAL}
                raise TimeoutError(f"runs not finished after {timeout}s: {pending}")
            time.sleep(poll)

    def max_overlap(self, task_id: str, dag_prefix: str = "") -> int:
        """Most task instances of ``task_id`` whose [start, end] intervals overlap (from the
        task-instance table and its history of earlier tries)."""
        rows = []
        for table in ("task_instance", "task_instance_history"):
            rows += self.query(
                f"select start_date, end_date from {table} where task_id = %s and dag_id like %s "
                "and start_date is not null and end_date is not null",
                (task_id, dag_prefix + "%"),
            )
        events = sorted(
            [(s, 1) for s, _ in rows] + [(e, -1) for _, e in rows], key=lambda x: (x[0], x[1])
        )
        best = cur = 0
        for _, delta in events:
            cur += delta
            best = max(best, cur)
        return best

    def lock_errors(self, patterns: tuple[str, ...] = LOCK_PATTERNS) -> list[str]:
        """Every line of every log under the stack's home matching ``patterns``."""
        hits = []
        for path in sorted(self.home.rglob("*")):
            if not path.is_file():
                continue
            with contextlib.suppress(OSError):
                for line in path.read_text(errors="replace").splitlines():
                    if any(p in line for p in patterns):
                        hits.append(f"{path.relative_to(self.home)}: {line[:300]}")
        return hits
