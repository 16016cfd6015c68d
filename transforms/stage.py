"""Stage one read table: map columns, parse types, derive the columns validation checks.

``stage_table`` turns a :class:`~transforms.rawtable.RawTable` into a *staged frame*: one row
per source row, the domain's canonical fields typed (``None`` where the text could not be
parsed), plus helper columns the row suites check (``is_totals_row``, ``has_extra_cells``,
``entity_code``, ``senior_fte`` ...). Validation then decides which rows publish.

Staged frame columns (pandas, object dtype unless noted):

* ``source_line`` (int64): physical line of the record in the file.
* every canonical field of the domain (text as ``str``; ``amount`` fields as decimal strings
  with two places, e.g. ``"-81770.30"``; ``date`` fields as ``datetime.date``; ``number``
  fields as Float64).
* domain extras, see :func:`_spend`, :func:`_posts` and :func:`_workforce`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms.config import DomainSpec, SourceSpec, normalise_label
from transforms.parse import (
    MAX_INTEGER_DIGITS,
    clean_code,
    clean_text,
    map_distinct,
    parse_amounts,
    parse_dates,
    parse_number_text,
    parse_numbers,
)
from transforms.rawtable import RawTable
from transforms.resolve import OrganisationResolver, is_redacted_payee, supplier_key


@dataclass
class ColumnMap:
    """How a table's source columns map to the domain's fields.

    Attributes:
        fields: canonical field -> source column name.
        missing_required: required fields with no source column (file-level rejection).
        unexpected: source columns holding data that are neither mapped nor ignored.
    """

    fields: dict[str, str]
    missing_required: list[str]
    unexpected: list[str]


def header_hints(source: SourceSpec, domain: DomainSpec) -> set[str]:
    """Normalised labels the reader uses to find the header record by content."""
    hints = {normalise_label(a) for spec in domain.fields.values() for a in spec.aliases}
    hints |= {normalise_label(a) for names in source.columns.values() for a in names}
    hints |= {normalise_label(a) for a in source.ignore_columns}
    return hints


def map_columns(table: RawTable, source: SourceSpec, domain: DomainSpec) -> ColumnMap:
    """Map source columns to canonical fields: the source's own ``columns`` entries first, then
    the domain's aliases; names are compared with :func:`normalise_label`.

    A source column is used for one field at most. Columns holding data that are neither
    mapped nor in ``ignore_columns`` are reported as unexpected (schema drift)."""
    by_label: dict[str, str] = {}
    for col in table.columns:
        by_label.setdefault(normalise_label(col), col)
    fields: dict[str, str] = {}
    used: set[str] = set()
    # Explicit source mappings first for every field, so an alias never steals a column that
    # the source assigned elsewhere.
    for field in domain.fields:
        for cand in source.columns.get(field, ()):
            col = by_label.get(normalise_label(cand))
            if col is not None and col not in used:
                fields[field] = col
                used.add(col)
                break
    for field, spec in domain.fields.items():
        if field in fields or field in source.columns:
            continue
        for cand in spec.aliases:
            col = by_label.get(normalise_label(cand))
            if col is not None and col not in used:
                fields[field] = col
                used.add(col)
                break
    missing = [
        f
        for f, spec in domain.fields.items()
        if spec.required and f not in fields and f not in source.constants
    ]
    ignored = {normalise_label(c) for c in source.ignore_columns}
    unexpected = [
        c
        for c in table.columns
        if c not in used and normalise_label(c) not in ignored and table.column_has_data(c)
    ]
    return ColumnMap(fields=fields, missing_required=missing, unexpected=unexpected)


def _typed(field_type: str, raw: pd.Series, source: SourceSpec, from_sheet: bool) -> pd.Series:
    comma = source.values.decimal_comma
    if field_type == "amount":
        parsed = parse_amounts(raw, comma)
        if from_sheet:
            # Spreadsheet cells hold binary floats (32489663.800000004): round to pence (only
            # where the amount parser said no, once per distinct text).
            missing = parsed.isna()
            if missing.any():
                fallback = map_distinct(
                    raw[missing], lambda t: _round_pence(parse_number_text(t))
                )
                parsed = parsed.where(~missing, fallback.reindex(parsed.index))
        return parsed
    if field_type == "date":
        return parse_dates(raw, source.values.date_formats)
    if field_type in ("number", "integer"):
        return parse_numbers(raw, comma)
    if field_type == "code":
        return clean_code(raw)
    return clean_text(raw)


def _round_pence(value: float | None) -> str | None:
    """A spreadsheet float as pounds and pence, when it *is* pounds and pence: binary noise such
    as 32489663.800000004 rounds to 32489663.80, but 12.345 (a third decimal) is unparseable,
    as it is in a CSV."""
    if value is None:
        return None
    if not abs(value) < 10**MAX_INTEGER_DIGITS:  # DECIMAL(18,2), as parse_amount_text
        return None
    rounded = round(value, 2)
    if abs(value - rounded) > 1e-6 * max(1.0, abs(value)) and abs(value - rounded) > 1e-9:
        return None
    return f"{rounded:.2f}"


def stage_table(
    table: RawTable,
    source: SourceSpec,
    domain: DomainSpec,
    columns: ColumnMap,
    resolver: OrganisationResolver,
    mappings: dict[str, dict[str, str]],
    person_key_secret: bytes | None = None,
) -> pd.DataFrame:
    """Build the staged frame of one table (see the module docstring for its columns).

    ``person_key_secret`` is needed for domains carrying National Insurance numbers (payroll,
    employment); the plain number is replaced by ``person_key`` and dropped from the frame."""
    raw = table.frame()
    n = len(raw)
    lines = pd.Series(table.lines, dtype="int64")
    data: dict[str, Any] = {"source_line": lines.values}
    from_sheet = table.sheet is not None
    for field, spec in domain.fields.items():
        if field in columns.fields:
            series = raw[columns.fields[field]]
        elif field in source.constants:
            series = pd.Series([source.constants[field]] * n, dtype="string")
        else:
            series = pd.Series([""] * n, dtype="string")
        data[field] = _typed(spec.type, series, source, from_sheet).values
        data[f"{field}__raw"] = series.values
    data["has_extra_cells"] = lines.isin(list(table.extra_cells)).astype(bool).values
    # one frame from all the columns (inserting them one by one costs a copy of the index each)
    staged = pd.DataFrame(data)
    if "ni_number" in domain.fields:
        if person_key_secret is None:
            raise ValueError(
                f"{source.source_id}: a person-key secret is needed to stage NI numbers"
            )
        _pseudonymise(staged, person_key_secret)
    hook = {
        "spend": _spend,
        "posts": _posts,
        "workforce": _workforce,
        "payroll": _payroll,
        "employment": _employment,
    }.get(domain.name)
    if hook is not None:
        hook(staged, source, resolver, mappings)
    return staged


def _pseudonymise(staged: pd.DataFrame, secret: bytes) -> None:
    """Replace ``ni_number`` by ``person_key`` (HMAC-SHA256) and ``ni_valid``; the plain number
    leaves the frame here and is never written anywhere."""
    from transforms.privacy import person_keys

    keys, valid = person_keys(staged["ni_number__raw"], secret)
    staged["person_key"] = keys
    staged["ni_valid"] = valid
    del staged["ni_number"], staged["ni_number__raw"]


def _grade_and_function(staged: pd.DataFrame, source: SourceSpec, mappings) -> None:
    grade_map = mappings.get(source.values.grades or "", {})
    staged["grade_as_sent"] = staged["grade"]
    # once per distinct value (a file has a few dozen grades and professions)
    staged["grade"] = map_distinct(
        staged["grade"], lambda g: grade_map.get(normalise_label(g)) if g else None
    )
    if "profession" in staged:
        prof_map = mappings.get(source.values.professions or "", {})
        staged["back_office_function"] = map_distinct(
            staged["profession"],
            lambda p: prof_map.get(normalise_label(p), "OTHER") if p else "OTHER",
        )


_DECIMAL_STRING = r"^-?[0-9]{1," + str(MAX_INTEGER_DIGITS) + r"}\.[0-9]{2}$"


def _pence(values: pd.Series) -> pd.Series:
    """Amounts as staged (decimal strings with two places and at most 16 digits before the
    point, ``"-1200.50"``) to integer pence (Int64, <NA> where missing or not of that form),
    exactly: the point is dropped, no float is involved."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from transforms.parse import arrow_text

    arr = arrow_text(values)
    ok = pc.fill_null(pc.match_substring_regex(arr, _DECIMAL_STRING), False)
    digits = pc.if_else(ok, pc.replace_substring(arr, ".", ""), pa.scalar(None, pa.string()))
    pence = pc.cast(digits, pa.int64())
    return pd.Series(
        pd.arrays.IntegerArray(
            pc.fill_null(pence, 0).to_numpy(), pc.is_null(pence).to_numpy(zero_copy_only=False)
        ),
        index=values.index,
    )


PAY_COMPONENTS = ("tax_gbp", "employee_ni_gbp", "employee_pension_gbp", "other_deductions_gbp")
PAY_AMOUNTS = (
    "gross_pay_gbp",
    *PAY_COMPONENTS,
    "employer_ni_gbp",
    "employer_pension_gbp",
    "net_pay_gbp",
)


def _payroll(
    staged: pd.DataFrame, source: SourceSpec, resolver: OrganisationResolver, mappings
) -> None:
    """Payroll extras: ``employer_code``, canonical ``grade`` and ``grade_as_sent``,
    ``amounts_ok``, ``pay_residual_gbp`` (gross - tax - employee NI - employee pension - other
    deductions - net, in pounds; 0 when the payslip reconciles), ``is_duplicate`` (a later row
    with the same employee number and pay period in the file)."""
    staged["employer_code"] = _resolve_series(staged["employer"], resolver)
    _grade_and_function(staged, source, mappings)
    ok = pd.Series(True, index=staged.index)
    for col in PAY_AMOUNTS:
        raw = staged[f"{col}__raw"].fillna("").str.strip()
        ok &= (raw == "") | staged[col].notna()
    staged["amounts_ok"] = ok.astype(bool)
    other = _pence(staged["other_deductions_gbp"]).fillna(0)
    residual = _pence(staged["gross_pay_gbp"]) - _pence(staged["net_pay_gbp"]) - other
    for col in ("tax_gbp", "employee_ni_gbp", "employee_pension_gbp"):
        residual = residual - _pence(staged[col])
    staged["pay_residual_gbp"] = (residual.astype("Float64") / 100).astype("Float64")
    # (on the two columns cut out first: DataFrame.duplicated with a subset walks every column
    # of the wide staged frame, 3 to 4 times slower)
    staged["is_duplicate"] = (
        staged[["employee_number", "pay_period"]].duplicated(keep="first").astype(bool)
    )


def _employment(
    staged: pd.DataFrame, source: SourceSpec, resolver: OrganisationResolver, mappings
) -> None:
    """Employment extras: ``employer_code``, ``secondment_to_code`` and ``secondment_ok``
    (blank, or a known body), canonical ``grade``, ``back_office_function``, ``is_duplicate``
    (a later row with the same employee number and snapshot date)."""
    staged["employer_code"] = _resolve_series(staged["employer"], resolver)
    staged["secondment_to_code"] = _resolve_series(staged["secondment_to"], resolver)
    staged["secondment_ok"] = (
        staged["secondment_to"].isna() | staged["secondment_to_code"].notna()
    ).astype(bool)
    _grade_and_function(staged, source, mappings)
    staged["is_duplicate"] = (
        staged[["employee_number", "snapshot_date"]].duplicated(keep="first").astype(bool)
    )


def _resolve_series(values: pd.Series, resolver: OrganisationResolver) -> pd.Series:
    def code(v: str) -> str | None:
        if not v:
            return None
        hit = resolver.resolve(v)
        return hit.body_code if hit else None

    return map_distinct(values, code)


#: Optional spend columns with a type; a value that does not parse quarantines the row.
OPTIONAL_TYPED_SPEND = ("invoice_date", "net_amount_gbp", "vat_amount_gbp")

_TOTAL_LABEL = re.compile(r"^\s*((grand|sub)[\s-]?)?totals?\b|^\s*page\s+\d+\s+of\s+\d+\s*$", re.I)


@lru_cache(maxsize=1 << 17)
def _supplier_facts(name: str, reference_dir: str | None) -> tuple[bool, str | None]:
    """``(is_redacted_payee, supplier_key or None when redacted)`` of a supplier name as sent,
    remembered for the process (a body's suppliers come again month after month; the
    reference files are read once per process as well, see :func:`is_redacted_payee`)."""
    ref = Path(reference_dir) if reference_dir else None
    if is_redacted_payee(name, ref):
        return True, None
    return False, supplier_key(name, ref)


def _spend(staged: pd.DataFrame, source: SourceSpec, resolver: OrganisationResolver, _m) -> None:
    """Spend extras: ``entity_code`` (paying body), ``department_code``, ``business_unit``,
    ``supplier_key``, ``is_redacted_payee``, ``is_totals_row``."""
    staged["department_code"] = _resolve_series(staged["department_family"], resolver)
    if source.values.entity_role == "unit":
        staged["business_unit"] = staged["entity"]
        staged["entity_code"] = source.body
    else:
        staged["business_unit"] = None
        entity = staged["entity"].where(staged["entity"].notna(), staged["department_family"])
        staged["entity_code"] = _resolve_series(entity, resolver)
    names = staged["supplier_name"]
    ref_dir = str(resolver.reference_dir) if resolver.reference_dir else None
    # once per distinct name, spread back by position (code -1, a missing name: the last
    # entry, not redacted and no key)
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    facts = [_supplier_facts(v, ref_dir) for v in uniques] + [(False, None)]
    staged["is_redacted_payee"] = np.array([f[0] for f in facts], dtype=bool)[codes]
    staged["supplier_key"] = np.array([f[1] for f in facts], dtype=object)[codes]
    blank = lambda c: staged[f"{c}__raw"].fillna("").str.strip() == ""  # noqa: E731
    # A footer: an amount with no date, supplier or reference (Craven's unlabelled grand total).
    footer = (
        blank("payment_date")
        & blank("supplier_name")
        & blank("transaction_number")
        & ~blank("amount_gbp")
    )
    # A labelled totals or page-footer row ("Grand Total: 10 payments", "Page 1 of 1") is only
    # one when it has no valid payment date: DWP's expense type "TOTAL SUPPLIES & SERVICES" on a
    # dated payment line is a real payment.
    # (the label is looked for only on rows with no date, supplier or reference: a handful)
    maybe = staged["payment_date"].isna() & blank("supplier_name") & blank("transaction_number")
    labelled = pd.Series(False, index=staged.index)
    if maybe.any():
        rows = staged.loc[maybe]
        hit = pd.Series(False, index=rows.index)
        for col in [c for c in rows.columns if c.endswith("__raw")]:
            hit |= rows[col].fillna("").str.match(_TOTAL_LABEL).astype(bool)
        labelled.loc[rows.index] = hit
    staged["is_totals_row"] = (footer | labelled).astype(bool)
    # Optional typed columns (invoice date, net and VAT amounts): a filled-in value that does
    # not parse is a broken row (spend.optional_values_parse), never a silent NULL.
    optional_ok = pd.Series(True, index=staged.index)
    for col in OPTIONAL_TYPED_SPEND:
        if col in staged:
            optional_ok &= blank(col) | staged[col].notna()
    staged["optional_values_ok"] = optional_ok.astype(bool)
    # A credit note (negative amount) that has not been paid out carries no payment date.
    credit = _pence(staged["amount_gbp"]) < 0
    staged["payment_date_ok"] = (
        staged["payment_date"].notna() | (blank("payment_date") & credit.fillna(False))
    ).astype(bool)


def _posts(
    staged: pd.DataFrame, source: SourceSpec, resolver: OrganisationResolver, mappings
) -> None:
    """Posts extras: ``grade_as_sent``, canonical ``grade`` (None if unmapped),
    ``organisation_code``, ``parent_code``, ``senior_fte``, ``pay_parse_ok``,
    ``back_office_function``, ``post_kind``; withheld pay becomes NULL."""
    grade_map = mappings.get(source.values.grades or "", {})
    staged["grade_as_sent"] = staged["grade"]
    staged["grade"] = (
        staged["grade"]
        .map(lambda g: grade_map.get(normalise_label(g)) if isinstance(g, str) else None)
        .astype(object)
    )
    staged["organisation_code"] = _resolve_series(staged["organisation"], resolver)
    staged["parent_code"] = _resolve_series(staged["parent_department"], resolver)
    staged["post_kind"] = source.feed or "senior"
    staged["senior_fte"] = staged["fte"].where(staged["post_kind"] == "senior")
    withheld = {normalise_label(w) for w in source.values.withheld_pay}
    ok = pd.Series(True, index=staged.index)
    zero_withheld = "0" in withheld
    for col in ("pay_floor_gbp", "pay_ceiling_gbp", "salary_cost_of_reports_gbp"):
        raw = staged[f"{col}__raw"].fillna("")
        value = pd.to_numeric(staged[col].astype("string"), errors="coerce")
        is_withheld = raw.map(lambda t: normalise_label(t) in withheld)
        if zero_withheld and col != "salary_cost_of_reports_gbp":
            is_withheld |= value.eq(0).fillna(False)  # "0", "0.00", "£0" all mean withheld
        staged[col] = staged[col].where(~is_withheld, None)
        ok &= (
            is_withheld
            | (raw.str.strip() == "")
            | (staged[col].notna() & ~value.lt(0).fillna(False))
        )
    floor = pd.to_numeric(staged["pay_floor_gbp"].astype("string"), errors="coerce")
    ceiling = pd.to_numeric(staged["pay_ceiling_gbp"].astype("string"), errors="coerce")
    ok &= ~(floor > ceiling).fillna(False)
    staged["pay_parse_ok"] = ok.astype(bool)
    prof_map = mappings.get(source.values.professions or "", {})
    staged["back_office_function"] = staged["profession"].map(
        lambda p: prof_map.get(normalise_label(p), "OTHER") if isinstance(p, str) else "OTHER"
    )


def _workforce(
    staged: pd.DataFrame, source: SourceSpec, resolver: OrganisationResolver, _m
) -> None:
    """Workforce extras: ``organisation_code``, ``parent_code``, ``paybill_parse_ok``,
    ``headcount_whole`` (no fraction of a person), ``fte_within_headcount``."""
    staged["organisation_code"] = _resolve_series(staged["organisation"], resolver)
    head = staged["headcount"].astype("Float64")
    staged["headcount_whole"] = (head.isna() | (head == head.round())).fillna(True).astype(bool)
    # FTE may exceed headcount only by rounding in the source (e.g. 5,726 FTE for 5,847 people)
    over = (staged["fte"].astype("Float64") > head + 0.5).fillna(False)
    staged["fte_within_headcount"] = (~over).astype(bool)
    staged["parent_code"] = _resolve_series(staged["parent_department"], resolver)
    raw = staged["paybill_gbp__raw"].fillna("").str.strip()
    staged["paybill_parse_ok"] = ((raw == "") | staged["paybill_gbp"].notna()).astype(bool)


_COUNT_IN_LABEL = re.compile(
    r"(\d[\d,]*)\s+(payments?|rows?|lines?|transactions?|records?|items?)\b", re.I
)


def control_total_check(
    staged: pd.DataFrame, file: str, amount_column: str | None = None
) -> tuple[bool, str, dict] | None:
    """Check the payment lines against the file's own totals row, when it has one.

    The last totals row (see ``is_totals_row``) with a parseable amount is the control total;
    the sum of the other rows' parsed amounts must equal it to the penny, and where the totals
    row states a count ("Grand Total: 10 payments") the number of other rows must equal it.

    Returns:
        ``None`` when the file has no totals row with an amount; else ``(ok, detail, figures)``,
        ``detail`` naming the file, the totals row's line and both figures.
    """
    from decimal import Decimal

    totals = staged[staged["is_totals_row"] & staged["amount_gbp"].notna()]
    if totals.empty:
        return None
    control = totals.iloc[-1]
    lines = staged[~staged["is_totals_row"]]
    loaded = sum((Decimal(a) for a in lines["amount_gbp"].dropna()), Decimal("0.00"))
    stated = Decimal(control["amount_gbp"])
    count = None
    for col in [c for c in staged.columns if c.endswith("__raw")]:
        m = _COUNT_IN_LABEL.search(str(control[col] or ""))
        if m:
            count = int(m.group(1).replace(",", ""))
            break
    figures = {
        "totals_line": int(control["source_line"]),
        "control_total_gbp": str(stated),
        "loaded_total_gbp": str(loaded),
        "stated_count": count,
        "loaded_count": len(lines),
    }
    problems = []
    if loaded != stated:
        problems.append(
            f"the payment lines sum to {loaded:,.2f} but the totals row says {stated:,.2f}"
        )
    if count is not None and count != len(lines):
        problems.append(f"the file has {len(lines)} payment lines but the totals row says {count}")
    where = f", column {amount_column!r}" if amount_column else ""
    detail = f"{file}, line {int(control['source_line'])}{where}: " + "; ".join(problems)
    return (not problems, detail, figures)


_MONTHS = {
    m.lower(): i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}


def _month_number(text: str) -> int | None:
    t = text.strip().lower()
    if t.isdigit() and 1 <= int(t) <= 12:
        return int(t)
    for name, num in _MONTHS.items():
        if t == name or (len(t) >= 3 and name.startswith(t)):
            return num
    return None


def _add_months(d: date, k: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + k, 12)
    return date(y, m + 1, 1)


def find_period(
    staged: pd.DataFrame, table: RawTable, source: SourceSpec, file_name: str
) -> tuple[date | None, str]:
    """The partition period (first day of the file's first month) and how it was found.

    Returns ``(None, reason)`` when it cannot be determined (a file-level rejection).
    """
    p = source.period
    if p.source == "column":
        dates = staged[p.column].dropna() if p.column in staged else pd.Series([], dtype=object)
        if dates.empty:
            return None, f"no valid {p.column} to date the file"
        # each distinct date's month once, spread back (an HR extract has millions of rows)
        first_of = {d: date(d.year, d.month, 1) for d in pd.unique(dates)}
        months = dates.map(first_of)
        counts = months.value_counts()
        modal = counts.index[0]
        start = modal
        for back in range(1, p.months):
            y, m = divmod(modal.year * 12 + modal.month - 1 - back, 12)
            cand = date(y, m + 1, 1)
            if cand in counts.index:
                start = cand
        window = {_add_months(start, k) for k in range(p.months)}
        share = float(months.isin(window).mean())
        if share < p.min_share:
            top = ", ".join(f"{d:%Y-%m}: {n}" for d, n in counts.head(3).items())
            return None, (
                f"only {share:.0%} of the {p.column} values fall in {start:%Y-%m} (+{p.months - 1} "
                f"month(s)); a file for one period should hold at least {p.min_share:.0%} "
                f"({top}); split the file by period or name the period in the file name"
            )
        return start, f"month holding most {p.column} values"
    if p.source == "filename":
        m = re.search(p.regex or "", file_name)
        if not m:
            return None, f"file name {file_name!r} does not match period.regex {p.regex!r}"
        year = int(m["year"])
        year = year + 2000 if year < 100 else year
        month = _month_number(m["month"])
        if month is None:
            return None, f"month {m['month']!r} in the file name is not a month"
        return date(year, month, 1), "file name"
    if p.source == "sheet":
        from datetime import datetime

        try:
            d = datetime.strptime((table.sheet or "").strip(), p.format or "")
        except ValueError:
            return None, f"sheet name {table.sheet!r} does not match {p.format!r}"
        return date(d.year, d.month, 1), "sheet name"
    years = (
        staged[p.year_column].dropna() if p.year_column in staged else pd.Series([], dtype=object)
    )
    monthnames = (
        staged[p.month_column].dropna() if p.month_column in staged else pd.Series([], dtype=object)
    )
    pairs = {(int(y), _month_number(str(m))) for y, m in zip(years, monthnames, strict=False)}
    pairs = {(y, m) for y, m in pairs if m is not None}
    if len(pairs) != 1:
        return (
            None,
            f"year/month columns give {len(pairs)} distinct months, expected one: {sorted(pairs)[:5]}",
        )
    ((y, m),) = pairs
    return date(y, m, 1), "year and month columns"


def snapshot_date(source: SourceSpec, file_name: str, period: date) -> date:
    """The organogram snapshot date: the file name's full date when it has a day, else the
    period."""
    p = source.period
    if p.source == "filename" and p.regex:
        m = re.search(p.regex, file_name)
        if m and "day" in m.groupdict() and m["day"]:
            return date(period.year, period.month, int(m["day"]))
    return period
