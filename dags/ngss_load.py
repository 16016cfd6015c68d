"""
### ngss load: one DAG per source

Each entry of the source registry (`config/sources/<source_id>.yaml`) becomes its own DAG,
`ngss_load__<source_id>`:

1. **pull**: find the source's files in its landing folder and archive each as received.
2. **stage** (mapped, one task instance per archived file): read, validate with Great
   Expectations, split good rows from quarantined rows, normalise. Runs in parallel.
3. **publish** (pool `duckdb_writer`, one slot): replace each (body, domain, period) partition
   in the warehouse in one transaction, then emit the domain's Asset, which schedules
   `ngss_marts`.

**Why one DAG per source.** Bodies send their extracts on their own calendars and fail in their
own ways. A DAG per source keeps each source's schedule, retries, run history and backfills
apart: a late or broken file from one body never holds back, retries or reruns another, and a
backfill is a backfill of exactly one feed.

**Why the writer pool.** DuckDB allows one writing process at a time. Pulling and staging run
side by side; every task that writes the warehouse (`publish` here, `build_marts` in
`ngss_marts`) queues for the single slot of `duckdb_writer`, so no task ever meets a lock error.

**Parse-time contract.** Parsing this file reads the registry (the YAML under `config/`) and
nothing else: no landing file, no warehouse, no connection, no pandas, DuckDB or Great
Expectations import. Paths are resolved inside the tasks (`Settings.from_env()`), and only small
dicts (file references, load summaries) travel through XCom, never frames.
"""

from __future__ import annotations

from typing import Any

from _defaults import (
    START_DATE,
    TAG,
    WRITER_POOL,
    asset_uri,
    config_dir,
    default_args,
    load_dag_id,
)
from airflow.sdk import Asset, dag, task

from transforms.config import SourceSpec, load_registry


def _doc_md(src: SourceSpec) -> str:
    """The DAG's page in the UI: the source's card, then this module's design notes."""
    domain = f"`{src.domain}`" + (f" (feed `{src.feed}`)" if src.feed else "")
    rows = [
        ("Source", f"`{src.source_id}`"),
        ("Body", f"`{src.body}`"),
        ("Domain", domain),
        ("Owner", f"{src.owner.name} <{src.owner.email}>"),
        ("Schedule", f"`{src.schedule}`"),
        ("Retries", str(src.retries)),
        ("Publishes", f"`{asset_uri(src.domain)}`"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"## {src.title}\n\n| | |\n|---|---|\n{table}\n\n{__doc__ or ''}"


def build_load_dag(src: SourceSpec) -> Any:
    """Build the load DAG of one source."""
    source_id = src.source_id

    @dag(
        dag_id=load_dag_id(source_id),
        schedule=src.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(src.retries),
        tags=[TAG, src.domain, src.body],
        doc_md=_doc_md(src),
        description=src.title,
    )
    def load() -> None:
        @task
        def pull() -> list[dict[str, Any]]:
            """Archive the source's landing files; one small dict per archived file. A backfill
            run (or a run whose conf names a period) keeps its period's files (`_window.py`)."""
            from _faults import fail_once
            from _window import select_for_run
            from airflow.sdk import get_current_context

            from transforms import pipeline
            from transforms.settings import Settings

            fail_once("before")
            archived = pipeline.pull(Settings.from_env(), source_id)
            regex = src.period.regex if src.period.source == "filename" else None
            return select_for_run(archived, get_current_context(), regex)

        @task
        def stage(archived: dict[str, Any]) -> list[dict[str, Any]]:
            """Read, validate, split and normalise one archived file into staged parquet."""
            from _faults import fail_once

            from transforms import pipeline
            from transforms.settings import Settings

            fail_once("before")
            return pipeline.stage(Settings.from_env(), archived)

        @task(pool=WRITER_POOL, pool_slots=1, outlets=[Asset(asset_uri(src.domain))])
        def publish(staged: Any) -> list[dict[str, Any]]:
            """Publish every staged load of this run (all files flattened) in the writer pool."""
            from transforms import pipeline
            from transforms.settings import Settings

            # One slice read fetches every mapped output; iterating would probe past the end.
            refs = [ref for refs_of_file in staged[:] for ref in (refs_of_file or [])]
            settings = Settings.from_env()
            summaries = pipeline.publish(settings, refs)
            # Owners of rejected or over-tolerance loads are e-mailed through the Airflow
            # SMTP connection ngss_smtp (looked up here, in the task; NGSS_SMTP_* otherwise).
            from warehouse.reports.alerts import smtp_from_airflow

            pipeline.alert_owners(settings, summaries, smtp_from_airflow())
            from _faults import fail_once

            fail_once("after")  # tests only: fail after the commit, so the retry republishes
            return summaries

        publish(stage.expand(archived=pull()))

    return load()


for _src in load_registry(config_dir()).sources.values():
    globals()[load_dag_id(_src.source_id)] = build_load_dag(_src)
