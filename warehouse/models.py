"""Build the marts: supplier resolution and expense categories (Python), then
``warehouse/models/marts/*.sql`` (one table per file), all in one transaction.

Comments for every intermediate and mart table and column come from
``warehouse/models/comments.yaml``, so the data dictionary is read from the warehouse itself.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import yaml

from warehouse.connection import mark_marts_built

MODELS_DIR = Path(__file__).resolve().parent / "models"
MART_ORDER = (
    "mart_shared_suppliers",
    "mart_duplicate_payments",
    "mart_people_on_multiple_payrolls",
    "mart_function_cost",
    "mart_function_fte",
)
INTERMEDIATES = ("int_supplier_resolution", "int_back_office_expense_type")


def _supplier_resolution(con: duckdb.DuckDBPyConnection, config_dir: Path):
    """``marts.int_supplier_resolution`` from the distinct supplier records of core.fct_spend."""
    import pyarrow as pa

    from transforms.entity import resolve_suppliers

    records = con.execute(
        "select distinct supplier_name, supplier_postcode, vat_number, company_number "
        "from core.fct_spend where supplier_name is not null and not is_redacted_payee "
        "order by all"
    ).df()
    resolved = resolve_suppliers(records, reference_dir=config_dir / "reference")
    return pa.Table.from_pandas(resolved, preserve_index=False)


def _expense_categories(con: duckdb.DuckDBPyConnection, config_dir: Path):
    """``marts.int_back_office_expense_type``: each distinct expense type matched against
    ``config/reference/back_office_expense_types.csv`` (first matching pattern wins)."""
    import pyarrow as pa

    with (config_dir / "reference" / "back_office_expense_types.csv").open(encoding="utf-8") as fh:
        rules = [(re.compile(r["pattern"], re.I), r["category"]) for r in csv.DictReader(fh)]
    types = [
        t
        for (t,) in con.execute(
            "select distinct expense_type from core.fct_spend where expense_type is not null order by 1"
        ).fetchall()
    ]
    rows = []
    for t in types:
        for pattern, category in rules:
            if pattern.search(t):
                rows.append({"expense_type": t, "category": category})
                break
    schema = pa.schema([("expense_type", pa.string()), ("category", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def build_all(con: duckdb.DuckDBPyConnection, config_dir: Path) -> dict[str, int]:
    """Rebuild every intermediate and mart table in one transaction; returns rows per table.

    Raises:
        KeyError: when a table or column has no comment in ``comments.yaml``.
    """
    comments = yaml.safe_load((MODELS_DIR / "comments.yaml").read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for name, table in (
            ("int_supplier_resolution", _supplier_resolution(con, config_dir)),
            ("int_back_office_expense_type", _expense_categories(con, config_dir)),
        ):
            con.register("_int", table)
            con.execute(f"create or replace table marts.{name} as select * from _int")
            con.unregister("_int")
        for name in MART_ORDER:
            con.execute((MODELS_DIR / "marts" / f"{name}.sql").read_text(encoding="utf-8"))
        for name in INTERMEDIATES + MART_ORDER:
            _comment(con, name, comments[name])
            counts[name] = con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
        mark_marts_built(con)  # the read snapshot may now be refreshed
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return counts


def _comment(con: duckdb.DuckDBPyConnection, name: str, spec: dict) -> None:
    con.execute(f"COMMENT ON TABLE marts.{name} IS '{_q(spec['comment'])}'")
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ?",
            [name],
        ).fetchall()
    ]
    for col in columns:
        con.execute(f"COMMENT ON COLUMN marts.{name}.{col} IS '{_q(spec['columns'][col])}'")


def _q(text: str) -> str:
    return text.replace("'", "''")
