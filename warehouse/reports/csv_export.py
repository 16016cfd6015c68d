"""Quarantined rows as a CSV a data owner can open in a spreadsheet, correct and send back.

A spreadsheet runs a cell as a formula when it starts with ``=``, ``+``, ``-`` or ``@`` (and some
treat a leading tab or carriage return the same way), so a raw value such as
``=cmd|' /C calc'!A0`` sent in an extract could run on the owner's machine. Such cells are
neutralised with a leading apostrophe (OWASP's advice), except plain numbers: ``-1200.50``,
``+3``, ``-£81,770.30`` and ``(500.00)`` stay numbers the owner can still add up.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain amount: optional sign, optional pound sign, digits (thousands commas allowed),
#: optional decimals. Nothing else, so no function call or cell reference can hide in it.
_PLAIN_NUMBER = re.compile(r"^[+-]?£?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$")

#: Columns ngss adds before the row's own values.
LEAD_COLUMNS = ("source_line", "rules_broken", "reason")


def neutralise(value: Any) -> str:
    """The text of one cell, made safe to open in a spreadsheet.

    >>> neutralise("=cmd|' /C calc'!A0")
    "'=cmd|' /C calc'!A0"
    >>> neutralise("-1200.50")
    '-1200.50'
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def quarantine_csv(rows: Iterable[dict[str, Any]]) -> str:
    """CSV text of quarantined rows (dicts with ``source_line``, ``rule_ids``, ``reason``,
    ``raw_json``): ngss's three lead columns, then every source column in the order first seen.
    Every cell, headers included, goes through :func:`neutralise`."""
    rows = list(rows)
    parsed = [json.loads(r["raw_json"]) if r.get("raw_json") else {} for r in rows]
    columns: list[str] = []
    seen: set[str] = set()
    for raw in parsed:
        for key in raw:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in (*LEAD_COLUMNS, *columns)])
    for row, raw in zip(rows, parsed, strict=True):
        rules = row.get("rule_ids") or []
        writer.writerow(
            [
                neutralise(row.get("source_line")),
                neutralise(" ".join(rules)),
                neutralise(row.get("reason")),
                *(neutralise(raw.get(c)) for c in columns),
            ]
        )
    return out.getvalue()
