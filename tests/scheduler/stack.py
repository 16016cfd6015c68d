"""A real Airflow deployment for tests: scheduler, DAG processor and API server as subprocesses.

:class:`AirflowStack` runs Airflow's own three long-lived commands (``airflow scheduler``,
``airflow dag-processor``, ``airflow api-server``) with the LocalExecutor, on a throw-away
``AIRFLOW_HOME`` and ``NGSS_HOME``, against the project's ``dags/`` folder, and talks to them only
the way an operator does: the public REST API (``/api/v2``) to create pools, unpause, trigger and
backfill, and the metadata database (read-only) to see task-instance history.

Metadata DB: SQLite. Airflow 3.3 no longer refuses SQLite with the LocalExecutor (the old
"cannot use SQLite with the LocalExecutor" check is gone; ``airflow standalone`` itself forces
the LocalExecutor on SQLite): since Airflow 3 task processes never open the metadata DB, they
talk to the API server's Execution API, so only the scheduler, DAG processor and API server
write it. The file is switched to write-ahead logging after ``db migrate`` (readers, such as this
test's polling and the API server's GETs, then never block a writer): a CI run on a loaded
machine once had the API server answer HTTP 500 "Database error" to a trigger while the file
was in rollback-journal mode. A trigger answered with a 5xx is repeated when it created no run.
Production should keep Airflow's metadata in PostgreSQL; SQLite is for this throw-away
deployment only.

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
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
#: The SQLite metadata DB's own lock error (counted and reported, not a DuckDB error).
SQLITE_LOCK_PATTERNS = ("database is locked",)


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

    @property
    def home(self) -> Path:
        return self.root / "airflow"

    @property
    def db_path(self) -> Path:
        return self.home / "airflow.db"

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
                # SQLite's default 5 s wait for the write lock: a longer one (60 s was tried) turns
                # a moment of lock contention inside the API server into a minute-long stall in
                # which task processes' Execution API calls time out
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
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

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
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
        # Write-ahead logging (persistent in the file): readers (this test's polling, the API
        # server's GETs) no longer block the scheduler's writes, and writes do not block reads.
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=60)) as con:
            mode = con.execute("pragma journal_mode=wal").fetchone()[0]
        assert mode == "wal", mode
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

    def stop(self) -> None:
        """SIGTERM each process group this stack started, then SIGKILL what is left."""
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
        """One REST call. GET and PATCH (idempotent here: reads, pause flags, pools) are repeated
        on a 5xx, which on SQLite metadata means a moment of lock contention (at most 10
        times, 2 s apart); a POST is never repeated here (see :meth:`trigger`,
        :meth:`backfill`)."""
        for attempt in range(10):
            try:
                return self._call(method, path, body, timeout)
            except RuntimeError as exc:
                if method not in ("GET", "PATCH") or "HTTP 5" not in str(exc) or attempt == 9:
                    raise
                time.sleep(2)
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, body: Any, timeout: float) -> Any:
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
        """Trigger one run of ``dag_id`` now and return its run id. A "Database error" answer
        (SQLite busy beyond its timeout) is repeated only when it created no run, so a retry
        never makes two runs (at most 10 times, 3 s apart)."""
        body = {"logical_date": None, "conf": conf or {}}
        for attempt in range(10):
            before = self._run_ids(dag_id)
            try:
                return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]
            except RuntimeError as exc:
                if "HTTP 5" not in str(exc) or attempt == 9:
                    raise
                new = self._run_ids(dag_id) - before
                if new:  # committed before the error: that run is the one asked for
                    assert len(new) == 1, new
                    return new.pop()
                time.sleep(3)
        raise AssertionError("unreachable")

    def _run_ids(self, dag_id: str) -> set[str]:
        return {r for (r,) in self.query("select run_id from dag_run where dag_id = ?", (dag_id,))}

    def backfill(self, dag_id: str, from_date: str, to_date: str, reprocess: str = "none") -> int:
        """Create a backfill. On SQLite, Airflow answers HTTP 503 ("Database is locked") while the
        scheduler holds a write lock, or HTTP 500 when only its audit-log insert met the lock
        after the backfill was committed: the request is repeated (at most 20 times, 3 s
        apart) only when no new backfill of the DAG exists, so a retry never makes two."""
        body = {
            "dag_id": dag_id,
            "from_date": from_date,
            "to_date": to_date,
            "reprocess_behavior": reprocess,
            "max_active_runs": 4,
            "run_backwards": False,
            "dag_run_conf": {},
        }
        for attempt in range(20):
            before = self._backfill_ids(dag_id)
            try:
                return self.api("POST", "/api/v2/backfills", body)["id"]
            except RuntimeError as exc:
                if "HTTP 5" not in str(exc) or attempt == 19:
                    raise
                # a 500 can come after the backfill was committed (Airflow's audit-log insert
                # meeting SQLite's lock): then that backfill is the one asked for
                new = self._backfill_ids(dag_id) - before
                if new:
                    assert len(new) == 1, new
                    return new.pop()
                time.sleep(3)
        raise AssertionError("unreachable")

    def _backfill_ids(self, dag_id: str) -> set[int]:
        # committed rows only: after a 503 the REST listing once showed a backfill that the
        # failed request never committed (GET by its id then answered 404)
        return {b for (b,) in self.query("select id from backfill where dag_id = ?", (dag_id,))}

    # ------------------------------------------------------------------ metadata DB (read-only)
    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        for attempt in range(20):
            try:
                with self.db() as con:
                    return con.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:  # locked by a writer for a moment
                if "locked" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.25)
        return []

    def running_count(self, task_id: str) -> int:
        return self.query(
            "select count(*) from task_instance where task_id = ? and state = 'running'", (task_id,)
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
        marks = ",".join("?" * len(dag_ids))
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            if sample is not None:
                sample["stage"] = max(sample.get("stage", 0), self.running_count("stage"))
            rows = self.query(
                f"select dag_id, state from dag_run where dag_id in ({marks})", tuple(dag_ids)
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
                f"select start_date, end_date from {table} where task_id = ? and dag_id like ? "
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
            if not path.is_file() or path.suffix in {".db", ".db-wal", ".db-shm"}:
                continue
            with contextlib.suppress(OSError):
                for line in path.read_text(errors="replace").splitlines():
                    if any(p in line for p in patterns):
                        hits.append(f"{path.relative_to(self.home)}: {line[:300]}")
        return hits
