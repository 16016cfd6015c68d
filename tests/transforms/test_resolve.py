"""Tests for transforms/resolve.py: organisations, supplier keys, redacted payees.

The bundle-wide tests read the sample files themselves (stdlib ``csv``; ``python_calamine`` for
the three workforce spreadsheets) so they do not depend on the project's readers.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from python_calamine import CalamineWorkbook

from transforms.errors import ConfigError
from transforms.resolve import (
    DIM_ORGANISATION_SCHEMA,
    OrganisationResolver,
    Resolution,
    dim_organisation_table,
    is_redacted_payee,
    normalise_org_name,
    supplier_key,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
REFERENCE = ROOT / "config" / "reference"
CASE17 = ROOT / "tests" / "fixtures" / "cases" / "17-supplier-name-variants"

SPEND_BODY_COLUMNS = {
    "departmental family",
    "department family",
    "department",
    "entity",
    "body name",
}
ORGANOGRAM_BODY_COLUMNS = {"parent department", "organisation"}
DWP_FILE = "department-for-work-pensions/dwp-payments-april11.csv"


# ---------------------------------------------------------------------------------------------
# reading the bundle
# ---------------------------------------------------------------------------------------------


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_decode(path), newline="")))


def _header_index(rows: list[list]) -> int:
    """First row with at least three non-empty cells (MoJ spend has a title and a blank first)."""
    return next(i for i, r in enumerate(rows) if sum(1 for c in r if str(c).strip()) >= 3)


def _label(cell: object) -> str:
    return " ".join(str(cell).split()).lower()


def _column_values(rows: list[list], wanted) -> dict[str, Counter]:
    """Non-blank values of the columns whose normalised header satisfies ``wanted``."""
    hi = _header_index(rows)
    header = [_label(c) for c in rows[hi]]
    out: dict[str, Counter] = {}
    for j, name in enumerate(header):
        if wanted(name):
            values = Counter(
                str(r[j]).strip() for r in rows[hi + 1 :] if len(r) > j and str(r[j]).strip()
            )
            out[name] = values
    return out


def _spend_files() -> list[Path]:
    return sorted(p for p in (SAMPLE / "spend").rglob("*") if p.is_file())


def bundle_body_names() -> dict[str, set[str]]:
    """Every body name in scope of organisations.csv -> the bundle files it occurs in."""
    names: dict[str, set[str]] = defaultdict(set)
    for path in _spend_files():
        rel = path.relative_to(SAMPLE / "spend").as_posix()
        for column, values in _column_values(
            _csv_rows(path), lambda h: h in SPEND_BODY_COLUMNS
        ).items():
            if rel == DWP_FILE and column == "entity":
                continue  # business units, not bodies
            for value in values:
                names[value].add(rel)
    for path in sorted((SAMPLE / "organogram").rglob("*.csv")):
        for values in _column_values(
            _csv_rows(path), lambda h: h in ORGANOGRAM_BODY_COLUMNS
        ).values():
            for value in values:
                names[value].add(path.name)
    workforce = SAMPLE / "workforce"

    def wanted(h: str) -> bool:
        return h.startswith("organisation name") or h.startswith(
            "main, parent or sponsoring department"
        )

    for rel in (
        "ministry-of-justice/10.ods",
        "department-for-environment-food-rural-affairs/1059.xlsx",
        "department-for-communities-and-local-government/1039.xls",
    ):
        sheet = CalamineWorkbook.from_path(str(workforce / rel)).get_sheet_by_index(0)
        for values in _column_values(sheet.to_python(), wanted).values():
            for value in values:
                names[value].add(rel)
    rel = "department-for-business-energy-and-industrial-strategy/1010.csv"
    for values in _column_values(_csv_rows(workforce / rel), wanted).values():
        for value in values:
            names[value].add(rel)
    return dict(names)


BUNDLE_NAMES = bundle_body_names()


@pytest.fixture(scope="module")
def resolver() -> OrganisationResolver:
    return OrganisationResolver.from_reference(REFERENCE)


# ---------------------------------------------------------------------------------------------
# organisations
# ---------------------------------------------------------------------------------------------


def test_bundle_scan_found_the_expected_scope():
    # guards the scan itself: the DfT agencies, workforce bodies and organogram bodies are in
    assert len(BUNDLE_NAMES) >= 80
    for name in ("Highways Agency", "Departmen of Health", "UKRI", "Parole Board", "Home Office"):
        assert name in BUNDLE_NAMES
    assert "Jobcentre Plus" not in BUNDLE_NAMES and "Corporate" not in BUNDLE_NAMES


@pytest.mark.parametrize("name", [pytest.param(n, id=n[:60]) for n in sorted(BUNDLE_NAMES)])
def test_every_bundle_body_name_resolves(resolver, name):
    result = resolver.resolve(name)
    assert result is not None, f"{name!r} (in {sorted(BUNDLE_NAMES[name])}) does not resolve"
    assert result.body_code in resolver.organisations


EXPECTED = [
    # (name as written in a file, body_code, method, parent_code)
    ("Departmen of Health", "dh", "fuzzy", None),
    ("Department of Health", "dh", "exact", None),
    ("Ministry Of Defence", "mod", "exact", None),
    ("HMRC", "hmrc", "exact", None),
    ("FCO", "fco", "exact", None),
    ("National Offender Management Service", "noms", "exact", "moj"),
    ("Highways Agency", "highways-agency", "exact", "dft"),
    ("NHS Business Services Authority", "nhsbsa", "exact", "dh"),
    ("Department For Transport", "dft", "exact", None),
    ("DVSA", "dvsa", "exact", "dft"),
    ("Driver & Vehicle Licensing Agency", "dvla", "exact", "dft"),
    ("BTP", "btp", "exact", "dft"),
    ("HS2 Ltd", "hs2", "exact", "dft"),
    ("VCA", "vca", "exact", "dft"),
    ("Passenger Focus", "passenger-focus", "exact", "dft"),
    ("Air Safety Support International", "assi", "exact", "dft"),
    ("Directly Operated Railways Limited", "directly-operated-railways", "exact", "dft"),
    ("Air Travel Trust Fund", "air-travel-trust", "exact", "dft"),
    ("CABINET OFFICE", "cabinet-office", "exact", None),
    ("Crown Commercial Service", "ccs", "exact", "cabinet-office"),
    ("DMO", "dmo", "exact", "hmt"),
    ("HMCTS", "hmcts", "exact", "moj"),
    ("MoJ HQ", "moj", "exact", None),
    ("British Defence Staff - United States", "mod", "exact", None),
    ("United Kingdon Hydrographic Office", "ukho", "fuzzy", "mod"),
    ("Council of Reserve Forces & Cadets Association", "rfca", "exact", "mod"),
    ("NATIONAL COLLEGE FOR TEACHING AND LEADERSHIP AGENCY", "nctl", "exact", "dfe"),
    ("Intellectual Property Office", "ipo", "exact", "beis"),
    ("UK Intellectual Property Office", "ipo", "exact", "beis"),
    ("Department for Business, Innovation and Skills", "bis", "exact", None),
    ("Department for Business, Energy & Industrial Strategy (BEIS)", "beis", "exact", None),
    ("Advisory Conciliation & Arbitration Service (ACAS)", "acas", "exact", "beis"),
    ("UKAEA", "ukaea", "exact", "beis"),
    ("The Office of the Public Guardian", "opg", "exact", "moj"),
    (
        "Independent Monitoring Authority for the Citizens\u2019 Rights Agreements",
        "ima",
        "exact",
        "moj",
    ),
    ("Children and Family Court Advisory and Support Services", "cafcass", "exact", "moj"),
    ("Royal Botanic Gardens, Kew", "kew", "exact", "defra"),
    ("Department for Communities and Local Government", "dclg", "exact", None),
    ("West Northamptonshire Development Corporation", "wndc", "exact", "dclg"),
    ("Oxford City Council", "oxford-city-council", "exact", None),
    ("Craven District Council", "craven-district-council", "exact", None),
    ("DWP", "dwp", "exact", None),
    ("Dept for Work & Pensions", "dwp", "exact", None),
    ("Dept. for Work and Pensions", "dwp", "exact", None),
    ("Department of Health and Social Care", "dhsc", "exact", None),
    ("Department of Health & Social Care", "dhsc", "exact", None),
    # alias sources: DGU aliases, GOV.UK names of listed ids, data.gov.uk publisher slugs
    ("Her Majesty's Treasury", "hmt", "alias", None),
    ("UK DMO", "dmo", "alias", "hmt"),
    ("CNPA/Civil Nuclear Constabulary", "cnpa", "alias", "beis"),
    ("Board of Trustees of the Royal Botanic Gardens Kew", "kew", "alias", "defra"),
    ("The Insolvency Service", "insolvency-service", "exact", "beis"),
    ("department-of-health", "dh", "exact", None),
]


@pytest.mark.parametrize(
    ("name", "code", "method", "parent"),
    [pytest.param(*case, id=case[0][:50]) for case in EXPECTED],
)
def test_hand_written_expectations(resolver, name, code, method, parent):
    result = resolver.resolve(name)
    assert result is not None
    assert (result.body_code, result.method) == (code, method)
    assert resolver.organisations[code].parent_code == parent
    if method == "fuzzy":
        assert 92 <= result.score < 100
    else:
        assert result.score == 100.0


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, id=n or "blank")
        for n in [
            "Department of Magic",
            "Corporate",
            "Jobcentre Plus",
            "Pension, Disability Carers Services",
            "Employment Programmes",
            "Housing Benefits",
            "European Social Fund",
            "",
            "   ",
            "Attorney General's Office",  # on GOV.UK and publishers.csv, not in organisations.csv
            "Department of Health, Social Services and Public Safety",
            "Department of Health (Northern Ireland)",
        ]
    ],
)
def test_unknown_names_give_none(resolver, name):
    assert resolver.resolve(name) is None


def test_dwp_entity_values_are_units_and_do_not_resolve(resolver):
    rows = _csv_rows(SAMPLE / "spend" / DWP_FILE)
    units = _column_values(rows, lambda h: h == "entity")["entity"]
    assert set(units) == {
        "Jobcentre Plus",
        "Corporate",
        "Pension, Disability Carers Services",
        "Employment Programmes",
        "Housing Benefits",
        "European Social Fund",
    }
    assert all(resolver.resolve(unit) is None for unit in units)


def test_department_of_health_is_never_dhsc(resolver):
    assert resolver.resolve("Department of Health").body_code == "dh"
    assert resolver.resolve("Departmen of Health").body_code == "dh"
    assert resolver.resolve("Department of Health and Social Care").body_code == "dhsc"
    assert resolver.organisations["dh"].govuk_id is None
    assert resolver.organisations["dhsc"].govuk_id == "D12"


def test_resolution_is_frozen():
    result = Resolution("dh", "exact", 100.0)
    with pytest.raises(AttributeError):
        result.body_code = "dhsc"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "Department for Business, Energy & Industrial Strategy (BEIS)",
            "department for business energy and industrial strategy",
            id="known-abbreviation-dropped",
        ),
        pytest.param("Foo Agency (XQZW)", "foo agency xqzw", id="unknown-abbreviation-kept"),
        pytest.param("Dept. for Work & Pensions", "department for work and pensions", id="dept"),
        pytest.param("DEPT FOR EDUCATION", "department for education", id="dept-upper"),
        pytest.param(
            "The Office of the Public Guardian", "office of the public guardian", id="the"
        ),
        pytest.param(
            "Independent Monitoring Authority for the Citizens\u2019 Rights Agreements",
            "independent monitoring authority for the citizens rights agreements",
            id="curly-quote",
        ),
        pytest.param("'Home Office'", "home office", id="stray-quotes"),
        pytest.param("  Ministry   Of  Defence ", "ministry of defence", id="case-space"),
        pytest.param(
            "British Defence Staff - United States",
            "british defence staff united states",
            id="hyphen",
        ),
        pytest.param("", "", id="blank"),
    ],
)
def test_normalise_org_name(raw, expected):
    assert normalise_org_name(raw) == expected


def test_known_abbreviations_can_be_passed_explicitly():
    assert normalise_org_name("Foo Agency (FA)", known_abbreviations={"fa"}) == "foo agency"
    assert normalise_org_name("Foo Agency (FA)", known_abbreviations=set()) == "foo agency fa"


def _write_orgs(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = "body_code,name,body_type,parent_code,govuk_id,variants\n" + "\n".join(rows) + "\n"
    (folder / "organisations.csv").write_text(text, encoding="utf-8")
    return folder


def test_fuzzy_needs_a_margin_over_the_second_body(tmp_path):
    folder = _write_orgs(
        tmp_path,
        [
            "nwb,North Water Board,ndpb,dept,,",
            "swb,South Water Board,ndpb,dept,,",
            "dept,Department of Water,ministerial-department,,,",
        ],
    )
    res = OrganisationResolver.from_reference(folder)
    assert res.resolve("Nouth Water Board") is None  # 94.1 against both bodies: no margin
    assert res.resolve("Routh Water Board").body_code == "swb"  # 94.1 vs 88.2: margin >= 3
    assert res.resolve("Department of Watr").body_code == "dept"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param(["a,Alpha,ndpb,zz,,"], "parent 'zz' is no row", id="unknown-parent"),
        pytest.param(["a,Alpha,ndpb,,,AB", "b,Beta,ndpb,,,AB"], "also names", id="shared-variant"),
        pytest.param(["a,Alpha,agency,,,"], "unknown body_type", id="bad-type"),
        pytest.param(["A B,Alpha,ndpb,,,"], "lower-case slug", id="bad-code"),
        pytest.param(["a,Alpha,ndpb,,,", "a,Beta,ndpb,,,"], "duplicate body_code", id="dup"),
        pytest.param(
            ["a,Alpha,ministerial-department,b,,", "b,Beta,ministerial-department,,,"],
            "has no parent",
            id="department-with-parent",
        ),
    ],
)
def test_bad_organisations_csv_is_a_config_error(tmp_path, rows, message):
    folder = _write_orgs(tmp_path, rows)
    with pytest.raises(ConfigError, match=message):
        OrganisationResolver.from_reference(folder)


def test_unknown_govuk_id_is_a_config_error(tmp_path):
    folder = _write_orgs(tmp_path, ["a,Alpha,ndpb,,ZZ999,"])
    (folder / "gov.uk_api_organisations-augmented.csv").write_bytes(
        (REFERENCE / "gov.uk_api_organisations-augmented.csv").read_bytes()
    )
    with pytest.raises(ConfigError, match="ZZ999"):
        OrganisationResolver.from_reference(folder)


def test_reference_copies_are_unchanged():
    pairs = {
        "gov.uk_api_organisations-augmented.csv": "govuk",
        "dgu_department_aliases.csv": "data-gov-uk",
        "publishers.csv": "data-gov-uk",
    }
    for name, folder in pairs.items():
        assert (REFERENCE / name).read_bytes() == (
            SAMPLE / "reference" / folder / name
        ).read_bytes()


def test_dim_organisation_table(resolver):
    table = dim_organisation_table(resolver)
    assert isinstance(table, pa.Table)
    assert table.schema == DIM_ORGANISATION_SCHEMA
    assert table.schema.field("name_variants").type == pa.list_(pa.string())
    with (REFERENCE / "organisations.csv").open(encoding="utf-8", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert table.num_rows == len(csv_rows)
    assert table.column("body_code").to_pylist() == [r["body_code"] for r in csv_rows]
    rows = {r["body_code"]: r for r in table.to_pylist()}
    assert rows["noms"]["parent_code"] == "moj"
    assert rows["noms"]["parent_name"] == "Ministry of Justice"
    assert rows["nhsbsa"]["parent_name"] == "Department of Health"
    assert rows["dwp"]["parent_code"] is None and rows["dwp"]["parent_name"] is None
    assert rows["dwp"]["name_variants"] == ["DWP", "Dept for Work & Pensions"]
    assert rows["home-office"]["name_variants"] == []
    assert rows["highways-agency"]["govuk_id"] is None
    assert rows["dft"]["govuk_id"] == "D9"
    for code in ("oxford-city-council", "craven-district-council"):
        assert rows[code]["body_type"] == "local-authority" and rows[code]["parent_code"] is None


def test_dft_consolidated_entities_are_bodies_under_dft(resolver):
    rows = _csv_rows(
        SAMPLE
        / "spend"
        / "department-for-transport"
        / "150127_December_14_Transparency_Consolidated.csv"
    )
    entities = _column_values(rows, lambda h: h == "entity")["entity"]
    codes = {e: resolver.resolve(e).body_code for e in entities}
    assert codes.pop("Department for Transport") == "dft"
    assert len(set(codes.values())) == len(codes) == 10  # each agency its own body
    assert all(resolver.organisations[c].parent_code == "dft" for c in codes.values())


# ---------------------------------------------------------------------------------------------
# supplier keys
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(
            "Brackenford Office Supplies Ltd",
            "BRACKENFORD OFFICE SUPPLIES LIMITED",
            id="ltd-limited",
        ),
        pytest.param(
            "Brackenford  Office Supplies Ltd.", "Brackenford Office Supplies Ltd", id="space-dot"
        ),
        pytest.param("Westmere Consulting LLP", "WESTMERE CONSULTING L.L.P.", id="llp"),
        pytest.param("EDF ENERGY PLC", "EDF Energy p.l.c.", id="plc"),
        pytest.param(
            "BRITISH TELECOMMUNICATIONS PUBLIC LIMITED COMPANY",
            "BRITISH TELECOMMUNICATIONS plc",
            id="public-limited-company",
        ),
        pytest.param(
            "Kestrel-Vale Cleaning & Hygiene Ltd",
            "Kestrel Vale Cleaning and Hygiene Ltd",
            id="hyphen-ampersand",
        ),
        pytest.param("The Fenwick Print Company Ltd", "Fenwick Print Company Limited", id="the"),
        pytest.param("OPEN UNIVERSITY (THE)", "The Open University", id="trailing-the"),
        pytest.param("COMPUTACENTER (UK) LTD", "Computacenter", id="paren-uk"),
        pytest.param("INSIGHT DIRECT (U K) LTD", "INSIGHT DIRECT UK LTD", id="uk-before-ltd"),
        pytest.param("IBM UNITED KINGDOM LIMITED", "IBM (UK) Ltd", id="united-kingdom"),
        pytest.param("OCS Group UK Ltd T/A Cannon", "OCS GROUP UK LTD", id="t-a-keeps-legal"),
        pytest.param(
            "KEMP & KEMP LLP T/AS KEMP & KEMP PROPERTY CONSULTANCY", "Kemp and Kemp LLP", id="t-as"
        ),
        pytest.param(
            "Sinclair Knight Merz (Trading as Jacobs)", "SINCLAIR KNIGHT MERZ", id="trading-as"
        ),
        pytest.param("CAPITA RESOURCING LTD T/A", "Capita Resourcing Limited", id="dangling-t-a"),
        pytest.param(
            "T/A THE KIRTON HEALTHCARE GROUP LTD",
            "Kirton Healthcare Group Limited",
            id="leading-t-a",
        ),
        pytest.param("HSBC BANK PLC, LONDON", "HSBC Bank plc", id="place-after-suffix"),
        pytest.param("AUTOTEC LTD              PORT GLASGOW", "Autotec Ltd", id="two-word-place"),
        pytest.param("CIVICA UK LTD (CIS)", "CIVICA UK LTD", id="qualifier-after-suffix"),
        pytest.param(
            "FRISBY SOLICITORS LTD T/A FRISBY & CO#DX 14564", "Frisby Solicitors Ltd", id="dx-tail"
        ),
        pytest.param(
            "Alder Hey Children's Nhs Foundation Trust",
            "ALDER HEY CHILDRENS NHS FOUNDATION TRUST",
            id="apostrophe",
        ),
        pytest.param("E.ON UK PLC", "E.ON", id="dotted-brand"),
        pytest.param("Caf\u00e9 Nero Ltd", "CAFE NERO LIMITED", id="accent"),
        pytest.param(
            "Saltmarsh Civil Engineering Ltd ",
            "Saltmarsh Civil Engineering Limited",
            id="trailing-space",
        ),
    ],
)
def test_supplier_key_merges(a, b):
    assert supplier_key(a) == supplier_key(b)
    assert supplier_key(a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Capita Business Services Ltd", "Capita Resourcing Ltd", id="capita"),
        pytest.param(
            "Brackenford Office Supplies Ltd",
            "Brackenford Office Services Ltd",
            id="supplies-services",
        ),
        pytest.param("Westmere Consulting LLP", "Westmere Consultants Ltd", id="consulting"),
        pytest.param(
            "Harrowgate Data Systems plc", "Harrowgate Data Systems Holdings Ltd", id="holdings"
        ),
        pytest.param("Age UK", "Age", id="bare-uk-kept"),
        pytest.param("Transport for London", "Transport", id="place-without-suffix-kept"),
        pytest.param("ALF ENGLAND BEDWORTH LTD BEDWORTH", "ALF ENGLAND LTD", id="place-in-name"),
        pytest.param(
            "PRICEWATERHOUSECOOPERS LLP", "PRICEWATERHOUSE COOPERS LLP", id="spacing-inside-word"
        ),
        pytest.param(
            "NORTHERN POWERGRID (NORTHEAST) LTD (CIS)",
            "NORTHERN POWERGRID (YORKSHIRE) PLC (CIS)",
            id="paren-before-suffix",
        ),
        pytest.param("TA Associates Ltd", "Associates Ltd", id="bare-ta-not-trading-as"),
        pytest.param(
            "GALLIFORD TRY CONSTRUCTION LTD CENTRAL",
            "GALLIFORD TRY CONSTRUCTION LTD",
            id="non-place-tail-kept",
        ),
    ],
)
def test_supplier_key_keeps_apart(a, b):
    assert supplier_key(a) != supplier_key(b)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        pytest.param("The Fenwick Print Company Ltd", "fenwick print company", id="fenwick"),
        pytest.param(
            "Harrowgate Data Systems Holdings Ltd",
            "harrowgate data systems holdings",
            id="holdings",
        ),
        pytest.param("UK LTD", "uk", id="never-empty"),
        pytest.param("Limited", "limited", id="suffix-only"),
        pytest.param("", "", id="blank"),
    ],
)
def test_supplier_key_values(raw, key):
    assert supplier_key(raw) == key


def _case17_rows() -> list[dict[str, str]]:
    with (CASE17 / "spend_lines_2025_q1_all_bodies.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _group(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        groups[supplier_key(row["Supplier"])].append(row)
    return groups


def test_case17_supplier_groups():
    expected = json.loads((CASE17 / "expected.json").read_text(encoding="utf-8"))
    rows = _case17_rows()
    assert len(rows) == expected["rows"] == 19
    groups = _group(rows)
    assert len(groups) == expected["group_count"] == 10

    by_names = {frozenset(r["Supplier"] for r in g): g for g in groups.values()}
    for label, want in expected["supplier_groups"].items():
        group = by_names.get(frozenset(want["raw_names"]))
        assert group is not None, f"group {label} not formed"
        assert {r["Entity"] for r in group} == set(want["bodies"])
        assert sorted(r["Transaction Number"] for r in group) == sorted(want["transactions"])
        assert sum(Decimal(r["Amount"]) for r in group) == Decimal(want["amount"])
        assert (len({r["Entity"] for r in group}) > 1) == want["bought_by_several_bodies"]

    several = [g for g in groups.values() if len({r["Entity"] for r in g}) > 1]
    assert len(several) == 6
    total = sum(Decimal(r["Amount"]) for g in groups.values() for r in g)
    assert total == Decimal("1245781.80")
    assert sum(len(g) for g in groups.values()) == 19  # none dropped or double-counted

    for names in expected["must_merge"]:
        assert len({supplier_key(n) for n in names}) == 1, names
    for a, b in expected["must_not_merge"]:
        assert supplier_key(a) != supplier_key(b), (a, b)
    # raw names are preserved: the key is only for grouping
    assert {r["Supplier"] for g in groups.values() for r in g} == {r["Supplier"] for r in rows}


def test_case17_grouping_ignores_row_order():
    rows = _case17_rows()
    reference = {k: sorted(r["Transaction Number"] for r in g) for k, g in _group(rows).items()}
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        again = {k: sorted(r["Transaction Number"] for r in g) for k, g in _group(shuffled).items()}
        assert again == reference


# ---------------------------------------------------------------------------------------------
# redacted payees
# ---------------------------------------------------------------------------------------------

BUNDLE_MARKERS = [
    "Redacted personal data",
    "Personal Expense, Name Witheld",
    "Personal expenses name witheld",
    "xxxxxx",
    "xxxxx",
    "XX XXXXX XXXXXXX",
    "XX XXXXX X XXXXXXX            ",
    "X XXXXX-XXXXXX                ",
    "*****************************",
]
OTHER_MARKERS = [
    "REDACTED",
    "Redacted",
    "Withheld",
    "Name withheld",
    "Name Withheld",
    "Personal data",
    "Personal Expense, Name Withheld",
    "Supplier name withheld",
    "REDACTED PERSONAL DATA ",
]


@pytest.mark.parametrize(
    "name", [pytest.param(n, id=n.strip()[:40]) for n in BUNDLE_MARKERS + OTHER_MARKERS]
)
def test_redaction_markers(name):
    assert is_redacted_payee(name) is True


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, id=n.strip()[:40] or "blank")
        for n in [
            "REDACTIVE MEDIA SALES LIMITED",
            "PERSONAL STRENGTHS (UK) LTD                       ",
            "ROYAL ARTILLERY CENTRE FOR PERSONAL DEVELOPMENT",
            "Xerox UK Ltd",
            "XMA LIMITED GOSC",
            "EMPLOYEE ADVISORY RESOURCE LTD",
            "EDUCATION FUNDING AGENCY",
            "",
            "X",
        ]
    ],
)
def test_real_suppliers_are_not_redactions(name):
    assert is_redacted_payee(name) is False


EXPECTED_REDACTED_ROWS = {
    "craven-district-council/payments.csv": 6,
    "department-for-business-innovation-skills/BIS_June_2015.csv": 1862,
    "department-for-transport/150127_December_14_Transparency_Consolidated.csv": 119,
    "intellectual-property-office/1004ipopayments.csv": 160,
    "oxford-city-council/expenditure-over-500-apr-jun-2015.csv": 92,
}


def test_redacted_rows_per_bundled_spend_file():
    counts = {}
    for path in _spend_files():
        rel = path.relative_to(SAMPLE / "spend").as_posix()
        values = _column_values(_csv_rows(path), lambda h: h in ("supplier", "supplier name"))
        (column,) = values.values()
        counts[rel] = sum(n for name, n in column.items() if is_redacted_payee(name))
    assert len(counts) == 16
    assert {k: v for k, v in counts.items() if v} == EXPECTED_REDACTED_ROWS
