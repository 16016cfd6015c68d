"""The source registry (config/) against the bundled sample files (data/sample/).

Checks that the registry loads cleanly, that every spend and organogram sample file is picked up
by exactly one source, that every column holding data is mapped, acknowledged (ignore_columns)
or dropped on read, that dates and grades are covered by the configured formats and mappings,
and that typical configuration mistakes are reported with their file and key.

Only the standard library reads the sample files here, so these tests do not depend on the
reader's implementation.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml

from transforms.config import Registry, SourceSpec, check_registry, normalise_label

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
SAMPLE = ROOT / "data" / "sample"

SPEND_BODIES = (
    "moj", "dft", "dwp", "hmrc", "hmt", "cabinet-office", "dh", "dfe", "fco", "ipo", "nhsbsa",
    "mod", "bis", "dsit", "oxford-city-council", "craven-district-council",
)
EXPECTED_SPEND = {f"{b}__spend" for b in SPEND_BODIES}
EXPECTED_POSTS = {
    "hmt__posts__senior", "hmt__posts__junior",
    "dft__posts__senior", "dft__posts__junior",
    "home-office__posts__senior", "home-office__posts__junior",
    "noms__posts__senior",
    "moj__posts__senior",
}
DOMAIN_FOLDERS = {"spend": "spend", "posts": "organogram"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg, problems = check_registry(CONFIG)
    assert problems == [], "\n".join(" | ".join(p) for p in problems)
    assert reg is not None
    return reg


def _sources(reg: Registry, domain: str) -> dict[str, SourceSpec]:
    """Sources of the domain fed from the landing root (the bundled public files); sources of
    synthetic extracts (``pull.root: generated``) are checked in test_generate."""
    return {
        sid: s for sid, s in reg.sources.items() if s.domain == domain and s.pull.root == "landing"
    }


def _sample_files(folder: str) -> list[Path]:
    return sorted(p for p in (SAMPLE / folder).rglob("*") if p.is_file())


def _matches(src: SourceSpec, path: Path) -> bool:
    rel = path.parent.relative_to(SAMPLE).as_posix()
    return rel == src.pull.path.strip("/") and fnmatchcase(path.name, src.pull.pattern)


def _files_of(src: SourceSpec) -> list[Path]:
    return [p for p in _sample_files(DOMAIN_FOLDERS[src.domain]) if _matches(src, p)]


# --- a minimal stdlib reading of a sample file, following the reader's documented rules ----------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read(src: SourceSpec, reg: Registry, path: Path) -> tuple[list[str], list[list[str]]]:
    """Column names (as the reader names them) and data rows, personal-data columns removed."""
    records = list(csv.reader(io.StringIO(_decode(path.read_bytes()), newline="")))
    domain = reg.domains[src.domain]
    hints = {normalise_label(a) for f in domain.fields.values() for a in f.aliases}
    hints |= {normalise_label(c) for cols in src.columns.values() for c in cols}
    if src.reader.header_row is not None:
        idx = src.reader.header_row - 1
    else:
        scores = [
            len({normalise_label(c) for c in rec} & hints) for rec in records[:30]
        ]
        idx = scores.index(max(scores))
    header = [c.strip() for c in records[idx]]
    rows = [r for r in records[idx + 1 :] if any(c.strip() for c in r)]
    width = len(header)
    rows = [(r + [""] * width)[:width] for r in rows]
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if not h:
            names.append(f"#{j + 1}" if any(r[j].strip() for r in rows) else None)
            continue
        seen[h] = seen.get(h, 0) + 1
        names.append(h if seen[h] == 1 else f"{h}#{seen[h]}")
    drop = {normalise_label(d) for d in src.reader.drop_columns}
    keep = [j for j, n in enumerate(names) if n is not None and normalise_label(n) not in drop]
    return [names[j] for j in keep], [[r[j] for j in keep] for r in rows]  # type: ignore[misc]


def _mapped(src: SourceSpec, reg: Registry, columns: list[str]) -> dict[str, int]:
    """Canonical field -> column index: the source's own headers first, then domain aliases."""
    index = {normalise_label(c): j for j, c in enumerate(columns)}
    out: dict[str, int] = {}
    for name, spec in reg.domains[src.domain].fields.items():
        for cand in (*src.columns.get(name, ()), *spec.aliases):
            if normalise_label(cand) in index:
                out[name] = index[normalise_label(cand)]
                break
    return out


# --- the registry as a whole --------------------------------------------------------------------


def test_registry_loads_without_problems(registry: Registry) -> None:
    assert registry.sources


def test_expected_spend_and_posts_sources(registry: Registry) -> None:
    assert set(_sources(registry, "spend")) == EXPECTED_SPEND
    assert set(_sources(registry, "posts")) == EXPECTED_POSTS


def test_posts_sources_point_to_their_mappings(registry: Registry) -> None:
    for sid, src in _sources(registry, "posts").items():
        assert src.values.grades == f"{src.body}_grades.csv", sid
        assert src.values.professions == "professions.csv", sid
        assert src.feed in ("senior", "junior"), sid
        assert src.period.source == "filename", sid


@pytest.mark.parametrize("folder", ["spend", "organogram"])
def test_every_sample_file_is_matched_by_exactly_one_source(registry: Registry, folder: str) -> None:
    domain = {v: k for k, v in DOMAIN_FOLDERS.items()}[folder]
    sources = _sources(registry, domain)
    files = _sample_files(folder)
    assert files
    for path in files:
        hits = [sid for sid, src in sources.items() if _matches(src, path)]
        assert len(hits) == 1, f"{path.relative_to(SAMPLE)} matched by {hits}"
    for sid, src in sources.items():
        assert _files_of(src), f"{sid} matches no sample file"


# --- each source against its sample file(s) -----------------------------------------------------


def _source_files(domain: str) -> list[tuple[str, Path]]:
    reg, _ = check_registry(CONFIG)
    if reg is None:  # reported by test_registry_loads_without_problems
        return []
    return [(sid, p) for sid, src in sorted(_sources(reg, domain).items()) for p in _files_of(src)]


@pytest.mark.parametrize(
    ("source_id", "path"),
    _source_files("spend") + _source_files("posts"),
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_every_column_with_data_is_mapped_ignored_or_dropped(
    registry: Registry, source_id: str, path: Path
) -> None:
    src = registry.sources[source_id]
    columns, rows = _read(src, registry, path)
    mapped = _mapped(src, registry, columns)
    domain = registry.domains[src.domain]
    missing = [n for n, f in domain.fields.items() if f.required and n not in mapped and n not in src.constants]
    assert not missing, f"required fields without a column: {missing}"
    ignored = {normalise_label(c) for c in src.ignore_columns}
    used = set(mapped.values())
    unexpected = [
        c for j, c in enumerate(columns)
        if j not in used and normalise_label(c) not in ignored and any(r[j].strip() for r in rows)
    ]
    assert not unexpected, f"unmapped columns holding data: {unexpected}"
    personal = {"name", "contact phone", "contact e-mail"}
    assert not personal & {normalise_label(c) for c in columns}, "personal data not dropped"


@pytest.mark.parametrize(
    ("source_id", "path"), _source_files("spend"), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_spend_dates_parse_with_the_configured_formats(registry: Registry, source_id: str, path: Path) -> None:
    src = registry.sources[source_id]
    columns, rows = _read(src, registry, path)
    j = _mapped(src, registry, columns)["payment_date"]

    def parses(text: str) -> bool:
        if text.isdigit():  # Excel serial day number, always accepted
            return True
        for fmt in src.values.date_formats:
            try:
                datetime.strptime(text, fmt)
                return True
            except ValueError:
                continue
        return False

    values = [r[j].strip() for r in rows if r[j].strip()]
    assert values
    bad = sorted({v for v in values if not parses(v)})
    assert not bad, f"dates not parsed by {src.values.date_formats}: {bad[:5]}"


@pytest.mark.parametrize(
    ("source_id", "path"), _source_files("posts"), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_every_grade_and_profession_is_mapped(registry: Registry, source_id: str, path: Path) -> None:
    src = registry.sources[source_id]
    grades = registry.mappings[src.values.grades]  # type: ignore[index]
    professions = registry.mappings[src.values.professions]  # type: ignore[index]
    with path.open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    header = records[0].keys()
    grade_col = next(h for h in header if normalise_label(h) in {"grade", "grade (or equivalent)"})
    prof_col = next(h for h in header if normalise_label(h) == "professional/occupational group")
    missing_grades = sorted({r[grade_col] for r in records if normalise_label(r[grade_col]) not in grades})
    assert not missing_grades, f"grades missing from {src.values.grades}: {missing_grades}"
    missing_prof = sorted({r[prof_col] for r in records if normalise_label(r[prof_col]) not in professions})
    assert not missing_prof, f"professions missing from {src.values.professions}: {missing_prof}"


@pytest.mark.parametrize(
    ("source_id", "path"), _source_files("posts"), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_organogram_period_regex_finds_the_snapshot_date(
    registry: Registry, source_id: str, path: Path
) -> None:
    regex = registry.sources[source_id].period.regex
    assert regex is not None
    m = re.search(regex, path.name)
    assert m, f"{regex!r} does not match {path.name}"
    year = int(m["year"])
    year = 2000 + year if len(m["year"]) == 2 else year
    day = int(m["day"]) if "day" in m.groupdict() and m["day"] else 1
    snapshot = datetime(year, int(m["month"]), day)
    assert datetime(2010, 1, 1) <= snapshot <= datetime(2030, 1, 1)


# --- broken configuration is reported with file and key ----------------------------------------


def _dft_spend_broken_domain(data: dict) -> str:
    data["domain"] = "finance"
    data["source_id"] = "dft__finance"
    return "domain"


def _dft_spend_no_amount_column(data: dict) -> str:
    data["columns"]["amount_gbp"] = []
    return "columns.amount_gbp"


def _dft_spend_month_first(data: dict) -> str:
    data["values"]["date_formats"] = ["%m/%d/%Y"]
    return "values.date_formats"


def _dft_spend_dotdot_path(data: dict) -> str:
    data["pull"]["path"] = "spend/../../etc"
    return "pull.path"


@pytest.mark.parametrize(
    "breaker",
    [_dft_spend_broken_domain, _dft_spend_no_amount_column, _dft_spend_month_first, _dft_spend_dotdot_path],
    ids=["unknown-domain", "missing-required-column", "month-first-date", "dotdot-in-path"],
)
def test_a_broken_source_yields_one_problem_naming_file_and_key(tmp_path: Path, breaker) -> None:
    config = tmp_path / "config"
    (config / "domains").mkdir(parents=True)
    (config / "sources").mkdir()
    for name in ("spend.yaml", "posts.yaml"):
        shutil.copy(CONFIG / "domains" / name, config / "domains" / name)
    shutil.copytree(CONFIG / "mappings", config / "mappings")
    shutil.copytree(CONFIG / "reference", config / "reference")
    # A valid companion source, so the broken one is the only thing wrong.
    shutil.copy(CONFIG / "sources" / "hmrc__spend.yaml", config / "sources" / "hmrc__spend.yaml")
    data = yaml.safe_load((CONFIG / "sources" / "dft__spend.yaml").read_text(encoding="utf-8"))
    key = breaker(data)
    broken = config / "sources" / f"{data['source_id']}.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    registry, problems = check_registry(config)

    assert registry is None
    assert len(problems) == 1, problems
    file, got_key, message = problems[0]
    assert file == str(broken)
    assert got_key == key
    assert message


def test_the_unbroken_copy_is_clean(tmp_path: Path) -> None:
    """Control for the test above: the same copy without a change has no problems."""
    config = tmp_path / "config"
    (config / "domains").mkdir(parents=True)
    (config / "sources").mkdir()
    for name in ("spend.yaml", "posts.yaml"):
        shutil.copy(CONFIG / "domains" / name, config / "domains" / name)
    shutil.copytree(CONFIG / "mappings", config / "mappings")
    shutil.copytree(CONFIG / "reference", config / "reference")
    for name in ("hmrc__spend.yaml", "dft__spend.yaml"):
        shutil.copy(CONFIG / "sources" / name, config / "sources" / name)
    registry, problems = check_registry(config)
    assert problems == []
    assert registry is not None
