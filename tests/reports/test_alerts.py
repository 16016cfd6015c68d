"""Alerts: a rejected file's owner receives an e-mail on a local SMTP server (aiosmtpd) with the
counts and the link to the load's page; through NGSS_SMTP_* (CLI) and the Airflow connection."""

from __future__ import annotations

import email
import socket
import time
from email import policy

import pytest

from tests.reports.conftest import PROJECT_ROOT, REJECTED, make_landing


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _wait(inbox, n=1, timeout=10.0):
    end = time.monotonic() + timeout
    while len(inbox.messages) < n and time.monotonic() < end:
        time.sleep(0.05)
    return inbox.messages


def test_rejected_load_emails_the_owner(tmp_path, monkeypatch, smtp_server):
    from transforms import pipeline
    from transforms.settings import Settings
    from warehouse.reports.render import render_site

    inbox, port = smtp_server
    monkeypatch.setenv("NGSS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NGSS_SMTP_PORT", str(port))
    monkeypatch.setenv("NGSS_SMTP_FROM", "ngss-alerts@example.gov.uk")
    monkeypatch.delenv("NGSS_REPORTS_URL", raising=False)
    landing = make_landing(tmp_path / "landing")
    settings = Settings.from_env(
        home=tmp_path / "home",
        landing=landing,
        config=PROJECT_ROOT / "config",
        warehouse=tmp_path / "home" / "warehouse.duckdb",
    )
    (summary,) = pipeline.load_source(settings, REJECTED)
    assert summary["status"] == "rejected"
    (mail_from, rcpts, msg) = _wait(inbox)[0]
    assert mail_from == "ngss-alerts@example.gov.uk"
    assert rcpts == ["spend.transparency@cabinetoffice.gov.uk"]
    assert "Cabinet Office Finance - Transparency" in msg["To"]
    assert "rejected (file.no_header)" in msg["Subject"]
    body = msg.get_content()
    assert "Rows read:        0" in body
    assert "Rows quarantined: 0" in body
    assert "Rule: file.no_header" in body
    link = f"{(settings.home / 'reports').as_uri()}/loads/{summary['load_id']}.html"
    assert link in body
    # The link points at a page the site renders.
    render_site(settings)
    assert (settings.home / "reports" / "loads" / f"{summary['load_id']}.html").exists()


def test_published_load_within_tolerance_sends_nothing(tmp_path, monkeypatch, smtp_server):
    from transforms import pipeline
    from transforms.settings import Settings

    inbox, port = smtp_server
    monkeypatch.setenv("NGSS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NGSS_SMTP_PORT", str(port))
    settings = Settings.from_env(home=tmp_path, config=PROJECT_ROOT / "config")
    summary = {
        "load_id": "0123456789abcdef",
        "source_id": "craven-district-council__spend",
        "status": "published",
        "rows_read": 172,
        "rows_published": 171,
        "rows_quarantined": 1,
        "file_name": "payments.csv",
        "sheet": None,
        "period": "2017-03-01",
    }
    assert pipeline.alert_owners(settings, [summary]) == 0
    over = {**summary, "rows_published": 100, "rows_quarantined": 72}
    assert pipeline.alert_owners(settings, [over]) == 1
    (_, rcpts, msg) = _wait(inbox)[0]
    assert rcpts == ["spend.transparency@cravendc.gov.uk"]
    assert "41.9% of rows quarantined, above the tolerated 25%" in msg["Subject"]
    assert "Rows quarantined: 72" in msg.get_content()


def test_airflow_connection_is_used_inside_the_task(tmp_path, monkeypatch, smtp_server):
    from transforms import pipeline
    from transforms.settings import Settings
    from warehouse.reports.alerts import smtp_from_airflow

    inbox, port = smtp_server
    monkeypatch.delenv("NGSS_SMTP_HOST", raising=False)
    monkeypatch.setenv("NGSS_REPORTS_URL", "https://ngss.example.gov.uk/reports/")
    monkeypatch.setenv(
        "AIRFLOW_CONN_NGSS_SMTP", f"smtp://127.0.0.1:{port}?from_email=airflow%40example.gov.uk"
    )
    target = smtp_from_airflow()
    assert (target.host, target.port, target.sender) == (
        "127.0.0.1",
        port,
        "airflow@example.gov.uk",
    )
    settings = Settings.from_env(home=tmp_path, config=PROJECT_ROOT / "config")
    summary = {
        "load_id": "fedcba9876543210",
        "source_id": REJECTED,
        "status": "rejected",
        "rows_read": 0,
        "rows_published": 0,
        "rows_quarantined": 0,
        "file_name": "x.csv",
        "sheet": None,
        "period": None,
        "reject_rule": "file.no_header",
        "reject_detail": "no header",
    }
    pipeline.alert_owners(settings, [summary], target)
    (mail_from, _, msg) = _wait(inbox)[0]
    assert mail_from == "airflow@example.gov.uk"
    assert "https://ngss.example.gov.uk/reports/loads/fedcba9876543210.html" in msg.get_content()
