"""Read-only queries behind the site, the alerts and ``ngss review``.

Every value is bound (``?``); the only varying identifiers are whitelisted schema names.
Each function returns plain dicts (column name to value) so templates only format them.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

#: Schemas documented by the data dictionary.
DICTIONARY_SCHEMAS = ("core", "marts", "ops")


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict]:
    rel = con.execute(sql, params or [])
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


LOADS_SQL = """
with latest_attempt as (
    select * from ops.load_log
    qualify row_number() over (partition by load_id order by attempt desc) = 1
)
select l.load_id, l.attempt, l.source_id, l.body_code, l.domain, l.period, l.file_name, l.sheet,
       l.status, l.reject_rule, l.reject_detail, l.replaced_load_id, l.rows_read,
       l.rows_published, l.rows_quarantined, l.rows_blank, l.published_at,
       p.load_id is not null as is_live
from latest_attempt l
left join ops.partition p on p.load_id = l.load_id
{where}
order by l.body_code, l.source_id, l.period nulls first, l.published_at, l.load_id
"""


def loads(con: duckdb.DuckDBPyConnection, body_code: str | None = None) -> list[dict]:
    """Every load (its latest attempt), optionally one body's, with whether it is live."""
    if body_code is None:
        return rows(con, LOADS_SQL.format(where=""))
    return rows(con, LOADS_SQL.format(where="where l.body_code = ?"), [body_code])


def latest_per_source(all_loads: list[dict]) -> list[dict]:
    """The most recently published load of each source (ties broken by load id)."""
    best: dict[str, dict] = {}
    for ld in all_loads:
        cur = best.get(ld["source_id"])
        if cur is None or (ld["published_at"], ld["load_id"]) > (
            cur["published_at"],
            cur["load_id"],
        ):
            best[ld["source_id"]] = ld
    return [best[k] for k in sorted(best)]


def body_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not has_table(con, "core", "dim_organisation"):
        return {}
    return {
        r["body_code"]: r["name"]
        for r in rows(con, "select body_code, name from core.dim_organisation")
    }


def broken_rules(con: duckdb.DuckDBPyConnection, load_id: str) -> list[dict]:
    """Rules that failed on one load, file-level first, with their plain-English meaning."""
    return rows(
        con,
        """
        select rule_id, level, column_name, element_count, unexpected_count, description,
               how_to_fix, rule_source
        from ops.validation_result
        where load_id = ? and not success
        order by case level when 'file' then 0 else 1 end, rule_id
        """,
        [load_id],
    )


def validation_results(con: duckdb.DuckDBPyConnection, load_id: str) -> list[dict]:
    """Every expectation evaluated on one load, failures first."""
    return rows(
        con,
        """
        select rule_id, level, expectation_type, column_name, success, element_count,
               unexpected_count, description, how_to_fix, rule_source, kwargs_json
        from ops.validation_result
        where load_id = ?
        order by success, case level when 'file' then 0 else 1 end, rule_id
        """,
        [load_id],
    )


def quarantined(
    con: duckdb.DuckDBPyConnection, load_id: str, body_code: str, limit: int | None = None
) -> list[dict]:
    """Quarantined rows of one load, restricted to one body's rows, in source-line order."""
    sql = """
        select source_file, sheet, source_line, rule_ids, reason, raw_json
        from ops.quarantine_row
        where load_id = ? and body_code = ?
        order by source_line
    """
    params: list[Any] = [load_id, body_code]
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    out = rows(con, sql, params)
    for r in out:
        r["raw"] = json.loads(r["raw_json"]) if r["raw_json"] else {}
    return out


def catalogue(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Tables of the documented schemas with their comments and columns."""
    tables = rows(
        con,
        """
        select schema_name, table_name, comment, estimated_size
        from duckdb_tables()
        where schema_name in (?, ?, ?)
        order by schema_name, table_name
        """,
        list(DICTIONARY_SCHEMAS),
    )
    columns = rows(
        con,
        """
        select schema_name, table_name, column_name, data_type, is_nullable, comment
        from duckdb_columns()
        where schema_name in (?, ?, ?)
        order by schema_name, table_name, column_index
        """,
        list(DICTIONARY_SCHEMAS),
    )
    by_table: dict[tuple[str, str], list[dict]] = {}
    for c in columns:
        by_table.setdefault((c["schema_name"], c["table_name"]), []).append(c)
    for t in tables:
        t["columns"] = by_table.get((t["schema_name"], t["table_name"]), [])
        t["row_count"] = con.execute(
            f"select count(*) from {_ident(t['schema_name'])}.{_ident(t['table_name'])}"
        ).fetchone()[0]
    return tables


def _ident(name: str) -> str:
    """Quote an identifier read from the catalogue (never from user input)."""
    return '"' + name.replace('"', '""') + '"'


#: Example queries shown on the data dictionary page; each is run when the page is rendered
#: (its first rows are shown) and by the tests.
EXAMPLE_QUERIES: list[tuple[str, str]] = [
    (
        "Last load of each source, with its verdict and counts",
        """select source_id, status, rows_read, rows_published, rows_quarantined
from ops.load_log
qualify row_number() over (partition by source_id order by published_at desc, attempt desc) = 1
order by source_id""",
    ),
    (
        "Why rows were quarantined, by rule",
        """select r.rule_id, count(*) as rows_quarantined
from ops.quarantine_row q, unnest(q.rule_ids) as r(rule_id)
group by r.rule_id
order by rows_quarantined desc, r.rule_id""",
    ),
    (
        "Load history of each partition: which load replaced which",
        """select source_id, period, load_id, attempt, replaced_load_id, status, published_at
from ops.load_log
order by source_id, period, published_at, attempt""",
    ),
    (
        "Spend per body and month",
        """select body_code, date_trunc('month', payment_date) as month,
       count(*) as payment_lines, sum(amount_gbp) as amount_gbp
from core.fct_spend
group by all
order by body_code, month
limit 20""",
    ),
    (
        "Top shared suppliers by spend",
        """select supplier_display_name, body_count, total_gbp, back_office_gbp
from marts.mart_shared_suppliers
order by total_gbp desc
limit 10""",
    ),
    (
        "Duplicate payment pairs by kind",
        """select kind, count(*) as pairs, sum(amount_at_risk_gbp) as amount_at_risk_gbp
from marts.mart_duplicate_payments
group by kind
order by kind""",
    ),
    (
        "Estimated annual saving by back-office function",
        """select back_office_function, sum(estimated_annual_saving_gbp) as estimated_annual_saving_gbp
from marts.mart_function_cost
group by back_office_function
order by back_office_function""",
    ),
]


def run_example(con: duckdb.DuckDBPyConnection, sql: str, limit: int = 5) -> dict:
    """Run an example query; its columns and first ``limit`` rows."""
    try:
        rel = con.execute(sql)
    except duckdb.CatalogException as exc:  # e.g. marts not built yet
        return {"columns": [], "rows": [], "error": str(exc).splitlines()[0]}
    cols = [d[0] for d in rel.description]
    return {"columns": cols, "rows": rel.fetchmany(limit), "error": None}


# ------------------------------------------------------------------------------ duplication
def shared_suppliers(con: duckdb.DuckDBPyConnection, limit: int = 15) -> list[dict]:
    return rows(
        con,
        """
        select supplier_id, supplier_display_name, body_count, total_gbp, back_office_gbp,
               back_office_categories, payment_count
        from marts.mart_shared_suppliers
        order by total_gbp desc, supplier_id
        limit ?
        """,
        [limit],
    )


def shared_suppliers_by_body_count(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return rows(
        con,
        """
        select body_count, count(*) as suppliers, sum(total_gbp) as total_gbp,
               sum(back_office_gbp) as back_office_gbp
        from marts.mart_shared_suppliers
        group by body_count
        order by body_count
        """,
    )


def duplicate_payment_kinds(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return rows(
        con,
        """
        select kind, count(*) as pairs, sum(amount_at_risk_gbp) as amount_at_risk_gbp
        from marts.mart_duplicate_payments
        group by kind
        order by kind
        """,
    )


def people_on_multiple_payrolls(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return rows(
        con,
        """
        select explained_by_secondment, count(*) as person_periods,
               sum(total_gross_pay_gbp) as total_gross_pay_gbp
        from marts.mart_people_on_multiple_payrolls
        group by explained_by_secondment
        order by explained_by_secondment
        """,
    )


def function_cost(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return rows(
        con,
        """
        select body_code, back_office_function, fte, annual_pay_cost_gbp, unit, annual_units,
               cost_per_unit_gbp, best_quartile_cost_per_unit_gbp, bodies_compared,
               estimated_annual_saving_gbp
        from marts.mart_function_cost
        order by back_office_function, body_code
        """,
    )


def saving_by_function(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return rows(
        con,
        """
        select back_office_function, sum(estimated_annual_saving_gbp) as estimated_annual_saving_gbp
        from marts.mart_function_cost
        group by back_office_function
        order by back_office_function
        """,
    )
