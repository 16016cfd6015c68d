"""UK government reporting periods of a date (the Europe/London local date of a payment).

* Financial year: 1 April to 31 March, written ``2025/26``; periods ``P01`` (April) to ``P12``
  (March).
* Tax year (PAYE): 6 April to 5 April, written ``2025/26``; tax months ``M01`` (6 April to
  5 May) to ``M12`` (6 March to 5 April).

Dates must already be UK local dates: a date-time with a zone is converted once on read
(:func:`transforms.parse.parse_date_text`), a naive local time never is.
"""

from __future__ import annotations

from datetime import date


def _year_label(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def calendar_month(d: date) -> str:
    """``2025-04``."""
    return f"{d:%Y-%m}"


def financial_year(d: date) -> str:
    """``2025/26`` for 1 April 2025 .. 31 March 2026."""
    return _year_label(d.year if d.month >= 4 else d.year - 1)


def fy_period(d: date) -> str:
    """``P01`` (April) .. ``P12`` (March)."""
    return f"P{(d.month - 4) % 12 + 1:02d}"


def _tax_start_year(d: date) -> int:
    return d.year if (d.month, d.day) >= (4, 6) else d.year - 1


def tax_year(d: date) -> str:
    """``2025/26`` for 6 April 2025 .. 5 April 2026."""
    return _year_label(_tax_start_year(d))


def tax_month(d: date) -> str:
    """``M01`` (6 April .. 5 May) .. ``M12`` (6 March .. 5 April)."""
    month = d.month if d.day >= 6 else d.month - 1
    return f"M{(month - 4) % 12 + 1:02d}"


def periods(d: date) -> dict[str, str]:
    """Every period of ``d`` by name (the keys the failure-case bank uses)."""
    return {
        "local_date": d.isoformat(),
        "calendar_month": calendar_month(d),
        "financial_year": financial_year(d),
        "fy_period": fy_period(d),
        "tax_year": tax_year(d),
        "tax_month": tax_month(d),
    }
