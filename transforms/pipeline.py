"""The step functions that Airflow tasks and the ``ngss`` CLI call.

Each step takes and returns small JSON-serialisable dicts (safe for XCom); frames never travel
between steps, only paths to parquet files under ``$NGSS_HOME/work/<load_id>/``.

Steps, in order::

    pull(settings, source_id)   -> [archived file dict]   files found in the landing folder,
                                                          archived under their SHA-256
    stage(settings, archived)   -> [load ref dict]        read, validate (GX), split, normalise;
                                                          one ref per table (sheet)
    publish(settings, refs)     -> [load summary dict]    single writer: each partition replaced
                                                          in one transaction
    build_marts(settings)       -> {mart: rows}           single writer

``pull`` and ``stage`` never open the warehouse, so any number of them may run side by side.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from transforms.config import DomainSpec, Registry, SourceSpec, load_registry
from transforms.errors import FileRejected
from transforms.rawtable import RawTable, SheetRejected
from transforms.settings import Settings

log = logging.getLogger(__name__)

EARLIEST_PERIOD = date(2000, 1, 1)


# --------------------------------------------------------------------------------------- pull
def pull(settings: Settings, source_id: str) -> list[dict[str, Any]]:
    """Find the source's files and archive each as received (see :mod:`transforms.extract`).

    Returns:
        One dict per file: ``source_id``, ``file_name``, ``sha256``, ``archive_path``,
        ``size_bytes``, ``received_at`` (ISO UTC).
    """
    from transforms.extract import archive_all, puller_for

    source = load_registry(settings.config).source(source_id)
    return archive_all(settings, source, puller_for(settings, source))


# -------------------------------------------------------------------------------------- stage
@cache
def _resolver(config_dir: str):
    from transforms.resolve import OrganisationResolver

    return OrganisationResolver.from_reference(Path(config_dir) / "reference")


def make_load_id(source_id: str, sha256: str, sheet: str | None) -> str:
    """Stable load id: the same source, bytes and sheet always give the same id, so a rerun
    of a file is the same load (a new attempt in ``ops.load_log``)."""
    return hashlib.sha256(f"{source_id}|{sha256}|{sheet or ''}".encode()).hexdigest()[:16]


CANONICAL_EXTRAS = {
    "payroll": ["employer_code", "person_key", "grade_as_sent"],
    "employment": [
        "employer_code",
        "person_key",
        "grade_as_sent",
        "back_office_function",
        "secondment_to_code",
    ],
    "spend": [
        "department_code",
        "entity_code",
        "business_unit",
        "supplier_key",
        "is_redacted_payee",
    ],
    "posts": [
        "grade_as_sent",
        "organisation_code",
        "parent_code",
        "post_kind",
        "back_office_function",
    ],
    "workforce": ["organisation_code", "parent_code"],
}
FACT_TABLE = {
    "spend": "core.fct_spend",
    "posts": "core.fct_post",
    "workforce": "core.fct_workforce",
    "payroll": "core.fct_payroll",
    "employment": "core.fct_employment",
}
_POSTS_DROP = {"organisation", "parent_department"}


def stage(settings: Settings, archived: dict[str, Any]) -> list[dict[str, Any]]:
    """Read, validate, split and normalise one archived file.

    Writes, for each table (a CSV file has one; a workbook one per sheet) under
    ``work/<load_id>/``: ``canonical.arrow`` (rows to publish, the fact table's columns, an
    Arrow IPC file),
    ``quarantine.parquet`` (``source_line``, ``rule_ids``, ``reason``, ``raw_json``) and
    ``validation.json`` (every expectation's result).

    Returns:
        One load ref per table: ``load_id``, ``source_id``, ``body_code``, ``domain``,
        ``file_name``, ``sheet``, ``sha256``, ``archive_path``, ``period`` (ISO or None),
        ``status`` (``staged`` or ``rejected``), ``reject_rule``, ``reject_detail``,
        ``rows_read``, ``rows_good``, ``rows_quarantined``, ``rows_blank``, ``encoding``,
        ``header_line``, ``work_dir``, ``started_at``, ``staged_at``, ``stage_seconds``.
    """
    return stage_all(settings, [archived])


#: Rows of staged frames held back for one combined run of their row suite in
#: :func:`stage_all` (about 0.1 s saved per file folded in; see
#: ``expectations.validate.validate_batches``). Bounds the memory held: a file is staged
#: whole, so at most this many rows plus one file's.
ROW_SUITE_BATCH_ROWS = 250_000


@dataclass
class _RowSuite:
    """A table's staging paused where its row suite is to run: the suite and the staged frame
    (what :func:`_stage_one` yields; it is resumed with the :class:`SuiteRun`)."""

    suite: str
    frame: pd.DataFrame


@dataclass
class _FileStaging:
    """One archived file in :func:`stage_all`: its tables, their refs (None while a table waits
    for its row suite) and the seconds spent on it (its share of a combined GX run included)."""

    archived: dict[str, Any]
    source: Any
    domain: Any
    tables: list[Any]
    started: datetime
    refs: list[dict[str, Any] | None] = field(default_factory=list)
    seconds: float = 0.0


def _advance(steps, value: Any = None) -> tuple[dict[str, Any] | None, _RowSuite | None]:
    """Resume a :func:`_stage_one` generator: ``(ref, None)`` when it finished, ``(None,
    request)`` when it waits for a row suite run."""
    try:
        return None, steps.send(value)
    except StopIteration as done:
        return done.value, None


def _stage_table_alone(*args, **kwargs) -> dict[str, Any]:
    """:func:`_stage_one` run to the end, with its own row suite run."""
    from expectations.validate import validate_batch

    steps = _stage_one(*args, **kwargs)
    ref, request = _advance(steps)
    while request is not None:
        ref, request = _advance(steps, validate_batch(request.suite, request.frame))
    return ref


def stage_all(
    settings: Settings,
    archived: list[dict[str, Any]],
    batch_rows: int = ROW_SUITE_BATCH_ROWS,
) -> list[dict[str, Any]]:
    """:func:`stage` each archived file in turn; the refs in file order.

    Tables waiting for the same row suite are validated together, in one GX run per
    ``batch_rows`` rows (``expectations.validate.validate_batches``), each keeping its own
    results and GX document; everything else is done file by file. ``stage_seconds`` of a
    ref is its file's own time plus its share (by rows) of the combined runs.

    Raises:
        whatever staging a file raised (a defect; bad input is a rejection).
    """
    from expectations.validate import validate_batches

    registry = load_registry(settings.config)
    files: list[_FileStaging] = []
    waiting: list[tuple[_FileStaging, int, Any, _RowSuite]] = []

    def run_row_suites() -> None:
        by_suite: dict[str, list[tuple[_FileStaging, int, Any, _RowSuite]]] = {}
        for item in waiting:
            by_suite.setdefault(item[3].suite, []).append(item)
        waiting.clear()
        for suite, items in by_suite.items():
            t0 = time.perf_counter()
            runs = validate_batches(suite, [request.frame for *_, request in items])
            per_row = (time.perf_counter() - t0) / sum(max(len(i[3].frame), 1) for i in items)
            for (f, k, steps, request), run in zip(items, runs, strict=True):
                t1 = time.perf_counter()
                ref, again = _advance(steps, run)
                if again is not None:
                    raise RuntimeError(f"{f.archived['file_name']}: a second row suite run")
                f.refs[k] = ref
                f.seconds += per_row * max(len(request.frame), 1) + time.perf_counter() - t1

    held = 0
    for a in archived:
        t0 = time.perf_counter()
        source = registry.source(a["source_id"])
        domain = registry.domains[source.domain]
        f = _FileStaging(a, source, domain, _read_tables(a, source, domain), datetime.now(UTC))
        for k, table in enumerate(f.tables):
            steps = _stage_one(settings, registry, source, domain, a, table, f.started)
            ref, request = _advance(steps)
            f.refs.append(ref)
            if request is not None:
                waiting.append((f, k, steps, request))
                held += len(request.frame)
        f.seconds += time.perf_counter() - t0
        files.append(f)
        if held >= batch_rows:
            run_row_suites()
            held = 0
    run_row_suites()
    out: list[dict[str, Any]] = []
    for f in files:
        t0 = time.perf_counter()
        refs = _one_sheet_per_period(settings, registry, f)
        f.seconds += time.perf_counter() - t0
        for ref in refs:
            ref["stage_seconds"] = round(f.seconds, 3) / max(len(refs), 1)
        out.extend(refs)
    return out


def _read_tables(archived: dict[str, Any], source, domain) -> list[Any]:
    """The file's tables (one per sheet of a workbook), or one :class:`FileRejected` standing
    for the whole file when it cannot be read as a table."""
    from transforms.read import read_file
    from transforms.stage import header_hints

    name = archived["file_name"]
    try:
        return read_file(
            Path(archived["archive_path"]), source.reader, header_hints(source, domain), name
        )
    except FileRejected as exc:
        return [exc]
    except (OSError, ValueError, UnicodeError) as exc:  # unreadable container (bad zip, bad xls)
        return [FileRejected(name, "file.unreadable", f"the file cannot be read: {exc}")]


def _one_sheet_per_period(settings: Settings, registry, f: _FileStaging) -> list[dict[str, Any]]:
    """The file's refs, with every staged sheet that shares its period with another sheet of
    the same workbook rejected: they would replace each other's rows in the partition (every
    row kept in quarantine)."""
    refs: list[dict[str, Any]] = list(f.refs)  # type: ignore[arg-type]
    by_period: dict[str, list[int]] = {}
    for i, ref in enumerate(refs):
        if ref["status"] == "staged":
            by_period.setdefault(ref["period"], []).append(i)
    for period, idx in by_period.items():
        if len(idx) > 1:
            sheets = ", ".join(repr(refs[i]["sheet"]) for i in idx)
            detail = (
                f"{f.archived['file_name']}: sheets {sheets} are all for the period {period}; "
                "send one sheet per period (or one file per sheet)"
            )
            for i in idx:
                refs[i] = _stage_table_alone(
                    settings,
                    registry,
                    f.source,
                    f.domain,
                    f.archived,
                    f.tables[i],
                    f.started,
                    force_reject=("file.sheets_share_period", detail),
                )
    return refs


def _base_ref(
    source: SourceSpec, archived: dict[str, Any], sheet: str | None, started: datetime
) -> dict[str, Any]:
    load_id = make_load_id(source.source_id, archived["sha256"], sheet)
    return {
        "load_id": load_id,
        "source_id": source.source_id,
        "body_code": source.body,
        "domain": source.domain,
        "file_name": archived["file_name"],
        "sheet": sheet,
        "sha256": archived["sha256"],
        "archive_path": archived["archive_path"],
        "period": None,
        "status": "staged",
        "reject_rule": None,
        "reject_detail": None,
        "rows_read": 0,
        "rows_good": 0,
        "rows_quarantined": 0,
        "rows_blank": 0,
        "encoding": None,
        "header_line": None,
        "work_dir": None,
        "started_at": started.isoformat(),
        "staged_at": None,
    }


def _file_result(
    rule_id: str, success: bool, description: str, fix: str, detail: dict | None = None
):
    from expectations.validate import RuleResult

    return RuleResult(
        rule_id=rule_id,
        level="file",
        description=description,
        how_to_fix=fix,
        rule_source="ngss DESIGN.md §3 (file-level rules)",
        expectation_type=f"ngss:{rule_id}",
        column=None,
        success=success,
        element_count=None,
        unexpected_count=None,
        kwargs=detail or {},
    )


def _stage_one(
    settings: Settings,
    registry: Registry,
    source: SourceSpec,
    domain: DomainSpec,
    archived: dict[str, Any],
    table: RawTable | SheetRejected | FileRejected,
    started: datetime,
    force_reject: tuple[str, str] | None = None,
) -> Generator[_RowSuite, Any, dict[str, Any]]:
    """Stage one table, as steps: yields once, a :class:`_RowSuite`, when the table is ready for
    its domain's row suite, and is resumed with that run's ``SuiteRun``
    (:func:`stage_all` runs several tables' row suites together); returns the load ref. A table
    rejected before its row suite returns without yielding."""
    from expectations.validate import validate_batch
    from transforms.stage import control_total_check, find_period, map_columns, stage_table

    sheet = getattr(table, "sheet", None)
    ref = _base_ref(source, archived, sheet, started)
    work = settings.work / ref["load_id"]
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ref["work_dir"] = str(work)
    results = []
    gx_docs: list[dict[str, Any]] = []  # Great Expectations' own result documents (Data Docs)

    def reject(rule_id: str, detail: str, description: str, fix: str) -> dict[str, Any]:
        ref["status"] = "rejected"
        ref["reject_rule"] = rule_id
        ref["reject_detail"] = detail
        results.append(_file_result(rule_id, False, description, fix, {"detail": detail}))
        return ref

    if isinstance(table, FileRejected):
        reject(
            table.rule_id,
            str(table),
            "The file can be read as a table.",
            "Send the extract as a CSV or spreadsheet with a header row.",
        )
        return _finish(ref, work, results, gx_docs, None, [], None)
    if isinstance(table, SheetRejected):
        reject(
            "file.not_tabular",
            table.reason,
            "The sheet is a data table with a header row naming the expected columns.",
            "Send the data sheet alone, with one header row and one row per organisation.",
        )
        return _finish(ref, work, results, gx_docs, None, [], None)

    ref["rows_read"] = len(table.rows)
    ref["rows_blank"] = table.blank_rows
    ref["encoding"] = table.encoding
    ref["header_line"] = table.header_line
    colmap = map_columns(table, source, domain)
    raw_records = _RawRecords(table, personal="ni_number" in domain.fields, colmap=colmap)
    if force_reject is not None:
        rule_id, detail = force_reject
        reject(
            rule_id,
            detail,
            "Each sheet of a workbook covers its own period.",
            "Send one sheet per period, or one file per sheet.",
        )
        return _finish(
            ref, work, results, gx_docs, None, _all_quarantined(ref, raw_records, rule_id), None
        )
    ok_required = not colmap.missing_required
    results.append(
        _file_result(
            "file.required_columns",
            ok_required,
            "Every required column of the domain is present.",
            "Add the missing column, or map its header name in the source's configuration.",
            {"missing": colmap.missing_required, "mapped": colmap.fields},
        )
    )
    if not ok_required:
        reject(
            "file.required_columns",
            f"{table.file}, line {table.header_line}: required column(s) missing: "
            + "; ".join(_expected_column(f, source, domain) for f in colmap.missing_required)
            + f" (header has {', '.join(table.columns)})"
            + (
                f"; column(s) not in the source's configuration: {', '.join(repr(c) for c in colmap.unexpected)}"
                if colmap.unexpected
                else ""
            ),
            "Every required column of the domain is present.",
            "Add the missing column or map its name.",
        )
        return _finish(
            ref,
            work,
            results,
            gx_docs,
            None,
            _all_quarantined(ref, raw_records, "file.required_columns"),
            None,
        )
    ok_columns = not colmap.unexpected
    results.append(
        _file_result(
            "file.no_unexpected_columns",
            ok_columns,
            "Every column holding data is mapped to the canonical model or listed as ignored, so nothing is dropped silently.",
            "Rename the column back, or ask for the new column to be mapped in the source's configuration.",
            {"unexpected": colmap.unexpected},
        )
    )
    if not ok_columns:
        results.pop()
        detail = (
            f"{table.file}, line {table.header_line}: column(s) not in the source's configuration: "
            f"{', '.join(repr(c) for c in colmap.unexpected)}; expected columns: {', '.join(colmap.fields.values())}"
        )
        if table.duplicate_headers:
            repeats = "; ".join(
                f"{name!r} at positions {' and '.join(map(str, pos))}"
                for name, pos in table.duplicate_headers.items()
            )
            detail += (
                f". Repeated header names: {repeats} (a repeat is mapped by position, "
                f"e.g. '{next(iter(table.duplicate_headers))}#2', in the source's columns)"
            )
        reject(
            "file.no_unexpected_columns",
            detail,
            "Every column holding data is mapped or ignored.",
            "Map the new column in the configuration.",
        )
        return _finish(
            ref,
            work,
            results,
            gx_docs,
            None,
            _all_quarantined(ref, raw_records, "file.no_unexpected_columns"),
            None,
        )

    resolver = _resolver(str(settings.config))
    secret = None
    if "ni_number" in domain.fields:
        from transforms.privacy import load_key

        secret = load_key(settings)
    staged = stage_table(table, source, domain, colmap, resolver, registry.mappings, secret)
    file_run = validate_batch("file", staged)
    gx_docs.append(file_run.document)
    file_results = file_run.results
    results.extend(file_results)
    if any(not r.success for r in file_results):
        failed = next(r for r in file_results if not r.success)
        ref.update(
            status="rejected",
            reject_rule=failed.rule_id,
            reject_detail=(
                f"{table.file}: header present on line {table.header_line}, "
                f"{len(staged)} data rows: {failed.description}"
            ),
        )
        return _finish(
            ref,
            work,
            results,
            gx_docs,
            None,
            _all_quarantined(ref, raw_records, failed.rule_id),
            None,
        )
    period, how = find_period(staged, table, source, archived["file_name"])
    latest = date.today() + timedelta(days=62)
    if period is None or not (EARLIEST_PERIOD <= period <= latest):
        where = ""
        if source.period.source == "column" and table.lines:
            col = colmap.fields.get(source.period.column, source.period.column)
            where = f" (column {col!r}, lines {table.lines[0]}-{table.lines[-1]})"
        detail = (
            f"{table.file}{where}: period cannot be determined ({how})"
            if period is None
            else (
                f"{table.file}{where}: period {period} (from the {how}) is outside the expected window {EARLIEST_PERIOD}..{latest}"
            )
        )
        reject(
            "file.period_in_window",
            detail,
            "The file's period can be found and lies in the expected window.",
            "Check the dates in the file (day first) and the file name.",
        )
        return _finish(
            ref,
            work,
            results,
            gx_docs,
            None,
            _all_quarantined(ref, raw_records, "file.period_in_window"),
            None,
        )
    ref["period"] = period.isoformat()
    if "payment_date" in staged:
        # Row-level plausibility of each date against the file's period (DfT's December file
        # carries adjustments dated years back; 31/12/9999 is a typing error).
        from transforms.stage import _add_months

        low, high = date(period.year - 5, period.month, 1), date(period.year + 1, period.month, 28)
        # a file covering more than a year (period.months) keeps every month it covers
        high = max(high, _add_months(period, source.period.months) - timedelta(days=1))
        staged["payment_date_in_range"] = (
            staged["payment_date"]
            .map(lambda d: d is None or pd.isna(d) or (low <= d <= high))
            .astype(bool)
        )
    row_run = yield _RowSuite(f"{domain.name}.row", staged)
    gx_docs.append(row_run.document)
    row_results = row_run.results
    results.extend(row_results)
    control = (
        control_total_check(staged, table.file, colmap.fields.get("amount_gbp"))
        if domain.name == "spend"
        else None
    )
    if control is not None:
        ok, detail, figures = control
        results.append(
            _file_result(
                "file.control_total",
                ok,
                "The amounts and row count of the payment lines agree with the file's own "
                "totals row (a report footer such as 'Grand Total: 10 payments').",
                "Send the complete report: a truncated or edited file disagrees with its total.",
                figures,
            )
        )
        if not ok:
            results.pop()
            reject(
                "file.control_total",
                detail,
                "The payment lines agree with the file's totals row.",
                "Send the complete, unedited report.",
            )
            return _finish(
                ref,
                work,
                results,
                gx_docs,
                None,
                _all_quarantined(ref, raw_records, "file.control_total"),
                None,
            )

    locator = _RowLocator(raw_records, colmap, domain=domain)
    broken: dict[int, list[str]] = {}
    for r in row_results:
        for line in r.failing_lines:
            broken.setdefault(line, []).append(r.rule_id)
    share = len(broken) / max(len(staged), 1)
    tol = source.tolerance.max_quarantine_share
    results.append(
        _file_result(
            "file.bad_row_share",
            share <= tol,
            f"At most {tol:.0%} of the file's rows break row-level rules.",
            "Fix the rows listed, then send the whole file again.",
            {"share": round(share, 4), "tolerated": tol},
        )
    )
    quarantine = _quarantine_records(ref, raw_records, broken, locator)
    if share > tol:
        ref.update(
            status="rejected",
            reject_rule="file.bad_row_share",
            reject_detail=(
                f"{table.file}: {len(broken)} of {len(staged)} rows ({share:.1%}) break row rules; "
                f"tolerated {tol:.0%}: " + _broken_summary(row_results, locator)
            ),
        )
        return _finish(
            ref,
            work,
            results,
            gx_docs,
            None,
            _all_quarantined(ref, raw_records, "file.bad_row_share", broken, locator),
            None,
        )
    good = staged[~staged["source_line"].isin(list(broken))]
    canonical = _canonical(good, source, domain, ref, table, period)
    return _finish(ref, work, results, gx_docs, canonical, quarantine, period)


def _expected_column(field: str, source: SourceSpec, domain: DomainSpec) -> str:
    """``amount_gbp (expected a column named 'Amount', 'Amount £' or ...)``."""
    names = list(source.columns.get(field, ())) or list(domain.fields[field].aliases)
    if not names:
        return field
    shown = " or ".join(repr(n) for n in names[:4]) + (" or ..." if len(names) > 4 else "")
    return f"{field} (expected a column named {shown})"


def _broken_summary(row_results, locator: _RowLocator) -> str:
    """Which rules broke how many rows, naming the first failing line, its source column(s)
    and value(s): e.g. ``spend.amount_valid: 18 rows, e.g. line 2, column 'Amount' =
    'twelve'``."""
    parts = []
    for r in row_results:
        if r.success or not r.failing_lines:
            continue
        first = min(r.failing_lines)
        where = locator.where(r.rule_id, first, expected=True)
        parts.append(
            f"{r.rule_id}: {len(r.failing_lines)} rows, e.g. line {first}"
            + (f", {where}" if where else "")
        )
    return "; ".join(parts)


#: Text shaped like an NI number in any layout a body might type (``AB123456C``, ``AB 12 34 56
#: C``, ``CE 123 456 A``, ``AB-123-456-C``, ``A B123456C``), or with one digit too many: masked
#: wherever it appears in a personal domain's row (see :func:`_mask_personal`).
_NI_LIKE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z][\s\u00a0-]*[A-Za-z](?:[\s\u00a0-]*\d){6,7}"
    r"(?:[\s\u00a0-]*[A-Za-z])?(?![A-Za-z0-9])"
)


def _mask_personal(value: str, whole: bool = False) -> str:
    """A raw value safe to keep for a personal domain (payroll, employment): the NI number
    column is masked whole (every digit ``#``, whatever its shape, valid or not), any other
    cell has its NI-number-shaped text masked (:func:`transforms.privacy.mask_ni`)."""
    from transforms.privacy import mask_ni

    if whole:
        return mask_ni(value)
    return _NI_LIKE.sub(lambda m: mask_ni(m.group(0)), value)


def _short(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit] + f"... ({len(value):,} characters)"


class _RawRecords:
    """The rows of a table as read, for ``ops.quarantine_row`` and quarantine reasons: each
    row as JSON (source column -> text), built only for the rows that are quarantined (most
    rows of most files are not), and single cells by line and column.

    For a personal domain (one carrying NI numbers) every value leaves here masked
    (:func:`_mask_personal`): the column mapped to ``ni_number`` whole, NI-number-shaped text
    in any other cell, the cells beyond the last column included.
    """

    def __init__(self, table: RawTable, personal: bool = False, colmap=None):
        self.table = table
        self.personal = personal
        fields = colmap.fields if colmap is not None else {}
        self.ni_column = fields.get("ni_number")  # masked whole
        self._row_of: dict[int, int] | None = None  # source line -> row index, when asked
        self._col_of = {c: j for j, c in enumerate(table.columns)}

    def _masked(self, column: str | None, value: str) -> str:
        if not self.personal:
            return value
        return _mask_personal(value, whole=column is not None and column == self.ni_column)

    def extra(self, line: int) -> str:
        """The non-empty cells beyond the header's last column on ``line``, joined by `` | ``."""
        return self._masked(None, " | ".join(self.table.extra_cells.get(line, [])))

    def cell(self, line: int, column: str) -> str:
        """The text of ``column`` on source ``line`` (``""`` when the line holds no row)."""
        if self._row_of is None:
            self._row_of = {ln: i for i, ln in enumerate(self.table.lines)}
        i = self._row_of.get(line)
        if i is None:
            return ""
        return self._masked(column, self.table.rows[i][self._col_of[column]])

    def _json(self, i: int) -> str:
        table = self.table
        record = {
            c: self._masked(c, v)
            for c, v in zip(table.columns, table.rows[i], strict=True)
            if v != ""
        }
        extra = self.extra(table.lines[i])
        if extra:
            record["(beyond last column)"] = extra
        return json.dumps(record, ensure_ascii=False)

    def __iter__(self):
        """``(source_line, raw JSON)`` of every row, in file order."""
        for i, line in enumerate(self.table.lines):
            yield line, self._json(i)

    def only(self, lines) -> list[tuple[int, str]]:
        """``(source_line, raw JSON)`` of the rows on ``lines``, in file order."""
        wanted = set(lines)
        return [(line, self._json(i)) for i, line in enumerate(self.table.lines) if line in wanted]


#: Longest part of a file's rejection copied into each of its rows' reasons (ops.load_log keeps
#: it whole).
_DETAIL_IN_REASON_CHARS = 1_000

#: What a field of each type must hold, as a quarantine reason says it.
_EXPECTED = {
    "amount": "a valid amount",
    "date": "a valid date",
    "number": "a valid number",
    "integer": "a valid whole number",
}

#: Longest raw value quoted in a quarantine reason (the row's raw JSON keeps it whole).
_REASON_VALUE_CHARS = 80


class _RowLocator:
    """Names where each row-level rule failed on a row: the source column(s) behind the rule's
    ``meta.fields`` (from the suite JSON) and the raw value(s) as read, e.g.
    ``column 'Amount' = 'twelve'``; ``whole row`` for rules on the row as a whole; the cells
    beyond the header's last column for ragged rows. Values come from ``raw`` (masked there for
    personal domains) and are cut to :data:`_REASON_VALUE_CHARS`."""

    def __init__(self, raw: _RawRecords, colmap, domain: DomainSpec | None = None):
        from expectations.suites import rule_catalogue

        self.raw = raw
        self.catalogue = rule_catalogue()
        self.columns = set(raw.table.columns)
        self.fields = colmap.fields if colmap is not None else {}
        self.types = {f: spec.type for f, spec in domain.fields.items()} if domain else {}

    def _value(self, line: int, column: str) -> str:
        return repr(_short(self.raw.cell(line, column), _REASON_VALUE_CHARS))

    def where(self, rule_id: str, line: int, expected: bool = False) -> str:
        """Where ``rule_id`` failed on ``line``; with ``expected``, each column also names its
        canonical field and type, e.g. ``column 'Amount' (amount_gbp, expected a valid
        amount) = 'twelve'``."""
        fields = self.catalogue.get(rule_id, {}).get("fields")
        if fields is None:
            return ""
        if not fields:
            return "whole row"
        if fields == ["(beyond last column)"]:
            text = _short(self.raw.extra(line), _REASON_VALUE_CHARS)
            return "beyond the last column: " + repr(text)
        named = [
            f"{self.fields[f]!r}"
            + (
                f" ({f}, expected {_EXPECTED.get(self.types.get(f, ''), 'an accepted value')})"
                if expected
                else ""
            )
            + f" = {self._value(line, self.fields[f])}"
            for f in fields
            if f in self.fields and self.fields[f] in self.columns
        ]
        if not named:
            return "column " + " / ".join(fields) + " (not in the file)"
        return ("column " if len(named) == 1 else "columns ") + ", ".join(named)

    def reason(self, rule_ids: list[str], line: int) -> str:
        """``[rule] column 'X' = 'value': what the rule means`` for each rule, in order."""
        parts = []
        for r in rule_ids:
            where = self.where(r, line)
            text = self.catalogue.get(r, {}).get("description", r)
            parts.append(f"[{r}] {where}: {text}" if where else f"[{r}] {text}")
        return " ".join(parts)


def _quarantine_records(
    ref, raw_records, broken: dict[int, list[str]], locator: _RowLocator
) -> list[dict[str, Any]]:
    return [
        {
            "source_line": line,
            "rule_ids": broken[line],
            "reason": locator.reason(broken[line], line),
            "raw_json": raw,
        }
        for line, raw in raw_records.only(broken)
    ]


def _all_quarantined(
    ref,
    raw_records,
    file_rule: str,
    broken: dict[int, list[str]] | None = None,
    locator: _RowLocator | None = None,
):
    """Every row of a rejected file is kept in quarantine under the file rule (and its own row
    rules, when known), so nothing read is lost."""
    broken = broken or {}
    out = []
    for line, raw in raw_records:
        rules = [file_rule, *broken.get(line, [])]
        own = (
            " " + locator.reason(broken[line], line)
            if line in broken and locator is not None
            else ""
        )
        out.append(
            {
                "source_line": line,
                "rule_ids": rules,
                "reason": f"[{file_rule}] the whole file was rejected: "
                + _short(ref["reject_detail"] or "", _DETAIL_IN_REASON_CHARS)
                + own,
                "raw_json": raw,
            }
        )
    return out


def _canonical(
    good: pd.DataFrame, source: SourceSpec, domain: DomainSpec, ref, table: RawTable, period: date
):
    """The load's rows to publish as an Arrow table: ``load_id``, ``source_id``,
    ``body_code`` (strings), ``period`` (date32), ``source_file`` (string), ``source_line``,
    then the domain's canonical fields and extras, named as the fact table's columns.

    The five load columns hold one value each: they are built as Arrow arrays of that value
    (the strings dictionary-encoded, one entry), not converted row by row from pandas, which
    also keeps them out of the work file's bytes (about 100 bytes a row)."""
    import numpy as np
    import pyarrow as pa

    from transforms.stage import snapshot_date

    fields = [f for f in domain.fields if f in good.columns]
    if domain.name == "posts":
        fields = [f for f in fields if f not in _POSTS_DROP] + ["organisation", "parent_department"]
    cols = fields + CANONICAL_EXTRAS.get(domain.name, [])
    out = good[["source_line", *dict.fromkeys(cols)]].copy()
    if domain.name == "posts":
        out["snapshot_date"] = snapshot_date(source, table.file, period)
        out = out.drop(columns=["grade"]).rename(columns={"grade_as_sent": "grade_as_sent"})
        out["grade"] = good["grade"].values
    if domain.name == "workforce":
        out["sheet"] = table.sheet
        out = out.drop(columns=[c for c in ("organisation_type", "year", "month") if c in out])
    body = pa.Table.from_pandas(out, preserve_index=False).replace_schema_metadata(None)
    zeros = pa.array(np.zeros(body.num_rows, dtype=np.int32))

    def one_text(value: str) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(zeros, pa.array([value], pa.string()))

    load = {
        "load_id": one_text(ref["load_id"]),
        "source_id": one_text(source.source_id),
        "body_code": one_text(source.body),
        "period": pa.repeat(pa.scalar(period, pa.date32()), body.num_rows),
        "source_file": one_text(table.file),
    }
    return pa.table([*load.values(), *body.columns], names=[*load, *body.column_names])


#: The staged rows to publish, in a load's work folder (Arrow IPC file, uncompressed).
CANONICAL_FILE = "canonical.arrow"


def _finish(
    ref,
    work: Path,
    results,
    gx_docs: list[dict[str, Any]],
    canonical: Any,
    quarantine: list[dict],
    period,
) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.feather  # noqa: F401 (pa.feather)
    import pyarrow.parquet as pq

    (work / "gx_results.json").write_text(
        json.dumps(gx_docs, default=str, ensure_ascii=False), encoding="utf-8"
    )
    (work / "validation.json").write_text(
        json.dumps([r.as_record(ref["load_id"]) for r in results], default=str, ensure_ascii=False),
        encoding="utf-8",
    )
    qtable = pa.Table.from_pylist(
        quarantine,
        schema=pa.schema(
            [
                ("source_line", pa.int64()),
                ("rule_ids", pa.list_(pa.string())),
                ("reason", pa.string()),
                ("raw_json", pa.string()),
            ]
        ),
    )
    pq.write_table(qtable, work / "quarantine.parquet")
    if canonical is not None:
        # Arrow IPC, uncompressed: written and memory-mapped back by the publisher at a fifth
        # of Parquet's cost (the file lives only until the load is published)
        pa.feather.write_feather(canonical, work / CANONICAL_FILE, compression="uncompressed")
    ref["rows_good"] = 0 if canonical is None else canonical.num_rows
    ref["rows_quarantined"] = len(quarantine)
    ref["staged_at"] = datetime.now(UTC).isoformat()
    if ref["rows_good"] + ref["rows_quarantined"] != ref["rows_read"]:
        raise AssertionError(
            f"{ref['file_name']}: rows read {ref['rows_read']} != good {ref['rows_good']} + quarantined {ref['rows_quarantined']}"
        )
    (work / "ref.json").write_text(json.dumps(ref, default=str), encoding="utf-8")
    return ref


# ------------------------------------------------------------------------------------ publish
def publish(
    settings: Settings, refs: list[dict[str, Any]], con: Any = None
) -> list[dict[str, Any]]:
    """Publish staged loads (e.g. one source's files) together in one transaction, each load
    replacing its own partition (:func:`warehouse.publish.publish_loads`, which falls back to
    a transaction per load when one fails).

    Args:
        settings: where the warehouse and configuration are.
        refs: the staged load refs.
        con: an open writer session from :func:`publishing` (several sources published in
            one session); ``None`` opens one for these refs alone.

    Returns one summary per ref: ``load_id``, ``source_id``, ``period``, ``status``,
    ``rows_read``, ``rows_published``, ``rows_quarantined``, ``replaced_load_id``.
    """
    from warehouse.publish import publish_loads

    if con is None:
        with publishing(settings) as session:
            return publish(settings, refs, session)
    registry = load_registry(settings.config)
    loads = [(ref, FACT_TABLE[registry.source(ref["source_id"]).domain]) for ref in refs]
    return publish_loads(con, loads)


@contextmanager
def publishing(settings: Settings) -> Iterator[Any]:
    """The writer session :func:`publish` publishes in: the writer lock, the dimensions
    refreshed from the configuration, DuckDB on one thread; on the way out a checkpoint on
    every thread and the session closed (:func:`warehouse.connection.writing`).

    :func:`load_sources` keeps one session for all its sources: opening, refreshing and
    checkpointing once per source cost about 10 CPU-seconds more over a year of 75 sources
    (56.4 against 46.5 to publish them all; each checkpoint rewrites every table's last,
    partly filled row group), CPU the staging workers beside it need. Each source is still its
    own transaction, durable at its commit, and the writer lock is held until the last
    source is published.
    """
    from warehouse.connection import writing
    from warehouse.publish import refresh_dimensions

    # writer lock + single writer; the analysts' read snapshot is refreshed by the marts
    # rebuild that follows every publish (one copy per batch, not per load)
    with writing(settings.warehouse, snapshot=False) as con:
        # One DuckDB thread: a load's insert is a few row groups, and a second thread cost
        # 15-17% more CPU for the same wall time (a year's payroll or payments source on the
        # full warehouse), CPU the staging workers beside it need.
        con.execute("SET threads = 1")
        # A long session keeps what it wrote cached up to its memory limit, beside the staging
        # workers: a smaller cap (unless NGSS_DUCKDB_MEMORY_LIMIT says otherwise) and a
        # checkpoint whenever the log passes PUBLISH_CHECKPOINT_THRESHOLD hold the publisher of
        # a year's 75 sources to about 1.2 GB (2.2 GB at the defaults) for the same CPU.
        if not os.environ.get("NGSS_DUCKDB_MEMORY_LIMIT"):
            con.execute(f"SET memory_limit = '{PUBLISH_MEMORY_LIMIT}'")
        con.execute(f"SET checkpoint_threshold = '{PUBLISH_CHECKPOINT_THRESHOLD}'")
        try:
            refresh_dimensions(con, _resolver(str(settings.config)))
            yield con
        finally:
            # the checkpoint on the way out runs after the staging, on every core
            con.execute("RESET threads")


#: The publishing session's DuckDB ``memory_limit`` (see :func:`publishing`).
PUBLISH_MEMORY_LIMIT = "768MB"
#: The publishing session's ``checkpoint_threshold``: a checkpoint whenever the write-ahead
#: log passes it (each source's commit is durable in the log either way).
PUBLISH_CHECKPOINT_THRESHOLD = "256MB"


def build_marts(settings: Settings) -> dict[str, int]:
    """Rebuild every mart from ``core`` in one transaction; returns row counts per mart."""
    from warehouse.connection import writing
    from warehouse.models import build_all

    with writing(settings.warehouse) as con:
        return build_all(con, settings.config)


def load_source(
    settings: Settings, source_id: str, pool: StagePool | None = None
) -> list[dict[str, Any]]:
    """Pull, stage and publish one source outside Airflow (:func:`load_sources` of one); with
    ``pool``, the source's files are staged on its worker processes."""
    return load_sources(settings, [source_id], pool)


def load_sources(
    settings: Settings,
    source_ids: list[str],
    pool: StagePool | None = None,
    on_source: Callable[[str, list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`load_source` for several sources, publishing one while the next is staged.

    Each source is pulled and its files handed to ``pool``'s workers (up to
    :data:`SOURCES_AHEAD` sources ahead); while they stage, an earlier source's loads are
    published (the one writer is this process, so staging, which
    never opens the warehouse, runs beside it). Sources are published in the order given, each
    after all its files are staged and in its own transaction, exactly as one
    :func:`load_source` after another would, all in one writer session (:func:`publishing`)
    opened when the first source is staged: the writer lock is held from then to the last
    publish. A source of at most :data:`SPLIT_SOURCE_BYTES` is staged whole by one worker.

    Args:
        settings: where the landing folders, work files and warehouse are.
        source_ids: registry source ids, in publishing order.
        pool: the staging workers (``None``: stage in this process, nothing overlaps).
        on_source: called after each source is published, with its id and load summaries.

    Returns:
        Every load summary (see :func:`publish`), in order.

    Raises:
        ConfigError: a source id the registry does not have (before anything is pulled).
        whatever :func:`stage` or :func:`publish` raised (a defect; bad input is a rejection).
    """
    pool = pool if pool is not None else StagePool(1)
    out: list[dict[str, Any]] = []
    # an unknown source id fails here, before anything is pulled or the warehouse opened
    registry = load_registry(settings.config) if source_ids else None
    for sid in source_ids:
        registry.source(sid)

    with ExitStack() as stack:
        # the writer session opens when the first source is ready to publish: the writer lock
        # stays free while the first sources are pulled and staged
        session: list[Any] = []

        def finish(source_id: str, handle: Any) -> None:
            refs = pool.collect(handle)
            if not session:
                session.append(stack.enter_context(publishing(settings)))
            summaries = publish(settings, refs, session[0])
            alert_owners(settings, summaries)
            out.extend(summaries)
            if on_source is not None:
                on_source(source_id, summaries)

        # Sources handed to the workers and not yet published: up to SOURCES_AHEAD besides the
        # one being published, so the workers never wait for the parent's next pull.
        pending: list[tuple[str, Any]] = []
        for sid in source_ids:
            pending.append((sid, pool.submit(settings, pull(settings, sid))))
            if len(pending) > SOURCES_AHEAD:
                finish(*pending.pop(0))
        while pending:
            finish(*pending.pop(0))
    return out


#: How many sources :func:`load_sources` hands to the staging workers ahead of the one it
#: publishes (3: while source k is published, sources k+1 to k+3 stage or wait their turn;
#: a waiting source costs nothing until a worker takes it).
SOURCES_AHEAD = 3

#: A source whose files hold more bytes than this is cut into one run per staging worker;
#: a smaller one is staged whole by one worker, while the others stage the next sources.
#: Each run validates its files' row suites together, one GX run (about 0.15 s whatever its
#: size) per ``ROW_SUITE_BATCH_ROWS`` rows held, so cutting a source that fills less than two
#: such runs only adds GX runs: 100 MiB is 350,000 to 800,000 rows of the benchmark's CSV and
#: fixed-width extracts (130 to 300 bytes a row).
SPLIT_SOURCE_BYTES = 100 * 2**20


def _file_sizes(archived: list[dict[str, Any]]) -> list[int]:
    """Each archived file's size in bytes, at least 1 (a file gone from the archive counts 1:
    staging reports it)."""
    sizes = []
    for a in archived:
        try:
            sizes.append(max(os.path.getsize(a["archive_path"]), 1))
        except OSError:
            sizes.append(1)
    return sizes


def _chunks(archived: list[dict[str, Any]], parts: int) -> list[list[dict[str, Any]]]:
    """``archived`` cut, in order, into at most ``parts`` runs of about equal size in bytes (a
    missing file counts 1 byte), one per worker: each worker stages its run with
    :func:`stage_all`, which validates the run's files together (fewer GX runs) and gives its
    refs in file order, so the runs' refs joined are in file order too."""
    sizes = _file_sizes(archived)
    total = sum(sizes)
    out: list[list[dict[str, Any]]] = [[] for _ in range(min(parts, len(archived)))]
    done = 0
    for a, size in zip(archived, sizes, strict=True):
        # the run whose share of the bytes this file's middle falls in
        k = min(int((done + size / 2) * len(out) / total), len(out) - 1)
        out[k].append(a)
        done += size
    return [c for c in out if c]


class StagePool:
    """Stage independent files on several processes (``ngss load``, the benchmark); Airflow
    gets the same from its own parallel ``stage`` tasks.

    Staging touches no shared state (each file writes its own ``work/<load_id>/`` and never
    opens the warehouse), so files run side by side; publishing stays in the caller, one writer.
    Workers are started once (``spawn``: each imports pandas and Great Expectations itself) and
    reused for every call. ``workers`` defaults to the machine's cores; with 1, files are staged
    in the calling process.

    Use as a context manager::

        with StagePool() as pool:
            refs = pool.stage(settings, archived)
    """

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self._executor = None

    def __enter__(self) -> StagePool:
        if self.workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def stage(self, settings: Settings, archived: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """:func:`stage` every file; the refs in file order, as :func:`stage_all` gives them.

        Raises:
            whatever :func:`stage` raised for a file (a defect; bad input is a rejection).
        """
        return self.collect(self.submit(settings, archived))

    def submit(self, settings: Settings, archived: list[dict[str, Any]]) -> Any:
        """Start staging ``archived`` on the workers and return at once with a handle for
        :meth:`collect` (with one worker, the files are staged here, before returning)."""
        if self._executor is None:
            return stage_all(settings, archived)
        return [
            self._executor.submit(stage_all, settings, chunk)
            for chunk in _chunks(archived, self._parts(archived))
        ]

    def _parts(self, archived: list[dict[str, Any]]) -> int:
        """Into how many runs :meth:`submit` cuts ``archived``: one per worker for a source of
        more than :data:`SPLIT_SOURCE_BYTES`, else one (see :data:`SPLIT_SOURCE_BYTES`)."""
        return self.workers if sum(_file_sizes(archived)) > SPLIT_SOURCE_BYTES else 1

    def collect(self, handle: Any) -> list[dict[str, Any]]:
        """The refs of a :meth:`submit`, in file order, once every file is staged.

        Raises:
            whatever :func:`stage` raised for a file.
        """
        if self._executor is None:
            return handle
        return [ref for f in handle for ref in f.result()]


# ------------------------------------------------------------------------------------ reports
def alert_owners(settings: Settings, summaries: list[dict[str, Any]], smtp: Any = None) -> int:
    """E-mail each source's owner about loads rejected or quarantined above tolerance
    (see :mod:`warehouse.reports.alerts`). ``smtp`` defaults to ``NGSS_SMTP_*`` from the
    environment; the Airflow task passes the ``ngss_smtp`` connection. Returns messages built."""
    from warehouse.reports.alerts import send_alerts, smtp_from_env

    return len(send_alerts(settings, summaries, smtp if smtp is not None else smtp_from_env()))


def render_reports(settings: Settings) -> dict[str, Any]:
    """Render the review site into ``$NGSS_HOME/reports`` (see :mod:`warehouse.reports.render`)."""
    from warehouse.reports.render import render_site

    if not settings.warehouse.exists():
        log.warning("no warehouse at %s yet: no review site rendered", settings.warehouse)
        return {"root": None, "files": 0, "bodies": 0, "loads": 0}
    site = render_site(settings)
    return {
        "root": str(site.root),
        "files": site.files,
        "bodies": len(site.bodies),
        "loads": site.loads,
    }
