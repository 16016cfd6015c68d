"""Vectorised parsers from source text to typed values, shared by every domain.

Each parser takes a pandas Series of ``str`` (as read: untrimmed, possibly empty) and returns
a Series of parsed values with ``<NA>``/``None`` where the text cannot be parsed, so that
validation can quarantine the row with the raw text kept. Nothing here guesses: a value that
could mean two things (``1.234,56``; ``04/13/2025``) is unparseable, never coerced.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

# Amounts as UK public bodies write them (case 04 and the bundled spend files):
#   25202.11  25,202.11  £25,202.11  -£81,770.30  £-6.18  (500.00)  £(3,450.75)  150.00 CR
# with stray spaces and non-breaking spaces. A replacement character (U+FFFD) is NOT read as a
# pound sign: the byte it replaced may as well have been an en dash used as a minus, or a euro.
_AMOUNT_RE = re.compile(
    r"""^(?P<cur0>£|GBP)?
        (?P<lpar>\()?
        (?P<sign1>[-+])?
        (?P<cur>£|Â£|GBP)?
        (?P<sign2>[-+])?
        (?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?
        (?:\.(?P<frac>[0-9]{1,2}))?
        (?P<rpar>\))?
        (?P<cr>CR|DR)?$""",
    re.VERBOSE | re.IGNORECASE,
)
# Digits separated by a space could be one number with spaced thousands ("100 200") or two
# numbers run together: ambiguous, so unparseable.
_DIGIT_SPACE_DIGIT = re.compile(r"[0-9][\s\u00a0\u2007\u202f]+[0-9.,]")
MAX_INTEGER_DIGITS = 16  # DECIMAL(18,2) holds 16 digits before the point
_SPACES_RE = re.compile(r"[\s\u00a0\u2007\u202f]+")
# The same, written with a decimal comma and dots between thousands: 1.234,56  -1.200,50  (500,00)
_AMOUNT_COMMA_RE = re.compile(
    r"""^(?P<cur0>£|GBP)?
        (?P<lpar>\()?
        (?P<sign1>[-+])?
        (?P<cur>£|GBP)?
        (?P<sign2>[-+])?
        (?P<int>[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)?
        (?:,(?P<frac>[0-9]{1,2}))?
        (?P<rpar>\))?
        (?P<cr>CR|DR)?$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_amount_text(text: str | None, decimal_comma: bool = False) -> str | None:
    """Parse one amount to a canonical decimal string with two places (``"-81770.30"``).

    Accepts thousands commas only in groups of three, at most two decimal places, a leading
    minus, a pound sign (before or after the sign or bracket), accounting brackets and a trailing ``CR``
    (credit, negative). Returns ``None`` for blanks and for anything else (``TBC``,
    ``1.234,56``, ``12.345``): the caller quarantines, never stores 0 or NULL silently.

    With ``decimal_comma`` the roles swap: ``1.234,56`` is 1234.56 and ``1,234.56`` is
    unparseable (a source declares one convention; a value in the other is never guessed).
    """
    if text is None:
        return None
    raw = str(text).strip()
    if _DIGIT_SPACE_DIGIT.search(raw):
        return None
    s = _SPACES_RE.sub("", raw)
    if not s:
        return None
    m = (_AMOUNT_COMMA_RE if decimal_comma else _AMOUNT_RE).match(s)
    if not m or (m["int"] is None and m["frac"] is None):
        return None
    if bool(m["lpar"]) != bool(m["rpar"]) or (m["cur0"] and m["cur"]):
        return None
    negative = (
        (m["sign1"] == "-")
        + (m["sign2"] == "-")
        + bool(m["lpar"])
        + ((m["cr"] or "").upper() == "CR")
    )
    if negative > 1:
        return None
    whole = (m["int"] or "0").replace(",", "").replace(".", "").lstrip("0") or "0"
    if len(whole) > MAX_INTEGER_DIGITS:
        return None
    frac = (m["frac"] or "").ljust(2, "0")
    out = f"{whole}.{frac}"
    return f"-{out}" if negative and out != "0.00" else out


def map_distinct(values: pd.Series, fn, dtype: str = "object") -> pd.Series:
    """Apply ``fn`` (text -> value) once per distinct text of ``values`` and spread the results
    back by position (``pd.factorize``); a missing value is passed to ``fn`` as ``""``.

    Returns a Series on ``values``' index of ``dtype`` (``object`` keeps ``None``).
    """
    codes, uniques = pd.factorize(values.astype("string").fillna(""), sort=False)  # no -1
    results = np.empty(len(uniques), dtype=object)
    results[:] = [fn(u) for u in uniques]
    out = pd.Series(results[codes], index=values.index, dtype=object)
    return out if dtype == "object" else out.astype(dtype)


#: The common shapes of an amount, read without the full parser: an optional minus, an
#: optional pound sign, whole pounds (thousands separated in groups of three, or plain with no
#: leading zero) and exactly two decimals: ``1234.56``, ``-£81,770.30``, ``25,202.11``; with a
#: decimal comma ``1.234,56``. Anything else goes through :func:`parse_amount_text`, and both
#: give the same answer (tests/transforms/test_parse_fast_path.py).
_PLAIN = r"0|[1-9][0-9]{0," + str(MAX_INTEGER_DIGITS - 1) + "}"


def _fast_amount_pattern(decimal_comma: bool) -> str:
    """The common shapes above as one pattern with groups ``neg``, ``int`` and ``frac``, in the
    syntax both Python's ``re`` and pyarrow's RE2 read."""
    sep, point = (r"\.", ",") if decimal_comma else (",", r"\.")
    return (
        r"^(?P<neg>-?)£?(?P<int>"
        + _PLAIN
        + r"|[1-9][0-9]{0,2}(?:"
        + sep
        + r"[0-9]{3}){1,4})"
        + point
        + r"(?P<frac>[0-9]{2})$"
    )


_FAST_AMOUNT = re.compile(_fast_amount_pattern(False))
_FAST_AMOUNT_COMMA = re.compile(_fast_amount_pattern(True))


def _amount_text(decimal_comma: bool):
    """:func:`parse_amount_text` for one convention, with the fast path above."""
    fast, sep = (_FAST_AMOUNT_COMMA, ".") if decimal_comma else (_FAST_AMOUNT, ",")

    def one(text: str) -> str | None:
        m = fast.match(text)
        if m is None:
            return parse_amount_text(text, decimal_comma)
        out = f"{m['int'].replace(sep, '')}.{m['frac']}"
        return f"-{out}" if m["neg"] and out != "0.00" else out

    return one


def arrow_text(values: pd.Series):
    """``values`` as one Arrow ``string`` array (chunks joined), null where missing (any text
    dtype in)."""
    import pyarrow as pa

    array = pa.array(values.astype("string"), type=pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def text_series(array, index: pd.Index) -> pd.Series:
    """An Arrow string array as a pandas ``str`` Series on ``index`` (null as NaN): the dtype
    pandas gives text columns, without a Python object per value."""
    return pd.Series(array.to_pandas().array, index=index, copy=False)


def parse_amounts(values: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Series version of :func:`parse_amount_text`: pandas ``str`` dtype, decimal strings with
    two places (``"-81770.30"``), missing (NaN) where the text is blank or not an amount.

    The common shapes (``1234.56``, ``-£81,770.30``: :data:`_FAST_AMOUNT`) are read in Arrow
    compute, column at a time (the pound sign and thousands separators dropped, ``-0.00``
    written ``0.00``); the other texts go through the parser once per distinct text and are
    spread back. Both give what :func:`parse_amount_text` gives
    (tests/transforms/test_parse_fast_path.py).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.fill_null(arrow_text(values), "")
    matched = pc.match_substring_regex(arr, _fast_amount_pattern(decimal_comma))
    out = pc.replace_substring(arr, "£", "")
    if decimal_comma:
        out = pc.replace_substring(pc.replace_substring(out, ".", ""), ",", ".")
    else:
        out = pc.replace_substring(out, ",", "")
    out = pc.if_else(pc.equal(out, "-0.00"), "0.00", out)
    if not pc.all(matched).as_py():
        others = pc.unique(pc.filter(arr, pc.invert(matched)))
        one = _amount_text(decimal_comma)
        parsed = pa.array([one(t) for t in others.to_pylist()], pa.string())
        out = pc.if_else(matched, out, pc.take(parsed, pc.index_in(arr, value_set=others)))
    return text_series(out, values.index)


_NUMBER_RE = re.compile(r"^-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]+)?$")
_NUMBER_COMMA_RE = re.compile(r"^-?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)?(,[0-9]+)?$")


def parse_number_text(text: str | None, decimal_comma: bool = False) -> float | None:
    """Parse a count or FTE (``5,847``, ``0.6``, ``1.0``, ``893.7739900000005``; with
    ``decimal_comma``, ``0,6`` and ``5.847``); None if not a number."""
    if text is None:
        return None
    s = _SPACES_RE.sub("", str(text))
    if not s or s in {"-", ".", ","}:
        return None
    if decimal_comma:
        if not _NUMBER_COMMA_RE.match(s):
            return None
        return float(s.replace(".", "").replace(",", "."))
    if not _NUMBER_RE.match(s):
        return None
    return float(s.replace(",", ""))


def parse_numbers(values: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Series version of :func:`parse_number_text` (Float64 with <NA>)."""
    return map_distinct(values, lambda u: parse_number_text(u, decimal_comma), "Float64")


EXCEL_EPOCH = date(1899, 12, 30)
UK_TZ = ZoneInfo("Europe/London")
# Serial day numbers for 1982-01-01 .. 2064-12-31: outside that a bare integer is not a date.
_SERIAL_MIN, _SERIAL_MAX = 29952, 60267


def parse_date_text(text: str | None, formats: tuple[str, ...]) -> date | None:
    """Parse one date, day first, with the source's formats in order, or an Excel serial.

    ``strptime`` is strict: ``31/04/2025`` and ``04/13/2025`` are rejected, never rolled over
    or read month first. Unpadded ``1/6/2015`` matches ``%d/%m/%Y``. Two-digit years
    (``%y``) follow Python: 00–68 are 20xx. Excel serial day numbers (``41364`` = 2013-03-31)
    are accepted whatever the formats, as spreadsheets export them mixed with text dates; a
    serial with a fraction (a date and time) gives its date, as does an ISO date-time.
    """
    from datetime import datetime

    if text is None:
        return None
    s = str(text).strip().strip("'").strip()
    if not s:
        return None
    serial = re.fullmatch(r"([0-9]{5})(\.[0-9]+)?", s)
    if serial and _SERIAL_MIN <= int(serial.group(1)) <= _SERIAL_MAX:
        # a serial with a fraction is a date and time: the date is its whole part
        return EXCEL_EPOCH + timedelta(days=int(serial.group(1)))
    iso = re.fullmatch(
        r"([0-9]{4}-[0-9]{2}-[0-9]{2})([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
        r"(Z|[+-][0-9]{2}:?[0-9]{2})?",
        s,
    )
    if iso and iso.group(5):
        # A date-time with a zone (`Z`, `+01:00`): converted once to the UK local date, the
        # date every period is assigned by (23:30Z on 31 March 2025 is 1 April in London).
        if not iso.group(2):
            return None
        try:
            moment = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.astimezone(UK_TZ).date()
    if iso:
        # A naive date-time is already UK wall-clock time: its date is taken as written, never
        # shifted (a nonexistent or repeated time at a clock change has an unambiguous date).
        # ISO dates (and date-times, as spreadsheets and Parquet export them) are unambiguous
        s = iso.group(1)
        formats = (*formats, "%Y-%m-%d")
    for fmt in formats:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


@lru_cache(maxsize=1 << 17)
def _date_memo(text: str, formats: tuple[str, ...]) -> date | None:
    return parse_date_text(text, formats)


def parse_dates(values: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """Series version of :func:`parse_date_text` (object dtype of ``datetime.date`` or None).

    Distinct texts are parsed once, and remembered for the process (131,072 texts at most):
    a payment file has a few dozen distinct dates, an HR extract thousands of start dates that
    come again in next month's extract."""
    formats = tuple(formats)
    return map_distinct(values, lambda u: _date_memo(u, formats))


def clean_text(values: pd.Series) -> pd.Series:
    """Trim whitespace (Unicode's, non-breaking spaces included); blank becomes missing.
    Returns a pandas ``str`` Series (missing as NaN)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.utf8_trim_whitespace(pc.replace_substring(arrow_text(values), "\u00a0", " "))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return text_series(arr, values.index)


def clean_code(values: pd.Series) -> pd.Series:
    """Codes are text exactly as sent (leading zeros kept), trimmed; blank becomes missing
    (a pandas ``str`` Series, see :func:`clean_text`)."""
    return clean_text(values)
