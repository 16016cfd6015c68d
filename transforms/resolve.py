"""Organisation resolution, supplier matching keys and redacted-payee detection.

Three small, pure pieces of normalisation used by every domain (DESIGN.md §1 and §5):

* :class:`OrganisationResolver` turns a body name as written in a file ("Dept for Work & Pensions",
  "HMRC", "Departmen of Health") into the stable ``body_code`` of one row of
  ``config/reference/organisations.csv``. An unknown body resolves to ``None``: upstream that is a
  file-level validation failure, never a new row (DESIGN.md §1, §3).
* :func:`supplier_key` is the matching key that groups one supplier's spellings across files and
  bodies (DESIGN.md §5.1; failure case 17 in ``tests/fixtures/cases/17-supplier-name-variants``).
* :func:`is_redacted_payee` recognises the markers bodies put in the supplier column instead of a
  personal or withheld payee name (``config/reference/redacted_payee_markers.csv``).

Reference files (all under ``config/reference/``, provenance in its ``README.md``):

* ``organisations.csv`` -- hand-written, one row per body seen in the bundled sample files plus
  their parent departments.
* ``gov.uk_api_organisations-augmented.csv``, ``dgu_department_aliases.csv``, ``publishers.csv`` --
  unchanged copies of public lists, used as alias sources onto ``organisations.csv`` rows.
* ``supplier_place_suffixes.csv``, ``redacted_payee_markers.csv`` -- hand-curated from the bundle.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from rapidfuzz import fuzz, process

from transforms.errors import ConfigError
from transforms.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

#: Default reference folder (the caller normally passes ``Settings.config / "reference"``).
DEFAULT_REFERENCE_DIR = PROJECT_ROOT / "config" / "reference"

ORGANISATIONS_FILE = "organisations.csv"
GOVUK_FILE = "gov.uk_api_organisations-augmented.csv"
DGU_ALIASES_FILE = "dgu_department_aliases.csv"
PUBLISHERS_FILE = "publishers.csv"
PLACE_SUFFIXES_FILE = "supplier_place_suffixes.csv"
REDACTION_MARKERS_FILE = "redacted_payee_markers.csv"

ORGANISATION_COLUMNS = ("body_code", "name", "body_type", "parent_code", "govuk_id", "variants")
BODY_TYPES = frozenset(
    {
        "ministerial-department",
        "non-ministerial-department",
        "executive-agency",
        "ndpb",
        "public-corporation",
        "local-authority",
        "other",
    }
)
#: Body types that never have a parent (the brief: departments and councils).
_PARENTLESS_TYPES = frozenset(
    {"ministerial-department", "non-ministerial-department", "local-authority"}
)
_BODY_CODE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

#: Fuzzy acceptance rule (the brief for this module): ``fuzz.ratio`` on normalised names must be at
#: least this, and beat the best score for any *other* body by at least ``FUZZY_MARGIN``.
FUZZY_MIN_SCORE = 92.0
FUZZY_MARGIN = 3.0

DIM_ORGANISATION_SCHEMA = pa.schema(
    [
        pa.field("body_code", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("body_type", pa.string(), nullable=False),
        pa.field("parent_code", pa.string()),
        pa.field("parent_name", pa.string()),
        pa.field("govuk_id", pa.string()),
        pa.field("name_variants", pa.list_(pa.string()), nullable=False),
    ]
)


# --------------------------------------------------------------------------------------------
# shared text helpers
# --------------------------------------------------------------------------------------------

_QUOTES = "'\"`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00b4"
_QUOTE_RE = re.compile("[" + re.escape(_QUOTES) + "]")
_NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")
_SPACE_RE = re.compile(r"\s+")


def _fold(text: str) -> str:
    """NFKC, strip accents (``é`` -> ``e``), case-fold, turn non-breaking spaces into spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", text).casefold()


def _collapse(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def _read_csv_dicts(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 (optionally BOM-prefixed) CSV into dicts with stripped string values."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [
            {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


# --------------------------------------------------------------------------------------------
# organisation names
# --------------------------------------------------------------------------------------------

_DEPT_RE = re.compile(r"\bdept\b\.?")
_TRAILING_PAREN_RE = re.compile(r"\(([^()]*)\)\s*$")


def _plain_org(text: str) -> str:
    """Case-fold, ``&`` -> ``and``, ``dept`` -> ``department``, drop quotes and punctuation."""
    text = _fold(text)
    text = _QUOTE_RE.sub("", text)  # "Citizens’ Rights" -> "citizens rights", "N/D'" -> "n/d"
    text = text.replace("&", " and ")
    text = _DEPT_RE.sub("department", text)
    text = _NON_ALNUM_RE.sub(" ", text)
    return _collapse(text)


def _drop_leading_the(text: str) -> str:
    return text[4:] if text.startswith("the ") and len(text) > 4 else text


@functools.lru_cache(maxsize=8)
def _default_abbreviations(reference_dir: str) -> frozenset[str]:
    path = Path(reference_dir) / ORGANISATIONS_FILE
    if not path.is_file():
        logger.warning("no %s in %s: no abbreviations known", ORGANISATIONS_FILE, reference_dir)
        return frozenset()
    known: set[str] = set()
    for row in _read_csv_dicts(path):
        for variant in (row.get("variants") or "").split("|"):
            if variant.strip():
                known.add(_plain_org(variant))
    return frozenset(known)


def normalise_org_name(name: str, known_abbreviations: Collection[str] | None = None) -> str:
    """Normalise a public body's name for matching against the organisation reference list.

    Input: ``name``, a body name as written in a file (any case, punctuation, stray quotes).
    ``known_abbreviations``: normalised variants that may be dropped when they end the name in
    parentheses; ``None`` means the variants of the default
    ``config/reference/organisations.csv`` (read once and cached).
    Output: a lower-case string of ``[0-9a-z]`` words separated by single spaces ("" for blank).

    Rules, in order (source: the module brief; each was seen in the bundled files):

    1. Unicode NFKC, accents stripped, case-fold ("Ministry Of Defence").
    2. Stray quotes removed, straight or curly ("Citizens’ Rights", Excel-style ``'Eliminated'``).
    3. ``&`` -> ``and`` ("Dept for Work & Pensions").
    4. ``dept`` / ``dept.`` -> ``department``.
    5. Trailing parenthesised abbreviation dropped *only* when it is itself a known variant
       ("Department for Business, Energy & Industrial Strategy (BEIS)" in the BEIS workforce
       file, "Civil Nuclear Police Authority (CNPA)"); an unknown one is kept as words.
    6. All other punctuation becomes a space (commas, hyphens, slashes); whitespace collapsed.
    7. A leading ``the`` is dropped ("The Office of the Public Guardian").
    """
    if not name or not name.strip():
        return ""
    if known_abbreviations is None:
        known_abbreviations = _default_abbreviations(str(DEFAULT_REFERENCE_DIR))
    text = _fold(name).strip()
    match = _TRAILING_PAREN_RE.search(text)
    if match and text[: match.start()].strip():
        inner = _plain_org(match.group(1))
        if inner and inner in known_abbreviations:
            text = text[: match.start()]
    return _drop_leading_the(_plain_org(text))


@dataclass(frozen=True)
class Resolution:
    """Result of resolving one body name.

    Attributes:
        body_code: ``organisations.csv`` code of the body.
        method: ``exact`` (name or variant of organisations.csv), ``alias`` (a DGU alias, a
            data.gov.uk publisher, or the GOV.UK name of the row's ``govuk_id``, mapped onto an
            organisations.csv row) or ``fuzzy`` (rapidfuzz ratio on normalised names).
        score: 100.0 for ``exact``/``alias``; the ``fuzz.ratio`` score (0-100) for ``fuzzy``.
    """

    body_code: str
    method: str
    score: float


@dataclass(frozen=True)
class Organisation:
    """One row of ``organisations.csv`` (variants split on ``|``, empty strings as ``None``)."""

    body_code: str
    name: str
    body_type: str
    parent_code: str | None
    govuk_id: str | None
    variants: tuple[str, ...]


class OrganisationResolver:
    """Resolve body names to ``organisations.csv`` codes: exact, then alias, then fuzzy.

    Build it with :meth:`from_reference`. The resolver never invents a body: names that match no
    row return ``None`` (an unknown body is a file-level validation failure, DESIGN.md §3).
    """

    def __init__(
        self,
        organisations: Iterable[Organisation],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        """Index the organisations.

        Inputs: ``organisations`` (validated rows); ``aliases``, raw alias name -> *raw* target
        name, where a target that does not match a row exactly is ignored with a debug log.
        Raises :class:`ConfigError` when two bodies share a normalised name or variant.
        """
        self.organisations: dict[str, Organisation] = {o.body_code: o for o in organisations}
        #: the folder it was built from (set by from_reference); supplier keys and redaction
        #: markers are read from the same folder
        self.reference_dir: Path | None = None
        self.known_abbreviations: frozenset[str] = frozenset(
            _plain_org(v) for o in self.organisations.values() for v in o.variants if v.strip()
        )
        self._exact: dict[str, str] = {}
        problems: list[tuple[str, str, str]] = []
        for org in self.organisations.values():
            for label in (org.name, *org.variants):
                key = self.normalise(label)
                if not key:
                    continue
                other = self._exact.setdefault(key, org.body_code)
                if other != org.body_code:
                    problems.append(
                        (ORGANISATIONS_FILE, org.body_code, f"{label!r} also names {other!r}")
                    )
        if problems:
            raise ConfigError(problems)

        self._alias: dict[str, str] = {}
        clashes: set[str] = set()
        for alias, target in (aliases or {}).items():
            key, code = self.normalise(alias), self._exact.get(self.normalise(target))
            if not key or code is None:
                logger.debug("alias %r -> %r maps onto no organisations.csv row", alias, target)
                continue
            if key in self._exact:
                continue  # exact wins; nothing to add
            if self._alias.setdefault(key, code) != code:
                clashes.add(key)
        for key in clashes:  # an alias pointing at two bodies is ambiguous: use neither
            logger.warning("alias %r maps onto two bodies; ignored", key)
            del self._alias[key]

        # fuzzy choices: every normalised name and variant of organisations.csv, nothing else
        self._choices: list[str] = list(self._exact)
        self._choice_codes: list[str] = [self._exact[c] for c in self._choices]

    # ---- construction ---------------------------------------------------------------------

    @classmethod
    def from_reference(cls, reference_dir: Path) -> OrganisationResolver:
        """Build a resolver from a reference folder.

        Input: ``reference_dir`` holding ``organisations.csv`` (UTF-8, header
        ``body_code,name,body_type,parent_code,govuk_id,variants``; ``variants`` pipe-separated)
        and optionally the unchanged public lists ``gov.uk_api_organisations-augmented.csv``
        (``GB-GOR,Name,...``), ``dgu_department_aliases.csv`` (``alias,name``) and
        ``publishers.csv`` (``id,title,...``). Output: the resolver.

        Alias sources, each mapped onto an organisations.csv row by exact normalised name:
        DGU ``alias`` -> ``name``; publisher ``id`` (slug) and ``title``; and the GOV.UK ``Name``
        of each row's ``govuk_id`` (so GOV.UK's current spelling of a body we list resolves).
        GOV.UK organisations that are not in organisations.csv stay unknown.

        Raises :class:`ConfigError` on a missing organisations.csv, a bad header, a duplicate or
        malformed code, an unknown body type, a parent that is not a row or that a department
        or council has, or a ``govuk_id`` absent from the GOV.UK list when that list is present.
        """
        reference_dir = Path(reference_dir)
        organisations = load_organisations(reference_dir / ORGANISATIONS_FILE)
        aliases: dict[str, str] = {}

        govuk_path = reference_dir / GOVUK_FILE
        if govuk_path.is_file():
            govuk_names = {r["GB-GOR"]: r["Name"] for r in _read_csv_dicts(govuk_path)}
            problems = [
                (GOVUK_FILE, o.body_code, f"govuk_id {o.govuk_id!r} is not on the GOV.UK list")
                for o in organisations
                if o.govuk_id and o.govuk_id not in govuk_names
            ]
            if problems:
                raise ConfigError(problems)
            for org in organisations:
                if org.govuk_id:
                    aliases[govuk_names[org.govuk_id]] = org.name
        dgu_path = reference_dir / DGU_ALIASES_FILE
        if dgu_path.is_file():
            for row in _read_csv_dicts(dgu_path):
                if row.get("alias") and row.get("name"):
                    aliases.setdefault(row["alias"], row["name"])
        publishers_path = reference_dir / PUBLISHERS_FILE
        if publishers_path.is_file():
            for row in _read_csv_dicts(publishers_path):
                if row.get("title"):
                    aliases.setdefault(row["title"], row["title"])
                    if row.get("id"):
                        aliases.setdefault(row["id"], row["title"])
        resolver = cls(organisations, aliases)
        logger.info(
            "organisation resolver: %d bodies, %d names, %d aliases from %s",
            len(resolver.organisations),
            len(resolver._exact),
            len(resolver._alias),
            reference_dir,
        )
        resolver.reference_dir = reference_dir
        return resolver

    # ---- use ------------------------------------------------------------------------------

    def normalise(self, name: str) -> str:
        """:func:`normalise_org_name` with this resolver's variants as the known abbreviations."""
        return normalise_org_name(name, self.known_abbreviations)

    def resolve(self, name: str) -> Resolution | None:
        """Resolve one body name as written in a file.

        Input: ``name`` (str; blank gives ``None``). Output: a :class:`Resolution` or ``None``.
        Order: ``exact`` on organisations.csv names/variants; ``alias`` (DGU aliases, data.gov.uk
        publishers, GOV.UK names of listed ``govuk_id`` s); ``fuzzy`` -- ``fuzz.ratio`` of the
        normalised name against every normalised name and variant of organisations.csv only,
        accepted when the best score is >= 92 and beats the best score of any other body by
        >= 3 (this catches ``Departmen of Health`` in the NHSBSA spend file). "Department of
        Health" is its own historical body (``dh``) and never falls through to DHSC.
        """
        key = self.normalise(name) if name else ""
        if not key:
            return None
        code = self._exact.get(key)
        if code is not None:
            return Resolution(code, "exact", 100.0)
        code = self._alias.get(key)
        if code is not None:
            return Resolution(code, "alias", 100.0)
        return self._fuzzy(key, name)

    def _fuzzy(self, key: str, name: str) -> Resolution | None:
        best: dict[str, float] = {}
        for _choice, score, index in process.extract(
            key, self._choices, scorer=fuzz.ratio, limit=None, score_cutoff=50
        ):
            code = self._choice_codes[index]
            if score > best.get(code, -1.0):
                best[code] = float(score)
        if not best:
            return None
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
        top_code, top_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if top_score >= FUZZY_MIN_SCORE and top_score - runner_up >= FUZZY_MARGIN:
            logger.info("fuzzy: %r -> %s (ratio %.1f)", name, top_code, top_score)
            return Resolution(top_code, "fuzzy", round(top_score, 2))
        logger.debug("no match for %r (best %s %.1f)", name, top_code, top_score)
        return None

    def parent_name(self, body_code: str) -> str | None:
        """Name of the parent of ``body_code`` (``None`` for a body with no parent)."""
        parent = self.organisations[body_code].parent_code
        return self.organisations[parent].name if parent else None


def load_organisations(path: Path) -> list[Organisation]:
    """Read and check ``organisations.csv``.

    Input: path of the UTF-8 CSV (header ``body_code,name,body_type,parent_code,govuk_id,
    variants``). Output: one :class:`Organisation` per row, in file order. All problems are
    collected and raised together as :class:`ConfigError`.
    """
    if not path.is_file():
        raise ConfigError([(str(path), "", "organisation reference list not found")])
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = tuple(reader.fieldnames or ())
        raw_rows = list(reader)
    if header != ORGANISATION_COLUMNS:
        raise ConfigError([(path.name, "header", f"expected {ORGANISATION_COLUMNS}, got {header}")])
    problems: list[tuple[str, str, str]] = []
    orgs: list[Organisation] = []
    for line, raw in enumerate(raw_rows, start=2):
        row = {k: (v or "").strip() for k, v in raw.items()}
        code = row["body_code"]
        where = f"line {line} ({code or '?'})"
        if not _BODY_CODE_RE.match(code):
            problems.append((path.name, where, "body_code must be a lower-case slug"))
        if not row["name"]:
            problems.append((path.name, where, "name is empty"))
        if row["body_type"] not in BODY_TYPES:
            problems.append((path.name, where, f"unknown body_type {row['body_type']!r}"))
        orgs.append(
            Organisation(
                body_code=code,
                name=row["name"],
                body_type=row["body_type"],
                parent_code=row["parent_code"] or None,
                govuk_id=row["govuk_id"] or None,
                variants=tuple(v.strip() for v in row["variants"].split("|") if v.strip()),
            )
        )
    codes = [o.body_code for o in orgs]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append((path.name, code, "duplicate body_code"))
    known = set(codes)
    for org in orgs:
        if org.parent_code and org.parent_code not in known:
            problems.append((path.name, org.body_code, f"parent {org.parent_code!r} is no row"))
        if org.parent_code and org.body_type in _PARENTLESS_TYPES:
            problems.append((path.name, org.body_code, f"a {org.body_type} has no parent"))
        if org.parent_code == org.body_code:
            problems.append((path.name, org.body_code, "body is its own parent"))
    if problems:
        raise ConfigError(problems)
    return orgs


def dim_organisation_table(resolver: OrganisationResolver) -> pa.Table:
    """The ``dim_organisation`` dimension as an Arrow table, one row per organisations.csv row.

    Input: a built :class:`OrganisationResolver`. Output columns (DESIGN.md §1):
    ``body_code string`` (not null), ``name string``, ``body_type string``,
    ``parent_code string`` (null for departments, councils and other parentless bodies),
    ``parent_name string`` (null likewise), ``govuk_id string`` (GOV.UK GB-GOR id, null where the
    body is not on the GOV.UK list), ``name_variants list<string>`` (the CSV's pipe-separated
    variants, in file order; empty list for none). Row order is the CSV's.
    """
    orgs = list(resolver.organisations.values())
    return pa.Table.from_pydict(
        {
            "body_code": [o.body_code for o in orgs],
            "name": [o.name for o in orgs],
            "body_type": [o.body_type for o in orgs],
            "parent_code": [o.parent_code for o in orgs],
            "parent_name": [resolver.parent_name(o.body_code) for o in orgs],
            "govuk_id": [o.govuk_id for o in orgs],
            "name_variants": [list(o.variants) for o in orgs],
        },
        schema=DIM_ORGANISATION_SCHEMA,
    )


# --------------------------------------------------------------------------------------------
# supplier names
# --------------------------------------------------------------------------------------------

#: Legal-form endings unified (dropped) at the end of a name, longest first. Source: case 17
#: (Ltd/Limited, PLC, LLP/L.L.P.) and the bundle ("PUBLIC LIMITED COMPANY" in the MoD file).
_LEGAL_FORMS: tuple[tuple[str, ...], ...] = (
    ("public", "limited", "company"),
    ("limited", "liability", "partnership"),
    ("limited",),
    ("ltd",),
    ("plc",),
    ("llp",),
)
_LEGAL_FORM_WORDS = r"(?:ltd|limited|plc|llp)"
_DX_TAIL_RE = re.compile(r"\s*#\s*dx\b.*$")  # "FRISBY SOLICITORS LTD#DX 14564" (document exchange)
_TRADING_AS_RE = re.compile(r"\(?\s*\b(?:also\s+)?(?:t\s*/\s*as?|trading\s+as)(?![a-z0-9])")
_UK_PAREN_RE = re.compile(r"\(\s*u\.?\s*k\.?\s*\)")
_THE_PAREN_RE = re.compile(r"\(\s*the\s*\)\s*$")
_QUALIFIER_AFTER_FORM_RE = re.compile(r"\b(" + _LEGAL_FORM_WORDS + r")\b\.?\s*\([^()]*\)\s*$")
_INITIALS_DOT_RE = re.compile(r"(?<![0-9a-z])([a-z])\.(?=[a-z0-9])")


@functools.lru_cache(maxsize=8)
def _place_suffixes(reference_dir: str) -> tuple[tuple[str, ...], ...]:
    path = Path(reference_dir) / PLACE_SUFFIXES_FILE
    if not path.is_file():
        logger.warning(
            "no %s in %s: no trailing places dropped", PLACE_SUFFIXES_FILE, reference_dir
        )
        return ()
    places = {tuple(_plain_supplier(r["place"]).split()) for r in _read_csv_dicts(path)}
    places.discard(())
    return tuple(sorted(places, key=len, reverse=True))


def _plain_supplier(text: str) -> str:
    text = _fold(text)
    text = _QUOTE_RE.sub("", text)
    text = text.replace("&", " and ")
    text = _INITIALS_DOT_RE.sub(r"\1", text)  # p.l.c. -> plc, l.l.p. -> llp, e.on -> eon
    return _collapse(_NON_ALNUM_RE.sub(" ", text))


def _ends_with(tokens: list[str], tail: tuple[str, ...]) -> bool:
    return len(tokens) > len(tail) and tuple(tokens[-len(tail) :]) == tail


def _ends_with_legal_form(tokens: list[str]) -> bool:
    return any(_ends_with(tokens, form) for form in _LEGAL_FORMS)


def _strip_legal_form(tokens: list[str]) -> bool:
    for form in _LEGAL_FORMS:
        if _ends_with(tokens, form):
            del tokens[-len(form) :]
            return True
    return False


def supplier_key(name: str, reference_dir: Path | None = None) -> str:
    """Matching key for a supplier name, so that spellings of one firm group together.

    Input: ``name`` as sent (str, any case/spacing); ``reference_dir`` holding
    ``supplier_place_suffixes.csv`` (default ``config/reference``). Output: a lower-case key of
    ``[0-9a-z]`` words joined by single spaces ("" for a blank name). The raw name is never
    replaced by the key; the key is only for grouping (case 17: "keep the raw name on every
    line").

    Rules, in order (sources: DESIGN.md §5.1, failure case 17, names seen in the bundle):

    1. NFKC, accents stripped, case-fold; quotes and apostrophes removed.
    2. A ``#DX ...`` document-exchange tail is dropped ("... LTD#DX 14564", MoJ/DfT files).
    3. Trading-as: ``X t/a Y``, ``X T/AS Y``, ``X (trading as Y)``, ``X also t/a Y`` keep the
       legal name ``X`` (the entity that is paid; 80+ such names in the bundle); when nothing
       precedes the marker ("T/A THE KIRTON HEALTHCARE GROUP LTD") the trading name is kept. A
       bare ``TA`` is *not* treated as trading-as (ambiguous: "TA Associates").
    4. ``(UK)`` / ``(U.K.)`` anywhere is dropped; a trailing ``(THE)`` is dropped.
    5. A parenthesised qualifier right after a legal-form ending is dropped ("SERCO LIMITED
       (LABORATORY ASSETS ONLY)", "CIVICA UK LTD (CIS)"): the legal name ends at the ending.
    6. ``&`` -> ``and``; dotted initials joined (``P.L.C.`` -> ``plc``, ``L.L.P.`` -> ``llp``);
       all other punctuation and hyphens become spaces; whitespace collapsed (case 17).
    7. A leading ``the`` is dropped (case 17: "The Fenwick Print Company Ltd").
    8. At the end, repeatedly: a UK place from ``supplier_place_suffixes.csv`` that directly
       follows a legal-form ending ("HSBC BANK PLC, LONDON"); the legal-form endings
       ``ltd``/``limited``/``plc``/``llp``/``public limited company``/``limited liability
       partnership`` (case 17); then ``uk`` / ``united kingdom`` directly before a removed
       ending ("Misco UK Limited" = "MISCO"). A bare trailing ``uk`` with no legal ending is kept
       ("Age UK"). Endings are never stripped down to an empty key.

    Distinctive words are never dropped, so "Capita Business Services Ltd" and "Capita Resourcing
    Ltd", or case 17's "Consulting"/"Consultants" and "plc"/"Holdings Ltd", stay apart.
    ``company``/``co``/``group``/``holdings`` are *not* removed.
    """
    if not name or not name.strip():
        return ""
    places = _place_suffixes(str(reference_dir or DEFAULT_REFERENCE_DIR))
    text = _fold(name).strip()
    text = _QUOTE_RE.sub("", text)
    text = _DX_TAIL_RE.sub("", text)

    match = _TRADING_AS_RE.search(text)
    if match:
        before, after = text[: match.start()], text[match.end() :]
        text = before if _plain_supplier(before) else after

    text = _UK_PAREN_RE.sub(" ", text)
    text = _THE_PAREN_RE.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _QUALIFIER_AFTER_FORM_RE.sub(r"\1", text.strip())

    tokens = _plain_supplier(text).split()
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    original = list(tokens)

    changed = True
    while changed and tokens:
        changed = False
        for place in places:
            if _ends_with(tokens, place) and _ends_with_legal_form(tokens[: -len(place)]):
                del tokens[-len(place) :]
                changed = True
                break
        if _strip_legal_form(tokens):
            changed = True
            for uk in (("united", "kingdom"), ("uk",)):
                if _ends_with(tokens, uk):
                    del tokens[-len(uk) :]
                    break
    if not tokens:
        tokens = original
    return " ".join(tokens)


# --------------------------------------------------------------------------------------------
# redacted payees
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedactionMarker:
    """One row of ``redacted_payee_markers.csv``.

    ``match`` is ``whole`` (the normalised name equals ``pattern``), ``phrase`` (``pattern``
    occurs in the normalised name as whole words) or ``mask`` (``pattern`` is a regular
    expression that must match the whole raw name, trimmed, ignoring case).
    """

    pattern: str
    match: str


def _plain_payee(text: str) -> str:
    return _collapse(_NON_ALNUM_RE.sub(" ", _QUOTE_RE.sub("", _fold(text))))


@functools.lru_cache(maxsize=8)
def load_redaction_markers(reference_dir: str | None = None) -> tuple[RedactionMarker, ...]:
    """Read ``redacted_payee_markers.csv`` (columns ``pattern,match,seen_in,note``).

    Input: folder path as a string (default ``config/reference``). Output: the markers, with
    ``whole``/``phrase`` patterns normalised like names. Raises :class:`ConfigError` on an
    unknown ``match`` kind or an invalid mask regex.
    """
    path = Path(reference_dir or DEFAULT_REFERENCE_DIR) / REDACTION_MARKERS_FILE
    if not path.is_file():
        raise ConfigError([(str(path), "", "redacted payee marker list not found")])
    markers: list[RedactionMarker] = []
    problems: list[tuple[str, str, str]] = []
    for line, row in enumerate(_read_csv_dicts(path), start=2):
        kind, pattern = row.get("match", ""), row.get("pattern", "")
        if kind in ("whole", "phrase"):
            markers.append(RedactionMarker(_plain_payee(pattern), kind))
        elif kind == "mask":
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append((path.name, f"line {line}", f"bad regex: {exc}"))
            markers.append(RedactionMarker(pattern, kind))
        else:
            problems.append((path.name, f"line {line}", f"unknown match kind {kind!r}"))
    if problems:
        raise ConfigError(problems)
    return tuple(markers)


def is_redacted_payee(name: str, reference_dir: Path | None = None) -> bool:
    """True when a supplier/payee value is a redaction or withheld-name marker, not a supplier.

    Input: the supplier column value as sent (str); ``reference_dir`` holding
    ``redacted_payee_markers.csv`` (default ``config/reference``). Output: bool. A blank value is
    *not* a redaction marker (it is a missing supplier, e.g. the NHSBSA aggregate contractor
    payment rows) and gives ``False``.

    Markers come from ``redacted_payee_markers.csv``, hand-curated from every spelling in the
    bundled spend files (e.g. ``Redacted personal data``, ``Personal Expense, Name Witheld``,
    DfT's ``xxxxxx`` / ``XX XXXXX XXXXXXX`` masks, Craven's ``*****``). Matching is on the
    normalised whole name, a whole-word phrase, or a full-name mask regex -- never on a
    substring, so ``REDACTIVE MEDIA SALES LIMITED`` (Oxford) stays a supplier.
    """
    if not name or not name.strip():
        return False
    markers = load_redaction_markers(str(reference_dir) if reference_dir else None)
    plain = _plain_payee(name)
    padded = f" {plain} "
    raw = name.strip()
    for marker in markers:
        if marker.match == "whole" and plain == marker.pattern:
            return True
        if marker.match == "phrase" and marker.pattern and f" {marker.pattern} " in padded:
            return True
        if marker.match == "mask" and re.fullmatch(marker.pattern, raw, flags=re.IGNORECASE):
            return True
    return False
