"""Which landing files a load run takes: the files of its period for backfills, else every file.

A load DAG's ``pull`` archives every file waiting in the source's landing folder, and a plain run
(scheduled, manual or asset-triggered) stages and publishes all of them: a late or corrected file
is always picked up by the next run, and republishing an unchanged file is a no-op (same
``load_id``, same rows, one more attempt in ``ops.load_log``).

A **backfill** is different: it asks for one run per period, so each run must load *its*
period's files, not the whole folder twelve times over. A run therefore takes only the files of
its period when

* it is a backfill run (``run_type == "backfill"``): the period is the calendar month of the
  run's logical date (``airflow backfill create --from-date 2025-01-01 --to-date 2025-12-01``
  on a ``@monthly`` DAG loads January to December 2025), or, when the timetable gives the run a
  real data interval (``create_cron_data_intervals``), the months of
  ``[data_interval_start, data_interval_end)``;
* or its ``conf`` names the period: ``{"period": "2025-03"}`` (any run type).

A file's period is read from its name, which is all ``pull`` knows before staging: the source's
own ``period.regex`` when ``period.source`` is ``filename``, else the first ``YYYY-MM``,
``YYYY_MM`` or ``YYYYMM`` in the name. A file whose name gives no period is kept (and logged): a
backfill never silently skips a file it cannot place; staging then finds its true period from
the content, and the partition it replaces is the one its content names. Parsing this module
imports nothing heavy (DAG-file contract).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

log = logging.getLogger(__name__)

_NAME_PERIOD = re.compile(r"(?<!\d)(20\d{2})[-_]?(0[1-9]|1[0-2])(?!\d)")


def _month(d: Any) -> date | None:
    if d is None:
        return None
    if isinstance(d, datetime):
        return date(d.year, d.month, 1)
    if isinstance(d, date):
        return date(d.year, d.month, 1)
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2}.*)?", str(d).strip())
    return date(int(m.group(1)), int(m.group(2)), 1) if m else None


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def run_periods(context: dict[str, Any]) -> set[date] | None:
    """The months (first days) this run loads, or ``None`` for every waiting file."""
    dag_run = context.get("dag_run")
    conf = dict(getattr(dag_run, "conf", None) or {})
    if conf.get("period"):
        month = _month(conf["period"])
        if month is None:
            raise ValueError(f"run conf period {conf['period']!r} is not YYYY-MM")
        return {month}
    run_type = str(
        getattr(getattr(dag_run, "run_type", None), "value", getattr(dag_run, "run_type", ""))
    )
    if run_type != "backfill":
        return None
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    first = _month(start) or _month(context.get("logical_date"))
    if first is None:
        return None
    if start is None or end is None or end <= start:
        return {first}  # a point in time (CronTriggerTimetable): the logical date's month
    months, m = set(), first
    while datetime(m.year, m.month, 1, tzinfo=end.tzinfo) < end:
        months.add(m)
        m = _next_month(m)
    return months


def name_period(file_name: str, regex: str | None = None) -> date | None:
    """The month a file's name carries (see the module docstring), or ``None``."""
    if regex:
        m = re.search(regex, file_name)
        if m:
            year = int(m.group("year"))
            year += 2000 if year < 100 else 0
            month = m.group("month")
            if month.isdigit():
                return date(year, int(month), 1)
            with_names = datetime.strptime(month[:3].title(), "%b")
            return date(year, with_names.month, 1)
    m = _NAME_PERIOD.search(file_name)
    return date(int(m.group(1)), int(m.group(2)), 1) if m else None


def select_for_run(
    archived: list[dict[str, Any]], context: dict[str, Any], regex: str | None = None
) -> list[dict[str, Any]]:
    """The archived files this run stages: all of them, or those of the run's periods."""
    periods = run_periods(context)
    if periods is None:
        return archived
    chosen, skipped = [], []
    for ref in archived:
        p = name_period(ref["file_name"], regex)
        if p is None:
            log.warning("%s: no period in the file name; loaded in this run", ref["file_name"])
        (chosen if p is None or p in periods else skipped).append(ref)
    log.info(
        "run periods %s: %d file(s) chosen, %d left for other periods",
        sorted(p.isoformat()[:7] for p in periods),
        len(chosen),
        len(skipped),
    )
    return chosen
