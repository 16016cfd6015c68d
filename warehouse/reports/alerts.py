"""E-mail a source's owner when a load is rejected or quarantines more than the source tolerates.

The owner's name and address come from the source registry (``owner``), the tolerated share from
``tolerance.max_quarantine_share``. The mail server comes from the Airflow connection
``ngss_smtp`` (looked up inside the task, never at parse time: host, port, login, password;
extras ``from_email``, ``disable_tls``, ``disable_ssl``), else for the CLI from the environment:
``NGSS_SMTP_HOST``, ``NGSS_SMTP_PORT`` (default 25), ``NGSS_SMTP_FROM``, ``NGSS_SMTP_USER``,
``NGSS_SMTP_PASSWORD``, ``NGSS_SMTP_STARTTLS`` (``1`` to upgrade). With neither, no mail is sent
and the alert is only logged.

The message gives the counts, the broken file rule if any and a link to the load's review page
(``NGSS_REPORTS_URL`` when the site is served, else a file URI under ``$NGSS_HOME/reports``).
"""

from __future__ import annotations

import logging
import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from transforms.settings import Settings

log = logging.getLogger(__name__)

SMTP_CONN_ID = "ngss_smtp"
DEFAULT_SENDER = "ngss-alerts@localhost"


@dataclass(frozen=True)
class SmtpTarget:
    """Where to send mail."""

    host: str
    port: int = 25
    sender: str = DEFAULT_SENDER
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False


def smtp_from_env() -> SmtpTarget | None:
    """The mail server named by ``NGSS_SMTP_*``, or None when ``NGSS_SMTP_HOST`` is unset."""
    host = os.environ.get("NGSS_SMTP_HOST")
    if not host:
        return None
    return SmtpTarget(
        host=host,
        port=int(os.environ.get("NGSS_SMTP_PORT", "25")),
        sender=os.environ.get("NGSS_SMTP_FROM", DEFAULT_SENDER),
        user=os.environ.get("NGSS_SMTP_USER") or None,
        password=os.environ.get("NGSS_SMTP_PASSWORD") or None,
        starttls=os.environ.get("NGSS_SMTP_STARTTLS", "") == "1",
    )


def smtp_from_airflow(conn_id: str = SMTP_CONN_ID) -> SmtpTarget | None:
    """The Airflow SMTP connection ``conn_id`` (call inside a task), else :func:`smtp_from_env`."""
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception as exc:  # not defined (AirflowNotFoundException) or no Airflow at all
        log.info("no Airflow connection %s (%s); using NGSS_SMTP_* if set", conn_id, exc)
        return smtp_from_env()
    extra = conn.extra_dejson or {}

    def flag(name: str) -> bool:
        return str(extra.get(name, "")).lower() in ("1", "true", "yes")

    return SmtpTarget(
        host=conn.host or "localhost",
        port=int(conn.port or 25),
        sender=extra.get("from_email") or DEFAULT_SENDER,
        user=conn.login or None,
        password=conn.password or None,
        starttls=not flag("disable_tls") and bool(extra.get("starttls", False)),
        ssl=not flag("disable_ssl") and bool(extra.get("ssl", False)),
    )


def needs_alert(summary: dict[str, Any], max_share: float) -> str | None:
    """Why a load's owner must be told, or None: rejected, or more quarantined than tolerated."""
    if summary["status"] == "rejected":
        rule = summary.get("reject_rule") or "a file rule"
        return f"rejected ({rule})"
    read = summary.get("rows_read") or 0
    if read and summary["rows_quarantined"] / read > max_share:
        return (
            f"{summary['rows_quarantined'] / read:.1%} of rows quarantined, "
            f"above the tolerated {max_share:.0%}"
        )
    return None


def build_alerts(
    settings: Settings, summaries: list[dict[str, Any]], sender: str = DEFAULT_SENDER
) -> list[EmailMessage]:
    """One message per load that needs an alert, to its source's owner."""
    from transforms.config import load_registry
    from warehouse.reports.render import body_page_url, load_page_url

    registry = load_registry(settings.config)
    messages = []
    for s in summaries:
        source = registry.sources.get(s.get("source_id", ""))
        if source is None:
            continue
        why = needs_alert(s, source.tolerance.max_quarantine_share)
        if why is None:
            continue
        file = s.get("file_name", "?") + (f" [{s['sheet']}]" if s.get("sheet") else "")
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = f"{source.owner.name} <{source.owner.email}>"
        msg["Subject"] = f"[ngss] {source.title}: {file} {why}"
        lines = [
            f"Dear {source.owner.name},",
            "",
            f"Your file {file} for {source.title} (source {source.source_id}, "
            f"period {s.get('period') or 'not known'}) was {why}.",
            "",
            f"Rows read:        {s['rows_read']}",
            f"Rows published:   {s['rows_published']}",
            f"Rows quarantined: {s['rows_quarantined']}",
            f"Tolerated share:  {source.tolerance.max_quarantine_share:.0%}",
        ]
        if s.get("reject_rule"):
            lines += ["", f"Rule: {s['reject_rule']}", f"Detail: {s.get('reject_detail') or ''}"]
        if s["status"] == "rejected":
            lines += [
                "",
                "Nothing from this file was published; the previous data for the period stays.",
            ]
        lines += [
            "",
            "What each broken rule means, how to fix it and the failing rows (with a CSV to correct):",
            load_page_url(settings, s["load_id"]),
            "",
            f"All loads of {source.body}: {body_page_url(settings, source.body)}",
            "",
            "Send the corrected file as before: it replaces this period on the next run.",
            "",
            "ngss",
        ]
        msg.set_content("\n".join(lines))
        msg["X-Ngss-Load-Id"] = s["load_id"]
        messages.append(msg)
    return messages


def send_alerts(
    settings: Settings, summaries: list[dict[str, Any]], smtp: SmtpTarget | None
) -> list[EmailMessage]:
    """Build and send the alerts for these load summaries; returns the messages built.

    With no mail server the alerts are logged and not sent. A mail failure is logged, never
    raised: the load is already published and must not be retried because of a mail server.
    """
    messages = build_alerts(settings, summaries, smtp.sender if smtp else DEFAULT_SENDER)
    if not messages:
        return messages
    if smtp is None:
        for m in messages:
            log.info("alert not sent (no SMTP configured) to %s: %s", m["To"], m["Subject"])
        owners = sorted({str(m["To"]) for m in messages})
        log.warning(
            "%d alert(s) not sent (no SMTP configured: set the ngss_smtp connection or "
            "NGSS_SMTP_HOST) for %d owner(s): %s",
            len(messages),
            len(owners),
            "; ".join(owners),
        )
        return messages
    try:
        cls = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
        with cls(smtp.host, smtp.port, timeout=30) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            for m in messages:
                client.send_message(m)
                log.info("alert sent to %s: %s", m["To"], m["Subject"])
    except (OSError, smtplib.SMTPException) as exc:
        log.error(
            "could not send %d alert(s) via %s:%s: %s", len(messages), smtp.host, smtp.port, exc
        )
    return messages
