"""``ngss review BODY`` and ``ngss report`` on the shared review warehouse."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.xdist_group("reports")


def test_review_prints_latest_loads_broken_rules_and_rows(review_site, monkeypatch):
    from transforms.cli import app, console

    monkeypatch.setattr(console, "width", 240)  # the console's width is fixed when imported
    settings, summaries, site = review_site
    monkeypatch.setenv("NGSS_HOME", str(settings.home))
    monkeypatch.setenv("NGSS_CONFIG", str(settings.config))
    monkeypatch.setenv("COLUMNS", "240")
    result = CliRunner().invoke(app, ["review", "craven-district-council"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Craven District Council" in out
    assert "craven-district-council__spend" in out
    assert "spend.not_totals_row (row): 1 rows" in out
    assert "line 173" in out and "726,583.94" in out
    assert "fco__spend" not in out


def test_report_command_writes_the_site(review_site, monkeypatch, tmp_path):
    from transforms.cli import app

    settings, summaries, site = review_site
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NGSS_HOME", str(home))
    monkeypatch.setenv("NGSS_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("COLUMNS", "240")
    result = CliRunner().invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    assert (home / "reports" / "index.html").exists()
    assert (home / "reports" / "bodies" / "craven-district-council.html").exists()
