"""Build the marts: run ``warehouse/models/marts/*.sql`` (one table per file) in one transaction.

Each SQL file is ``create or replace table marts.<file stem> as ...`` over ``core``; the
comments in ``MART_COMMENTS`` are applied after each build so the data dictionary comes from
the warehouse itself.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

MODELS_DIR = Path(__file__).resolve().parent / "models"
MART_ORDER = ("mart_shared_suppliers", "mart_function_fte")

MART_COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "mart_shared_suppliers": (
        "One row per resolved supplier paid by two or more bodies (spend files), with evidence.",
        {
            "supplier_key": "Resolved supplier: name after normalisation (case, punctuation, Ltd/Limited, PLC, &/and, The).",
            "supplier_display_name": "Most frequent name variant as sent.",
            "body_count": "Number of distinct paying bodies.",
            "body_codes": "Paying bodies (core.dim_organisation.body_code).",
            "total_gbp": "Total paid in pounds across those bodies, DECIMAL(18,2).",
            "payment_count": "Number of payment lines.",
            "first_payment_date": "Earliest payment date.",
            "last_payment_date": "Latest payment date.",
            "name_variants": "Raw supplier names as sent that resolved to this supplier (evidence).",
            "reason": "Plain-English reason the supplier is listed.",
        },
    ),
    "mart_function_fte": (
        "One row per body, organogram snapshot and back-office function: FTE in that function and its share of the body's FTE.",
        {
            "body_code": "Body (organisation of the posts).",
            "snapshot_date": "Organogram snapshot date.",
            "back_office_function": "HR, PAYROLL, FINANCE or PROCUREMENT (from profession mapping).",
            "function_fte": "FTE in posts of that function (senior posts plus junior lines).",
            "total_fte": "Total FTE of the body in the organogram.",
            "post_kinds_covered": "Which organogram files were loaded for the body: junior+senior or senior alone.",
            "share_of_total_fte": "function_fte / total_fte (0 to 1).",
        },
    ),
}


def build_all(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild every mart in :data:`MART_ORDER` in one transaction; returns rows per mart."""
    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for name in MART_ORDER:
            con.execute((MODELS_DIR / "marts" / f"{name}.sql").read_text(encoding="utf-8"))
            table_comment, column_comments = MART_COMMENTS[name]
            con.execute(f"COMMENT ON TABLE marts.{name} IS '{_q(table_comment)}'")
            for col, text in column_comments.items():
                con.execute(f"COMMENT ON COLUMN marts.{name}.{col} IS '{_q(text)}'")
            counts[name] = con.execute(f"SELECT count(*) FROM marts.{name}").fetchall()[0][0]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return counts


def _q(text: str) -> str:
    return text.replace("'", "''")
