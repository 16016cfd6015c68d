"""Load the Great Expectations suites kept as JSON in ``expectations/suites/``.

Suites are data: ``file.json`` (file-level rules shared by every domain) and
``<domain>.row.json`` (row-level rules). Each expectation's ``meta`` carries ``rule_id``,
``level`` (``file`` or ``row``), ``description`` (plain English, shown to data owners),
``how_to_fix`` and ``source`` (where the rule comes from).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SUITES_DIR = Path(__file__).resolve().parent / "suites"
REQUIRED_META = ("rule_id", "level", "description", "how_to_fix", "source")


@cache
def suite_dict(name: str) -> dict[str, Any]:
    """The suite ``name`` (e.g. ``spend.row``) as a dict; raises ``FileNotFoundError`` if absent
    and ``ValueError`` if an expectation lacks a required meta key."""
    data = json.loads((SUITES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    for exp in data["expectations"]:
        missing = [k for k in REQUIRED_META if k not in exp.get("meta", {})]
        if missing:
            raise ValueError(f"suite {name}: expectation {exp['type']} lacks meta {missing}")
    return data


def rule_catalogue() -> dict[str, dict[str, Any]]:
    """Every rule id in every suite -> its meta (description, how to fix, level, source)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(SUITES_DIR.glob("*.json")):
        for exp in suite_dict(path.stem)["expectations"]:
            out[exp["meta"]["rule_id"]] = dict(exp["meta"])
    return out
