"""Fault injection for retry tests: make one task try fail, once, on purpose.

Off unless ``NGSS_FAIL_ONCE_DIR`` is set (never in production). When it is, a task calling
:func:`fail_once` fails if ``$NGSS_FAIL_ONCE_DIR/<dag_id>.<task_id>.<when>`` exists, deleting
the file first, so exactly one try fails and Airflow's retry then runs the task for real.
``when`` is ``before`` (the task fails before it does anything) or ``after`` (it fails after its
work is done and committed: a retry must then redo it without double-counting).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "NGSS_FAIL_ONCE_DIR"


class InjectedFailure(RuntimeError):
    """The failure a test asked for."""


def fail_once(when: str) -> None:
    folder = os.environ.get(ENV)
    if not folder:
        return
    from airflow.sdk import get_current_context

    ti = get_current_context()["ti"]
    marker = Path(folder) / f"{ti.dag_id}.{ti.task_id}.{when}"
    try:
        marker.unlink()
    except FileNotFoundError:
        return
    raise InjectedFailure(f"injected failure {when} {ti.task_id} (try {ti.try_number}) via {ENV}")
