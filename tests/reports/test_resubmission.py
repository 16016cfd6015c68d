"""Resubmission through the downloaded CSV: Craven's quarantined totals row is corrected (removed,
as the rule's how-to-fix says), the corrected file replaces the partition on the next run, and
the body page shows which load replaced which; ``ngss review`` prints the same loads."""

from __future__ import annotations

import csv
import io
import shutil

from typer.testing import CliRunner

from tests.reports.conftest import CRAVEN, PROJECT_ROOT, SAMPLE


def test_corrected_file_replaces_the_partition_and_history_is_shown(tmp_path, monkeypatch):
    from transforms import pipeline
    from transforms.settings import Settings
    from warehouse.connection import connect_reader
    from warehouse.reports.render import render_site

    monkeypatch.delenv("NGSS_SMTP_HOST", raising=False)
    landing = tmp_path / "landing" / "spend" / "craven-district-council"
    landing.mkdir(parents=True)
    original = SAMPLE / "spend" / "craven-district-council" / "payments.csv"
    shutil.copy(original, landing / "payments.csv")
    settings = Settings.from_env(
        home=tmp_path / "home",
        landing=tmp_path / "landing",
        config=PROJECT_ROOT / "config",
        warehouse=tmp_path / "home" / "warehouse.duckdb",
    )
    (first,) = pipeline.load_source(settings, CRAVEN)
    assert (first["rows_published"], first["rows_quarantined"]) == (171, 1)
    pipeline.build_marts(settings)  # as the marts DAG does after every publish
    site = render_site(settings)

    # The data owner downloads the quarantined rows, and corrects the file: the totals row goes.
    text = (site.root / "loads" / f"{first['load_id']}.quarantine.csv").read_text()
    bad_lines = {int(r["source_line"]) for r in csv.DictReader(io.StringIO(text))}
    assert bad_lines == {173}
    raw = original.read_bytes()
    lines = raw.splitlines(keepends=True)
    corrected = b"".join(line for n, line in enumerate(lines, 1) if n not in bad_lines)
    (landing / "payments.csv").unlink()
    (landing / "payments_corrected.csv").write_bytes(corrected)

    (second,) = pipeline.load_source(settings, CRAVEN)
    assert second["status"] == "published"
    assert (second["rows_read"], second["rows_published"], second["rows_quarantined"]) == (
        171,
        171,
        0,
    )
    assert second["replaced_load_id"] == first["load_id"]
    pipeline.build_marts(settings)  # the rebuild that follows the publish refreshes what analysts read
    con = connect_reader(settings.warehouse)
    try:
        live = con.execute(
            "select load_id from ops.partition where source_id = ? and period = date '2017-03-01'",
            [CRAVEN],
        ).fetchone()[0]
        published = con.execute(
            "select count(*) from core.fct_spend where source_id = ?", [CRAVEN]
        ).fetchone()[0]
    finally:
        con.close()
    assert live == second["load_id"]
    assert published == 171

    site = render_site(settings)
    page = (site.root / "bodies" / "craven-district-council.html").read_text()
    assert (
        f'<tr data-load-id="{second["load_id"]}" data-period="2017-03-01" '
        f'data-replaced-load-id="{first["load_id"]}">'
    ) in page
    assert (
        f'<tr data-load-id="{first["load_id"]}" data-period="2017-03-01" data-replaced-load-id="">'
        in page
    )
    assert f"replaced <code>{first['load_id']}</code>" in page
    assert "payments_corrected.csv" in page

    # The terminal view of the same body.
    from transforms.cli import app, console

    monkeypatch.setattr(console, "width", 240)  # the console's width is fixed when imported
    monkeypatch.setenv("NGSS_HOME", str(settings.home))
    monkeypatch.setenv("NGSS_CONFIG", str(settings.config))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["review", "craven-district-council"])
    assert result.exit_code == 0, result.output
    assert "payments_corrected.csv" in result.output
    assert "spend.not_totals_row" not in result.output  # the live load broke no rule
    missing = CliRunner().invoke(app, ["review", "no-such-body"])
    assert missing.exit_code == 1
