"""The review site as headless Chromium renders it: the figures shown equal the warehouse's, a
body's page holds that body's rows only, no page loads anything from outside the reports folder,
and screenshots of the index, a body page with failures and the duplication report are filled in.

Values are read from the DOM Chromium built (``data-value`` attributes and the text shown) and
compared with the warehouse queried read-only here, never with what the renderer computed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.browser.chromium import Chromium, made_for_a_file_page, net_log_requests
from tests.browser.conftest import CRAVEN_BODY, GX_SHOT, SHOTS, craven_gx_page
from tests.reports.conftest import CRAVEN

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reports")]

LATEST_LOADS = """
with latest_attempt as (
    select * from ops.load_log
    qualify row_number() over (partition by load_id order by attempt desc) = 1
)
select load_id, source_id, body_code, status, rows_read, rows_published, rows_quarantined,
       rows_blank
from latest_attempt
{where}
"""


def _dicts(con, sql, params=None):
    rel = con.execute(sql, params or [])
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _shown(text: str) -> Decimal | None:
    """The number a person reads on the page: ``£1,234.50``, ``-£81.00``, ``172``, ``–``."""
    t = text.strip()
    if t in ("–", ""):
        return None
    neg = t.startswith("-")
    t = t.lstrip("-").replace("£", "").replace(",", "")
    assert re.fullmatch(r"\d+(\.\d+)?", t), f"not a number as shown: {text!r}"
    return -Decimal(t) if neg else Decimal(t)


def assert_figure(metric: dict, expected, what: str) -> None:
    """The element's ``data-value`` is the warehouse's value and its visible text shows it."""
    attrs = metric["attrs"]
    assert metric["visible"], f"{what}: {attrs['data-metric']} is not on screen"
    value = attrs.get("data-value")
    shown = _shown(metric["text"])
    if expected is None:
        assert value in (None, ""), f"{what}: {attrs['data-metric']} = {value!r}, warehouse NULL"
        assert shown is None, f"{what}: shows {metric['text']!r} for NULL"
        return
    want = Decimal(str(expected))
    assert value is not None, f"{what}: {attrs['data-metric']} has no data-value"
    assert Decimal(value) == want, f"{what}: {attrs['data-metric']} = {value}, warehouse {want}"
    assert shown is not None and abs(shown - want) <= Decimal("0.005"), (
        f"{what}: {attrs['data-metric']} shows {metric['text']!r}, warehouse {want}"
    )


def _in_table(visit, table_id: str) -> list[dict]:
    return [m for m in visit.metrics if (m["table"] or {}).get("id") == table_id]


def _by_row(metrics: list[dict], key: str) -> dict[str, dict[str, dict]]:
    rows: dict[str, dict[str, dict]] = {}
    for m in metrics:
        rows.setdefault(m["row"][key], {})[m["attrs"]["data-metric"]] = m
    return rows


# ------------------------------------------------------------------------------- the index
def test_index_figures_equal_the_warehouse(browser_run, warehouse):
    visit = browser_run.visits["index.html"]
    assert visit.dom["scripts"] == 0
    latest = _dicts(
        warehouse,
        LATEST_LOADS.format(
            where="qualify row_number() over (partition by source_id "
            "order by published_at desc, load_id desc) = 1"
        ),
    )
    shown = _by_row(_in_table(visit, "bodies"), "data-load-id")
    assert set(shown) == {ld["load_id"] for ld in latest}, "index rows are not the latest loads"
    for ld in latest:
        row = shown[ld["load_id"]]
        what = f"index, {ld['source_id']}"
        assert row["status"]["text"] == ld["status"], what
        for metric in ("rows_read", "rows_published", "rows_quarantined"):
            assert_figure(row[metric], ld[metric], what)
        assert row["rows_read"]["row"]["data-body"] == ld["body_code"], what
        assert row["rows_read"]["row"]["data-source-id"] == ld["source_id"], what
    craven = next(ld for ld in latest if ld["source_id"] == CRAVEN)
    assert [
        shown[craven["load_id"]][m]["text"]
        for m in ("rows_read", "rows_published", "rows_quarantined")
    ] == [
        "172",
        "171",
        "1",
    ]


# ----------------------------------------------------------------- a body page with failures
def test_craven_body_page_figures_and_failing_row_equal_the_warehouse(browser_run, warehouse):
    visit = browser_run.visits[f"bodies/{CRAVEN_BODY}.html"]
    assert visit.dom["scripts"] == 0
    assert "Craven District Council" in visit.dom["h1"]
    loads = _dicts(warehouse, LATEST_LOADS.format(where="where body_code = ?"), [CRAVEN_BODY])
    assert loads, "no Craven load in the warehouse"
    by_id = {ld["load_id"]: ld for ld in loads}
    live = _dicts(warehouse, "select load_id from ops.partition where source_id = ?", [CRAVEN])
    (load_id,) = {r["load_id"] for r in live}

    # The counts table of the latest load: 172 read, 171 published, 1 quarantined.
    counts = [
        m
        for m in visit.metrics
        if "counts" in (m["table"] or {}).get("class", "")
        and m["attrs"].get("data-load-id") == load_id
    ]
    got = {m["attrs"]["data-metric"]: m for m in counts}
    assert set(got) == {"rows_read", "rows_published", "rows_quarantined", "rows_blank"}
    for metric, m in got.items():
        assert_figure(m, by_id[load_id][metric], f"Craven counts, {metric}")
    assert [got[m]["text"] for m in ("rows_read", "rows_published", "rows_quarantined")] == [
        "172",
        "171",
        "1",
    ]

    # Each broken rule's count is the validation result's.
    failed = _dicts(
        warehouse,
        "select rule_id, unexpected_count from ops.validation_result "
        "where load_id = ? and not success",
        [load_id],
    )
    rule_counts = {
        m["attrs"]["data-rule-id"]: m
        for m in visit.metrics
        if m["attrs"]["data-metric"] == "unexpected_count"
        and m["attrs"].get("data-load-id") == load_id
    }
    assert set(rule_counts) == {r["rule_id"] for r in failed}
    for r in failed:
        assert_figure(rule_counts[r["rule_id"]], r["unexpected_count"], f"rule {r['rule_id']}")
    assert rule_counts["spend.not_totals_row"]["text"] == "1"

    # The failing rows shown are the quarantined rows: line 173 under spend.not_totals_row.
    quarantined = _dicts(
        warehouse,
        "select source_file, source_line, rule_ids from ops.quarantine_row "
        "where load_id = ? and body_code = ? order by source_line",
        [load_id, CRAVEN_BODY],
    )
    rows = [r for r in visit.dom["rows"] if (r["table"] or {}).get("data-load-id") == load_id]
    assert [
        (r["attrs"]["data-source-file"], int(r["attrs"]["data-source-line"])) for r in rows
    ] == [(q["source_file"], q["source_line"]) for q in quarantined]
    assert [int(r["cells"][0]) for r in rows] == [173]
    assert rows[0]["cells"][1].split() == list(quarantined[0]["rule_ids"])
    assert "spend.not_totals_row" in rows[0]["cells"][1].split()
    assert "726,583.94" in rows[0]["cells"]

    # The history table: every load of the source with the warehouse's counts.
    history = _by_row(
        [m for m in visit.metrics if "history" in (m["table"] or {}).get("class", "")],
        "data-load-id",
    )
    assert set(history) == set(by_id)
    for lid, row in history.items():
        for metric in ("rows_read", "rows_published", "rows_quarantined"):
            assert_figure(row[metric], by_id[lid][metric], f"Craven history {lid}")


# ---------------------------------------------------------- Great Expectations Data Docs
def test_craven_pages_link_to_the_gx_data_docs_of_their_validation_run(
    browser_run, warehouse, review_site
):
    """The body, load and validation pages of Craven's live load link to GX's Data Docs of each
    suite run on it; GX's page, as Chromium renders it, shows GX's own counts of expectations,
    which equal ``ops.validation_run`` and ``ops.validation_result``, and the failing line."""
    settings, _, _ = review_site
    (load_id,) = warehouse.execute(
        "select load_id from ops.partition where source_id = ?", [CRAVEN]
    ).fetchone()
    runs = _dicts(
        warehouse,
        "select suite_name, success, evaluated_expectations, successful_expectations "
        "from ops.validation_run where load_id = ? order by suite_name",
        [load_id],
    )
    assert [(r["suite_name"], r["success"]) for r in runs] == [("file", True), ("spend.row", False)]
    # GX's row-suite verdicts agree with ours: the failing expectations are the broken rules
    row_rules = _dicts(
        warehouse,
        "select count(*) as n, count(*) filter (where not success) as failed "
        "from ops.validation_result where load_id = ? and level = 'row' "
        "and expectation_type not like 'ngss:%'",
        [load_id],
    )[0]
    spend_row = runs[1]
    assert spend_row["evaluated_expectations"] == row_rules["n"] > 5
    assert (
        spend_row["evaluated_expectations"] - spend_row["successful_expectations"]
        == (row_rules["failed"])
    )

    for page in (
        f"bodies/{CRAVEN_BODY}.html",
        f"loads/{load_id}.html",
        f"validation/{load_id}.html",
    ):
        html = browser_run.visits[page].dom["html"]
        links = {
            suite: href
            for href, suite in re.findall(
                r'<a class="gx-docs" href="([^"]+)" data-suite="([^"]+)"', html
            )
            if f"/load-{load_id}/" in href
        }
        assert set(links) == {"file", "spend.row"}, (page, links)
        resolved = (browser_run.root / page).parent.joinpath(links["spend.row"]).resolve()
        assert resolved == (browser_run.root / craven_gx_page(settings)).resolve(), page
        assert resolved.exists()

    gx = browser_run.visits[craven_gx_page(settings)]
    text = gx.dom["text"]
    assert "spend.row" in text
    figures = dict(
        re.findall(
            r"(Evaluated Expectations|Successful Expectations|Unsuccessful Expectations)\s+(\d+)",
            text,
        )
    )
    assert figures == {
        "Evaluated Expectations": str(spend_row["evaluated_expectations"]),
        "Successful Expectations": str(spend_row["successful_expectations"]),
        "Unsuccessful Expectations": str(
            spend_row["evaluated_expectations"] - spend_row["successful_expectations"]
        ),
    }, text[:2000]
    # the totals row (line 173) fails spend.not_totals_row: 1 of the 172 rows read
    assert "≈0.5814% unexpected" in text, text[-1500:]


# ------------------------------------------------------------------- the duplication report
def test_duplication_report_figures_equal_the_marts(browser_run, warehouse):
    visit = browser_run.visits["duplication.html"]
    assert visit.dom["scripts"] == 0

    suppliers = _dicts(
        warehouse,
        "select supplier_id, body_count, total_gbp, back_office_gbp, payment_count "
        "from marts.mart_shared_suppliers order by total_gbp desc, supplier_id",
    )
    shown = _by_row(_in_table(visit, "table-shared-suppliers"), "data-supplier-id")
    order = list(
        dict.fromkeys(
            m["row"]["data-supplier-id"] for m in _in_table(visit, "table-shared-suppliers")
        )
    )
    assert suppliers and len(order) >= min(10, len(suppliers))
    assert order == [s["supplier_id"] for s in suppliers[: len(order)]], "not the top suppliers"
    for s in suppliers[: len(order)]:
        for metric in ("body_count", "total_gbp", "back_office_gbp", "payment_count"):
            assert_figure(shown[s["supplier_id"]][metric], s[metric], s["supplier_id"])

    tables = {
        "table-suppliers-by-body-count": (
            "data-body-count",
            "select body_count::varchar as k, count(*) as suppliers, sum(total_gbp) as total_gbp,"
            " sum(back_office_gbp) as back_office_gbp from marts.mart_shared_suppliers group by 1",
        ),
        "table-duplicate-payments": (
            "data-kind",
            "select kind as k, count(*) as pairs, sum(amount_at_risk_gbp) as amount_at_risk_gbp "
            "from marts.mart_duplicate_payments group by 1",
        ),
        "table-people": (
            "data-explained",
            "select case when explained_by_secondment then 'true' else 'false' end as k, "
            "count(*) as person_periods, sum(total_gross_pay_gbp) as total_gross_pay_gbp "
            "from marts.mart_people_on_multiple_payrolls group by 1",
        ),
        "table-function-cost": (
            "data-function",  # keyed below by body and function
            "select body_code || '/' || back_office_function as k, fte, annual_pay_cost_gbp, "
            "annual_units, cost_per_unit_gbp, best_quartile_cost_per_unit_gbp, "
            "estimated_annual_saving_gbp from marts.mart_function_cost",
        ),
        "table-saving": (
            "data-function",
            "select back_office_function as k, sum(estimated_annual_saving_gbp) "
            "as estimated_annual_saving_gbp from marts.mart_function_cost group by 1",
        ),
    }
    for table_id, (key, sql) in tables.items():
        expected = {r.pop("k"): r for r in _dicts(warehouse, sql)}
        metrics = _in_table(visit, table_id)
        got: dict[str, dict[str, dict]] = {}
        for m in metrics:
            k = m["row"][key]
            if table_id == "table-function-cost":
                k = f"{m['row']['data-body']}/{k}"
            got.setdefault(k, {})[m["attrs"]["data-metric"]] = m
        assert expected, f"{table_id}: the mart is empty, nothing to compare"
        assert set(got) == set(expected), table_id
        for k, row in expected.items():
            assert set(got[k]) == set(row), f"{table_id} {k}"
            for metric, value in row.items():
                assert_figure(got[k][metric], value, f"{table_id} {k}")

    # The four charts are drawn, inline, and take room on screen.
    figures = {f["attrs"]["id"]: f for f in visit.dom["figures"]}
    for fig in (
        "figure-shared-suppliers",
        "figure-suppliers-by-body-count",
        "figure-unit-cost",
        "figure-saving-by-function",
    ):
        assert figures[fig]["svg"] and figures[fig]["visible"] and figures[fig]["paths"], fig


# ------------------------------------------------------------------ each body's rows only
def test_every_body_page_holds_that_body_rows_only(browser_run, warehouse):
    loads = _dicts(warehouse, LATEST_LOADS.format(where=""))
    body_of_load = {ld["load_id"]: ld["body_code"] for ld in loads}
    body_of_source = {ld["source_id"]: ld["body_code"] for ld in loads}
    quarantined = {
        (r["load_id"], r["source_file"], r["source_line"]): r["body_code"]
        for r in _dicts(
            warehouse,
            "select load_id, source_file, source_line, body_code from ops.quarantine_row",
        )
    }
    bodies = sorted(set(body_of_load.values()))
    assert CRAVEN_BODY in bodies and len(bodies) >= 4
    for body in bodies:
        visit = browser_run.visits[f"bodies/{body}.html"]
        assert visit.dom["load_ids"], body
        for lid in visit.dom["load_ids"]:
            assert body_of_load.get(lid) == body, f"{body}'s page shows load {lid}"
        for sid in visit.dom["source_ids"]:
            assert body_of_source.get(sid) == body, f"{body}'s page shows source {sid}"
        for r in visit.dom["rows"]:
            key = (
                r["table"]["data-load-id"],
                r["attrs"]["data-source-file"],
                int(r["attrs"]["data-source-line"]),
            )
            assert quarantined.get(key) == body, f"{body}'s page shows row {key}"
        others = [lid for lid, b in body_of_load.items() if b != body]
        leaked = [lid for lid in others if lid in visit.dom["html"]]
        assert not leaked, f"{body}'s page names other bodies' loads {leaked}"
    # Craven's page: its one failing row, and nothing of the FCO's file.
    craven = browser_run.visits[f"bodies/{CRAVEN_BODY}.html"]
    assert {r["attrs"]["data-source-file"] for r in craven.dom["rows"]} == {"payments.csv"}
    assert "Foreign" not in craven.dom["text"]


# ------------------------------------------------------------------- no outside resource
def _inside(url: str, root) -> bool:
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return False
    path = unquote(parsed.path)
    return path == str(root) or path.startswith(str(root) + "/")


def test_no_page_requests_anything_outside_the_reports_folder(browser_run):
    root = browser_run.root
    assert len(browser_run.visits) >= 10
    outside = []
    for page, visit in browser_run.visits.items():
        if not page.startswith("gx/"):  # GX's Data Docs keep their inline scripts
            assert visit.dom["scripts"] == 0, page
        urls = [r["request"]["url"] for r in visit.requests]
        assert visit.url in urls, f"{page}: DevTools saw no request for the page itself"
        outside += [(page, u) for u in urls if not _inside(u, root)]
        outside += [(page, f["errorText"]) for f in visit.failed]
    assert not outside, f"requests outside {root}: {outside}"
    # The network stack (http, https, ws, QUIC) carried nothing for any page: file pages are
    # read without it, so any request made on behalf of a file:// page would be an outside one.
    by_pages = [r for r in browser_run.net_log if made_for_a_file_page(r)]
    assert not by_pages, f"network requests made by the pages: {by_pages}"


def test_the_outside_request_checks_catch_an_outside_resource(chromium_binary, tmp_path):
    """The checks above can fail: a page with an image on 127.0.0.1 (nothing listens on the
    discard port, so nothing leaves the machine) is caught by both DevTools and the net log."""
    page = tmp_path / "site" / "leaky.html"
    page.parent.mkdir()
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/pixel.png">'
        '<img src="other.png"><p>leaky</p></body></html>'
    )
    (tmp_path / "site" / "other.png").write_bytes(b"")
    browser = Chromium(chromium_binary, tmp_path / "chromium", net_log=tmp_path / "net.json")
    try:
        visit = browser.visit(page.as_uri())
    finally:
        browser.close()
    urls = [r["request"]["url"] for r in visit.requests]
    assert [u for u in urls if not _inside(u, page.parent)] == ["http://127.0.0.1:9/pixel.png"]
    assert (page.parent / "other.png").as_uri() in urls
    flagged = [r["url"] for r in net_log_requests(tmp_path / "net.json") if made_for_a_file_page(r)]
    assert flagged == ["http://127.0.0.1:9/pixel.png"]


# ----------------------------------------------------------------------------- screenshots
def test_screenshots_are_saved_and_filled_in(browser_run):
    import numpy as np
    from PIL import Image

    assert {Path(p).name for p in browser_run.screenshots.values()} == {*SHOTS.values(), GX_SHOT}
    for png in browser_run.screenshots.values():
        assert png.exists(), png
        assert png.stat().st_size > 20_000, f"{png} is only {png.stat().st_size} bytes"
        with Image.open(png) as im:
            assert im.format == "PNG"
            assert im.width == 1280 and im.height >= 500, (png, im.size)
            rgb = im.convert("RGB")
            # The black header bar at the top left, the white page under it.
            assert max(rgb.getpixel((4, 4))) < 40, f"{png}: no header bar"
            colours = rgb.getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 50, f"{png}: {len(colours)} colours only"
            # Text and tables fill the page: many non-white pixels below the header.
            body = np.asarray(rgb.crop((0, 60, im.width, min(im.height, 1200))).convert("L"))
            assert (body < 200).mean() > 0.01, f"{png}: the page looks empty"
    # The duplication report's charts are in colour (the bars), not only black text on white.
    with Image.open(browser_run.screenshots["duplication.html"]) as im:
        px = np.asarray(im.convert("RGB")).astype(int)
        coloured = int(((px.max(axis=2) - px.min(axis=2)) > 60).sum())
        assert coloured > 50_000, f"no coloured chart on the duplication report ({coloured} px)"


def test_the_browser_run_is_quick(browser_run):
    assert browser_run.seconds < 45, f"Chromium took {browser_run.seconds:.1f} s for the site"
