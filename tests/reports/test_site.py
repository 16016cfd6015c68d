"""The review site on a small real warehouse: Craven's totals row, a rejected file, each body's
rows only, no outside resource, the data dictionary and the duplication report from the marts."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from tests.reports.conftest import CRAVEN, REJECTED

pytestmark = pytest.mark.xdist_group("reports")


class Metrics(HTMLParser):
    """Collects every element carrying ``data-metric`` with its attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict] = []
        self._open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-metric" in a:
            a["text"] = ""
            self.found.append(a)
            self._open.append(a)
        elif self._open:
            self._open.append({})

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for a in self._open:
            if "text" in a:
                a["text"] += data


def metrics(html: str) -> list[dict]:
    p = Metrics()
    p.feed(html)
    return p.found


def _load(summaries, source_id):
    return next(s for s in summaries if s["source_id"] == source_id)


def test_index_lists_every_body_with_its_latest_load(review_site):
    settings, summaries, site = review_site
    index = (site.root / "index.html").read_text()
    for s in summaries:
        assert f'data-load-id="{s["load_id"]}"' in index
    for body in site.bodies:
        assert f'href="bodies/{body}.html"' in index
        assert (site.root / "bodies" / f"{body}.html").exists()
    assert "Craven District Council" in index


def test_craven_body_page_shows_the_totals_row_in_plain_english(review_site):
    settings, summaries, site = review_site
    craven = _load(summaries, CRAVEN)
    page = (site.root / "bodies" / "craven-district-council.html").read_text()
    m = [x for x in metrics(page) if x.get("data-load-id") == craven["load_id"]]
    values = {x["data-metric"]: x["text"] for x in m if "data-rule-id" not in x}
    assert values["rows_read"] == "172"
    assert values["rows_published"] == "171"
    assert values["rows_quarantined"] == "1"
    # The unlabelled grand total on line 173, with its raw value, under the totals rule.
    assert 'data-source-line="173"' in page
    assert "726,583.94" in page
    assert 'data-rule-id="spend.not_totals_row"' in page
    assert "not a totals, subtotals or page-footer row" in page
    assert "Remove totals and footer rows from the extract" in page
    rule_counts = {x["data-rule-id"]: x["text"] for x in m if "data-rule-id" in x}
    assert rule_counts["spend.not_totals_row"] == "1"
    # History: the partition 2017-03 with the live load.
    assert re.search(
        rf'<tr data-load-id="{craven["load_id"]}" data-period="2017-03-01" data-replaced-load-id="">',
        page,
    )


def test_body_page_holds_no_other_body_rows(review_site):
    settings, summaries, site = review_site
    for body in site.bodies:
        page = (site.root / "bodies" / f"{body}.html").read_text()
        own = {s["load_id"] for s in summaries if s["source_id"].startswith(body + "__")}
        others = {s["load_id"] for s in summaries} - own
        for lid in others:
            assert lid not in page, f"{body}'s page shows load {lid}"
    craven_page = (site.root / "bodies" / "craven-district-council.html").read_text()
    assert set(re.findall(r'data-source-file="([^"]*)"', craven_page)) == {"payments.csv"}
    hmrc_page = (site.root / "bodies" / "hmrc.html").read_text()
    assert "Department for Work and Pensions" not in hmrc_page
    assert "726,583.94" not in hmrc_page


def test_rejected_file_is_shown_with_its_rule(review_site):
    settings, summaries, site = review_site
    rejected = _load(summaries, REJECTED)
    assert rejected["status"] == "rejected"
    page = (site.root / "bodies" / "cabinet-office.html").read_text()
    assert f'data-metric="status" data-load-id="{rejected["load_id"]}">rejected<' in page
    assert rejected["reject_rule"] in page
    validation = (site.root / "validation" / f"{rejected['load_id']}.html").read_text()
    assert f'data-rule-id="{rejected["reject_rule"]}" data-success="false"' in validation


def test_load_page_and_csv_have_every_quarantined_row(review_site):
    settings, summaries, site = review_site
    craven = _load(summaries, CRAVEN)
    page = (site.root / "loads" / f"{craven['load_id']}.html").read_text()
    assert 'data-source-line="173"' in page
    text = (site.root / "loads" / f"{craven['load_id']}.quarantine.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["source_line"] == "173"
    assert "spend.not_totals_row" in rows[0]["rules_broken"].split()
    assert rows[0]["Amount"] == "726,583.94"


def test_no_page_loads_an_outside_resource(review_site):
    settings, summaries, site = review_site
    pages = sorted(site.root.rglob("*.html"))
    ours = [p for p in pages if p.relative_to(site.root).parts[0] != "gx"]
    gx_pages = [p for p in pages if p not in ours]
    gx_files = [p for p in (site.root / "gx").rglob("*") if p.is_file()]
    assert len(ours) == site.files - site.loads - len(gx_files)
    assert len(gx_pages) == site.gx_pages > 0
    from warehouse.connection import connect_reader

    con = connect_reader(settings.warehouse)
    try:
        runs = con.execute("select count(*) from ops.validation_run").fetchone()[0]
    finally:
        con.close()
    # one GX page per suite run on a load, plus GX's index
    assert len([p for p in gx_pages if "validations" in p.parts]) == runs > 10
    for p in ours:  # our pages: no script, no stylesheet link at all
        html = p.read_text()
        assert "<script" not in html, p
        assert "<link" not in html, p
        assert "@import" not in html, p
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), p
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", html), p
        assert "<!DOCTYPE svg" not in html, p
    # GX Data Docs: GX's own scripts and local stylesheet stay, nothing from outside; links
    # (<a href>) to GX's website load nothing and are allowed
    for p in [*gx_pages, *(site.root / "gx").rglob("*.css")]:
        text = re.sub(r"<a\b[^>]*>", "", p.read_text())
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), p
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), p
        assert not re.search(r"@import\s+(url\()?['\"]?(https?:)?//", text), p


def test_render_is_deterministic(review_site, tmp_path):
    from warehouse.reports.render import render_site

    settings, summaries, site = review_site
    again = render_site(settings, out_dir=tmp_path / "again")
    first = {p.relative_to(site.root): p.read_bytes() for p in site.root.rglob("*") if p.is_file()}
    second = {
        p.relative_to(again.root): p.read_bytes() for p in again.root.rglob("*") if p.is_file()
    }
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_every_table_and_column_is_documented_and_on_the_dictionary(review_site):
    from warehouse.connection import connect_reader
    from warehouse.reports.data import catalogue

    settings, summaries, site = review_site
    page = (site.root / "dictionary.html").read_text()
    con = connect_reader(settings.warehouse)
    try:
        tables = catalogue(con)
    finally:
        con.close()
    assert {t["schema_name"] for t in tables} == {"core", "marts", "ops"}
    for t in tables:
        name = f"{t['schema_name']}.{t['table_name']}"
        assert t["comment"], f"{name} has no comment"
        assert t["comment"].lower().startswith("one row per"), name
        assert f'data-table="{name}"' in page
        for c in t["columns"]:
            assert c["comment"], f"{name}.{c['column_name']} has no comment"


@pytest.mark.parametrize("index", range(7), ids=lambda i: f"example-{i}")
def test_dictionary_example_queries_run(review_site, index):
    from warehouse.connection import connect_reader
    from warehouse.reports.data import EXAMPLE_QUERIES

    settings, summaries, site = review_site
    title, sql = EXAMPLE_QUERIES[index]
    con = connect_reader(settings.warehouse)
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    assert rows, f"{title}: no rows"
    page = (site.root / "dictionary.html").read_text()
    assert f'data-example-query="{index + 1}"' in page


def test_duplication_report_numbers_come_from_the_marts(review_site):
    from warehouse.connection import connect_reader

    settings, summaries, site = review_site
    html = (site.root / "duplication.html").read_text()
    for fig in (
        "figure-shared-suppliers",
        "figure-suppliers-by-body-count",
        "figure-unit-cost",
        "figure-saving-by-function",
    ):
        block = html.split(f'id="{fig}"', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in block and "<path" in block, fig
    con = connect_reader(settings.warehouse)
    try:
        suppliers = con.execute(
            "select supplier_id, total_gbp, body_count from marts.mart_shared_suppliers"
        ).fetchall()
        savings = dict(
            con.execute(
                "select back_office_function, sum(estimated_annual_saving_gbp) "
                "from marts.mart_function_cost group by 1"
            ).fetchall()
        )
        kinds = dict(
            con.execute(
                "select kind, count(*) from marts.mart_duplicate_payments group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    assert suppliers and savings and kinds
    for supplier_id, total, bodies in suppliers:
        row = re.search(rf'<tr data-supplier-id="{re.escape(supplier_id)}">(.*?)</tr>', html, re.S)
        assert row, supplier_id
        assert f'data-metric="total_gbp" data-value="{total}"' in row.group(1)
        assert f'data-metric="body_count" data-value="{bodies}"' in row.group(1)
    for fn, saving in savings.items():
        row = re.search(rf'<tr data-function="{fn}"><td>{fn}</td>(.*?)</tr>', html, re.S)
        assert Decimal(re.search(r'data-value="([^"]+)"', row.group(1)).group(1)) == saving
    for kind, pairs in kinds.items():
        assert re.search(rf'data-kind="{kind}">.*?data-value="{pairs}"', html, re.S)
