"""The ``ngss`` command line.

Commands::

    ngss demo                 run the real Airflow DAGs (dag.test) on the bundled data, then summarise
    ngss load SOURCE_ID...    pull, stage and publish sources directly (no Airflow); --all for every source
    ngss marts                rebuild the marts
    ngss status               last load per source: rows read, published, quarantined, status
    ngss sources check        validate the whole registry, naming every problem with file and key
    ngss sql "QUERY"          run a read-only query (--format table|csv)
"""

from __future__ import annotations

import csv
import logging
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from transforms.settings import Settings

app = typer.Typer(
    help="ngss: shared back-office data platform for UK central government.", no_args_is_help=True
)
sources_app = typer.Typer(help="The source registry.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
console = Console()
err = Console(stderr=True)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in ("great_expectations", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
) -> None:
    _setup_logging(verbose)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


@sources_app.command("check")
def sources_check() -> None:
    """Validate every file of the registry; exit 1 and name each problem if any."""
    from transforms.config import check_registry

    settings = Settings.from_env()
    registry, problems = check_registry(settings.config)
    if problems:
        for file, key, message in problems:
            err.print(
                f"[red]{escape(file)}[/]: [bold]{escape(key)}[/]: {escape(message)}", soft_wrap=True
            )
        err.print(f"{len(problems)} problem(s)")
        raise typer.Exit(1)
    assert registry is not None
    by_domain: dict[str, int] = {}
    for s in registry.sources.values():
        by_domain[s.domain] = by_domain.get(s.domain, 0) + 1
    console.print(
        f"registry OK: {len(registry.sources)} sources ("
        + ", ".join(f"{n} {d}" for d, n in sorted(by_domain.items()))
        + f"), {len(registry.mappings)} mapping files",
        soft_wrap=True,
    )


@app.command()
def load(
    source_ids: Annotated[list[str] | None, typer.Argument(help="Source ids to load.")] = None,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Load every source in the registry.")
    ] = False,
    marts: Annotated[bool, typer.Option(help="Rebuild the marts afterwards.")] = True,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes staging files side by side (default: the machine's cores)."),
    ] = None,
) -> None:
    """Pull, stage and publish sources directly, without Airflow."""
    from transforms import pipeline
    from transforms.config import load_registry

    settings = Settings.from_env()
    registry = load_registry(settings.config)
    ids = sorted(registry.sources) if all_sources else (source_ids or [])
    if not ids:
        err.print("name one or more source ids, or --all")
        raise typer.Exit(2)
    with _progress() as progress, pipeline.StagePool(workers) as pool:
        task = progress.add_task("loading sources", total=len(ids))

        def done(source_id: str, _summaries: list[dict]) -> None:
            progress.update(task, description=f"published {source_id}")
            progress.advance(task)

        # the next source stages on the workers while this one publishes
        summaries = pipeline.load_sources(settings, ids, pool, on_source=done)
    if marts:
        counts = pipeline.build_marts(settings)
        after = f"marts rebuilt: {len(counts)} tables, {sum(counts.values()):,} rows"
    else:
        from warehouse.connection import refresh_snapshot

        refresh_snapshot(settings.warehouse, force=True)  # new core with the old marts, as asked
        after = "marts not rebuilt (--no-marts): analysts see the new core with the old marts"
    _print_summaries(summaries)
    console.print(after)


def _print_summaries(summaries: list[dict]) -> None:
    table = Table(title="loads")
    for col in ("source", "file", "period", "status", "read", "published", "quarantined"):
        table.add_column(col)
    for s in summaries:
        table.add_row(
            s["source_id"],
            (s["file_name"] + (f" [{s['sheet']}]" if s.get("sheet") else ""))[:50],
            str(s["period"]),
            s["status"],
            str(s["rows_read"]),
            str(s["rows_published"]),
            str(s["rows_quarantined"]),
        )
    console.print(table)


@app.command("marts")
def marts_cmd() -> None:
    """Rebuild every mart from core."""
    from transforms.pipeline import build_marts

    for name, n in build_marts(Settings.from_env()).items():
        console.print(f"marts.{name}: {n} rows")


STATUS_SQL = """
with ranked as (
    select *, row_number() over (partition by source_id order by published_at desc, attempt desc) as rn
    from ops.load_log
)
select source_id, domain, period, file_name || coalesce(' [' || sheet || ']', '') as file, status,
       rows_read, rows_published, rows_quarantined, rows_blank, strftime(published_at, '%Y-%m-%d %H:%M:%S') as published_at
from ranked where rn = 1 order by source_id
"""


@app.command()
def status(
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
) -> None:
    """Last load per source: rows read, published, quarantined, status."""
    _check_format(fmt)
    settings = Settings.from_env()
    con = open_reader_or_exit(settings)
    try:
        rel = con.sql(STATUS_SQL)
        _print_rows(rel.columns, rel.fetchall(), fmt)
    finally:
        con.close()


def open_reader_or_exit(settings: Settings):
    """The warehouse's read snapshot, read-only; exit 1 with how to build it when missing."""
    from warehouse.connection import connect_reader

    try:
        return connect_reader(settings.warehouse)
    except FileNotFoundError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None


def _check_format(fmt: str) -> None:
    """Exit 2 naming the choices unless ``fmt`` is ``table`` or ``csv``."""
    if fmt not in ("table", "csv"):
        err.print(f"--format must be table or csv, not {fmt!r}")
        raise typer.Exit(2)


def _print_rows(columns: list[str], rows: list[tuple], fmt: str) -> None:
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(columns)
        w.writerows(rows)
        return
    table = Table()
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    console.print(table)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the warehouse (read-only).")],
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
) -> None:
    """Run a read-only query against the warehouse."""
    import duckdb

    _check_format(fmt)
    settings = Settings.from_env()
    con = open_reader_or_exit(settings)
    try:
        rel = con.sql(query)
        if rel is None:
            return
        _print_rows(rel.columns, rel.fetchall(), fmt)
    except duckdb.Error as exc:
        err.print(f"[red]query failed:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        con.close()


@app.command()
def demo(
    direct: Annotated[
        bool, typer.Option(help="Skip Airflow and call the pipeline directly (debugging).")
    ] = False,
) -> None:
    """Run the main job through the real Airflow DAGs, then summarise: the bundled public files
    plus synthetic payroll, HR and accounts-payable extracts for the default bodies (written by
    the generator with the default seed, so a second run finds the same bytes)."""
    from transforms import generate as gen
    from transforms.config import load_registry
    from transforms.privacy import ensure_local_key

    settings = Settings.from_env()
    registry = load_registry(settings.config)
    t0 = time.perf_counter()
    ensure_local_key(settings)
    written = gen.generate(
        settings.generated, settings.config, None, gen.parse_months(DEMO_MONTHS), DEMO_SEED, 1.0
    )
    console.print(f"generated {len(written.files)} synthetic extracts in {written.seconds:.1f} s")
    if direct:
        load(source_ids=None, all_sources=True, marts=True)
    else:
        from dags.run_all import run_all

        with _progress() as progress:
            task = progress.add_task("running DAGs", total=len(registry.sources) + 1)

            def tick(dag_id: str, state: str, seconds: float | None = None) -> None:
                progress.update(task, description=f"{dag_id}: {state}")
                if seconds is not None:
                    progress.advance(task)

            outcome = run_all(progress=tick)
        if outcome.get("_total", {}).get("state") != "success":
            for dag_id, info in outcome.items():
                if dag_id != "_total" and info.get("state") != "success":
                    err.print(f"[red]{dag_id}[/]: {info}")
            raise typer.Exit(1)
    from transforms.evaluate import evaluate as run_evaluation
    from transforms.summary import print_summary

    run_evaluation(settings)

    print_summary(settings, console, time.perf_counter() - t0)


DEMO_MONTHS = "2025-01..2025-03"
DEMO_SEED = 20251130


@app.command()
def generate(
    bodies: Annotated[
        str | None, typer.Option(help="Comma-separated body codes (default: all in bodies.yaml).")
    ] = None,
    months: Annotated[
        str, typer.Option(help="Months to write: 2025-01..2025-03, or a comma-separated list.")
    ] = DEMO_MONTHS,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same bytes.")
    ] = DEMO_SEED,
    scale: Annotated[float, typer.Option(help="Multiplies every body's headcount.")] = 1.0,
    out: Annotated[
        str | None, typer.Option(help="Output folder (default: $NGSS_HOME/generated).")
    ] = None,
) -> None:
    """Write synthetic payroll, HR and accounts-payable extracts with planted faults and
    duplicates, and their ground truth."""
    from pathlib import Path

    from transforms import generate as gen
    from transforms.privacy import ensure_local_key

    settings = Settings.from_env()
    out_dir = Path(out) if out else settings.generated
    ensure_local_key(settings)  # the person-key secret the loads of these extracts need
    try:
        month_list = gen.parse_months(months)
        chosen = [b.strip() for b in bodies.split(",") if b.strip()] if bodies else None
        all_bodies = gen.load_bodies(settings.config)
        n_bodies = len(chosen) if chosen else len(all_bodies)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    with _progress() as progress:
        task = progress.add_task("generating", total=n_bodies * len(month_list) * 3)

        def tick(f: gen.FileWritten) -> None:
            progress.update(task, description=f"{f.path.name}")
            progress.advance(task)

        try:
            summary = gen.generate(
                out_dir, settings.config, chosen, month_list, seed, scale, on_file=tick
            )
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from None
    for (body, domain), rows in summary.by_body_domain().items():
        console.print(f"{body:<16} {domain:<11} {rows:>9,} rows")
    truth = ", ".join(f"{k} {v}" for k, v in summary.ground_truth.items())
    console.print(
        f"wrote {len(summary.files)} files to {escape(str(out_dir))} in "
        f"{summary.seconds:.1f} s; ground truth: {truth}"
    )


@app.command()
def evaluate() -> None:
    """Precision and recall of every mart and of quarantine against the planted ground truth
    of the generated extracts; stored in ops.evaluation."""
    from transforms.evaluate import evaluate as run_evaluation
    from transforms.evaluate import format_ratio

    scores = run_evaluation(Settings.from_env())
    table = Table(title="Evaluation against planted ground truth")
    for col in ("measure", "kind", "TP", "FP", "FN", "precision", "recall"):
        table.add_column(col)
    for s in scores:
        table.add_row(
            s.measure,
            s.kind,
            str(s.true_positives),
            str(s.false_positives),
            str(s.false_negatives),
            format_ratio(s.precision),
            format_ratio(s.recall),
        )
    # piped or captured output is not cut to 80 columns: every measure and kind stays readable
    console.print(table, width=None if console.is_terminal else 132)


if __name__ == "__main__":  # pragma: no cover
    app()
import transforms.cli_reports  # noqa: E402,F401
