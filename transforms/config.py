"""The source registry and domain definitions, loaded from ``config/`` into typed, frozen models.

Layout of the configuration folder::

    config/domains/<domain>.yaml       canonical fields of a domain: type, required, header aliases
    config/sources/<body>__<domain>[__<feed>].yaml   one source: body, domain, pull, reader, columns,
                                       values, period, schedule, tolerance, owner
    config/mappings/*.csv              value maps reviewed by data owners (grades, professions)
    config/reference/*.csv             organisations, back-office expense types

Everything is checked at once by :func:`check_registry`; :func:`load_registry` raises one
:class:`~transforms.errors.ConfigError` listing every problem with its file and key.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from transforms.errors import ConfigError

SOURCE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*__[a-z]+(__[a-z0-9-]+)?$")
FieldType = Literal["text", "code", "amount", "date", "number", "integer"]
CANONICAL_GRADES = (
    "AA",
    "AO",
    "EO",
    "HEO",
    "SEO",
    "G7",
    "G6",
    "SCS1",
    "SCS2",
    "SCS3",
    "SCS4",
    "OTHER",
    "UNKNOWN",
)
BACK_OFFICE_FUNCTIONS = ("HR", "PAYROLL", "FINANCE", "PROCUREMENT", "OTHER")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldSpec(_Frozen):
    """One canonical field of a domain.

    Attributes:
        type: how the text is parsed: ``text`` (trimmed), ``code`` (kept exactly, leading zeros
            and all), ``amount`` (pounds, to DECIMAL(18,2)), ``date``, ``number`` (decimal),
            ``integer``.
        required: the column must be present in every file of the domain (file-level rule).
        not_null: a blank value quarantines the row (row-level rule).
        aliases: source header names that mean this field, compared after normalisation
            (case-folded, whitespace collapsed, trailing punctuation dropped).
        description: the column comment in the warehouse.
    """

    type: FieldType = "text"
    required: bool = False
    not_null: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""


class DomainSpec(_Frozen):
    """A domain: its canonical fields, in order. Loaded from ``config/domains/<name>.yaml``."""

    name: str
    description: str
    fields: dict[str, FieldSpec]
    period_months: int = 1


class Owner(_Frozen):
    name: str
    email: str


class PullSpec(_Frozen):
    """Where a source's files come from.

    ``local`` reads ``<root>/<path>/<pattern>``, where root is the landing root (default) or,
    for ``root: generated``, the folder ``ngss generate`` writes synthetic extracts to;
    ``http``, ``sftp`` and ``s3`` use the same interface with credentials from the Airflow
    connection ``conn_id``.
    """

    method: Literal["local", "http", "sftp", "s3"] = "local"
    root: Literal["landing", "generated"] = "landing"
    path: str
    pattern: str = "*"
    conn_id: str | None = None

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        if v.startswith("/") or ".." in Path(v).parts:
            raise ValueError("must be a relative path inside the landing root, without '..'")
        return v


class ReaderSpec(_Frozen):
    """How to read a file into rows of text.

    Attributes:
        format: ``csv`` (any delimiter), ``excel`` (XLS, XLSX, ODS: the reader picks by content),
            ``parquet`` (every column read as text) or ``fixed_width`` (columns of ``widths``
            characters; the first record is the header).
        encoding: ``auto`` (detected) or a Python codec name such as ``cp1252``.
        delimiter: ``auto`` (sniffed) or a single character.
        header_row: 1-based record number of the (first) header row; ``None`` finds it by content
            (the first of the first 30 records that names the most known column aliases).
        header_rows: number of stacked header records flattened into one name per column
            (merged cells are forward-filled across), e.g. 3 for group / grade / measure.
        sheets: for spreadsheets, which sheets to read (``None`` = all).
        drop_columns: source columns removed on read before anything is stored (personal data
            such as names and contact details).
        widths: for ``fixed_width``, the width in characters of each column, in order.
    """

    format: Literal["csv", "excel", "parquet", "fixed_width"] = "csv"
    encoding: str = "auto"
    delimiter: str = "auto"
    header_row: int | None = Field(default=None, ge=1)
    header_rows: int = Field(default=1, ge=1)
    sheets: tuple[str, ...] | None = None
    drop_columns: tuple[str, ...] = ()
    widths: tuple[int, ...] | None = None


class ValueSpec(_Frozen):
    """How values are interpreted.

    Attributes:
        date_formats: ``strptime`` formats tried in order; day-first only (never month-first).
            Excel serial day numbers are always accepted as well.
        entity_role: what the row's entity / organisation column names: ``body`` (a public
            body resolved to ``dim_organisation``, unknown is a quarantine) or ``unit`` (a
            business unit of the source's own body, kept as text).
        grades: mapping CSV (in ``config/mappings``) from this source's grade names to canonical
            grades, columns ``source_grade,canonical_grade``.
        professions: mapping CSV from profession names to back-office functions, columns
            ``profession,function``.
        withheld_pay: pay values meaning "not disclosed"; stored as NULL, never as zero.
        decimal_comma: amounts and numbers are written with a decimal comma and dots or spaces
            between thousands (``1.234,56``), as continental export tools do.
    """

    date_formats: tuple[str, ...] = ("%d/%m/%Y",)
    entity_role: Literal["body", "unit"] = "body"
    grades: str | None = None
    professions: str | None = None
    withheld_pay: tuple[str, ...] = ()
    decimal_comma: bool = False


class PeriodSpec(_Frozen):
    """How a file's period (first day of its first month) is found.

    ``column``: from the dates in ``column`` (the month holding most rows; a file spanning
    ``months`` months starts at the earliest such month). ``filename``: ``regex`` with named
    groups ``year`` and ``month`` (number or name) and optional ``day``. ``sheet``: from the
    sheet name with ``format`` (strptime). ``columns``: from year and month columns.

    ``min_share`` (``column`` only): at least this share of the dated rows must fall in the
    period found, else the file is rejected (``file.period_in_window``) rather than published
    into the wrong partition; an accounts-payable history that spans many months sets it lower.
    """

    source: Literal["column", "filename", "sheet", "columns"] = "column"
    column: str | None = None
    regex: str | None = None
    format: str | None = None
    year_column: str | None = None
    month_column: str | None = None
    months: int = 1
    min_share: float = Field(default=0.8, gt=0, le=1)


class Tolerance(_Frozen):
    """Share of bad rows a load may have before the whole file is rejected."""

    max_quarantine_share: float = Field(default=0.25, ge=0, le=1)


class SourceSpec(_Frozen):
    """One source: one body sending one domain (and feed) of extract. Loaded from
    ``config/sources/<source_id>.yaml``; ``source_id`` must equal the file stem.

    Attributes:
        columns: canonical field -> the source header(s) that carry it (first present wins),
            in addition to the domain's aliases. A repeated header is named by position with a
            ``#2`` suffix (``Account Code#2``); an unnamed column holding data is ``#<n>``.
        ignore_columns: source columns acknowledged as outside the canonical model; they stay in
            the archived file. Any other unmapped column holding data rejects the file
            (``file.unexpected_column``), so nothing is dropped silently.
        constants: canonical field -> a fixed value for every row (e.g. the entity of a file
            that has no entity column).
    """

    source_id: str
    body: str
    domain: str
    feed: str | None = None
    title: str
    owner: Owner
    schedule: str | None = "@monthly"
    retries: int = 2
    pull: PullSpec
    reader: ReaderSpec = ReaderSpec()
    columns: dict[str, tuple[str, ...]] = {}
    ignore_columns: tuple[str, ...] = ()
    constants: dict[str, str] = {}
    values: ValueSpec = ValueSpec()
    period: PeriodSpec = PeriodSpec()
    tolerance: Tolerance = Tolerance()
    licence: str = "Open Government Licence v3.0"
    notes: str = ""

    @field_validator("columns", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (x,) if isinstance(x, str) else tuple(x) for k, x in v.items()}
        return v


class Registry(_Frozen):
    """The whole configuration: domains, sources, value mappings."""

    domains: dict[str, DomainSpec]
    sources: dict[str, SourceSpec]
    mappings: dict[str, dict[str, str]]

    def source(self, source_id: str) -> SourceSpec:
        try:
            return self.sources[source_id]
        except KeyError:
            raise ConfigError([("config/sources", source_id, "no such source")]) from None


def _load_yaml(path: Path, problems: list[tuple[str, str, str]]) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append((str(path), "-", f"cannot be parsed as YAML: {exc}"))
        return None
    if not isinstance(data, dict):
        problems.append((str(path), "-", "must hold a mapping at the top level"))
        return None
    return data


def _pydantic_problems(path: Path, exc: ValidationError) -> list[tuple[str, str, str]]:
    return [
        (str(path), ".".join(str(p) for p in err["loc"]) or "-", err["msg"]) for err in exc.errors()
    ]


def _load_mapping(path: Path, problems: list[tuple[str, str, str]]) -> dict[str, str]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        problems.append((str(path), "-", f"cannot be read: {exc}"))
        return {}
    if not rows or len(rows[0]) != 2:
        problems.append((str(path), "header", "a mapping CSV has exactly two columns"))
        return {}
    out: dict[str, str] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            problems.append((str(path), f"line {lineno}", "expected 2 fields"))
            continue
        key = normalise_label(row[0])
        if key in out and out[key] != row[1].strip():
            problems.append((str(path), f"line {lineno}", f"{row[0]!r} mapped twice"))
        out[key] = row[1].strip()
    return out


def normalise_label(text: str) -> str:
    """Fold a header or label for comparison: case-folded, non-breaking spaces and runs of
    whitespace (including line breaks) collapsed to one space, stray quotes and trailing
    punctuation dropped. ``"Supplier Postcode "`` and ``"supplier  postcode"`` compare equal.
    A semicolon followed by whitespace separates the parts of a multi-paragraph header cell and
    becomes one space: ``"Payroll staff;\\nAO/AA;\\nHeadcount"`` -> ``"payroll staff ao/aa
    headcount"``."""
    text = text.replace("\u00a0", " ").replace("\ufeff", "")
    text = re.sub(r";\s+", " ", text)
    text = re.sub(r"\s+", " ", text).strip().strip("'\"").strip()
    text = re.sub(r"[\s:;.,]+$", "", text)
    return text.casefold()


def _body_codes(path: Path, problems: list[tuple[str, str, str]]) -> set[str] | None:
    if not path.exists():
        problems.append((str(path), "-", "the organisations reference list is missing"))
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["body_code"] for row in csv.DictReader(fh)}


SCHEDULE_PRESETS = (
    "@once",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
    "@annually",
)


def _schedule_problem(schedule: str | None) -> str | None:
    """Why a schedule is not one Airflow accepts (a preset or a 5-field cron), or None."""
    if schedule is None or schedule in SCHEDULE_PRESETS:
        return None
    try:
        from croniter import croniter
    except ImportError:  # pragma: no cover - croniter comes with Airflow
        return None
    if len(schedule.split()) == 5 and croniter.is_valid(schedule):
        return None
    return f"{schedule!r} is neither an Airflow preset ({', '.join(SCHEDULE_PRESETS)}) nor a 5-field cron expression"


def check_registry(config_dir: Path) -> tuple[Registry | None, list[tuple[str, str, str]]]:
    """Load and check the whole configuration folder.

    Returns:
        ``(registry, problems)``: the registry is ``None`` when any problem was found; each
        problem is ``(file, key, message)``.
    """
    problems: list[tuple[str, str, str]] = []
    domains: dict[str, DomainSpec] = {}
    for path in sorted((config_dir / "domains").glob("*.yaml")):
        data = _load_yaml(path, problems)
        if data is None:
            continue
        try:
            domains[path.stem] = DomainSpec(name=path.stem, **data)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(path, exc))
    mappings: dict[str, dict[str, str]] = {}
    for path in sorted((config_dir / "mappings").glob("*.csv")):
        mappings[path.name] = _load_mapping(path, problems)
    bodies = _body_codes(config_dir / "reference" / "organisations.csv", problems)
    sources: dict[str, SourceSpec] = {}
    seen_landing: dict[tuple[str, str], str] = {}
    for path in sorted((config_dir / "sources").glob("*.yaml")):
        data = _load_yaml(path, problems)
        if data is None:
            continue
        try:
            src = SourceSpec(**data)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(path, exc))
            continue
        problems.extend(_check_source(path, src, domains, mappings))
        if bodies is not None and src.body not in bodies:
            problems.append(
                (
                    str(path),
                    "body",
                    f"{src.body!r} is not a body_code of config/reference/organisations.csv",
                )
            )
        key = (src.pull.path, src.pull.pattern)
        if key in seen_landing:
            problems.append(
                (str(path), "pull", f"same landing path and pattern as {seen_landing[key]}")
            )
        seen_landing[key] = src.source_id
        sources[src.source_id] = src
    if not sources:
        problems.append((str(config_dir / "sources"), "-", "no sources configured"))
    if problems:
        return None, problems
    return Registry(domains=domains, sources=sources, mappings=mappings), []


def _check_source(
    path: Path,
    src: SourceSpec,
    domains: dict[str, DomainSpec],
    mappings: dict[str, dict[str, str]],
) -> list[tuple[str, str, str]]:
    f = str(path)
    out: list[tuple[str, str, str]] = []
    if src.source_id != path.stem:
        out.append((f, "source_id", f"must equal the file name stem {path.stem!r}"))
    if not SOURCE_ID_RE.match(src.source_id):
        out.append((f, "source_id", "must look like <body>__<domain>[__<feed>] in lower case"))
    expected = f"{src.body}__{src.domain}" + (f"__{src.feed}" if src.feed else "")
    if src.source_id != expected:
        out.append((f, "source_id", f"must be {expected!r} for this body, domain and feed"))
    domain = domains.get(src.domain)
    if domain is None:
        out.append((f, "domain", f"unknown domain {src.domain!r}; known: {sorted(domains)}"))
        return out
    for name in list(src.columns) + list(src.constants):
        if name not in domain.fields:
            out.append((f, f"columns.{name}", f"not a field of domain {src.domain!r}"))
    for name, spec in domain.fields.items():
        if (
            spec.required
            and name not in src.constants
            and (
                # an explicit empty list says the source has no such column
                (name in src.columns and not src.columns[name])
                or not (src.columns.get(name) or spec.aliases)
            )
        ):
            out.append((f, f"columns.{name}", "required field has no source column"))
    for key in ("grades", "professions"):
        ref = getattr(src.values, key)
        if ref is not None and ref not in mappings:
            out.append((f, f"values.{key}", f"mapping file config/mappings/{ref} not found"))
    if src.values.grades in mappings:
        bad = sorted({v for v in mappings[src.values.grades].values() if v not in CANONICAL_GRADES})
        if bad:
            out.append((f, "values.grades", f"maps to non-canonical grades {bad}"))
    if src.values.professions in mappings:
        bad = sorted(
            {v for v in mappings[src.values.professions].values() if v not in BACK_OFFICE_FUNCTIONS}
        )
        if bad:
            out.append((f, "values.professions", f"maps to unknown functions {bad}"))
    p = src.period
    if p.source == "column" and (p.column is None or p.column not in domain.fields):
        out.append((f, "period.column", "needs a date field of the domain"))
    if p.source == "filename":
        if not p.regex:
            out.append((f, "period.regex", "needed when period.source is filename"))
        else:
            try:
                groups = re.compile(p.regex).groupindex
                if "year" not in groups or "month" not in groups:
                    out.append((f, "period.regex", "needs named groups year and month"))
            except re.error as exc:
                out.append((f, "period.regex", f"invalid regular expression: {exc}"))
    if p.source == "sheet" and not p.format:
        out.append((f, "period.format", "needed when period.source is sheet"))
    if p.source == "columns" and not (p.year_column and p.month_column):
        out.append((f, "period", "year_column and month_column needed"))
    why = _schedule_problem(src.schedule)
    if why:
        out.append((f, "schedule", why))
    if "/" in src.pull.pattern or ".." in src.pull.pattern:
        out.append(
            (
                f,
                "pull.pattern",
                "a file-name pattern, without '/' or '..' (the folder is pull.path)",
            )
        )
    if src.reader.format == "fixed_width" and not src.reader.widths:
        out.append((f, "reader.widths", "a fixed_width source needs the width of each column"))
    for fmt in src.values.date_formats:
        # year first (ISO 2025-01-31) is unambiguous; month before day without it is not
        if "%m" in fmt and fmt.index("%m") < fmt.find("%d") and not fmt.startswith("%Y"):
            out.append(
                (f, "values.date_formats", f"{fmt!r} reads month first; UK dates are day first")
            )
    return out


@cache
def _cached_registry(config_dir: str) -> Registry:
    registry, problems = check_registry(Path(config_dir))
    if registry is None:
        raise ConfigError(problems)
    return registry


def load_registry(config_dir: Path) -> Registry:
    """Load the configuration, raising :class:`ConfigError` with every problem found.

    The result is cached per folder for the life of the process (DAG parsing calls it once).
    """
    return _cached_registry(str(Path(config_dir).resolve()))
