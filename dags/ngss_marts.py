"""
### ngss marts: rebuild the analysis tables after any load

`ngss_marts` is scheduled on the Assets the load DAGs emit, one per domain
(`x-ngss://warehouse/core/<domain>`), combined with `|`: a successful publish of **any** domain
starts a run. Runs never overlap (`max_active_runs=1`), so a burst of loads coalesces into few
rebuilds.

1. **build_marts** (pool `duckdb_writer`, one slot): rebuild the intermediate and mart tables
   from `core` (`CREATE OR REPLACE`), so the run is idempotent.
2. **report**: render the HTML summary and quarantine CSVs, when the pipeline offers
   `render_reports` (a later feature; until then the task logs that it has nothing to do).

The writer pool is shared with every load DAG's `publish`: DuckDB has one writer at a time, and
the pool makes marts wait for a slot rather than fail on a lock. Parsing this file reads only the
registry, to learn which domains exist.
"""

from __future__ import annotations

import functools
import logging
import operator
from typing import Any

from _defaults import (
    DEFAULT_ARGS,
    MARTS_DAG_ID,
    START_DATE,
    TAG,
    WRITER_POOL,
    asset_uri,
    config_dir,
)
from airflow.sdk import Asset, dag, task

from transforms.config import load_registry

log = logging.getLogger(__name__)


def domain_assets() -> list[Asset]:
    """One Asset per domain that at least one source publishes, sorted by domain."""
    domains = sorted({s.domain for s in load_registry(config_dir()).sources.values()})
    return [Asset(asset_uri(d)) for d in domains]


@dag(
    dag_id=MARTS_DAG_ID,
    schedule=functools.reduce(operator.or_, domain_assets()),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAG, "marts"],
    doc_md=__doc__,
    description="Rebuild marts and reports after any domain is published",
)
def ngss_marts() -> None:
    @task(pool=WRITER_POOL, pool_slots=1)
    def build_marts() -> dict[str, int]:
        """Rebuild every mart; returns row counts per mart."""
        from transforms import pipeline
        from transforms.settings import Settings

        return pipeline.build_marts(Settings.from_env())

    @task
    def report(counts: dict[str, int]) -> Any:
        """Render reports if the pipeline has ``render_reports`` (a later feature)."""
        from transforms import pipeline
        from transforms.settings import Settings

        if not hasattr(pipeline, "render_reports"):
            log.info("transforms.pipeline has no render_reports yet; marts: %s", counts)
            return None
        return pipeline.render_reports(Settings.from_env())

    report(build_marts())


ngss_marts()
