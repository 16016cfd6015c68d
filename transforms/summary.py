"""The short summary that ends ``ngss demo``: read back from the warehouse, never recomputed."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from transforms.settings import Settings
from warehouse.connection import connect_reader

LATEST_LOADS_SQL = """
with latest as (
    select l.* from ops.load_log l
    join (select load_id, max(attempt) as attempt from ops.load_log group by load_id) m using (load_id, attempt)
)
select domain,
       count(distinct body_code) filter (where status = 'published') as bodies,
       count(*) filter (where status = 'published') as loads_published,
       count(*) filter (where status = 'rejected') as loads_rejected,
       sum(rows_read) as rows_read, sum(rows_published) as rows_published,
       sum(rows_quarantined) as rows_quarantined, sum(rows_blank) as rows_blank
from latest
where load_id in (select load_id from ops.partition) or status = 'rejected'
group by domain order by domain
"""

TOP_SUPPLIERS_SQL = """
select supplier_display_name as supplier, body_count as bodies,
       array_to_string(body_codes, ', ') as paid_by,
       format('{:,.2f}', total_gbp) as total_gbp, payment_count as payments
from marts.mart_shared_suppliers
order by body_count desc, total_gbp desc limit 10
"""

FUNCTION_SHARE_SQL = """
pivot (select body_code as body, snapshot_date as snapshot,
              round(total_fte)::integer as total_fte, back_office_function, share_of_total_fte
       from marts.mart_function_fte)
on back_office_function in ('HR', 'PAYROLL', 'FINANCE', 'PROCUREMENT') using first(share_of_total_fte)
order by body, snapshot
"""


def print_summary(settings: Settings, console: Console, seconds: float | None = None) -> None:
    """Print bodies loaded, rows per domain, top 10 shared suppliers, back-office FTE share per
    body, and where the warehouse is."""
    con = connect_reader(settings.warehouse)
    try:
        bodies = con.execute("select count(distinct body_code) from ops.partition").fetchall()[0][0]
        console.rule("ngss demo summary")
        console.print(f"Bodies with published data: [bold]{bodies}[/]")
        _table(console, "Rows per domain (current loads)", con.sql(LATEST_LOADS_SQL))
        _table(console, "Top 10 shared suppliers", con.sql(TOP_SUPPLIERS_SQL))
        _table(
            console,
            "Back-office share of FTE per body (organograms; PAYROLL where identifiable)",
            con.sql(FUNCTION_SHARE_SQL),
            percent=("HR", "PAYROLL", "FINANCE", "PROCUREMENT"),
        )
        _flags(console, con)
        console.print(f"Warehouse: [bold]{settings.warehouse}[/]")
        console.print('Query it:  ngss sql "select * from marts.mart_shared_suppliers limit 5"')
        if seconds is not None:
            console.print(f"Wall time: {seconds:.1f} s")
    finally:
        con.close()


FLAGS_SQL = """
select
    (select count(*) from marts.mart_shared_suppliers) as shared_suppliers,
    (select count(*) from marts.mart_shared_suppliers where is_back_office_shared) as back_office_shared,
    (select count(*) from marts.mart_duplicate_payments) as duplicate_payment_pairs,
    (select coalesce(sum(amount_at_risk_gbp), 0) from marts.mart_duplicate_payments) as at_risk_gbp,
    (select count(*) from marts.mart_people_on_multiple_payrolls) as people_periods,
    (select count(*) from marts.mart_people_on_multiple_payrolls where not explained_by_secondment) as unexplained,
    (select coalesce(sum(estimated_annual_saving_gbp), 0) from marts.mart_function_cost) as saving_gbp
"""

SAVING_SQL = """
select back_office_function as function, count(*) filter (where estimated_annual_saving_gbp > 0) as bodies_above_best_quartile,
       format('{:,.0f}', sum(estimated_annual_saving_gbp)) as estimated_annual_saving_gbp
from marts.mart_function_cost group by 1 order by 1
"""


def _flags(console: Console, con) -> None:
    """The four duplication flags and the total estimated annual saving, from the marts."""
    (shared, bo_shared, pairs, at_risk, people, unexplained, saving) = con.execute(
        FLAGS_SQL
    ).fetchall()[0]
    console.rule("Duplicated back-office effort")
    console.print(
        f"1. Shared suppliers: [bold]{shared:,}[/] paid by two or more bodies, "
        f"{bo_shared:,} of them for back-office services"
    )
    console.print(f"2. Duplicate payments: [bold]{pairs:,}[/] pairs, £{at_risk:,.2f} at risk")
    console.print(
        f"3. People on two payrolls: [bold]{people:,}[/] person-months, "
        f"{unexplained:,} with no secondment recorded"
    )
    console.print(
        f"4. Function duplication: estimated annual saving if every body ran HR, payroll, "
        f"finance and procurement at the best-quartile unit cost: [bold]£{saving:,.0f}[/]"
    )
    _table(console, "Estimated annual saving by function", con.sql(SAVING_SQL))


def _table(console: Console, title: str, rel, percent: tuple[str, ...] = ()) -> None:
    """Print a relation as a table; columns named in ``percent`` hold shares (0-1)."""
    table = Table(title=title)
    for c in rel.columns:
        # Long lists fold onto more lines; every other column keeps its values whole.
        table.add_column(c, overflow="fold", no_wrap=c in ("total_gbp", "snapshot", "body"))
    for row in rel.fetchall():
        cells = []
        for name, v in zip(rel.columns, row, strict=True):
            if v is None:
                cells.append("")
            elif name in percent:
                cells.append(f"{float(v):.1%}")
            elif isinstance(v, int):
                cells.append(f"{v:,}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console.print(table)
