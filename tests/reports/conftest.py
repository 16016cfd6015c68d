"""A small warehouse for the review site: real bundled files of two bodies (Craven's totals row,
the FCO's spend), a rejected file for the Cabinet Office, and generated payroll, HR and
accounts-payable extracts of three bodies so the duplication marts have findings.

Built once per worker (``xdist_group("reports")`` keeps the tests that share it on one worker).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = PROJECT_ROOT / "data" / "sample"
CRAVEN = "craven-district-council__spend"
FCO = "fco__spend"
REJECTED = "cabinet-office__spend"
SYNTH_BODIES = ["hmrc", "dwp", "dft"]

#: A Cabinet Office "spend over £25,000" file without the columns the domain requires.
BROKEN_FILE = "Department,Note\r\nCabinet Office,amounts withheld this month\r\n"


def make_landing(root: Path) -> Path:
    """A landing folder holding only the files these tests load."""
    craven = root / "spend" / "craven-district-council"
    craven.mkdir(parents=True)
    shutil.copy(SAMPLE / "spend" / "craven-district-council" / "payments.csv", craven)
    fco = root / "spend" / "foreign-commonwealth-office"
    fco.mkdir(parents=True)
    for f in (SAMPLE / "spend" / "foreign-commonwealth-office").glob("*_Spend_Report_*.csv"):
        shutil.copy(f, fco)
    co = root / "spend" / "cabinet-office"
    co.mkdir(parents=True)
    (co / "012016_January_2016_-_25k.csv").write_bytes(BROKEN_FILE.encode())
    return root


@pytest.fixture(scope="session")
def review_site(request, tmp_path_factory):
    """``(settings, summaries, site)``: the warehouse loaded and the site rendered.

    ``tests/browser`` imports this fixture too; the value is kept on the pytest config so the
    warehouse is built once per worker whichever folder asks first (tests must not change it).
    """
    built = getattr(request.config, "_ngss_review_site", None)
    if built is None:
        built = _build_review_site(tmp_path_factory)
        request.config._ngss_review_site = built
    return built


def _build_review_site(tmp_path_factory):
    from transforms import generate as gen
    from transforms import pipeline
    from transforms.config import load_registry
    from transforms.privacy import ENV_KEY
    from transforms.settings import Settings
    from warehouse.reports.render import render_site

    home = tmp_path_factory.mktemp("ngss-review")
    landing = make_landing(tmp_path_factory.mktemp("landing"))
    settings = Settings.from_env(
        home=home,
        landing=landing,
        config=PROJECT_ROOT / "config",
        warehouse=home / "warehouse.duckdb",
    )
    os.environ.setdefault(ENV_KEY, "5e" * 32)
    os.environ.pop("NGSS_SMTP_HOST", None)
    gen.generate(
        settings.generated, settings.config, SYNTH_BODIES, gen.parse_months("2025-01"), 4242, 0.05
    )
    registry = load_registry(settings.config)
    ids = [CRAVEN, FCO, REJECTED] + sorted(
        sid
        for sid, s in registry.sources.items()
        if s.pull.root == "generated" and s.body in SYNTH_BODIES
    )
    summaries = [s for sid in ids for s in pipeline.load_source(settings, sid)]
    pipeline.build_marts(settings)
    site = render_site(settings)
    return settings, summaries, site
