"""``ngss generate``: synthetic payroll, HR-employee and accounts-payable extracts, each in its
body's own export layout, with planted faults and duplicates whose ground truth is written
beside them.

Real payroll is personal data and never public, so these extracts stand in for what bodies'
payroll, HR and finance systems export. Everything is invented: people, names, NI numbers,
suppliers, invoices.

Inputs (configuration, never code):

* ``config/generator/bodies.yaml``: per body headcount, layout name, code formats, grades with
  band names and pay ranges, back-office staff shares;
* ``config/generator/suppliers.csv``: the supplier pool (names, postcodes, VAT and Companies
  House numbers, expense types, invoice-number formats, hand-written name variants and the
  near-identical different firms that must never be merged);
* the registry: ``config/sources/<body>__payroll.yaml``, ``<body>__employment.yaml`` and
  ``<body>__spend__ap.yaml`` say how each file is written (headers in the order of
  ``columns``, name columns ``reader.drop_columns`` right after the NI number, encoding,
  delimiter, widths, ``values.date_formats[0]``, ``values.decimal_comma``), and each body's
  grade mapping says which band names exist.

Output: ``out_dir/<body>/<domain>/<body>_<domain>_<YYYY-MM>.<ext>`` (domain ``payroll``,
``employment``, ``spend``) and ``out_dir/ground_truth/*.csv``:

* ``faults.csv``: source_id, file_name, source_line, kind, expected_rule_id, detail;
* ``people_on_two_payrolls.csv``: the same NI number paid by two bodies in one pay period;
* ``duplicate_payments.csv`` and ``must_not_flag.csv``: planted duplicate payments and
  look-alikes (credit notes, an invoice number reused a year later, two sites' invoices);
* ``suppliers.csv``: the true supplier of every accounts-payable line;
* ``function_staff.csv``: per body, pay period and back-office function, the staff, FTE and pay.

Source lines are the 1-based line or sheet row the reader reports: CSV and fixed width, the
physical line (header = line 1, first data row = line 2; no field holds a line break);
Parquet, the 1-based row number (the schema is the header, line 0), as
``transforms.read.read_parquet_file`` reports it; XLSX, the sheet row (title rows, then the
header row, then data).

Determinism: every random draw comes from ``numpy.random.default_rng`` seeded with
``(seed, body position in bodies.yaml, purpose, month)``, so the same seed gives byte-identical
files (XLSX zip entries carry a fixed timestamp). Work is vectorised with numpy and pyarrow:
loops run per body, month, file, format or planted item, never per generated row (openpyxl
writes XLSX rows one by one; that is the library's interface).
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from transforms.config import DomainSpec, SourceSpec, normalise_label

DEFAULT_SEED = 20251130
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LAYOUTS: dict[str, dict[str, str]] = {
    "csv_cp1252": {"ext": "csv", "eol": "\r\n", "doc": "comma-separated, cp1252, CRLF"},
    "csv_utf8_bom": {"ext": "csv", "eol": "\r\n", "doc": "comma-separated, UTF-8 with BOM"},
    "csv_semicolon_decimal_comma": {
        "ext": "csv",
        "eol": "\n",
        "doc": "semicolon-separated, UTF-8, decimal comma (1.234,56)",
    },
    "xlsx_title_block": {"ext": "xlsx", "eol": "", "doc": "XLSX, title rows above the header"},
    "parquet": {"ext": "parquet", "eol": "", "doc": "Parquet with typed columns"},
    "fixed_width": {"ext": "txt", "eol": "\r\n", "doc": "fixed-width text, header record first"},
}
DOMAIN_DIRS = {"payroll": "payroll", "employment": "employment", "ap": "spend"}
DOMAIN_TITLES = {
    "payroll": "Payroll extract",
    "employment": "HR employee extract",
    "ap": "Accounts payable payments",
}
FUNCTIONS = ("HR", "PAYROLL", "FINANCE", "PROCUREMENT")
BACK_OFFICE_EXPENSE_TYPES = (
    "HR services",
    "Payroll services",
    "Finance and ERP systems",
    "Recruitment",
    "Training",
    "Audit",
    "Transactional processing",
)
OTHER_PROFESSIONS = (
    "Operational Delivery",
    "Policy",
    "Information Technology",
    "Programme and Project Management (PPM)",
    "Communications",
    "Law",
    "Economics",
    "Property and Asset Management",
    "Knowledge and Information Management (KIM)",
    "Statisticians",
    "Internal Audit",
    "Science and Engineering",
)
OTHER_PROFESSION_WEIGHTS = (46, 14, 9, 7, 4, 3, 3, 3, 3, 3, 2, 3)
JOB_TITLES = {
    "HR": ("HR Business Partner", "HR Adviser", "HR Caseworker", "Learning and Development Lead"),
    "PAYROLL": (
        "Payroll Officer",
        "Payroll Administrator",
        "Payroll Team Leader",
        "Pensions Officer",
    ),
    "FINANCE": (
        "Management Accountant",
        "Finance Business Partner",
        "Accounts Payable Officer",
        "Financial Controller",
    ),
    "PROCUREMENT": (
        "Commercial Manager",
        "Procurement Officer",
        "Category Manager",
        "Contract Manager",
    ),
    "OTHER": (
        "Caseworker",
        "Policy Adviser",
        "Operational Delivery Officer",
        "Team Leader",
        "Project Manager",
        "Digital Analyst",
        "Executive Officer",
        "Senior Policy Adviser",
    ),
}
# Invented: chosen not to be real words found in supplier names, places or job titles, so a
# privacy scan can look for them.
FORENAMES = (
    "Aldwyn",
    "Brisella",
    "Caddoc",
    "Delphyne",
    "Eirwyth",
    "Fennimore",
    "Gwendreth",
    "Hesperin",
    "Isoldric",
    "Jessamyn",
    "Keverne",
    "Lorwenna",
    "Maddoran",
    "Nerysse",
    "Osmerod",
    "Perenna",
    "Quillon",
    "Rhosyna",
    "Sebrith",
    "Tamsora",
    "Ulfhild",
    "Veradine",
    "Wystan",
    "Yselda",
    "Zephrine",
    "Arvell",
    "Bethrin",
    "Corwenna",
    "Dunstric",
    "Elowyn",
)
SURNAMES = (
    "Quarrington",
    "Blenkinsop",
    "Pettigrave",
    "Ashwhistle",
    "Thrumble",
    "Varncombe",
    "Gollisford",
    "Marrowby",
    "Stinchley",
    "Pennywhistle",
    "Crabtreeve",
    "Dunsmoregh",
    "Farthingale",
    "Hobbleswick",
    "Inglethorpe",
    "Jellicoeur",
    "Kettlebrough",
    "Lumbersett",
    "Mottisfont",
    "Nettlefold",
    "Oddingley",
    "Purslowe",
    "Rattenbury",
    "Scrimgeour",
    "Tollemache",
    "Umfreville",
    "Wragglesby",
    "Yeovilton",
    "Zouchester",
    "Brackenridgeworth",
)
UNKNOWN_BODY_NAME = "Department for Administrative Affairs"
UNKNOWN_GRADES = ("Grade Z", "Band Q9", "TEMP-XX", "Level 99")
FAULT_RULES = {
    "invalid_ni": "payroll.ni_valid",
    "pay_not_reconciling": "payroll.pay_reconciles",
    "unknown_grade": "payroll.grade_known",
    "fte_out_of_range": "payroll.fte_range",
    "missing_pay_date": "payroll.pay_date_valid",
    "exact_duplicate_row": "payroll.not_duplicate",
    "unknown_body": "payroll.body_known",
}
PAYROLL_FAULT_KINDS = tuple(FAULT_RULES)

# National Insurance number prefixes HMRC issues: first letter not D F I Q U V, second not
# D F I O Q U V, and not BG GB KN NK NT TN ZZ.
_FIRST = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in "DFIQUV"]
_SECOND = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in "DFIOQUV"]
NI_PREFIXES = tuple(
    a + b
    for a in _FIRST
    for b in _SECOND
    if a + b not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
)
NI_RE = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
_NI_SPACE = len(NI_PREFIXES) * 1_000_000 * 4
_NI_MULT = 982_451_653  # prime, coprime with the space size: x -> a*x+b mod M is a bijection

# 2025-26 rates (England, Wales and Northern Ireland), pence
PERSONAL_ALLOWANCE = 12_570_00
BASIC_RATE_LIMIT = 50_270_00
NI_PRIMARY_THRESHOLD_MONTH = 1_048_00
NI_UPPER_EARNINGS_MONTH = 4_189_00
NI_SECONDARY_THRESHOLD_MONTH = 417_00
EMPLOYER_PENSION_RATE = 0.2897
AP_LINES_PER_PERSON = 0.40


# ---------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class Band:
    band: str
    canonical: str
    min: int
    max: int
    share: float


@dataclass(frozen=True)
class Body:
    code: str
    index: int
    name: str
    headcount: int
    layout: str
    employee_number: str
    cost_centre: str
    ni_spaced: bool
    amount_style: str
    pay_day: int | str
    payment_ref: str
    procurement_profession: str
    back_office: dict[str, float]
    bands: tuple[Band, ...]
    title_rows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Supplier:
    supplier_id: str
    name: str
    postcode: str
    town: str
    vat_number: str
    company_number: str
    sector: str
    expense_types: tuple[str, ...]
    invoice_format: str
    variants: tuple[str, ...]


@dataclass
class FileWritten:
    body: str
    domain: str
    source_id: str
    path: Path
    rows: int


@dataclass
class GenerationSummary:
    """What one run wrote: every file with its data rows, and the ground-truth folder."""

    out_dir: Path
    files: list[FileWritten] = field(default_factory=list)
    ground_truth: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def rows(self, body: str | None = None, domain: str | None = None) -> int:
        return sum(
            f.rows
            for f in self.files
            if (body is None or f.body == body) and (domain is None or f.domain == domain)
        )

    def by_body_domain(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for f in self.files:
            out[(f.body, f.domain)] = out.get((f.body, f.domain), 0) + f.rows
        return out


def load_bodies(config_dir: Path) -> dict[str, Body]:
    data = yaml.load(
        (config_dir / "generator" / "bodies.yaml").read_text(encoding="utf-8"), Loader=_Loader
    )
    orgs = _organisations(config_dir)
    out: dict[str, Body] = {}
    for i, (code, b) in enumerate(data["bodies"].items()):
        if code not in orgs:
            raise ValueError(f"bodies.yaml: {code!r} is not in config/reference/organisations.csv")
        if b["layout"] not in LAYOUTS:
            raise ValueError(f"bodies.yaml: {code}: unknown layout {b['layout']!r}")
        out[code] = Body(
            code=code,
            index=i,
            name=orgs[code],
            headcount=int(b["headcount"]),
            layout=b["layout"],
            employee_number=b["employee_number"],
            cost_centre=b["cost_centre"],
            ni_spaced=bool(b["ni_spaced"]),
            amount_style=b.get("amount_style", "plain"),
            pay_day=b.get("pay_day", "last_working_day"),
            payment_ref=b["payment_ref"],
            procurement_profession=b.get("procurement_profession", "Commercial"),
            back_office={k: float(v) for k, v in b["back_office"].items()},
            bands=tuple(Band(**g) for g in b["grades"]),
            title_rows=tuple(b.get("title_rows", ())),
        )
    return out


def _organisations(config_dir: Path) -> dict[str, str]:
    with (config_dir / "reference" / "organisations.csv").open(encoding="utf-8", newline="") as fh:
        return {r["body_code"]: r["name"] for r in csv.DictReader(fh)}


def load_suppliers(config_dir: Path) -> list[Supplier]:
    with (config_dir / "generator" / "suppliers.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Supplier(
            supplier_id=r["supplier_id"],
            name=r["name"],
            postcode=r["postcode"],
            town=r["town"],
            vat_number=r["vat_number"],
            company_number=r["company_number"],
            sector=r["sector"],
            expense_types=tuple(r["expense_types"].split("|")),
            invoice_format=r["invoice_format"],
            variants=tuple(v for v in r["variants"].split("|") if v),
        )
        for r in rows
    ]


def _load_source(config_dir: Path, source_id: str) -> SourceSpec:
    path = config_dir / "sources" / f"{source_id}.yaml"
    return SourceSpec(**yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader))


def _load_domain(config_dir: Path, name: str) -> DomainSpec:
    path = config_dir / "domains" / f"{name}.yaml"
    return DomainSpec(name=name, **yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader))


def _load_mapping(config_dir: Path, name: str) -> dict[str, str]:
    with (config_dir / "mappings" / name).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return {normalise_label(r[0]): r[1].strip() for r in rows[1:] if len(r) == 2}


# ---------------------------------------------------------------------------------------------
# supplier name variants (hand-written rules; see also suppliers.csv `variants`)

_LEGAL_SWAPS = (
    (r"\bLimited$", "Ltd"),
    (r"\bLtd$", "Limited"),
    (r"\bPLC$", "plc"),
    (r"\bplc$", "PLC"),
    (r"\bLLP$", "L.L.P."),
)


def name_variants(s: Supplier) -> list[str]:
    """The spellings a body's ledger may hold for one supplier: the canonical name first, then
    case, Ltd/Limited, PLC/plc, LLP/L.L.P., &/and, a leading "The", punctuation and hyphens,
    spacing, a trailing place name, and the hand-written variants (t/a names, typos)."""
    name = s.name
    out = [name, name.upper()]
    for pat, rep in _LEGAL_SWAPS:
        if re.search(pat, name):
            out.append(re.sub(pat, rep, name))
            out.append(re.sub(pat, rep, name).upper())
    if " & " in name:
        out.append(name.replace(" & ", " and "))
    elif " and " in name:
        out.append(name.replace(" and ", " & "))
    out.append(name[4:] if name.startswith("The ") else "The " + name)
    if "." in name or "," in name:
        out.append(name.replace(".", "").replace(",", ""))
    if " Co " in name or name.endswith(" Co Ltd"):
        out.append(name.replace(" Co ", " Co. "))
    if " " in name:
        out.append(name.replace(" ", "  ", 1))
    out.append(name + " ")
    out.append(f"{name.upper()} {s.town.upper()}")
    out.extend(s.variants)
    seen: dict[str, None] = {}
    for v in out:
        seen.setdefault(v, None)
    return list(seen)


def reference_variant(ref: str) -> str:
    """How a second keying of the same invoice reference often looks: separators dropped and
    zeros leading a digit run dropped (``INV-00123`` -> ``INV123``, ``006730`` -> ``6730``), or,
    when that changes nothing, the same in lower case. Equal to the original after the matching
    normalisation of case 19 (upper-case, non-alphanumerics removed, leading zeros of digit runs
    ignored)."""
    alnum = re.sub(r"[^0-9A-Za-z]", "", ref)
    v = re.sub(r"(?<![0-9])0+(?=[0-9])", "", alnum)
    return v if v != ref else ref.lower()


# ---------------------------------------------------------------------------------------------
# vectorised text helpers (pyarrow)


def _take(strings: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(strings), pa.string()), pa.array(idx, pa.int64()))


def _const(text: str, n: int) -> pa.Array:
    return _take([text], np.zeros(n, dtype=np.int64))


def _int_str(values: np.ndarray, width: int | None = None) -> pa.Array:
    s = pc.cast(pa.array(values, pa.int64()), pa.string())
    return pc.utf8_lpad(s, width=width, padding="0") if width else s


_FMT_RE = re.compile(r"\{(?P<name>[A-Z])\}|\{:(?:0(?P<width>\d+))?d\}")


def format_codes(fmt: str, values: np.ndarray, **named: pa.Array) -> pa.Array:
    """Vectorised ``fmt.format(v)`` for a format with one integer placeholder ``{:0Nd}`` /
    ``{:d}`` and optional named text placeholders (``{P}``, ``{Y}``) given as arrays."""
    n = len(values)
    parts: list[pa.Array] = []
    pos = 0
    for m in _FMT_RE.finditer(fmt):
        if m.start() > pos:
            parts.append(_const(fmt[pos : m.start()], n))
        if m["name"]:
            parts.append(named[m["name"]])
        else:
            parts.append(_int_str(values, int(m["width"]) if m["width"] else None))
        pos = m.end()
    if pos < len(fmt):
        parts.append(_const(fmt[pos:], n))
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "")


def _group_thousands(x: np.ndarray, sep: str) -> pa.Array:
    """Non-negative integers with a thousands separator (up to 10^12)."""
    g = [x % 1000, (x // 1000) % 1000, (x // 1_000_000) % 1000, x // 1_000_000_000]
    s0 = _int_str(g[0])
    p0, p1, p2 = (_int_str(v, 3) for v in g[:3])
    s1, s2, s3 = (_int_str(v) for v in g[1:])
    sp = _const(sep, len(x))
    four = pc.binary_join_element_wise(s3, sp, p2, sp, p1, sp, p0, "")
    three = pc.binary_join_element_wise(s2, sp, p1, sp, p0, "")
    two = pc.binary_join_element_wise(s1, sp, p0, "")
    out = pc.if_else(
        pa.array(x >= 1_000_000_000),
        four,
        pc.if_else(pa.array(x >= 1_000_000), three, pc.if_else(pa.array(x >= 1000), two, s0)),
    )
    return out


def format_pence(pence: pa.Array, style: str) -> pa.Array:
    """Amounts held as integer pence to text: ``plain`` 1234.56, ``pound`` £1,234.56 (minus
    before the pound sign), ``comma`` 1.234,56; null stays null."""
    null = pc.is_null(pence).to_numpy(zero_copy_only=False)
    p = pc.fill_null(pence, 0).to_numpy().astype(np.int64)
    neg = p < 0
    a = np.abs(p)
    whole, frac = a // 100, a % 100
    if style == "pound":
        w = _group_thousands(whole, ",")
        dec = "."
    elif style == "comma":
        w = _group_thousands(whole, ".")
        dec = ","
    else:
        w = _int_str(whole)
        dec = "."
    body = pc.binary_join_element_wise(w, _int_str(frac, 2), dec)
    if style == "pound":
        body = pc.binary_join_element_wise(_const("£", len(p)), body, "")
    signed = pc.if_else(
        pa.array(neg), pc.binary_join_element_wise(_const("-", len(p)), body, ""), body
    )
    return pc.if_else(pa.array(null), pa.nulls(len(p), pa.string()), signed)


def format_number(values: pa.Array, decimal_comma: bool) -> pa.Array:
    """FTE and other small numbers with two decimals (0.80, or 0,80 with a decimal comma)."""
    f = pc.fill_null(values, 0).to_numpy()
    null = pc.is_null(values).to_numpy(zero_copy_only=False)
    hundredths = np.round(f * 100).astype(np.int64)
    return format_pence(pa.array(hundredths, mask=null), "comma" if decimal_comma else "plain")


def _format_dates(values: pa.Array, fmt: str) -> pa.Array:
    """Dates to text with a strftime format; each distinct date is formatted once (a month's
    file holds a few dozen distinct dates)."""
    null = pc.is_null(values).to_numpy(zero_copy_only=False)
    days = pc.fill_null(pc.cast(values, pa.int32()), 0).to_numpy()
    uniq, inv = np.unique(days, return_inverse=True)
    epoch = date(1970, 1, 1)
    texts = [(epoch + timedelta(days=int(d))).strftime(fmt) for d in uniq]
    out = _take(texts, inv.reshape(-1))
    return pc.if_else(pa.array(null), pa.nulls(len(days), pa.string()), out) if null.any() else out


# ---------------------------------------------------------------------------------------------
# NI numbers


def ni_numbers(global_ids: np.ndarray, seed: int, spaced: bool) -> pa.Array:
    """Valid, distinct NI numbers for distinct ids (a bijection of the NI number space)."""
    off = int(np.random.default_rng([seed, 99]).integers(0, _NI_SPACE))
    code = (global_ids.astype(np.int64) * _NI_MULT + off) % _NI_SPACE
    prefix = code // 4_000_000
    digits = (code // 4) % 1_000_000
    suffix = code % 4
    p = _take(NI_PREFIXES, prefix)
    d = _int_str(digits, 6)
    s = _take(("A", "B", "C", "D"), suffix)
    if not spaced:
        return pc.binary_join_element_wise(p, d, s, "")
    d1, d2, d3 = (pc.utf8_slice_codeunits(d, i, i + 2) for i in (0, 2, 4))
    return pc.binary_join_element_wise(p, d1, d2, d3, s, " ")


_INVALID_NI = (
    ("DQ", "123456", "A"),  # first letter D
    ("QA", "234567", "B"),  # first letter Q
    ("AO", "345678", "C"),  # second letter O
    ("GB", "456789", "D"),  # prefix GB never issued
    ("TN", "567890", "A"),  # temporary prefix
    ("AB", "678901", "E"),  # suffix E
    ("CE", "12345", "B"),  # five digits
    ("HJ", "1234567", "C"),  # seven digits
)


def invalid_ni(k: int, rng: np.random.Generator, spaced: bool) -> list[str]:
    out = []
    for i in rng.integers(0, len(_INVALID_NI), k):
        p, d, s = _INVALID_NI[int(i)]
        out.append(f"{p} {d[:2]} {d[2:4]} {d[4:]} {s}" if spaced and len(d) == 6 else p + d + s)
    return out


# ---------------------------------------------------------------------------------------------
# people and pay


@dataclass
class People:
    """One body's staff (arrays of equal length), sorted by employee number."""

    emp_no: np.ndarray  # int
    global_id: np.ndarray  # int, NI identity (shared with the home body for visitors)
    forename: np.ndarray
    surname: np.ndarray
    band: np.ndarray  # index into body.bands
    salary: np.ndarray  # full-time annual, pounds
    fte: np.ndarray
    function: np.ndarray  # index into FUNCTIONS + ("OTHER",)
    profession: np.ndarray  # index into professions list
    job_title: np.ndarray  # text index into titles list
    cost_centre: np.ndarray  # int
    start: np.ndarray  # datetime64[D]
    seconded_to: np.ndarray  # body index, -1 none
    protected: np.ndarray  # bool: never plant a fault on this person's rows
    visitor_of: np.ndarray  # home body index for a person also paid by their home body, -1


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def _professions(body: Body) -> list[str]:
    return [
        "Human Resources",
        "Payroll",
        "Finance",
        body.procurement_profession,
        *OTHER_PROFESSIONS,
    ]


def _titles() -> list[str]:
    return [t for f in (*FUNCTIONS, "OTHER") for t in JOB_TITLES[f]]


def make_people(body: Body, scale: float, seed: int) -> People:
    rng = _rng(seed, body.index, 1)
    n = max(40, int(round(body.headcount * scale)))
    shares = np.array([b.share for b in body.bands], dtype=float)
    band = rng.choice(len(body.bands), n, p=shares / shares.sum())
    lo = np.array([b.min for b in body.bands])[band]
    hi = np.array([b.max for b in body.bands])[band]
    salary = np.round(lo + rng.random(n) * (hi - lo)).astype(np.int64)
    fte = np.where(rng.random(n) < 0.78, 1.0, rng.choice([0.4, 0.5, 0.6, 0.7, 0.8, 0.9], n))
    function = np.full(n, 4)
    perm = rng.permutation(n)
    at = 0
    for fi, f in enumerate(FUNCTIONS):
        k = max(1, int(round(body.back_office[f] / 100 * n)))
        function[perm[at : at + k]] = fi
        at += k
    other_prof = rng.choice(
        len(OTHER_PROFESSIONS),
        n,
        p=np.array(OTHER_PROFESSION_WEIGHTS) / sum(OTHER_PROFESSION_WEIGHTS),
    )
    profession = np.where(function < 4, function, 4 + other_prof)
    titles = _titles()
    starts = {f: titles.index(JOB_TITLES[f][0]) for f in (*FUNCTIONS, "OTHER")}
    counts = {f: len(JOB_TITLES[f]) for f in (*FUNCTIONS, "OTHER")}
    fnames = (*FUNCTIONS, "OTHER")
    t_start = np.array([starts[f] for f in fnames])[function]
    t_count = np.array([counts[f] for f in fnames])[function]
    job_title = t_start + (rng.random(n) * t_count).astype(np.int64)
    n_cc = max(8, n // 60)
    width = _code_width(body.cost_centre)
    cc_pool = np.sort(rng.choice(max(10 ** (width - 1) // 2, n_cc * 4), n_cc, replace=False) + 1)
    cost_centre = np.where(
        function < 4,
        cc_pool[np.minimum(function, n_cc - 1)],
        cc_pool[4 + rng.integers(0, n_cc - 4, n)],
    )
    ew = _code_width(body.employee_number)
    base = int(rng.integers(10 ** (ew - 2), 3 * 10 ** (ew - 2))) if ew and ew > 2 else 1000
    emp_no = base + np.cumsum(rng.integers(1, 5, n))
    start = np.datetime64("1988-01-04") + rng.integers(0, 13500, n).astype("timedelta64[D]")
    return People(
        emp_no=emp_no,
        global_id=body.index * 10_000_000 + np.arange(n),
        forename=rng.integers(0, len(FORENAMES), n),
        surname=rng.integers(0, len(SURNAMES), n),
        band=band,
        salary=salary,
        fte=fte,
        function=function,
        profession=profession,
        job_title=job_title,
        cost_centre=cost_centre,
        start=start,
        seconded_to=np.full(n, -1),
        protected=function < 4,
        visitor_of=np.full(n, -1),
    )


def _code_width(fmt: str) -> int | None:
    m = re.search(r"\{:0(\d+)d\}", fmt)
    return int(m.group(1)) if m else None


def _append_people(p: People, q: People) -> People:
    return People(
        **{k: np.concatenate([getattr(p, k), getattr(q, k)]) for k in p.__dataclass_fields__}
    )


def compute_pay(salary: np.ndarray, fte: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly pay in integer pence, every component rounded to the penny, so that
    net = gross - tax - employee NI - employee pension - other exactly."""
    gross = np.round(salary * fte * 100 / 12).astype(np.int64)
    annual = gross * 12
    taxable = np.clip(annual - PERSONAL_ALLOWANCE, 0, None)
    basic = np.minimum(taxable, BASIC_RATE_LIMIT - PERSONAL_ALLOWANCE)
    higher = taxable - basic
    tax = np.round((basic * 0.20 + higher * 0.40) / 12).astype(np.int64)
    ee_ni = np.round(
        0.08
        * (
            np.clip(gross, NI_PRIMARY_THRESHOLD_MONTH, NI_UPPER_EARNINGS_MONTH)
            - NI_PRIMARY_THRESHOLD_MONTH
        )
        + 0.02 * np.clip(gross - NI_UPPER_EARNINGS_MONTH, 0, None)
    ).astype(np.int64)
    er_ni = np.round(0.15 * np.clip(gross - NI_SECONDARY_THRESHOLD_MONTH, 0, None)).astype(np.int64)
    ee_rate = np.where(salary > 56_000, 0.0735, 0.0545)
    ee_pen = np.round(gross * ee_rate).astype(np.int64)
    er_pen = np.round(gross * EMPLOYER_PENSION_RATE).astype(np.int64)
    other = other.astype(np.int64)
    net = gross - tax - ee_ni - ee_pen - other
    return {
        "gross_pay_gbp": gross,
        "tax_gbp": tax,
        "employee_ni_gbp": ee_ni,
        "employer_ni_gbp": er_ni,
        "employee_pension_gbp": ee_pen,
        "employer_pension_gbp": er_pen,
        "other_deductions_gbp": other,
        "net_pay_gbp": net,
    }


def _month_end(m: date) -> date:
    return (m.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def pay_date(body: Body, month: date) -> date:
    end = _month_end(month)
    d = (
        end
        if body.pay_day == "last_working_day"
        else month.replace(day=min(int(body.pay_day), end.day))
    )
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


# ---------------------------------------------------------------------------------------------
# tables: dict of canonical field (or "__surname"/"__forename") -> pyarrow array; amounts are
# int64 pence, FTE float64, dates date32, the rest strings.

Table = dict[str, pa.Array]


def _take_rows(t: Table, order: np.ndarray) -> Table:
    idx = pa.array(order, pa.int64())
    return {k: pc.take(v, idx) for k, v in t.items()}


def _replace(arr: pa.Array, rows: np.ndarray, values: list[Any]) -> pa.Array:
    if len(rows) == 0:
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    order = np.argsort(rows, kind="stable")
    vals = pa.array([values[i] for i in order], arr.type)
    return pc.replace_with_mask(arr, pa.array(mask), vals)


def _dates(d: date | np.ndarray, n: int | None = None) -> pa.Array:
    if isinstance(d, date):
        return pa.array(np.full(n or 0, np.datetime64(d, "D")), pa.date32())
    return pa.array(d.astype("datetime64[D]"), pa.date32())


# ---------------------------------------------------------------------------------------------
# writers


@dataclass(frozen=True)
class FileLayout:
    source: SourceSpec
    domain: DomainSpec
    body: Body
    headers: tuple[str, ...]
    fields: tuple[str, ...]  # canonical field, or __surname / __forename

    @property
    def first_data_line(self) -> int:
        if self.body.layout == "xlsx_title_block":
            return len(self.body.title_rows) + 2
        if self.body.layout == "parquet":
            return 1  # the reader numbers Parquet rows from 1 (the schema is the header)
        return 2

    def kind(self, f: str) -> str:
        if f.startswith("__"):
            return "text"
        return self.domain.fields[f].type


def file_layout(config_dir: Path, body: Body, source_id: str, domain_name: str) -> FileLayout:
    src = _load_source(config_dir, source_id)
    dom = _load_domain(config_dir, domain_name)
    headers: list[str] = []
    fields: list[str] = []
    for f, hs in src.columns.items():
        headers.append(hs[0])
        fields.append(f)
        if f == "ni_number":
            for extra, h in zip(("__surname", "__forename"), src.reader.drop_columns, strict=False):
                headers.append(h)
                fields.append(extra)
    if src.reader.format == "fixed_width" and len(src.reader.widths or ()) != len(headers):
        raise ValueError(
            f"{source_id}: {len(headers)} columns but {len(src.reader.widths or ())} widths"
        )
    return FileLayout(src, dom, body, tuple(headers), tuple(fields))


def _csv_quote(a: pa.Array, delimiter: str) -> pa.Array:
    a = pc.fill_null(a, "")
    needs = pc.or_(pc.match_substring(a, delimiter), pc.match_substring(a, '"'))
    if not pc.any(needs).as_py():
        return a
    quoted = pc.binary_join_element_wise(
        _const('"', len(a)), pc.replace_substring(a, '"', '""'), _const('"', len(a)), ""
    )
    return pc.if_else(needs, quoted, a)


def _joined_bytes(rows: pa.Array) -> bytes:
    """The concatenation of all strings of a string array, without a Python loop."""
    rows = pc.fill_null(rows, "")
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if len(rows) == 0:
        return b""
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1 + rows.offset)
    start, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    return rows.buffers()[2].to_pybytes()[start:end]


def _text_columns(fl: FileLayout, t: Table, style: str, decimal_comma: bool) -> list[pa.Array]:
    fmt = fl.source.values.date_formats[0]
    out = []
    for f in fl.fields:
        kind, a = fl.kind(f), t[f]
        if kind == "amount":
            out.append(format_pence(a, style))
        elif kind == "number":
            out.append(format_number(a, decimal_comma))
        elif kind == "date":
            out.append(_format_dates(a, fmt))
        else:
            out.append(a)
    return out


def write_csv(path: Path, fl: FileLayout, t: Table) -> None:
    r = fl.source.reader
    eol = LAYOUTS[fl.body.layout]["eol"]
    delim = r.delimiter
    style = "comma" if fl.source.values.decimal_comma else fl.body.amount_style
    cols = [
        _csv_quote(c, delim) for c in _text_columns(fl, t, style, fl.source.values.decimal_comma)
    ]
    n = len(cols[0])
    body = b""
    if n:
        rows = pc.binary_join_element_wise(*cols, delim)
        body = _joined_bytes(pc.binary_join_element_wise(rows, _const(eol, n), ""))
    header = delim.join(_quote_one(h, delim) for h in fl.headers) + eol
    text = header.encode() + body
    enc = r.encoding if r.encoding != "auto" else "utf-8"
    path.write_bytes(text.decode("utf-8").encode(enc))


def _quote_one(s: str, delim: str) -> str:
    return (
        f'"{s.replace(chr(34), chr(34) * 2)}"'
        if any(c in s for c in (delim, '"', "\n", "\r"))
        else s
    )


def write_fixed_width(path: Path, fl: FileLayout, t: Table) -> None:
    widths = fl.source.reader.widths or ()
    eol = LAYOUTS[fl.body.layout]["eol"]
    cols = _text_columns(fl, t, "plain", False)
    padded = []
    for f, c, w in zip(fl.fields, cols, widths, strict=True):
        c = pc.fill_null(c, "")
        right = fl.kind(f) in ("amount", "number")
        room = w - 1 if right else w  # numbers are right-aligned with one space after them
        longest = pc.max(pc.utf8_length(c)).as_py() or 0
        if longest > room:
            raise ValueError(
                f"{path.name}: a value of {f} is {longest} characters, wider than {room}"
            )
        padded.append(
            pc.utf8_rpad(pc.utf8_lpad(c, width=room), width=w)
            if right
            else pc.utf8_rpad(c, width=w)
        )
    n = len(padded[0])
    rows = pc.binary_join_element_wise(*padded, _const(eol, n), "")
    for h, w in zip(fl.headers, widths, strict=True):
        if len(h) > w:
            raise ValueError(
                f"{fl.source.source_id}: header {h!r} is wider than its {w} characters"
            )
    header = "".join(h.ljust(w) for h, w in zip(fl.headers, widths, strict=True)) + eol
    enc = fl.source.reader.encoding if fl.source.reader.encoding != "auto" else "utf-8"
    path.write_bytes((header.encode() + _joined_bytes(rows)).decode("utf-8").encode(enc))


def write_parquet(path: Path, fl: FileLayout, t: Table) -> None:
    arrays, names = [], []
    for f, h in zip(fl.fields, fl.headers, strict=True):
        kind, a = fl.kind(f), t[f]
        if kind == "amount":
            a = pc.cast(format_pence(a, "plain"), pa.decimal128(18, 2))
        elif kind == "number":
            a = pc.cast(a, pa.float64())
        elif kind == "date":
            a = pc.cast(a, pa.date32())
        else:
            a = pc.cast(a, pa.string())
        arrays.append(a)
        names.append(h)
    pq.write_table(pa.Table.from_arrays(arrays, names=names), path, compression="zstd")


def write_xlsx(path: Path, fl: FileLayout, t: Table, month: date, domain: str) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=DOMAIN_TITLES[domain][:31])
    for row in fl.body.title_rows:
        ws.append(
            [row.format(domain_title=DOMAIN_TITLES[domain], month_name=month.strftime("%B %Y"))]
        )
    ws.append(list(fl.headers))
    cols = []
    for f in fl.fields:
        kind, a = fl.kind(f), t[f]
        if kind == "amount":
            v = pc.divide(pc.cast(a, pa.float64()), 100.0)
            cols.append(v.to_pylist())
        else:
            cols.append(a.to_pylist())
    for row in zip(*cols, strict=True):
        ws.append(list(row))
    wb.properties.creator = "ngss generate"
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue()))


_FIXED_TS = "2025-01-01T00:00:00Z"


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite an XLSX so identical content gives identical bytes: fixed entry timestamps and
    fixed created/modified document properties."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + _FIXED_TS.encode() + rb"\g<2>",
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return out.getvalue()


def write_file(path: Path, fl: FileLayout, t: Table, month: date, domain: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = fl.body.layout
    if layout == "xlsx_title_block":
        write_xlsx(path, fl, t, month, domain)
    elif layout == "parquet":
        write_parquet(path, fl, t)
    elif layout == "fixed_width":
        write_fixed_width(path, fl, t)
    else:
        write_csv(path, fl, t)


def _write_truth_csv(path: Path, columns: list[str], data: dict[str, Any]) -> int:
    """Ground-truth CSV (UTF-8, comma, LF). ``data``: column -> list or pyarrow array."""
    n = len(next(iter(data.values()))) if data else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    if n == 0:
        path.write_text(",".join(columns) + "\n", encoding="utf-8")
        return 0
    arrs = []
    for c in columns:
        v = data[c]
        a = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v)
        arrs.append(_csv_quote(pc.cast(a, pa.string()), ","))
    rows = pc.binary_join_element_wise(*arrs, ",")
    body = _joined_bytes(pc.binary_join_element_wise(rows, _const("\n", n), ""))
    path.write_bytes((",".join(columns) + "\n").encode() + body)
    return n


# ---------------------------------------------------------------------------------------------
# the run


@dataclass
class _Ctx:
    seed: int
    months: list[date]
    bodies: list[Body]
    config_dir: Path
    out_dir: Path
    faults: list[dict[str, Any]] = field(default_factory=list)
    two_payrolls: list[dict[str, Any]] = field(default_factory=list)
    function_staff: list[dict[str, Any]] = field(default_factory=list)


def _source_id(body: str, domain: str) -> str:
    return f"{body}__spend__ap" if domain == "ap" else f"{body}__{domain}"


def _file_path(out_dir: Path, body: Body, domain: str, month: date) -> Path:
    d = DOMAIN_DIRS[domain]
    ext = LAYOUTS[body.layout]["ext"]
    return out_dir / body.code / d / f"{body.code}_{d}_{month:%Y-%m}.{ext}"


def _check_bands(config_dir: Path, body: Body) -> None:
    src = _load_source(config_dir, _source_id(body.code, "payroll"))
    mapping = _load_mapping(config_dir, src.values.grades or "")
    for b in body.bands:
        got = mapping.get(normalise_label(b.band))
        if got != b.canonical:
            raise ValueError(
                f"bodies.yaml: {body.code} band {b.band!r} is {b.canonical} here but "
                f"{got!r} in config/mappings/{src.values.grades}"
            )
    for g in UNKNOWN_GRADES:
        if normalise_label(g) in mapping:
            raise ValueError(f"planted unknown grade {g!r} is in {src.values.grades}")


def _cross_body(ctx: _Ctx, people: dict[str, People]) -> list[dict[str, Any]]:
    """People paid by two bodies (visitors), some explained by a secondment recorded in the home
    body's HR extract, and secondments without a second payroll. Returns the pairs."""
    bodies = ctx.bodies
    pairs: list[dict[str, Any]] = []
    if len(bodies) < 2:
        return pairs
    visitors: dict[str, list[People]] = {b.code: [] for b in bodies}
    for a in bodies:
        rng = _rng(ctx.seed, a.index, 2)
        p = people[a.code]
        cand = np.flatnonzero((p.function == 4) & ~p.protected)
        k = max(2, int(round(len(p.emp_no) * 0.002)))
        k_sec_only = max(1, int(round(len(p.emp_no) * 0.002)))
        chosen = rng.choice(cand, k + k_sec_only, replace=False)
        others = [b for b in bodies if b.code != a.code]
        targets = [others[int(i)] for i in rng.integers(0, len(others), k + k_sec_only)]
        explained = rng.random(k) < 0.5
        for j, (i, b) in enumerate(zip(chosen, targets, strict=True)):
            p.protected[i] = True
            if j >= k:  # seconded, paid by the home body only
                p.seconded_to[i] = b.index
                continue
            if explained[j]:
                p.seconded_to[i] = b.index
            brng = _rng(ctx.seed, a.index, 3, j)
            bands = np.array([x.share for x in b.bands])
            band = int(brng.choice(len(b.bands), p=bands / bands.sum()))
            bb = b.bands[band]
            v = People(
                emp_no=np.array([0]),
                global_id=p.global_id[i : i + 1].copy(),
                forename=p.forename[i : i + 1].copy(),
                surname=p.surname[i : i + 1].copy(),
                band=np.array([band]),
                salary=np.array([int(round(bb.min + brng.random() * (bb.max - bb.min)))]),
                fte=np.array([float(brng.choice([0.2, 0.3, 0.4, 0.5]))]),
                function=np.array([4]),
                profession=np.array([4 + 1]),  # Policy
                job_title=np.array([_titles().index("Policy Adviser")]),
                cost_centre=np.array([0]),
                start=np.array([np.datetime64("2024-04-01") + int(brng.integers(0, 250))]).astype(
                    "datetime64[D]"
                ),
                seconded_to=np.array([-1]),
                protected=np.array([True]),
                visitor_of=np.array([a.index]),
            )
            visitors[b.code].append(v)
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "global_id": int(p.global_id[i]),
                    "explained": bool(explained[j]),
                    "emp_a": int(p.emp_no[i]),
                }
            )
    for b in bodies:
        if not visitors[b.code]:
            continue
        p = people[b.code]
        vs = visitors[b.code]
        v = People(
            **{k: np.concatenate([getattr(w, k) for w in vs]) for k in p.__dataclass_fields__}
        )
        rng = _rng(ctx.seed, b.index, 4)
        n = len(v.emp_no)
        v.emp_no = p.emp_no.max() + np.cumsum(rng.integers(1, 5, n))
        v.cost_centre = p.cost_centre[rng.integers(0, len(p.cost_centre), n)]
        people[b.code] = _append_people(p, v)
    for b in bodies:
        pb = people[b.code]
        vis = np.flatnonzero(pb.visitor_of >= 0)
        emp_of = dict(zip(pb.global_id[vis].tolist(), pb.emp_no[vis].tolist(), strict=True))
        for pr in pairs:
            if pr["b"].code == b.code:
                pr["emp_b"] = int(emp_of[pr["global_id"]])
    return pairs


def _people_columns(body: Body, p: People, seed: int) -> Table:
    return {
        "employer": _const(body.name, len(p.emp_no)),
        "employee_number": format_codes(body.employee_number, p.emp_no),
        "ni_number": ni_numbers(p.global_id, seed, body.ni_spaced),
        "__surname": _take(SURNAMES, p.surname),
        "__forename": _take(FORENAMES, p.forename),
        "grade": _take([b.band for b in body.bands], p.band),
        "fte": pa.array(p.fte, pa.float64()),
        "cost_centre": format_codes(body.cost_centre, p.cost_centre),
    }


def _plant_payroll_faults(
    ctx: _Ctx, body: Body, p: People, t: Table, month: date, mi: int
) -> tuple[Table, np.ndarray, dict[int, str]]:
    """Plant each fault kind a few times on unprotected rows. Returns the table in file order,
    the file position of every base row, and file position -> fault kind."""
    n = len(p.emp_no)
    rng = _rng(ctx.seed, body.index, 10, mi)
    per_kind = max(1, int(round(n / 1500)))
    # at most 3 % of a file's rows: a small file gets a rotating subset of the kinds each month
    budget = max(1, int(0.03 * n))
    kinds_now = list(PAYROLL_FAULT_KINDS)
    if budget < per_kind * len(kinds_now):
        start = (mi * budget) % len(kinds_now)
        kinds_now = [
            kinds_now[(start + j) % len(kinds_now)] for j in range(min(budget, len(kinds_now)))
        ]
    eligible = np.flatnonzero(~p.protected)
    chosen = rng.choice(eligible, per_kind * len(kinds_now), replace=False)
    by_kind = {k: np.array([], dtype=np.int64) for k in PAYROLL_FAULT_KINDS}
    by_kind.update(
        {k: np.sort(chosen[i * per_kind : (i + 1) * per_kind]) for i, k in enumerate(kinds_now)}
    )
    t = dict(t)
    rows = by_kind["invalid_ni"]
    t["ni_number"] = _replace(t["ni_number"], rows, invalid_ni(len(rows), rng, body.ni_spaced))
    rows = by_kind["pay_not_reconciling"]
    net = t["net_pay_gbp"].to_numpy().copy()
    delta = rng.integers(100, 5000, len(rows)) * rng.choice([-1, 1], len(rows))
    net[rows] += delta
    t["net_pay_gbp"] = pa.array(net, pa.int64())
    rows = by_kind["unknown_grade"]
    t["grade"] = _replace(
        t["grade"],
        rows,
        [UNKNOWN_GRADES[int(i)] for i in rng.integers(0, len(UNKNOWN_GRADES), len(rows))],
    )
    rows = by_kind["fte_out_of_range"]
    t["fte"] = _replace(t["fte"], rows, [float(x) for x in rng.choice([0.0, 1.2, -0.5], len(rows))])
    rows = by_kind["missing_pay_date"]
    t["pay_date"] = _replace(t["pay_date"], rows, [None] * len(rows))
    rows = by_kind["unknown_body"]
    t["employer"] = _replace(t["employer"], rows, [UNKNOWN_BODY_NAME] * len(rows))
    dup = by_kind["exact_duplicate_row"]
    order = np.insert(np.arange(n), dup + 1, dup)
    t = _take_rows(t, order)
    base_pos = np.arange(n) + np.searchsorted(dup, np.arange(n), side="left")
    kinds: dict[int, str] = {}
    for k, rows in by_kind.items():
        for r in rows:
            if k == "exact_duplicate_row":
                kinds[int(base_pos[r]) + 1] = k
            else:
                kinds[int(base_pos[r])] = k
    return t, base_pos, kinds


def _payroll_month(
    ctx: _Ctx, body: Body, p: People, month: date, mi: int
) -> tuple[Table, dict[int, str], dict[str, np.ndarray], np.ndarray]:
    n = len(p.emp_no)
    rng = _rng(ctx.seed, body.index, 5, mi)
    other = np.where(rng.random(n) < 0.08, rng.integers(500, 15000, n), 0)
    pay = compute_pay(p.salary, p.fte, other)
    t = _people_columns(body, p, ctx.seed)
    t["pay_period"] = _dates(month, n)
    t["pay_date"] = _dates(pay_date(body, month), n)
    for k, v in pay.items():
        t[k] = pa.array(v, pa.int64())
    t, base_pos, kinds = _plant_payroll_faults(ctx, body, p, t, month, mi)
    return t, kinds, pay, base_pos


def _employment_month(
    ctx: _Ctx, body: Body, p: People, month: date, mi: int, names: dict[int, str]
) -> tuple[Table, dict[int, str]]:
    n = len(p.emp_no)
    t = _people_columns(body, p, ctx.seed)
    t["snapshot_date"] = _dates(_month_end(month), n)
    t["profession"] = _take(_professions(body), p.profession)
    t["job_title"] = _take(_titles(), p.job_title)
    t["start_date"] = _dates(p.start)
    t["annual_salary_gbp"] = pa.array(p.salary * 100, pa.int64())
    sec_names = [""] + [names.get(i, "") for i in range(max(names) + 1)] if names else [""]
    t["secondment_to"] = pc.if_else(
        pa.array(p.seconded_to >= 0), _take(sec_names, p.seconded_to + 1), pa.nulls(n, pa.string())
    )
    rng = _rng(ctx.seed, body.index, 11, mi)
    k = max(1, int(round(n / 1500)))
    rows = np.sort(rng.choice(np.flatnonzero(~p.protected), k, replace=False))
    t["ni_number"] = _replace(t["ni_number"], rows, invalid_ni(k, rng, body.ni_spaced))
    return t, {int(r): "invalid_ni" for r in rows}


# ----- accounts payable


@dataclass
class _AP:
    """All accounts-payable lines of the run, as parallel arrays."""

    bm: list[np.ndarray] = field(default_factory=list)  # body-month id
    sup: list[np.ndarray] = field(default_factory=list)
    etype: list[np.ndarray] = field(default_factory=list)  # index into expense type list
    amount: list[np.ndarray] = field(default_factory=list)  # pence
    pay: list[np.ndarray] = field(default_factory=list)  # datetime64[D]
    inv: list[np.ndarray] = field(default_factory=list)  # datetime64[D]
    cc: list[np.ndarray] = field(default_factory=list)
    variant: list[np.ndarray] = field(default_factory=list)

    def cat(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(getattr(self, k)) for k in self.__dataclass_fields__}


#: Days within which two payments of one body to one supplier for the same amount count as a
#: near-duplicate in ``marts.mart_duplicate_payments`` (its rule: 1 to 7 days apart).
NEAR_DUPLICATE_DAYS = 7
#: The planted copies of a payment are paid up to this many days after it (near-duplicates 1-4,
#: the same invoice again 2-5, the same invoice by a second body 0-5).
PLANTED_OFFSET_DAYS = 5


def _separate_chance_duplicates(
    sup: np.ndarray,
    amount: np.ndarray,
    pay: np.ndarray,
    window: int = NEAR_DUPLICATE_DAYS + PLANTED_OFFSET_DAYS,
) -> int:
    """Make sure no *unplanted* pair of payment lines looks like a near-duplicate.

    With millions of lines, two payments to one supplier of the same amount to the penny a few
    days apart happen by chance (461 flagged pairs in a full year of 25 bodies): the mart would
    rightly flag them, but the ground truth would not list them, and precision would fall for a
    reason that is the generator's. So, before anything is planted, no two lines to one
    supplier share an amount within ``window`` days, whatever the body: the planted copies
    (up to :data:`PLANTED_OFFSET_DAYS` after their line, some in another body) then never land
    within :data:`NEAR_DUPLICATE_DAYS` of another line of that amount either. The later line of
    each chance pair gets one more penny (and another if that makes a whole pound), until no
    pair is left.

    Args:
        sup: per line, the supplier's index.
        amount: per line, the amount in pence (int64), changed in place.
        pay: per line, the payment date (datetime64[D]).
        window: days apart within which equal amounts are separated.

    Returns:
        The number of penny steps made (a line moved twice counts twice).
    """
    days = pay.astype("datetime64[D]").view("int64")
    changed = 0
    for _ in range(100):
        order = np.lexsort((days, amount, sup))
        s, a, d = sup[order], amount[order], days[order]
        clash = (s[1:] == s[:-1]) & (a[1:] == a[:-1]) & (d[1:] - d[:-1] <= window)
        if not clash.any():
            return changed
        later = order[1:][clash]
        amount[later] += 1
        amount[later[amount[later] % 100 == 0]] += 1
        changed += len(later)
    raise RuntimeError("chance near-duplicates left after 100 passes")  # pragma: no cover


def _generate_ap(
    ctx: _Ctx, people: dict[str, People], suppliers: list[Supplier]
) -> tuple[
    dict[tuple[int, int], Table], dict[tuple[int, int], np.ndarray], list[dict], list[dict], dict
]:
    S = len(suppliers)
    etypes = sorted({e for s in suppliers for e in s.expense_types})
    e_index = {e: i for i, e in enumerate(etypes)}
    s_types = [np.array([e_index[e] for e in s.expense_types]) for s in suppliers]
    t_start = np.cumsum([0] + [len(x) for x in s_types])[:-1]
    t_len = np.array([len(x) for x in s_types])
    t_flat = np.concatenate(s_types)
    variants = [name_variants(s) for s in suppliers]
    canon = {normalise_label(s.name): s.supplier_id for s in suppliers}
    # never write a variant that is another firm's canonical name
    variants = [
        [v for v in vs if canon.get(normalise_label(v), s.supplier_id) == s.supplier_id]
        for vs, s in zip(variants, suppliers, strict=True)
    ]
    v_start = np.cumsum([0] + [len(v) for v in variants])[:-1]
    v_len = np.array([len(v) for v in variants])
    v_flat = [x for v in variants for x in v]
    sector_median = {
        "it": 4000,
        "estates": 9000,
        "consultancy": 12000,
        "facilities": 5000,
        "audit": 15000,
        "finance_systems": 20000,
        "payroll": 9000,
        "bpo": 12000,
        "legal": 6000,
    }
    med = np.array([sector_median.get(s.sector, 1500) for s in suppliers], dtype=float)

    ap = _AP()
    bms: list[tuple[Body, int]] = []
    bm_of: dict[tuple[int, int], int] = {}
    for b in ctx.bodies:
        brng = _rng(ctx.seed, b.index, 20)
        w = brng.lognormal(0, 1.2, S) * (brng.random(S) < 0.45)
        w[brng.integers(0, S, 5)] += 1.0
        w = w / w.sum()
        p = people[b.code]
        ccs = np.unique(p.cost_centre)
        for mi, m in enumerate(ctx.months):
            rng = _rng(ctx.seed, b.index, 21, mi)
            n = max(12, int(round(len(p.emp_no) * AP_LINES_PER_PERSON)))
            bm = len(bms)
            bms.append((b, mi))
            bm_of[(b.index, mi)] = bm
            sup = rng.choice(S, n, p=w)
            et = t_flat[t_start[sup] + (rng.random(n) * t_len[sup]).astype(np.int64)]
            amt = np.round(
                np.clip(rng.lognormal(np.log(med[sup]), 1.1), 20, 2_500_000) * 100
            ).astype(np.int64)
            amt += rng.integers(1, 99, n)  # never a round amount: keeps accidental look-alikes out
            days = np.arange(np.datetime64(m, "D"), np.datetime64(_month_end(m), "D") + 1)
            wd = days[((days.astype("datetime64[D]").view("int64") - 4) % 7) < 5]
            pay = wd[rng.integers(0, len(wd), n)]
            inv = pay - rng.integers(7, 45, n).astype("timedelta64[D]")
            var = np.where(rng.random(n) < 0.7, 0, (rng.random(n) * v_len[sup]).astype(np.int64))
            ap.bm.append(np.full(n, bm))
            ap.sup.append(sup)
            ap.etype.append(et)
            ap.amount.append(amt)
            ap.pay.append(pay)
            ap.inv.append(inv)
            ap.cc.append(ccs[rng.integers(0, len(ccs), n)])
            ap.variant.append(var)
    base = ap.cat()
    _separate_chance_duplicates(base["sup"], base["amount"], base["pay"])
    N = len(base["sup"])
    extra: dict[str, list] = {k: [] for k in base}
    link = []  # for each extra line: index of the line whose invoice number it repeats (-1 none)
    role = []  # extra line's role
    ref_variant = []
    dups: list[dict] = []
    mnf: list[dict] = []
    used = np.zeros(N, dtype=bool)

    def add(src: int, bm: int, **over: Any) -> int:
        for k in base:
            extra[k].append(over.get(k, base[k][src]))
        extra["bm"][-1] = bm
        return N + len(extra["bm"]) - 1

    def pick(
        rng: np.random.Generator, bm: int, k: int, cond: np.ndarray | None = None
    ) -> np.ndarray:
        m = (base["bm"] == bm) & ~used & (base["amount"] > 0)
        end = np.array([np.datetime64(_month_end(ctx.months[bms[bm][1]]), "D")])
        m &= base["pay"] <= end[0] - np.timedelta64(6, "D")
        if cond is not None:
            m &= cond
        idx = np.flatnonzero(m)
        if len(idx) == 0:
            return idx
        got = rng.choice(idx, min(k, len(idx)), replace=False)
        used[got] = True
        return np.sort(got)

    plain_fmt = np.array([s.invoice_format in ("{:d}", "{:06d}") for s in suppliers])
    reuse_done: set[int] = set()
    for bm, (b, mi) in enumerate(bms):
        rng = _rng(ctx.seed, b.index, 22, mi)
        n = int((base["bm"] == bm).sum())
        nv = v_len
        for src in pick(rng, bm, max(1, round(n / 250))):
            d = int(rng.integers(2, 6))
            s = base["sup"][src]
            i = add(
                src,
                bm,
                pay=base["pay"][src] + np.timedelta64(d, "D"),
                variant=int(rng.integers(0, nv[s])),
            )
            link.append(src)
            role.append("dup_same_body")
            ref_variant.append(bool(rng.random() < 0.5))
            dups.append({"kind": "same_invoice_same_body", "l": src, "r": i})
        for src in pick(rng, bm, max(1, round(n / 300))):
            d = int(rng.integers(1, 5))
            i = add(src, bm, pay=base["pay"][src] + np.timedelta64(d, "D"))
            link.append(-1)
            role.append("near_blank" if rng.random() < 0.67 else "near_po")
            ref_variant.append(False)
            dups.append({"kind": "near_duplicate", "l": src, "r": i})
        for src in pick(rng, bm, max(1, round(n / 300))):
            d = int(rng.integers(1, 5))
            i = add(
                src,
                bm,
                pay=base["pay"][src] + np.timedelta64(d, "D"),
                amount=-base["amount"][src],
                inv=base["pay"][src] + np.timedelta64(d - 1, "D"),
            )
            link.append(-1)
            role.append("credit")
            ref_variant.append(False)
            mnf.append({"kind": "credit_note", "l": src, "r": i})
        for src in pick(rng, bm, 1):
            i = add(src, bm)
            link.append(-1)
            role.append("two_sites")
            ref_variant.append(False)
            mnf.append({"kind": "same_amount_same_date_different_invoice", "l": src, "r": i})
        if b.index not in reuse_done:
            got = pick(rng, bm, 1, plain_fmt[base["sup"]])
            for src in got:
                reuse_done.add(b.index)
                base["inv"][src] = base["inv"][src] - np.timedelta64(365, "D")
                amt = int(round(base["amount"][src] * float(rng.uniform(0.6, 1.4)))) + 7
                i = add(
                    src,
                    bm,
                    amount=amt,
                    pay=base["pay"][src] + np.timedelta64(int(rng.integers(1, 5)), "D"),
                    inv=base["pay"][src] - np.timedelta64(int(rng.integers(3, 20)), "D"),
                )
                link.append(src)
                role.append("reuse")
                ref_variant.append(False)
                mnf.append({"kind": "invoice_number_reused_later_year", "l": src, "r": i})
    # the same invoice paid by two bodies
    if len(ctx.bodies) >= 2:
        for mi, _m in enumerate(ctx.months):
            rng = _rng(ctx.seed, 23, mi)
            total = sum(int((base["bm"] == bm_of[(b.index, mi)]).sum()) for b in ctx.bodies)
            for _ in range(max(2, round(total / 1500))):
                a, b2 = rng.choice(len(ctx.bodies), 2, replace=False)
                ba, bb = ctx.bodies[int(a)], ctx.bodies[int(b2)]
                got = pick(rng, bm_of[(ba.index, mi)], 1)
                if not len(got):
                    continue
                src = int(got[0])
                pb = people[bb.code]
                i = add(
                    src,
                    bm_of[(bb.index, mi)],
                    pay=base["pay"][src] + np.timedelta64(int(rng.integers(0, 6)), "D"),
                    cc=pb.cost_centre[int(rng.integers(0, len(pb.cost_centre)))],
                    variant=int(rng.integers(0, v_len[base["sup"][src]])),
                )
                link.append(src)
                role.append("dup_two_bodies")
                ref_variant.append(bool(rng.random() < 0.3))
                dups.append({"kind": "same_invoice_two_bodies", "l": src, "r": i})
    allv = {k: np.concatenate([base[k], np.array(extra[k], dtype=base[k].dtype)]) for k in base}
    T = len(allv["sup"])
    roles = np.array(["base"] * N + role, dtype=object)
    links = np.concatenate([np.full(N, -1), np.array(link, dtype=np.int64)])
    refvar = np.concatenate([np.zeros(N, dtype=bool), np.array(ref_variant, dtype=bool)])
    # invoice serials: per supplier, in order of invoice date (then body-month, then line)
    needs = (links < 0) & (roles != "credit") & (roles != "near_blank") & (roles != "near_po")
    srng = _rng(ctx.seed, 24)
    sup_base = srng.integers(100, 9000, S)
    serial = np.zeros(T, dtype=np.int64)
    idx = np.flatnonzero(needs)
    order = idx[
        np.lexsort((idx, allv["bm"][idx], allv["inv"][idx].view("int64"), allv["sup"][idx]))
    ]
    s_sorted = allv["sup"][order]
    first = np.searchsorted(s_sorted, s_sorted, side="left")
    serial[order] = sup_base[s_sorted] + (np.arange(len(order)) - first)
    serial[links >= 0] = serial[links[links >= 0]]
    cr = np.flatnonzero(roles == "credit")
    serial[cr] = 1 + np.arange(len(cr))
    # invoice numbers, formatted per supplier format
    inv_no = pa.nulls(T, pa.string())
    fmts = np.array([s.invoice_format for s in suppliers], dtype=object)[allv["sup"]]
    initials = [
        "".join(w[0] for w in re.findall(r"[A-Za-z]+", s.name.removeprefix("The "))[:3]).upper()
        for s in suppliers
    ]
    year = pc.cast(pa.array(allv["inv"].astype("datetime64[Y]").astype(int) + 1970), pa.string())
    pre = _take(initials, allv["sup"])
    for f in sorted(set(fmts.tolist())):
        m = fmts == f
        formatted = format_codes(f, serial, P=pre, Y=year)
        inv_no = pc.if_else(pa.array(m & needs | m & (links >= 0)), formatted, inv_no)
    inv_no = pc.if_else(pa.array(roles == "credit"), format_codes("CN-{:05d}", serial), inv_no)
    po = format_codes("PO{:07d}", 4_000_000 + np.arange(T))
    inv_no = pc.if_else(pa.array(roles == "near_po"), po, inv_no)
    # reference variants of the planted duplicates (INV-00123 -> INV123, 006730 -> 6730): a
    # few dozen planted lines, so formatted one by one
    rv_rows = np.flatnonzero(refvar)
    if len(rv_rows):
        originals = pc.take(inv_no, pa.array(rv_rows)).to_pylist()
        inv_no = _replace(inv_no, rv_rows, [reference_variant(x or "") for x in originals])
    # other columns
    s = allv["sup"]
    rng = _rng(ctx.seed, 25)
    names = _take(v_flat, v_start[s] + np.minimum(allv["variant"], v_len[s] - 1))
    postcode = _take([x.postcode for x in suppliers], s)
    vat = _take([x.vat_number for x in suppliers], s)
    crn = _take([x.company_number for x in suppliers], s)
    planted = roles != "base"
    linked_l = np.zeros(T, dtype=bool)
    for d in dups + mnf:
        linked_l[d["l"]] = True
    keep = planted | linked_l  # keep identifiers on planted pairs so the truth is checkable
    postcode = pc.if_else(
        pa.array((rng.random(T) < 0.12) & ~keep), pa.nulls(T, pa.string()), postcode
    )
    vat = pc.if_else(pa.array((rng.random(T) < 0.25) & ~keep), pa.nulls(T, pa.string()), vat)
    crn = pc.if_else(pa.array((rng.random(T) < 0.3) & ~keep), pa.nulls(T, pa.string()), crn)
    etype_arr = _take(etypes, allv["etype"])
    month_label = _take(
        [m.strftime("%B %Y") for m in ctx.months], np.array([bms[x][1] for x in allv["bm"]])
    )
    desc = pc.binary_join_element_wise(etype_arr, month_label, " - ")
    desc = pc.if_else(
        pa.array(roles == "credit"),
        pc.binary_join_element_wise(_const("Credit note", T), desc, ": "),
        desc,
    )
    table_all: Table = {
        "payment_date": _dates(allv["pay"]),
        "invoice_date": _dates(allv["inv"]),
        "invoice_number": inv_no,
        "supplier_name": names,
        "supplier_postcode": postcode,
        "vat_number": vat,
        "company_number": crn,
        "expense_type": etype_arr,
        "description": desc,
        "amount_gbp": pa.array(allv["amount"], pa.int64()),
    }
    # split per body-month, order by payment date, format per body
    tables: dict[tuple[int, int], Table] = {}
    positions = np.zeros(T, dtype=np.int64)
    rows_of: dict[tuple[int, int], np.ndarray] = {}
    for bm, (b, mi) in enumerate(bms):
        rows = np.flatnonzero(allv["bm"] == bm)
        rows = rows[np.argsort(allv["pay"][rows], kind="stable")]
        positions[rows] = np.arange(len(rows))
        t = _take_rows(table_all, rows)
        t["entity"] = _const(b.name, len(rows))
        cw = _code_width(b.cost_centre)
        t["cost_centre_code"] = (
            format_codes(b.cost_centre, allv["cc"][rows]) if cw else _int_str(allv["cc"][rows])
        )
        refs = 1 + mi * 200_000 + np.arange(len(rows)) + b.index * 7
        t["transaction_number"] = format_codes(b.payment_ref, refs)
        tables[(b.index, mi)] = t
        rows_of[(b.index, mi)] = rows
    info = {
        "bms": bms,
        "positions": positions,
        "allv": allv,
        "inv_no": inv_no,
        "suppliers": suppliers,
    }
    return tables, rows_of, dups, mnf, info


# ----- main entry


def parse_months(text: str) -> list[date]:
    """``2025-01..2025-03`` or ``2025-01,2025-04`` or ``2025-02`` -> first days of months."""
    out: list[date] = []
    for part in text.split(","):
        part = part.strip()
        if ".." in part:
            a, b = (date.fromisoformat(x.strip() + "-01") for x in part.split(".."))
            if b < a:
                raise ValueError(f"month range {part!r} runs backwards")
            m = a
            while m <= b:
                out.append(m)
                m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        elif part:
            out.append(date.fromisoformat(part + "-01"))
    return sorted(set(out))


def generate(
    out_dir: Path,
    config_dir: Path,
    bodies: list[str] | None,
    months: list[date],
    seed: int,
    scale: float = 1.0,
    *,
    domains: tuple[str, ...] = ("payroll", "employment", "ap"),
    on_file: Callable[[FileWritten], None] | None = None,
) -> GenerationSummary:
    """Write synthetic extracts and their ground truth. See the module docstring.

    Args:
        out_dir: where ``<body>/<domain>/...`` and ``ground_truth/`` are written.
        config_dir: the configuration folder (bodies.yaml, suppliers.csv, registry, mappings).
        bodies: body codes from bodies.yaml (``None``: all of them).
        months: first days of the months to write.
        seed: the random seed; the same seed and arguments give byte-identical files.
        scale: multiplies every body's headcount (and so payroll, HR and AP rows).
        domains: which extracts to write (``payroll``, ``employment``, ``ap``); the ground truth
            covers what was written.
        on_file: called after each file is written (progress reporting).
    """
    t0 = time.perf_counter()
    all_bodies = load_bodies(config_dir)
    codes = list(all_bodies) if bodies is None else list(bodies)
    unknown = [c for c in codes if c not in all_bodies]
    if unknown:
        raise ValueError(f"unknown bodies {unknown}; known: {sorted(all_bodies)}")
    chosen = [all_bodies[c] for c in sorted(set(codes), key=lambda c: all_bodies[c].index)]
    months = sorted({m.replace(day=1) for m in months})
    if not months:
        raise ValueError("no months to generate")
    ctx = _Ctx(seed=seed, months=months, bodies=chosen, config_dir=config_dir, out_dir=out_dir)
    summary = GenerationSummary(out_dir=out_dir)
    for b in chosen:
        _check_bands(config_dir, b)
    people = {b.code: make_people(b, scale, seed) for b in chosen}
    pairs = _cross_body(ctx, people)
    names_by_index = {b.index: b.name for b in chosen}
    layouts = {
        (b.code, d): file_layout(config_dir, b, _source_id(b.code, d), "spend" if d == "ap" else d)
        for b in chosen
        for d in domains
    }
    faults: list[dict[str, Any]] = []
    staff_rows: list[dict[str, Any]] = []
    payslips: dict[tuple[str, int], int] = {}
    employees: dict[tuple[str, int], int] = {}

    def record(body: Body, domain: str, path: Path, rows: int) -> None:
        fw = FileWritten(body.code, domain, _source_id(body.code, domain), path, rows)
        summary.files.append(fw)
        if on_file:
            on_file(fw)

    def add_faults(fl, path: Path, kinds: dict[int, str], m: date, rule_of) -> None:
        """Record the faults planted at row positions ``kinds`` of one written file."""
        for pos, kind in sorted(kinds.items()):
            faults.append(
                {
                    "source_id": fl.source.source_id,
                    "file_name": path.name,
                    "source_line": fl.first_data_line + pos,
                    "kind": kind,
                    "expected_rule_id": rule_of(kind),
                    "pay_period": m.isoformat(),
                }
            )

    for b in chosen:
        p = people[b.code]
        for mi, m in enumerate(months):
            if "payroll" in domains:
                fl = layouts[(b.code, "payroll")]
                t, kinds, pay, base_pos = _payroll_month(ctx, b, p, m, mi)
                path = _file_path(out_dir, b, "payroll", m)
                write_file(path, fl, t, m, "payroll")
                record(b, "payroll", path, len(t["employer"]))
                add_faults(fl, path, kinds, m, lambda kind: FAULT_RULES[kind])
                payslips[(b.code, mi)] = len(t["employer"]) - len(kinds)
                for fi, f in enumerate((*FUNCTIONS, "OTHER")):
                    sel = p.function == fi
                    gross = int(pay["gross_pay_gbp"][sel].sum())
                    er_ni = int(pay["employer_ni_gbp"][sel].sum())
                    er_pen = int(pay["employer_pension_gbp"][sel].sum())
                    staff_rows.append(
                        {
                            "body": b.code,
                            "pay_period": m.isoformat(),
                            "function": f,
                            "headcount": int(sel.sum()),
                            "fte": round(float(p.fte[sel].sum()), 2),
                            "gross_pay_gbp": gross / 100,
                            "employer_ni_gbp": er_ni / 100,
                            "employer_pension_gbp": er_pen / 100,
                            "pay_cost_gbp": (gross + er_ni + er_pen) / 100,
                            "annual_pay_cost_gbp": 12 * (gross + er_ni + er_pen) / 100,
                            "annual_salary_cost_gbp": round(
                                float((p.salary[sel] * p.fte[sel]).sum()), 2
                            ),
                        }
                    )
            if "employment" in domains:
                fl = layouts[(b.code, "employment")]
                t, kinds = _employment_month(ctx, b, p, m, mi, names_by_index)
                path = _file_path(out_dir, b, "employment", m)
                write_file(path, fl, t, m, "employment")
                record(b, "employment", path, len(t["employer"]))
                add_faults(fl, path, kinds, m, lambda kind: "employment.ni_valid")
                employees[(b.code, mi)] = len(t["employer"]) - len(kinds)
    gt = out_dir / "ground_truth"
    gt.mkdir(parents=True, exist_ok=True)
    ap_lines: dict[tuple[str, int], int] = {}
    if "ap" in domains:
        ap_tables, rows_of, dups, mnf, info = _generate_ap(ctx, people, load_suppliers(config_dir))
        for b in chosen:
            for mi, m in enumerate(months):
                t = ap_tables[(b.index, mi)]
                fl = layouts[(b.code, "ap")]
                path = _file_path(out_dir, b, "ap", m)
                write_file(path, fl, t, m, "ap")
                record(b, "ap", path, len(t["entity"]))
                ap_lines[(b.code, mi)] = len(t["entity"])
        summary.ground_truth.update(_write_ap_truth(gt, ctx, layouts, info, dups, mnf, rows_of))
    # people on two payrolls
    tp = (
        [
            {
                "pay_period": m.isoformat(),
                "body_a": pr["a"].code,
                "employee_number_a": pr["a"].employee_number.format(pr["emp_a"]),
                "body_b": pr["b"].code,
                "employee_number_b": pr["b"].employee_number.format(pr["emp_b"]),
                "explained_by_secondment": pr["explained"],
            }
            for m in months
            for pr in pairs
        ]
        if "payroll" in domains
        else []
    )
    cols = [
        "pay_period",
        "body_a",
        "employee_number_a",
        "body_b",
        "employee_number_b",
        "explained_by_secondment",
    ]
    summary.ground_truth["people_on_two_payrolls.csv"] = _write_truth_csv(
        gt / "people_on_two_payrolls.csv", cols, {c: [r[c] for r in tp] for c in cols} if tp else {}
    )
    cols = ["source_id", "file_name", "source_line", "kind", "expected_rule_id", "pay_period"]
    summary.ground_truth["faults.csv"] = _write_truth_csv(
        gt / "faults.csv", cols, {c: [r[c] for r in faults] for c in cols} if faults else {}
    )
    for r in staff_rows:
        mi = months.index(date.fromisoformat(r["pay_period"]))
        r["employees"] = employees.get((r["body"], mi), "")
        r["payslips"] = payslips.get((r["body"], mi), "")
        r["ap_lines"] = ap_lines.get((r["body"], mi), "")
    cols = [
        "body",
        "pay_period",
        "function",
        "headcount",
        "fte",
        "gross_pay_gbp",
        "employer_ni_gbp",
        "employer_pension_gbp",
        "pay_cost_gbp",
        "annual_pay_cost_gbp",
        "annual_salary_cost_gbp",
        "employees",
        "payslips",
        "ap_lines",
    ]
    summary.ground_truth["function_staff.csv"] = _write_truth_csv(
        gt / "function_staff.csv",
        cols,
        {c: [r[c] for r in staff_rows] for c in cols} if staff_rows else {},
    )
    summary.seconds = time.perf_counter() - t0
    return summary


def _write_ap_truth(
    gt: Path, ctx: _Ctx, layouts: dict, info: dict, dups: list[dict], mnf: list[dict], rows_of: dict
) -> dict[str, int]:
    """Write the accounts-payable truth files; returns the rows written per file name."""
    written: dict[str, int] = {}
    bms, positions, allv, inv_no, suppliers = (
        info[k] for k in ("bms", "positions", "allv", "inv_no", "suppliers")
    )
    inv_list = inv_no.to_pylist()

    def side(i: int) -> dict[str, Any]:
        b, mi = bms[int(allv["bm"][i])]
        fl = layouts[(b.code, "ap")]
        path = _file_path(ctx.out_dir, b, "ap", ctx.months[mi])
        return {
            "body": b.code,
            "invoice": inv_list[i] or "",
            "payment_date": str(allv["pay"][i]),
            "amount": f"{allv['amount'][i] / 100:.2f}",
            "source_id": fl.source.source_id,
            "file_name": path.name,
            "source_line": fl.first_data_line + int(positions[i]),
        }

    def rows(items: list[dict]) -> list[dict]:
        out = []
        for d in items:
            left, right = side(d["l"]), side(d["r"])
            row = {"kind": d["kind"]}
            for k in (
                "body",
                "invoice",
                "payment_date",
                "amount",
                "source_id",
                "file_name",
                "source_line",
            ):
                row[f"{k}_l"] = left[k]
                row[f"{k}_r"] = right[k]
            row["supplier_id"] = suppliers[int(allv["sup"][d["l"]])].supplier_id
            out.append(row)
        return out

    cols = [
        "kind",
        "body_l",
        "invoice_l",
        "payment_date_l",
        "amount_l",
        "body_r",
        "invoice_r",
        "payment_date_r",
        "amount_r",
        "supplier_id",
        "source_id_l",
        "file_name_l",
        "source_line_l",
        "source_id_r",
        "file_name_r",
        "source_line_r",
    ]
    for name, items in (("duplicate_payments.csv", dups), ("must_not_flag.csv", mnf)):
        rr = rows(items)
        written[name] = _write_truth_csv(
            gt / name, cols, {c: [r[c] for r in rr] for c in cols} if rr else {}
        )
    # the true supplier of every line
    sid, fname, line, sup = [], [], [], []
    for (bi, mi), rws in rows_of.items():
        b = next(x for x in ctx.bodies if x.index == bi)
        fl = layouts[(b.code, "ap")]
        n = len(rws)
        sid.append(_const(fl.source.source_id, n))
        fname.append(_const(_file_path(ctx.out_dir, b, "ap", ctx.months[mi]).name, n))
        line.append(pa.array(fl.first_data_line + positions[rws], pa.int64()))
        sup.append(_take([s.supplier_id for s in suppliers], allv["sup"][rws]))
    written["suppliers.csv"] = _write_truth_csv(
        gt / "suppliers.csv",
        ["source_id", "file_name", "source_line", "supplier_id"],
        {
            "source_id": pa.concat_arrays(sid),
            "file_name": pa.concat_arrays(fname),
            "source_line": pa.concat_arrays(line),
            "supplier_id": pa.concat_arrays(sup),
        },
    )
    return written
