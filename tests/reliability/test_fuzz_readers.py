"""Property-based fuzzing of the readers (hypothesis, bounded in time).

Any bytes received as a source's file end staged for publishing (rows published or
quarantined, rows read = good + quarantined) or rejected with a message naming the file, and
the line and column where the fault sits (see ``LOCATED``; rules about the whole file say so),
never an unhandled exception or a hang. Every quarantined row's reason names, for each rule it
broke, the column and value (or "whole row", or the cells beyond the last column). Two strategies: raw bytes,
and CSV-shaped text built from a spend header and hostile cells (quotes, delimiters, NULs,
BOMs, formulas, SQL, huge numbers, odd dates, stray line breaks). Each example is bounded by
hypothesis's ``deadline``; the whole module by ``max_examples``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tests.helpers import HEADER, make_home
from transforms import pipeline

TRIED = {"bytes": 0, "csv": 0}
OUTCOMES: dict[str, int] = {}
REJECTED: dict[str, int] = {}

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


#: File-level rules whose fault sits at a place in the file: the rejection names the line and
#: the column (a header name, ``#<n>`` for the n-th field, or ``character <n>`` in the line).
LOCATED = {
    "file.undecodable", "file.unbalanced_quote", "file.field_too_large", "file.required_columns",
    "file.no_unexpected_columns", "file.bad_row_share", "file.control_total",
    "file.period_in_window",
}
#: Rules about the file as a whole (no line or column to point at): their message says so.
WHOLE_FILE = {
    "file.empty": "empty",
    "file.has_rows": "0 data rows",
    "file.no_header": "expected",  # names the columns expected in a header
}
_COLUMN = re.compile(r"column(s)? ('|#|character \d)|whole row|beyond the last column")


def _check(refs: list[dict], name: str, settings) -> None:
    assert refs, "no outcome at all"
    for ref in refs:
        OUTCOMES[ref["status"]] = OUTCOMES.get(ref["status"], 0) + 1
        assert ref["status"] in ("staged", "rejected")
        assert ref["rows_good"] + ref["rows_quarantined"] == ref["rows_read"]
        detail = ref["reject_detail"] or ""
        if ref["status"] == "rejected":
            rule = ref["reject_rule"]
            REJECTED[rule] = REJECTED.get(rule, 0) + 1
            assert rule and rule.startswith("file."), rule
            assert name in detail, detail
            if rule in LOCATED:
                assert re.search(r"\bline(s)? \d", detail), detail
                assert _COLUMN.search(detail), f"no column named: {detail}"
            else:
                assert rule in WHOLE_FILE, f"unplanned rule {rule}: {detail}"
                assert WHOLE_FILE[rule] in detail, detail
        work = Path(ref["work_dir"])
        assert (work / "quarantine.parquet").exists() and (work / "validation.json").exists()
        # every quarantined row names its line and, for each rule it broke, where in the row
        quarantine = pq.read_table(work / "quarantine.parquet").to_pylist()
        assert len(quarantine) == ref["rows_quarantined"]
        for q in quarantine:
            assert q["source_line"] >= 1
            if ref["status"] == "staged":
                for rule in q["rule_ids"]:
                    assert re.search(re.escape(f"[{rule}] ") + r"(column|whole row|beyond)", q["reason"]), q


FUZZ = hsettings(max_examples=60, deadline=5000, suppress_health_check=list(HealthCheck), database=None)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_any_bytes_end_staged_or_rejected(home, data: bytes) -> None:
    TRIED["bytes"] += 1
    _check(_stage_bytes(home, data, "fuzz_bytes.csv"), "fuzz_bytes.csv", home)


@FUZZ
@given(text=csv_text, encoding=st.sampled_from(["utf-8", "cp1252", "utf-8-sig", "utf-16"]))
def test_any_csv_shaped_text_ends_staged_or_rejected(home, text: str, encoding: str) -> None:
    TRIED["csv"] += 1
    data = text.encode(encoding, errors="replace")
    _check(_stage_bytes(home, data, "fuzz_spend.csv"), "fuzz_spend.csv", home)


def test_fuzz_figures(capsys) -> None:
    """Reports how many inputs were tried (shown with ``-s``; the closing note quotes it)."""
    with capsys.disabled():
        print(f"\nfuzz inputs tried: {TRIED}, outcomes: {OUTCOMES}, rejected by rule: {REJECTED}")  # noqa: T201
