"""Render the static review site into ``$NGSS_HOME/reports/`` (``ngss report``, and the marts DAG
after each run).

Pages, all self-contained (inline CSS and SVG, no outside resource; no script except in GX's
Data Docs), opened as files::

    index.html                      bodies, each source's latest load and verdict
    bodies/<body>.html              one body: latest load per source with broken rules, counts and
                                    failing rows (that body's rows only), and each partition's
                                    load history (which load replaced which)
    loads/<load_id>.html            one load: counts, broken rules, every failing row
    loads/<load_id>.quarantine.csv  its quarantined rows, safe to open in a spreadsheet
    validation/<load_id>.html       every rule evaluated on the load (from ops.validation_result)
    gx/...                          Great Expectations Data Docs of each suite run on each load
                                    (from ops.validation_run; see warehouse.reports.gx_docs)
    dictionary.html                 tables and columns from the warehouse comments, example queries
    duplication.html                the duplication marts, with charts

Every number shown carries a ``data-metric`` attribute (and the load or body it belongs to) so a
browser test can compare it with the warehouse. The output depends only on the warehouse: no
clock, no random ids, so two renders of the same warehouse give the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from transforms.settings import Settings
from warehouse.reports import charts, data, gx_docs
from warehouse.reports.csv_export import quarantine_csv

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"

#: Failing rows shown on a body page per load, and on a load page; the CSV always has all.
BODY_PAGE_ROWS = 100
LOAD_PAGE_ROWS = 2000

_LOAD_ID = re.compile(r"^[0-9a-f]{8,64}$")
_BODY = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")


def body_slug(body_code: str) -> str:
    """File stem of a body's page: the code when it is a plain slug, else a hash of it (body codes
    are data, never trusted as paths)."""
    if _BODY.match(body_code):
        return body_code
    return "body-" + hashlib.sha256(body_code.encode()).hexdigest()[:16]


def load_slug(load_id: str) -> str:
    if _LOAD_ID.match(load_id):
        return load_id
    return "load-" + hashlib.sha256(load_id.encode()).hexdigest()[:16]


def site_base(settings: Settings) -> str:
    """Where the site is read from: ``NGSS_REPORTS_URL`` when it is served, else a file URI."""
    base = os.environ.get("NGSS_REPORTS_URL")
    return base.rstrip("/") if base else settings.reports.as_uri()


def load_page_url(settings: Settings, load_id: str) -> str:
    return f"{site_base(settings)}/loads/{load_slug(load_id)}.html"


def body_page_url(settings: Settings, body_code: str) -> str:
    return f"{site_base(settings)}/bodies/{body_slug(body_code)}.html"


# ------------------------------------------------------------------------------- formatting
def _num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float | Decimal) and v != int(v):
        return f"{v:,.2f}"
    return f"{int(v):,}"


def _gbp(v: Any) -> str:
    if v is None:
        return "–"
    d = Decimal(v)
    return ("-£" if d < 0 else "£") + f"{abs(d):,.2f}"


def _pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}%"


def _ts(v: Any) -> str:
    return "–" if v is None else v.strftime("%Y-%m-%d %H:%M:%S")


def _plain(v: Any) -> str:
    """A machine-readable value for data attributes."""
    return "" if v is None else str(v)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=_num, gbp=_gbp, pct=_pct, plain=_plain, ts=_ts)
    env.globals.update(body_slug=body_slug, load_slug=load_slug)
    return env


def _columns(rows: list[dict]) -> list[str]:
    cols: list[str] = []
    seen: set[str] = set()
    for r in rows:
        for k in r["raw"]:
            if k not in seen:
                seen.add(k)
                cols.append(k)
    return cols


@dataclass
class SiteSummary:
    """What was written: the folder, page counts and the bodies covered."""

    root: Path
    bodies: list[str] = field(default_factory=list)
    loads: int = 0
    files: int = 0
    gx_pages: int = 0  # HTML pages of GX Data Docs (validation runs and GX's index)


def _write(path: Path, text: str, summary: SiteSummary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    summary.files += 1


def render_site(settings: Settings, out_dir: Path | None = None) -> SiteSummary:
    """Render the whole site from the warehouse (opened read-only).

    The site is written to a sibling temporary folder and swapped in at the end, so a reader
    never sees half a site and pages of loads no longer in the warehouse disappear.
    """
    from warehouse.connection import connect_reader

    root = out_dir or settings.reports
    tmp = root.with_name(root.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    summary = SiteSummary(root=root)
    con = connect_reader(settings.warehouse)
    try:
        _render(con, settings, tmp, summary)
    finally:
        con.close()
    if root.exists():
        old = root.with_name(root.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        root.rename(old)
        tmp.rename(root)
        shutil.rmtree(old)
    else:
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(root)
    log.info("report site: %d files in %s", summary.files, root)
    return summary


def _tolerances(settings: Settings) -> dict[str, float]:
    from transforms.config import load_registry

    try:
        reg = load_registry(settings.config)
    except Exception:  # the site still renders without the registry  # noqa: BLE001
        return {}
    return {sid: s.tolerance.max_quarantine_share for sid, s in reg.sources.items()}


def _render(con, settings: Settings, out: Path, summary: SiteSummary) -> None:
    env = _env()
    names = data.body_names(con)
    all_loads = data.loads(con)
    tolerance = _tolerances(settings)
    as_of = con.execute(
        "select strftime(max(published_at), '%Y-%m-%d %H:%M:%S') from ops.load_log"
    ).fetchone()[0]
    for ld in all_loads:
        ld["share_quarantined"] = (
            ld["rows_quarantined"] / ld["rows_read"] if ld["rows_read"] else None
        )
        ld["max_share"] = tolerance.get(ld["source_id"])
    bodies = sorted({ld["body_code"] for ld in all_loads})
    summary.bodies = bodies
    # GX Data Docs of every validation run, linked from the load, body and validation pages
    common = {"as_of": as_of or "no load yet", "gx_pages": gx_docs.build_data_docs(con, out)}
    gx_files = [p for p in (out / gx_docs.GX_DIR).rglob("*") if p.is_file()]
    summary.files += len(gx_files)
    summary.gx_pages = sum(1 for p in gx_files if p.suffix == ".html")

    # Pages of every load, then the bodies, then the index.
    rules_of: dict[str, list[dict]] = {}
    for ld in all_loads:
        lid = ld["load_id"]
        rules_of[lid] = data.broken_rules(con, lid)
        qrows = data.quarantined(con, lid, ld["body_code"])
        shown = qrows[:LOAD_PAGE_ROWS]
        slug = load_slug(lid)
        _write(
            out / "loads" / f"{slug}.html",
            env.get_template("load.html").render(
                root="..",
                load=ld,
                body_name=names.get(ld["body_code"], ld["body_code"]),
                rules=rules_of[lid],
                rows=shown,
                columns=_columns(shown),
                rows_total=len(qrows),
                **common,
            ),
            summary,
        )
        _write(out / "loads" / f"{slug}.quarantine.csv", quarantine_csv(qrows), summary)
        _write(
            out / "validation" / f"{slug}.html",
            env.get_template("validation.html").render(
                root="..", load=ld, results=data.validation_results(con, lid), **common
            ),
            summary,
        )
        summary.loads += 1

    index_rows = []
    for body in bodies:
        body_loads = [ld for ld in all_loads if ld["body_code"] == body]
        latest = data.latest_per_source(body_loads)
        sections = []
        for ld in latest:
            qrows = data.quarantined(con, ld["load_id"], body, limit=BODY_PAGE_ROWS)
            history = _history([x for x in body_loads if x["source_id"] == ld["source_id"]])
            sections.append(
                {
                    "load": ld,
                    "rules": rules_of[ld["load_id"]],
                    "rows": qrows,
                    "columns": _columns(qrows),
                    "history": history,
                }
            )
        _write(
            out / "bodies" / f"{body_slug(body)}.html",
            env.get_template("body.html").render(
                root="..",
                body=body,
                body_name=names.get(body, body),
                sections=sections,
                row_limit=BODY_PAGE_ROWS,
                **common,
            ),
            summary,
        )
        index_rows.append({"body": body, "name": names.get(body, body), "latest": latest})

    _write(
        out / "index.html",
        env.get_template("index.html").render(root=".", bodies=index_rows, **common),
        summary,
    )
    _write(
        out / "dictionary.html",
        env.get_template("dictionary.html").render(
            root=".",
            tables=data.catalogue(con),
            examples=[
                {"title": t, "sql": q, "result": data.run_example(con, q)}
                for t, q in data.EXAMPLE_QUERIES
            ],
            **common,
        ),
        summary,
    )
    _write(out / "duplication.html", _duplication(env, con, common), summary)


def _history(loads: list[dict]) -> list[dict]:
    """Loads of one source grouped by partition period, oldest first, rejected ones included."""
    periods: dict[Any, list[dict]] = {}
    for ld in sorted(loads, key=lambda x: (x["published_at"], x["load_id"])):
        periods.setdefault(ld["period"], []).append(ld)
    return [
        {"period": p, "loads": periods[p]}
        for p in sorted(periods, key=lambda p: (p is not None, p), reverse=True)
    ]


def _duplication(env: Environment, con, common: dict) -> str:
    have = {
        t: data.has_table(con, "marts", t)
        for t in (
            "mart_shared_suppliers",
            "mart_duplicate_payments",
            "mart_people_on_multiple_payrolls",
            "mart_function_cost",
        )
    }
    suppliers = data.shared_suppliers(con) if have["mart_shared_suppliers"] else []
    by_count = data.shared_suppliers_by_body_count(con) if have["mart_shared_suppliers"] else []
    costs = data.function_cost(con) if have["mart_function_cost"] else []
    savings = data.saving_by_function(con) if have["mart_function_cost"] else []
    return env.get_template("duplication.html").render(
        root=".",
        suppliers=suppliers,
        by_count=by_count,
        payment_kinds=data.duplicate_payment_kinds(con) if have["mart_duplicate_payments"] else [],
        people=(
            data.people_on_multiple_payrolls(con)
            if have["mart_people_on_multiple_payrolls"]
            else []
        ),
        costs=costs,
        savings=savings,
        chart_suppliers=charts.shared_suppliers_chart(suppliers),
        chart_body_count=charts.body_count_chart(by_count),
        chart_unit_cost=charts.unit_cost_chart(costs),
        chart_saving=charts.saving_chart(savings),
        **common,
    )
