"""Unit tests of transforms.parse: amounts, dates, numbers and codes as UK bodies write them."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from transforms.parse import (
    clean_code,
    clean_text,
    parse_amount_text,
    parse_amounts,
    parse_date_text,
    parse_dates,
    parse_number_text,
)

DMY = ("%d/%m/%Y",)


def _values(series: pd.Series) -> list:
    """Series values with every missing marker (None, NaN, <NA>) as None."""
    return [None if pd.isna(v) else v for v in series.tolist()]


# ------------------------------------------------------------------------------ amounts
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("£25,202.11", "25202.11", id="pound-and-thousands"),
        pytest.param("-£81,770.30", "-81770.30", id="minus-before-pound"),
        pytest.param("£-6.18", "-6.18", id="minus-after-pound"),
        pytest.param("29,512,539.75", "29512539.75", id="millions-commas"),
        pytest.param("25202.11", "25202.11", id="plain"),
        pytest.param("25,202.11\u00a0", "25202.11", id="trailing-nbsp"),
        pytest.param("\u00a0 25,202.11 ", "25202.11", id="leading-nbsp-and-spaces"),
        pytest.param(" 75.10 ", "75.10", id="surrounding-spaces"),
        pytest.param("(500.00)", "-500.00", id="accounting-brackets"),
        pytest.param("(£89.99)", "-89.99", id="brackets-around-pound"),
        pytest.param("150.00 CR", "-150.00", id="credit-suffix"),
        pytest.param("150.00cr", "-150.00", id="credit-suffix-lower-case"),
        pytest.param("£25,000", "25000.00", id="whole-pounds"),
        pytest.param("12.5", "12.50", id="one-decimal-place"),
        pytest.param("1,000,000", "1000000.00", id="whole-million"),
        pytest.param("£0.00", "0.00", id="real-zero"),
        pytest.param("-0.00", "0.00", id="negative-zero-is-zero"),
        pytest.param("0042.10", "42.10", id="leading-zeros"),
        pytest.param("Â£5.00", "5.00", id="utf8-pound-read-as-cp1252"),
    ],
)
def test_parse_amount_text_accepts(text: str, expected: str) -> None:
    assert parse_amount_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("TBC", id="words"),
        pytest.param("1.234,56", id="european-decimal-comma"),
        pytest.param("12.345", id="three-decimal-places"),
        pytest.param("", id="blank"),
        pytest.param("   ", id="spaces-only"),
        pytest.param("\u00a0", id="nbsp-only"),
        pytest.param(None, id="none"),
        pytest.param("12,34.00", id="misplaced-thousands-comma"),
        pytest.param("1,2345.00", id="thousands-group-of-four"),
        pytest.param("(500.00", id="unbalanced-bracket"),
        pytest.param("-(500.00)", id="minus-and-brackets"),
        pytest.param("(150.00) CR", id="brackets-and-credit"),
        pytest.param("£", id="pound-only"),
        pytest.param("$120.00", id="other-currency"),
        # A single U+FFFD in front of the figure is NOT unambiguously a lost pound sign: in a
        # cp1252 file read upstream as UTF-8 with replacement, 0xA3 (£), 0x96 (en dash, used
        # as a minus) and 0x80 (€) all become exactly one U+FFFD. Reading it as £120 may flip
        # the sign or the currency; the module's own rule is that a value that could mean two
        # things is unparseable, so the row goes to quarantine with its raw text.
        pytest.param("\ufffd120", id="damaged-pound-is-ambiguous"),
    ],
)
def test_parse_amount_text_rejects(text: str | None) -> None:
    assert parse_amount_text(text) is None


def test_parse_amount_text_pound_before_accounting_brackets() -> None:
    """Case 04 (JNL-25-0305): ``£(3,450.75)`` is -3450.75, like ``(£89.99)`` is -89.99."""
    assert parse_amount_text("£(3,450.75)") == "-3450.75"


def test_parse_amounts_series_keeps_positions_and_blanks() -> None:
    raw = pd.Series(["£1,000.00", "", None, "TBC", "£1,000.00", "(2.50)"], dtype="string")
    out = parse_amounts(raw)
    assert out.dtype == "str"  # pandas' text dtype, missing as NaN
    assert _values(out) == ["1000.00", None, None, None, "1000.00", "-2.50"]


# -------------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        pytest.param("1/6/2015", DMY, date(2015, 6, 1), id="unpadded-day-first"),
        pytest.param("12/04/2025", DMY, date(2025, 4, 12), id="ambiguous-read-day-first"),
        pytest.param("01/04/2025", DMY, date(2025, 4, 1), id="first-of-april-not-january"),
        pytest.param("05-Apr-12", ("%d-%b-%y",), date(2012, 4, 5), id="two-digit-year-month-name"),
        pytest.param("02-Sep-2013", ("%d-%b-%Y",), date(2013, 9, 2), id="four-digit-year-month-name"),
        pytest.param("02-Sep-2013", (*DMY, "%d-%b-%y", "%d-%b-%Y"), date(2013, 9, 2), id="formats-in-order"),
        pytest.param("2025-04-01", DMY, date(2025, 4, 1), id="iso-always-accepted"),
        pytest.param(" '30/04/2025' ", DMY, date(2025, 4, 30), id="quoted-and-spaced"),
        pytest.param("41364", DMY, date(2013, 3, 31), id="excel-serial"),
        pytest.param("41364.5", DMY, date(2013, 3, 31), id="fractional-serial-is-a-date-time"),
        pytest.param("29952", DMY, date(1982, 1, 1), id="serial-window-first-day"),
        pytest.param("60267", DMY, date(2064, 12, 31), id="serial-window-last-day"),
    ],
)
def test_parse_date_text_accepts(text: str, formats: tuple[str, ...], expected: date) -> None:
    assert parse_date_text(text, formats) == expected


@pytest.mark.parametrize(
    ("text", "formats"),
    [
        pytest.param("31/04/2025", DMY, id="no-31-april-never-rolled-over"),
        pytest.param("04/13/2025", DMY, id="month-13-never-flipped"),
        pytest.param("29/02/2025", DMY, id="not-a-leap-year"),
        pytest.param("05-Apr-12", DMY, id="format-not-configured"),
        pytest.param("", DMY, id="blank"),
        pytest.param(None, DMY, id="none"),
        pytest.param("TBC", DMY, id="words"),
        pytest.param("29951", DMY, id="serial-before-window"),
        # parse.py documents the serial window as 1982-01-01 .. 2064-12-31 (serial 60267).
        pytest.param("60268", DMY, id="serial-after-window"),
        pytest.param("2015", DMY, id="bare-year"),
        pytest.param("123", DMY, id="small-number"),
        pytest.param("99999", DMY, id="large-number"),
    ],
)
def test_parse_date_text_rejects(text: str | None, formats: tuple[str, ...]) -> None:
    assert parse_date_text(text, formats) is None


def test_parse_dates_series() -> None:
    raw = pd.Series(["01/04/2025", "04/13/2025", "", "01/04/2025", "41364"], dtype="string")
    assert _values(parse_dates(raw, DMY)) == [date(2025, 4, 1), None, None, date(2025, 4, 1), date(2013, 3, 31)]


# ------------------------------------------------------------------- numbers and codes
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("5,847", 5847.0, id="thousands"),
        pytest.param("0.6", 0.6, id="fraction"),
        pytest.param("-3", -3.0, id="negative"),
        pytest.param("-", None, id="dash"),
        pytest.param("N/D", None, id="withheld-marker"),
        pytest.param("", None, id="blank"),
    ],
)
def test_parse_number_text(text: str, expected: float | None) -> None:
    assert parse_number_text(text) == expected


def test_clean_code_keeps_leading_zeros_and_width() -> None:
    raw = pd.Series(["0012", " 000388 ", "12", "", "\u00a0", None], dtype="string")
    assert _values(clean_code(raw)) == ["0012", "000388", "12", None, None, None]


def test_clean_text_trims_nbsp() -> None:
    raw = pd.Series(["\u00a0Café Lumière Ltd\u00a0", "  "], dtype="string")
    assert _values(clean_text(raw)) == ["Café Lumière Ltd", None]


def test_spreadsheet_amounts_fall_back_to_floats_rounded_to_pence():
    """A workbook cell holds a binary float (32489663.800000004): where the amount parser says
    no, the number is taken when it is pounds and pence give or take float noise; a third
    decimal (12.345) stays unparseable, as in a CSV."""
    from types import SimpleNamespace

    import pandas as pd

    from transforms.stage import _typed

    source = SimpleNamespace(values=SimpleNamespace(decimal_comma=False))
    raw = pd.Series(
        ["32489663.800000004", "12.345", "1,234.50", "", "abc", "7", "0.1000000001"],
        dtype="string",
    )
    sheet = _values(_typed("amount", raw, source, from_sheet=True))
    assert sheet == ["32489663.80", None, "1234.50", None, None, "7.00", "0.10"]
    csv = _values(_typed("amount", raw, source, from_sheet=False))
    assert csv == [None, None, "1234.50", None, None, "7.00", None]


def test_amounts_and_text_of_a_column_in_several_chunks():
    """Columns read in several Arrow blocks parse as one (the values at their own rows)."""
    raw = pd.concat(
        [pd.Series(["£1,000.00", " x "], dtype="str"), pd.Series(["(2.50)"], dtype="str")],
        ignore_index=True,
    )
    assert _values(parse_amounts(raw)) == ["1000.00", None, "-2.50"]
    assert _values(clean_text(raw)) == ["£1,000.00", "x", "(2.50)"]


def test_spreadsheet_amounts_beyond_sixteen_digits_are_unparseable():
    """A workbook float of 10^17 pounds does not fit DECIMAL(18,2): unparseable (the row is
    quarantined), as the same text in a CSV is, never a crash or a wrapped integer."""
    from types import SimpleNamespace

    from transforms.stage import _pence, _round_pence, _typed

    assert _round_pence(1e17) is None and _round_pence(-1e16) is None
    assert _round_pence(9_999_999_999_999.99) == "9999999999999.99"
    source = SimpleNamespace(values=SimpleNamespace(decimal_comma=False))
    raw = pd.Series(["100000000000000000", "1" * 16, "12.5"], dtype="string")
    assert _values(_typed("amount", raw, source, from_sheet=True)) == [
        None,
        "1" * 16 + ".00",
        "12.50",
    ]
    pence = _pence(pd.Series(["100000000000000000.00", "1" * 16 + ".00", "-0.05", None]))
    assert _values(pence) == [None, int("1" * 16 + "00"), -5, None]
