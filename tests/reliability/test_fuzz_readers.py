"""Property-based fuzzing of the readers (hypothesis, bounded in time).

Any bytes received as a source's file end staged for publishing (rows published or
quarantined, rows read = good + quarantined) or rejected with a message naming the file (and the
line where there is one), never an unhandled exception or a hang. Two strategies: raw bytes,
and CSV-shaped text built from a spend header and hostile cells (quotes, delimiters, NULs,
BOMs, formulas, SQL, huge numbers, odd dates, stray line breaks). Each example is bounded by
hypothesis's ``deadline``; the whole module by ``max_examples``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tests.helpers import HEADER, make_home
from transforms import pipeline

TRIED = {"bytes": 0, "csv": 0}
OUTCOMES: dict[str, int] = {}

_TOKENS = [
    "", " ", "0", "-1", "25,000.00", "£1,234.56", "(500.00)", "1e308", "NaN", "TBC", "1.234,56",
    "31/04/2025", "01/03/2025", "2025-03-31T23:00:00Z", "99999", "=cmd|' /C calc'!A0", "@SUM(A1)",
    "x'); drop table core.fct_spend; --", '"', '""', ",", ";", "\t", "\r", "\n", "\x00", "\ufeff",
    "\u00a0", "\ufffd", "Grand Total", "Page 1 of 1", "HMRC", "HM Revenue & Customs", "é" * 50,
    "../../etc/passwd", "A" * 3000,
]

cell = st.one_of(st.sampled_from(_TOKENS), st.text(max_size=20))
VALID = ["HM Revenue & Customs", "HMRC", "03/03/2025", "IT Services", "Digital", "Kestrel Data Ltd", "700101", "25000.00"]


def _mutate(choice: tuple[int, str] | None) -> str:
    cells = list(VALID)
    if choice is not None:
        k, value = choice
        cells[k % len(cells)] = value
    return ",".join(f'"{c}"' if ("," in c or '"' in c) and not c.startswith('"') else c for c in cells)


# mostly-valid payment lines with at most one hostile cell, and free-form junk lines
row = st.one_of(
    st.none().map(_mutate),
    st.tuples(st.integers(0, 7), cell).map(_mutate),
    st.lists(cell, min_size=0, max_size=10).map(lambda cells: ",".join(cells)),
)
csv_text = st.builds(
    lambda header, rows, sep: (HEADER if header else "") + sep.join(rows),
    st.booleans(),
    st.lists(row, max_size=16),
    st.sampled_from(["\n", "\r\n", "\r"]),
)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    set_hypothesis_home_dir(str(tmp_path_factory.mktemp("hypothesis")))  # nothing in the repo
    settings = make_home(tmp_path_factory.mktemp("fuzz"))
    # warm up (imports, Great Expectations context) outside the per-example deadline
    _stage_bytes(settings, (HEADER + "A,HMRC,01/03/2025,x,y,Z Ltd,1,25000.00\n").encode(), "warm.csv")
    return settings


def _stage_bytes(settings, data: bytes, name: str) -> list[dict]:
    folder = settings.archive / "hmrc" / "spend"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{digest}.csv"
    path.write_bytes(data)
    archived = {"source_id": "hmrc__spend", "file_name": name, "sha256": digest,
                "archive_path": str(path), "size_bytes": len(data), "received_at": "2025-04-01T00:00:00+00:00"}
    return pipeline.stage(settings, archived)


def _check(refs: list[dict], name: str) -> None:
    assert refs, "no outcome at all"
    for ref in refs:
        OUTCOMES[ref["status"]] = OUTCOMES.get(ref["status"], 0) + 1
        assert ref["status"] in ("staged", "rejected")
        assert ref["rows_good"] + ref["rows_quarantined"] == ref["rows_read"]
        if ref["status"] == "rejected":
            assert ref["reject_rule"] and ref["reject_rule"].startswith("file.")
            assert name in (ref["reject_detail"] or ""), ref["reject_detail"]
            if ref["reject_rule"] in ("file.no_header", "file.required_columns", "file.field_too_large",
                                      "file.unreadable", "file.no_unexpected_columns"):
                assert "line" in ref["reject_detail"], ref["reject_detail"]
        work = Path(ref["work_dir"])
        assert (work / "quarantine.parquet").exists() and (work / "validation.json").exists()


FUZZ = hsettings(max_examples=60, deadline=5000, suppress_health_check=list(HealthCheck), database=None)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_any_bytes_end_staged_or_rejected(home, data: bytes) -> None:
    TRIED["bytes"] += 1
    _check(_stage_bytes(home, data, "fuzz_bytes.csv"), "fuzz_bytes.csv")


@FUZZ
@given(text=csv_text, encoding=st.sampled_from(["utf-8", "cp1252", "utf-8-sig", "utf-16"]))
def test_any_csv_shaped_text_ends_staged_or_rejected(home, text: str, encoding: str) -> None:
    TRIED["csv"] += 1
    data = text.encode(encoding, errors="replace")
    _check(_stage_bytes(home, data, "fuzz_spend.csv"), "fuzz_spend.csv")


def test_fuzz_figures(capsys) -> None:
    """Reports how many inputs were tried (shown with ``-s``; the closing note quotes it)."""
    with capsys.disabled():
        print(f"\nfuzz inputs tried: {TRIED}, outcomes: {OUTCOMES}")  # noqa: T201  # noqa: T201
