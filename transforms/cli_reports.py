"""``ngss report`` and ``ngss review BODY``: the review site and its terminal view.

Registered on the main Typer app by the import at the end of :mod:`transforms.cli`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from transforms.cli import app, console, err, open_reader_or_exit
from transforms.settings import Settings


@app.command()
def report() -> None:
    """Render the review site into $NGSS_HOME/reports: index, one page per body and load,
    quarantine CSVs, validation results, the data dictionary and the duplication report."""
    from warehouse.reports.render import render_site

    settings = Settings.from_env()
    try:
        summary = render_site(settings)
    except FileNotFoundError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    console.print(
        f"wrote {summary.files} files ({len(summary.bodies)} bodies, {summary.loads} loads) to "
        f"{escape(str(summary.root))}; open {escape((summary.root / 'index.html').as_uri())}",
        soft_wrap=True,
    )


@app.command()
def review(
    body: Annotated[str, typer.Argument(help="Body code, e.g. craven-district-council.")],
    rows: Annotated[int, typer.Option(help="Failing rows to show per load.")] = 10,
) -> None:
    """A body's latest load per source, the rules broken and their counts, and failing rows."""
    import json

    from warehouse.reports import data

    settings = Settings.from_env()
    con = open_reader_or_exit(settings)
    try:
        body_loads = data.loads(con, body)
        if not body_loads:
            known = sorted({ld["body_code"] for ld in data.loads(con)})
            err.print(f"no load for body {escape(body)!r}; bodies loaded: {', '.join(known)}")
            raise typer.Exit(1)
        name = data.body_names(con).get(body, body)
        latest = data.latest_per_source(body_loads)
        table = Table(title=f"{name} ({body}): latest load per source")
        for col in ("source", "period", "file", "status", "read", "published", "quarantined"):
            table.add_column(
                col,
                justify="right" if col in ("read", "published", "quarantined") else "left",
                overflow="fold",
            )
        for ld in latest:
            table.add_row(
                ld["source_id"],
                str(ld["period"] or "-"),
                ld["file_name"] + (f" [{ld['sheet']}]" if ld["sheet"] else ""),
                ("[green]" if ld["status"] == "published" else "[red]") + ld["status"] + "[/]",
                f"{ld['rows_read']:,}",
                f"{ld['rows_published']:,}",
                f"{ld['rows_quarantined']:,}",
            )
        console.print(table)
        for ld in latest:
            rules = data.broken_rules(con, ld["load_id"])
            if not rules and not ld["reject_detail"]:
                continue
            console.print(
                f"\n[bold]{escape(ld['source_id'])}[/] · {escape(ld['file_name'])} "
                f"(load {ld['load_id']})",
                soft_wrap=True,
            )
            if ld["reject_detail"]:
                console.print(
                    f"  [red]rejected[/] by {escape(ld['reject_rule'] or '')}: "
                    f"{escape(ld['reject_detail'])}",
                    soft_wrap=True,
                )
            for r in rules:
                console.print(
                    f"  [bold]{escape(r['rule_id'])}[/] ({r['level']}): "
                    f"{r['unexpected_count'] if r['unexpected_count'] is not None else '-'} rows. "
                    f"{escape(r['description'])}"
                    + (f" [italic]Fix:[/] {escape(r['how_to_fix'])}" if r["how_to_fix"] else ""),
                    soft_wrap=True,
                )
            failing = data.quarantined(con, ld["load_id"], body, limit=rows)
            for q in failing:
                raw = json.dumps(q["raw"], ensure_ascii=False)
                console.print(
                    f"    line {q['source_line']}: {escape(', '.join(q['rule_ids']))}: {escape(raw[:200])}",
                    soft_wrap=True,
                )
            if ld["rows_quarantined"] > len(failing):
                console.print(
                    f"    ... {ld['rows_quarantined'] - len(failing):,} more (ngss report)"
                )
    finally:
        con.close()
