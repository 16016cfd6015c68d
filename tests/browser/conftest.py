"""The review site of ``tests/reports`` opened in headless Chromium (Debian's ``chromium``,
installed here with apt when missing; a failure to install fails the tests, it never skips them).

One browser visits every page of the site once, over the DevTools protocol, with its network
log on; screenshots of the index, a body page with failures and the duplication report are saved
under ``test-artifacts/screenshots/`` (git-ignored) for people to look at, with the Great
Expectations Data Docs page of Craven's row suite run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.chromium import Chromium, PageVisit, ensure_chromium, net_log_requests
from tests.reports.conftest import CRAVEN, review_site  # noqa: F401  (the shared site)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
CRAVEN_BODY = CRAVEN.split("__")[0]

#: Pages photographed, by path inside the site, and the artefact's file name.
SHOTS = {
    "index.html": "index.png",
    f"bodies/{CRAVEN_BODY}.html": f"body-{CRAVEN_BODY}.png",
    "duplication.html": "duplication.png",
}
#: Also photographed: GX's Data Docs page of the row suite run on Craven's live load.
GX_SHOT = "gx-data-docs-craven.png"


def craven_gx_page(settings) -> str:
    """Path inside the site of the GX Data Docs page of the row suite on Craven's live load,
    as GX names it: ``gx/validations/spend/row/load-<load>/<run time>/<load>.html``."""
    from warehouse.connection import connect_reader

    con = connect_reader(settings.warehouse)
    try:
        load_id, run_time = con.execute(
            "select v.load_id, v.validated_at from ops.validation_run v "
            "join ops.partition p using (load_id) where p.source_id = ? and v.suite_name = 'spend.row'",
            [CRAVEN],
        ).fetchone()
    finally:
        con.close()
    stamp = run_time.strftime("%Y%m%dT%H%M%S.%fZ")
    return f"gx/validations/spend/row/load-{load_id}/{stamp}/{load_id}.html"


@dataclass
class BrowserRun:
    """Every page of the site as Chromium saw it."""

    root: Path
    visits: dict[str, PageVisit] = field(default_factory=dict)  # path inside the site -> visit
    net_log: list[dict] = field(default_factory=list)
    screenshots: dict[str, Path] = field(default_factory=dict)  # page -> PNG
    seconds: float = 0.0


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    try:
        return ensure_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def browser_run(review_site, chromium_binary, tmp_path_factory) -> BrowserRun:  # noqa: F811
    settings, summaries, site = review_site
    work = tmp_path_factory.mktemp("chromium")
    run = BrowserRun(root=site.root.resolve())
    pages = sorted(p.relative_to(run.root).as_posix() for p in run.root.rglob("*.html"))
    shots = {**SHOTS, craven_gx_page(settings): GX_SHOT}
    started = time.monotonic()
    browser = Chromium(chromium_binary, work, net_log=work / "net-log.json")
    try:
        for page in pages:
            shot = SCREENSHOTS / shots[page] if page in shots else None
            run.visits[page] = browser.visit((run.root / page).as_uri(), screenshot=shot)
            if shot is not None:
                run.screenshots[page] = shot
    finally:
        browser.close()
    run.seconds = time.monotonic() - started
    run.net_log = net_log_requests(work / "net-log.json")
    return run


@pytest.fixture()
def warehouse(review_site):  # noqa: F811
    """The review site's warehouse, read-only."""
    from warehouse.connection import connect_reader

    settings, summaries, site = review_site
    con = connect_reader(settings.warehouse)
    try:
        yield con
    finally:
        con.close()
