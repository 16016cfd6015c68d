"""Open the DuckDB warehouse: as the single writer (schema applied) or read-only.

DuckDB allows one writing process per file. ngss keeps every write in one place: the
``publish`` and ``build_marts`` steps, which Airflow runs in the one-slot ``duckdb_writer`` pool
and the CLI runs in sequence. Everything else (pull, read, validate, normalise) works on files
and never opens the warehouse, so parallel tasks never meet a lock error.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"


def schema_sql() -> list[tuple[str, str]]:
    """The DDL files in order, as ``(file name, SQL text)``."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.sql"))]


def connect_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse for writing and apply the schema.

    Every DDL statement is idempotent (``IF NOT EXISTS``), so this is safe on every open.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    for _name, sql in schema_sql():
        con.execute(sql)
    return con


def connect_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (analysts, ``ngss sql``, ``ngss status``).

    Raises:
        FileNotFoundError: when the warehouse has not been built yet.
    """
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `ngss demo` or `ngss load` first")
    # Read-only means the warehouse *and* the machine: no COPY TO / EXPORT, no reading other
    # files (read_csv('/etc/...')), no extension downloads, and the settings cannot be undone.
    return duckdb.connect(
        str(path),
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "lock_configuration": True,
        },
    )
