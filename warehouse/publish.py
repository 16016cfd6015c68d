"""Publish one staged load into the warehouse: the partition replaced in one transaction.

A load is a partition ``(source_id, period)`` of a core fact table. Publishing deletes the
partition's rows and inserts the load's canonical rows, its quarantined rows, its validation
results and a ``ops.load_log`` attempt, all inside one DuckDB transaction, guarded by
``rows_read = rows_published + rows_quarantined``. A crash before ``COMMIT`` leaves the previous
partition as it was; a rerun of the same file replaces the partition with identical rows.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from transforms.errors import PublishError
from warehouse.connection import mark_marts_stale

log = logging.getLogger(__name__)

# Identifiers that may appear in SQL text; values are always bound parameters.
FACT_TABLES = frozenset(
    {
        "core.fct_spend",
        "core.fct_post",
        "core.fct_workforce",
        "core.fct_payroll",
        "core.fct_employment",
    }
)


def refresh_dimensions(con: duckdb.DuckDBPyConnection, resolver: Any) -> int:
    """Replace ``core.dim_organisation`` from the reference configuration (one transaction).

    Returns the number of bodies."""
    from transforms.resolve import dim_organisation_table

    table = dim_organisation_table(resolver)
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_dim_org", table)
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        changed = con.execute(
            f"select count(*) from ((select {cols} from core.dim_organisation "
            f"except all select {cols} from _dim_org) union all (select {cols} from _dim_org "
            f"except all select {cols} from core.dim_organisation))"
        ).fetchone()[0]
        con.execute("DELETE FROM core.dim_organisation")
        con.execute("INSERT INTO core.dim_organisation BY NAME SELECT * FROM _dim_org")
        con.unregister("_dim_org")
        if changed:
            mark_marts_stale(con)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return table.num_rows


def publish_load(
    con: duckdb.DuckDBPyConnection, ref: dict[str, Any], fact_table: str
) -> dict[str, Any]:
    """Publish one load ref produced by ``transforms.pipeline.stage``.

    Args:
        con: the single writer connection.
        ref: the load ref (see ``transforms.pipeline.stage``).
        fact_table: one of :data:`FACT_TABLES`.

    Returns:
        Summary dict: ``load_id``, ``source_id``, ``period``, ``status`` (``published`` or
        ``rejected``), ``attempt``, ``rows_read``, ``rows_published``, ``rows_quarantined``,
        ``rows_blank``, ``replaced_load_id``.

    Raises:
        PublishError: when the counts do not reconcile; the transaction is rolled back.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        summary = _publish(con, ref, fact_table)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    _log(summary)
    return summary


def publish_loads(
    con: duckdb.DuckDBPyConnection, loads: list[tuple[dict[str, Any], str]]
) -> list[dict[str, Any]]:
    """Publish several load refs (``(ref, fact_table)``, e.g. one source's files) in **one**
    transaction: each load exactly as :func:`publish_load` publishes it, all visible at once.

    One commit for the batch writes each row once into the table's row groups, where a commit
    per load first writes a small load's rows to the write-ahead log and the checkpoint writes
    them again (about a fifth of the publishing time of a year's monthly files).

    When any load fails (its counts do not reconcile, or anything else), the whole batch is
    rolled back and the loads are published one by one with :func:`publish_load`: the loads
    before the failing one are published, and its error is raised, as without the batch.

    Returns:
        One summary per load, in order (see :func:`publish_load`).

    Raises:
        PublishError: from :func:`publish_load`, for the first load that fails alone.
    """
    if len(loads) < 2:
        return [publish_load(con, ref, table) for ref, table in loads]
    con.execute("BEGIN TRANSACTION")
    try:
        summaries = [_publish(con, ref, table) for ref, table in loads]
        con.execute("COMMIT")
    except Exception as exc:
        con.execute("ROLLBACK")
        log.warning("publishing %d loads together failed (%s): one by one", len(loads), exc)
        return [publish_load(con, ref, table) for ref, table in loads]
    for summary in summaries:
        _log(summary)
    return summaries


def _log(summary: dict[str, Any]) -> None:
    log.info(
        "%s %s %s: %s, %d read, %d published, %d quarantined",
        summary["source_id"],
        summary["period"],
        summary["file_name"],
        summary["status"],
        summary["rows_read"],
        summary["rows_published"],
        summary["rows_quarantined"],
    )


def _publish(
    con: duckdb.DuckDBPyConnection, ref: dict[str, Any], fact_table: str
) -> dict[str, Any]:
    """:func:`publish_load` inside the caller's transaction (no commit or rollback here)."""
    if fact_table not in FACT_TABLES:
        raise PublishError(f"unknown fact table {fact_table!r}")
    t0 = time.perf_counter()
    work = Path(ref["work_dir"])
    load_id = ref["load_id"]
    attempt = con.execute(
        "SELECT coalesce(max(attempt), 0) + 1 FROM ops.load_log WHERE load_id = ?", [load_id]
    ).fetchall()[0][0]
    replaced = None
    published = 0
    status = "rejected"
    if ref["status"] == "staged":
        status = "published"
        rows = con.execute(
            "SELECT load_id FROM ops.partition WHERE source_id = ? AND period = ?",
            [ref["source_id"], ref["period"]],
        ).fetchall()
        if rows and rows[0][0] != load_id:
            replaced = rows[0][0]
        elif rows:
            # The same file again: keep naming the load it replaced the first time.
            prior = con.execute(
                "SELECT replaced_load_id FROM ops.load_log WHERE load_id = ? ORDER BY attempt DESC LIMIT 1",
                [load_id],
            ).fetchall()
            replaced = prior[0][0] if prior else None
        con.execute(
            f"DELETE FROM {fact_table} WHERE source_id = ? AND period = ?",
            [ref["source_id"], ref["period"]],
        )
        from transforms.pipeline import CANONICAL_FILE

        canonical = work / CANONICAL_FILE
        if not canonical.exists() and (work / "canonical.parquet").exists():
            # staged by a release before the Arrow work files, published after the upgrade
            published = con.execute(
                f"INSERT INTO {fact_table} BY NAME SELECT * FROM read_parquet(?)",
                [str(work / "canonical.parquet")],
            ).fetchone()[0]
        elif canonical.exists():
            # the partition was emptied above, so the rows inserted are the rows published
            # (counting them again by load_id would scan the whole fact table per load)
            with pa.memory_map(str(canonical)) as source:
                con.register("_ngss_canonical", pa.ipc.open_file(source).read_all())
                try:
                    published = con.execute(
                        f"INSERT INTO {fact_table} BY NAME SELECT * FROM _ngss_canonical"
                    ).fetchone()[0]
                finally:
                    con.unregister("_ngss_canonical")
        con.execute(
            "INSERT OR REPLACE INTO ops.partition VALUES (?, ?, ?, ?, ?, ?)",
            [
                ref["source_id"],
                ref["period"],
                ref["domain"],
                ref["body_code"],
                load_id,
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
    con.execute("DELETE FROM ops.quarantine_row WHERE load_id = ?", [load_id])
    quarantined = con.execute(
        "INSERT INTO ops.quarantine_row SELECT ?, ?, ?, ?, ?, source_line, rule_ids, reason, raw_json "
        "FROM read_parquet(?)",
        [
            load_id,
            ref["source_id"],
            ref["body_code"],
            ref["file_name"],
            ref["sheet"],
            str(work / "quarantine.parquet"),
        ],
    ).fetchone()[0]
    con.execute("DELETE FROM ops.validation_result WHERE load_id = ?", [load_id])
    results = json.loads((work / "validation.json").read_text(encoding="utf-8"))
    if results:
        con.register("_vr", pa.Table.from_pylist(results))
        con.execute("INSERT INTO ops.validation_result BY NAME SELECT * FROM _vr")
        con.unregister("_vr")
    con.execute("DELETE FROM ops.validation_run WHERE load_id = ?", [load_id])
    gx_path = work / "gx_results.json"
    for doc in json.loads(gx_path.read_text(encoding="utf-8")) if gx_path.exists() else []:
        stats = doc.get("statistics") or {}
        con.execute(
            "INSERT INTO ops.validation_run VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                load_id,
                doc["suite_name"],
                bool(doc["success"]),
                int(stats.get("evaluated_expectations") or 0),
                int(stats.get("successful_expectations") or 0),
                _ts(ref.get("staged_at") or ref["started_at"]),
                json.dumps(doc, sort_keys=True, ensure_ascii=False),
            ],
        )
    mark_marts_stale(con)
    if ref["rows_read"] != published + quarantined:
        raise PublishError(
            f"{ref['file_name']}: rows read {ref['rows_read']} != published {published} + quarantined {quarantined}"
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "INSERT INTO ops.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            attempt,
            ref["source_id"],
            ref["body_code"],
            ref["domain"],
            ref["period"],
            ref["file_name"],
            ref["sheet"],
            ref["sha256"],
            ref["archive_path"],
            ref["rows_read"],
            published,
            quarantined,
            ref["rows_blank"],
            status,
            ref["reject_rule"],
            ref["reject_detail"],
            replaced,
            ref["encoding"],
            ref["header_line"],
            _ts(ref["started_at"]),
            _ts(ref["staged_at"]),
            now,
            float(ref.get("stage_seconds") or 0.0),
            round(time.perf_counter() - t0, 3),
        ],
    )
    return {
        "load_id": load_id,
        "source_id": ref["source_id"],
        "period": ref["period"],
        "status": status,
        "attempt": attempt,
        "file_name": ref["file_name"],
        "sheet": ref["sheet"],
        "rows_read": ref["rows_read"],
        "rows_published": published,
        "rows_quarantined": quarantined,
        "rows_blank": ref["rows_blank"],
        "replaced_load_id": replaced,
        "reject_rule": ref["reject_rule"],
        "reject_detail": ref["reject_detail"],
    }


def _ts(iso: str | None) -> datetime:
    if not iso:
        return datetime.now(UTC).replace(tzinfo=None)
    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None)
