"""Open the DuckDB warehouse: as the single writer (schema applied) or read-only.

DuckDB allows one writing process per file. ngss keeps every write in one place: the
``publish`` and ``build_marts`` steps, which Airflow runs in the one-slot ``duckdb_writer`` pool
and the CLI runs in sequence. Everything else (pull, read, validate, normalise) works on files
and never opens the warehouse, so parallel tasks never meet a lock error.

Two more guards make that hold outside the pool too:

* :func:`writing` takes an exclusive ``flock`` on ``<warehouse>.writer.lock`` before opening the
  file, so two writers (two CLI loads, a task outside the pool) queue instead of failing.
* Readers never open the writers' file. DuckDB lets no other process open a database file, not
  even read-only, while one process has it open for writing, and a read-only connection in turn
  stops a writer from opening it. So after a write session the writer checkpoints and
  publishes a read snapshot, ``<warehouse stem>.read.duckdb``: a copy written under a temporary
  name and swapped in with ``os.replace`` (atomic). :func:`connect_reader` opens the snapshot.
  The copy is made only when the marts reflect core (``ops.marts_status``: a publish marks
  them stale, the marts rebuild clears the mark), so in practice after each successful marts
  rebuild. An analyst's open session keeps the inode it opened (the last state in which core
  and marts agreed, whole); the next connection sees the newest such state. A load never waits
  for an analyst and an analyst never sees half a load, nor new core with old marts.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"


def schema_sql() -> list[tuple[str, str]]:
    """The DDL files in order, as ``(file name, SQL text)``."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.sql"))]


def schema_digest() -> str:
    """SHA-256 of the DDL files (names and text): the schema version a warehouse was built with."""
    h = hashlib.sha256()
    for name, sql in schema_sql():
        h.update(name.encode() + b"\0" + sql.encode() + b"\0")
    return h.hexdigest()


#: DuckDB's memory cap for ngss connections unless ``NGSS_DUCKDB_MEMORY_LIMIT`` says otherwise
#: (a DuckDB size such as ``2GB`` or ``500MB``). DuckDB's own default is 80% of the machine's
#: RAM: the marts rebuild of a full year then held 5.6 GB. Under the cap, joins, sorts and
#: aggregates spill to ``<warehouse>.tmp/`` next to the file.
DEFAULT_MEMORY_LIMIT = "2GB"


def duckdb_settings() -> dict[str, str]:
    """Settings every ngss DuckDB connection opens with: ``memory_limit`` (environment
    ``NGSS_DUCKDB_MEMORY_LIMIT``, default :data:`DEFAULT_MEMORY_LIMIT`) and, when
    ``NGSS_DUCKDB_THREADS`` is set, ``threads`` (DuckDB's default: one per core)."""
    out = {"memory_limit": os.environ.get("NGSS_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT}
    if os.environ.get("NGSS_DUCKDB_THREADS"):
        out["threads"] = os.environ["NGSS_DUCKDB_THREADS"]
    return out


#: The writer's own settings. Every commit is durable in the write-ahead log either way; by
#: default DuckDB also checkpoints (rewrites the changed row groups into the file) whenever the
#: log passes 16 MB, which a 65,000-row payroll load does: its COMMIT took 0.26-0.35 s instead
#: of 0.06 s. :func:`writing` checkpoints once when the session ends. (The publishing session
#: of ``transforms.pipeline.publishing``, which may last a whole ``ngss load``, lowers it to
#: 256 MB: it then also checkpoints whenever its log passes that.)
WRITER_SETTINGS = {"checkpoint_threshold": "1GB"}


def connect_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse for writing, with the schema applied.

    Every DDL statement is idempotent (``IF NOT EXISTS``); it is run when the warehouse's
    ``ops.schema_applied`` digest differs from :func:`schema_digest` (a new warehouse, or code
    with changed DDL), not on every open: applying every table and column comment costs most of
    a second, and every publish opens the writer.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), config={**duckdb_settings(), **WRITER_SETTINGS})
    digest = schema_digest()
    try:
        row = con.execute("select digest from ops.schema_applied").fetchone()
    except duckdb.CatalogException:  # a new warehouse, or one from before the digest
        row = None
    if row is None or row[0] != digest:
        for _name, sql in schema_sql():
            con.execute(sql)
        con.execute("delete from ops.schema_applied")
        con.execute(
            "insert into ops.schema_applied values (?, now()::timestamptz at time zone 'UTC')",
            [digest],
        )
    return con


def snapshot_path(path: Path) -> Path:
    """The analysts' read snapshot of warehouse ``path``: ``warehouse.duckdb`` ->
    ``warehouse.read.duckdb`` in the same folder."""
    return path.with_name(f"{path.stem}.read{path.suffix}")


def _lock_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.writer.lock")


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive writer lock of warehouse ``path`` (blocks until it is free)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _copy_snapshot(path: Path) -> Path:
    """Copy the (checkpointed, closed) warehouse to its read snapshot atomically. Caller holds
    the writer lock and no connection to ``path`` is open."""
    snap = snapshot_path(path)
    tmp = snap.with_name(f".{snap.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(path, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, snap)
    finally:
        tmp.unlink(missing_ok=True)
    return snap


@contextlib.contextmanager
def writing(
    path: Path, snapshot: bool = True, force_snapshot: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer session: writer lock, :func:`connect_writer`, and on the way out a
    ``CHECKPOINT``, close and (with ``snapshot``) a fresh read snapshot (see the module
    docstring).

    The snapshot is refreshed only when the marts reflect core (``ops.marts_status``): a
    publish marks the marts stale in its own transaction and the marts rebuild clears the mark
    in its, so a crash or a failure between the two leaves the snapshot at the last state that
    was whole, core and marts together. ``force_snapshot`` copies anyway (``ngss load
    --no-marts``, which asks for new core with the old marts). Publishing passes
    ``snapshot=False``: the copy costs the size of the warehouse, so it is made once per batch,
    when the marts that follow every load are rebuilt."""
    with writer_lock(path):
        con = connect_writer(path)
        try:
            yield con
        finally:
            try:
                con.execute("CHECKPOINT")
            except duckdb.Error as exc:  # an aborted transaction: close() checkpoints anyway
                log.warning("checkpoint before the read snapshot failed: %s", exc)
            copy = snapshot and (force_snapshot or not marts_stale(con))
            con.close()
            if copy:
                _copy_snapshot(path)
            elif snapshot:
                log.warning(
                    "core changed since the marts were rebuilt: the read snapshot keeps the last "
                    "consistent state until the marts rebuild commits"
                )


def refresh_snapshot(path: Path, force: bool = False) -> Path:
    """(Re)build the read snapshot of an existing warehouse, e.g. one built before snapshots
    existed. Takes the writer lock, so it never copies a file in the middle of a write. Without
    ``force`` nothing is copied while the marts are stale (see :func:`writing`)."""
    with writing(path, force_snapshot=force):
        pass
    return snapshot_path(path)


def mark_marts_stale(con: duckdb.DuckDBPyConnection) -> None:
    """Record, inside the caller's transaction, that core changed and the marts no longer
    reflect it (``ops.marts_status``); the read snapshot waits for the next marts rebuild."""
    con.execute(
        "update ops.marts_status set marts_stale = true, "
        "core_changed_at = now()::timestamptz at time zone 'UTC'"
    )


def mark_marts_built(con: duckdb.DuckDBPyConnection) -> None:
    """Record, inside the marts rebuild's transaction, that the marts reflect core again; the
    read snapshot may be refreshed (:func:`writing`)."""
    con.execute(
        "update ops.marts_status set marts_stale = false, "
        "marts_built_at = now()::timestamptz at time zone 'UTC'"
    )


def marts_stale(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether core changed since the marts were last rebuilt (True when it cannot be read)."""
    try:
        row = con.execute("select marts_stale from ops.marts_status").fetchone()
    except duckdb.Error:  # an aborted transaction or a warehouse being created
        return True
    return bool(row and row[0])


def connect_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse's read snapshot read-only (analysts, ``ngss sql``, ``ngss status``).

    ``path`` is the warehouse (``NGSS_WAREHOUSE``); the snapshot beside it is opened, built
    first if missing. Never opens the writers' file, so a reader never blocks a load.

    Raises:
        FileNotFoundError: when the warehouse has not been built yet.
    """
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `ngss demo` or `ngss load` first")
    snap = snapshot_path(path)
    if not snap.exists():  # the first reader: show what there is, stale marts or not
        refresh_snapshot(path, force=True)
    path = snap
    # Read-only means the warehouse *and* the machine: no COPY TO / EXPORT, no reading other
    # files (read_csv('/etc/...')), no extension downloads, and the settings cannot be undone.
    return duckdb.connect(
        str(path),
        read_only=True,
        config={
            **duckdb_settings(),
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "lock_configuration": True,
        },
    )
