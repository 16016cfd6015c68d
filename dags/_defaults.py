"""Shared constants for the ngss DAG files: default task arguments, tags, the writer pool and
Asset names. Constants only: importing this module does no I/O and imports nothing heavy.

Asset URIs use the scheme ``x-ngss``. Airflow 3 reserves ``airflow``, validates and normalises
schemes that a provider registers (``s3``, ``postgres``, ...) and leaves schemes starting with
``x-`` alone, without consulting the providers manager at all. The ``x-`` prefix is therefore
the documented home of project-specific schemes: it can never collide with a provider that
later registers ``ngss``, and building an Asset costs no provider discovery at parse time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OWNER = "ngss"
DEFAULT_RETRIES = 2
#: ``NGSS_RETRY_DELAY_SECONDS`` overrides it (tests of retries under the real scheduler).
RETRY_DELAY = timedelta(seconds=int(os.environ.get("NGSS_RETRY_DELAY_SECONDS", "300")))

#: Every ngss DAG carries this tag; load DAGs add their domain and body.
TAG = "ngss"

#: One-slot pool through which every task that writes the DuckDB warehouse runs.
WRITER_POOL = "duckdb_writer"
WRITER_POOL_SLOTS = 1
WRITER_POOL_DESCRIPTION = "DuckDB allows one writing process: every warehouse write runs here."

#: Fixed, timezone-aware start date shared by every DAG (no catch-up runs before it).
START_DATE = datetime(2024, 1, 1, tzinfo=UTC)

ASSET_SCHEME = "x-ngss"

LOAD_DAG_PREFIX = "ngss_load__"
MARTS_DAG_ID = "ngss_marts"


def default_args(retries: int | None = None) -> dict[str, Any]:
    """``default_args`` for a DAG: owner ``ngss``, the source's retries (else 2), 5-minute delay."""
    return {
        "owner": OWNER,
        "retries": DEFAULT_RETRIES if retries is None else retries,
        "retry_delay": RETRY_DELAY,
    }


DEFAULT_ARGS: dict[str, Any] = default_args()


def asset_uri(domain: str) -> str:
    """URI of the Asset a domain's published core table is: ``x-ngss://warehouse/core/<domain>``."""
    return f"{ASSET_SCHEME}://warehouse/core/{domain}"


def config_dir() -> Path:
    """The registry folder read at parse time: ``$NGSS_CONFIG`` or ``<project>/config``.

    The same rule as ``transforms.settings.Settings.from_env().config``, without resolving the
    rest of the settings: landing, warehouse and home are resolved inside tasks only.
    """
    return Path(os.environ.get("NGSS_CONFIG", Path(__file__).resolve().parent.parent / "config"))


def load_dag_id(source_id: str) -> str:
    """``ngss_load__<source_id>``."""
    return f"{LOAD_DAG_PREFIX}{source_id}"
