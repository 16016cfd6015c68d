"""Charts for the duplication report, drawn with matplotlib into inline SVG.

No network, no CDN, no script: each chart is an ``<svg>`` element written into the page. The
output is deterministic (fixed hash salt per chart, no date or creator metadata, glyphs as
paths), so the same warehouse gives the same bytes and a browser test can screenshot it.
Values are taken as given from the marts; nothing is recomputed here.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib import rcParams  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

rcParams["svg.fonttype"] = "path"
rcParams["font.family"] = "DejaVu Sans"
rcParams["font.size"] = 9

_BLUE = "#1d70b8"  # GOV.UK design system colours
_GREEN = "#00703c"
_RED = "#d4351c"
_GREY = "#505a5f"


def _svg(fig: Figure, chart_id: str) -> str:
    rcParams["svg.hashsalt"] = f"ngss-{chart_id}"
    buf = io.StringIO()
    fig.savefig(
        buf,
        format="svg",
        bbox_inches="tight",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and DOCTYPE (a DTD URL)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # Element ids must be unique across the page's inline SVGs.
    text = re.sub(r'(\bid="|href="#|url\(#)', rf"\g<1>{chart_id}-", text)
    return text.replace("<svg ", f'<svg role="img" aria-labelledby="{chart_id}-title" ', 1)


def _gbp(v: Decimal | float | None) -> float:
    return float(v or 0)


def _empty(message: str, chart_id: str) -> str:
    fig = Figure(figsize=(7, 1.2))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color=_GREY)
    return _svg(fig, chart_id)


def shared_suppliers_chart(suppliers: list[dict], chart_id: str = "chart-shared-suppliers") -> str:
    """Horizontal bars: the top shared suppliers' total spend, labelled with the body count."""
    if not suppliers:
        return _empty("No supplier is paid by two or more bodies yet.", chart_id)
    names = [f"{s['supplier_display_name'][:38]} ({s['body_count']} bodies)" for s in suppliers]
    totals = [_gbp(s["total_gbp"]) / 1e6 for s in suppliers]
    back = [_gbp(s["back_office_gbp"]) / 1e6 for s in suppliers]
    fig = Figure(figsize=(8, 0.32 * len(names) + 1.2))
    ax = fig.add_subplot()
    y = list(range(len(names)))[::-1]
    ax.barh(y, totals, color=_BLUE, label="total paid")
    ax.barh(y, back, color=_GREEN, label="of which back-office")
    ax.set_yticks(y, names)
    ax.set_xlabel("£ million paid across bodies")
    ax.legend(loc="lower right", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, chart_id)


def body_count_chart(by_count: list[dict], chart_id: str = "chart-suppliers-by-body-count") -> str:
    """Bars: number of shared suppliers by number of paying bodies, with their spend."""
    if not by_count:
        return _empty("No supplier is paid by two or more bodies yet.", chart_id)
    labels = [str(r["body_count"]) for r in by_count]
    counts = [int(r["suppliers"]) for r in by_count]
    spend = [_gbp(r["total_gbp"]) / 1e6 for r in by_count]
    fig = Figure(figsize=(8, 2.8))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.bar(labels, counts, color=_BLUE)
    ax1.set_xlabel("bodies paying the supplier")
    ax1.set_ylabel("suppliers")
    ax2.bar(labels, spend, color=_GREEN)
    ax2.set_xlabel("bodies paying the supplier")
    ax2.set_ylabel("£ million paid")
    for ax in (ax1, ax2):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _svg(fig, chart_id)


def unit_cost_chart(costs: list[dict], chart_id: str = "chart-unit-cost") -> str:
    """Per function, each body's cost per unit as a bar and the best quartile as a line."""
    rows = [r for r in costs if r["cost_per_unit_gbp"] is not None]
    if not rows:
        return _empty("No body has both payroll/HR staff and units served yet.", chart_id)
    functions = sorted({r["back_office_function"] for r in rows})
    fig = Figure(figsize=(8, 2.6 * len(functions)))
    axes = fig.subplots(len(functions), 1, squeeze=False)[:, 0]
    for ax, fn in zip(axes, functions, strict=True):
        sel = [r for r in rows if r["back_office_function"] == fn]
        bodies = [r["body_code"] for r in sel]
        values = [_gbp(r["cost_per_unit_gbp"]) for r in sel]
        best = sel[0]["best_quartile_cost_per_unit_gbp"]
        colours = [_RED if best is not None and v > _gbp(best) else _BLUE for v in values]
        ax.bar(bodies, values, color=colours)
        if best is not None:
            ax.axhline(_gbp(best), color=_GREEN, linestyle="--", label="best quartile")
            ax.legend(loc="upper right", frameon=False)
        ax.set_title(f"{fn}: £ per {sel[0]['unit'] or 'unit'} a year", loc="left")
        ax.tick_params(axis="x", labelrotation=30)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _svg(fig, chart_id)


def saving_chart(savings: list[dict], chart_id: str = "chart-saving-by-function") -> str:
    """Bars: the estimated annual saving per back-office function."""
    if not savings:
        return _empty("No function cost measured yet (needs payroll and HR extracts).", chart_id)
    labels = [r["back_office_function"] for r in savings]
    values = [_gbp(r["estimated_annual_saving_gbp"]) / 1e3 for r in savings]
    fig = Figure(figsize=(8, 2.6))
    ax = fig.add_subplot()
    ax.bar(labels, values, color=_GREEN)
    ax.set_ylabel("£ thousand a year")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, chart_id)
