"""expectations.validate.validate_batches: one GX run over several files' rows gives each file
exactly what validate_batch gives on that file alone (verdicts, failing lines, and GX's
document apart from the batch markers and the ``ngss_batch`` note), for every row suite, on
random frames with failing, missing and valid values."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expectations.suites import suite_dict
from expectations.validate import validate_batch, validate_batches

ROW_SUITES = ("payroll.row", "employment.row", "spend.row", "posts.row", "workforce.row")


def _columns(suite: str) -> dict[str, str]:
    """Each column the suite reads and the kind of value it holds: ``flag`` (in-set rules on
    booleans), ``number`` (between rules) or ``text``."""
    kinds: dict[str, str] = {}
    for exp in suite_dict(suite)["expectations"]:
        col = exp["kwargs"]["column"]
        if exp["type"] == "expect_column_values_to_be_in_set":
            kinds[col] = "flag"
        elif exp["type"] == "expect_column_values_to_be_between":
            kinds[col] = "number"
        else:
            kinds.setdefault(col, "text")
    return kinds


def _frame(suite: str, n: int, seed: int, first_line: int = 2) -> pd.DataFrame:
    """``n`` rows: a third of each column's values break its rule or are missing."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {"source_line": np.arange(first_line, first_line + n)}
    for col, kind in _columns(suite).items():
        pick = rng.integers(0, 6, n)
        if kind == "flag":
            good = suite_dict(suite)  # the value each in-set rule wants
            wanted = next(
                e["kwargs"]["value_set"][0]
                for e in good["expectations"]
                if e["kwargs"]["column"] == col and "value_set" in e["kwargs"]
            )
            data[col] = np.where(pick < 4, wanted, not wanted).astype(bool)
        elif kind == "number":
            values = np.round(rng.uniform(-0.5, 1.6, n), 2)
            values[pick == 0] = np.nan
            data[col] = pd.Series(values, dtype="Float64")
        else:
            data[col] = pd.Series([None if p == 0 else f"v{p}" for p in pick], dtype=object)
    return pd.DataFrame(data)


def _without_markers(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    doc["meta"].pop("batch_markers", None)
    doc["meta"].pop("ngss_batch", None)
    return doc


def _assert_same_as_alone(suite: str, frames: list[pd.DataFrame]) -> None:
    batched = validate_batches(suite, frames)
    assert len(batched) == len(frames)
    for position, (frame, run) in enumerate(zip(frames, batched, strict=True)):
        alone = validate_batch(suite, frame)
        assert run.results == alone.results
        assert _without_markers(run.document) == _without_markers(alone.document)
        note = run.document["meta"]["ngss_batch"]
        distinct = max(
            (int(f[c].nunique(dropna=False)) for f in frames for c in f if c != "source_line"),
            default=0,
        )
        assert note["distinct_rows"] >= distinct  # the stacked frames' values, once each
        assert note["distinct_rows"] <= sum(len(f) for f in frames)
        assert {k: note[k] for k in ("frames", "position", "rows")} == {
            "frames": len(frames),
            "position": position,
            "rows": len(frame),
        }


@pytest.mark.parametrize("suite", ROW_SUITES)
def test_each_row_suite_splits_back_exactly(suite):
    # sizes either side of GX's 20-value partial lists; the same source lines in two files
    frames = [_frame(suite, 45, 1), _frame(suite, 3, 2), _frame(suite, 45, 3), _frame(suite, 1, 4)]
    _assert_same_as_alone(suite, frames)


def test_hand_counted_payroll_split():
    """Two files; file 0 has FTE 1.5 on line 3, file 1 has FTE 0 (strictly above 0 needed) on
    line 2 and a missing FTE on line 4: each file's own counts, lines and percentages."""
    cols = _columns("payroll.row")

    def frame(fte):
        n = len(fte)
        data = {"source_line": range(2, n + 2), "fte": pd.Series(fte, dtype="Float64")}
        for col, kind in cols.items():
            if col == "fte":
                continue
            data[col] = (
                [0.0] * n if kind == "number" else ([True] * n if kind == "flag" else ["x"] * n)
            )
        f = pd.DataFrame(data)
        for flag in ("has_extra_cells", "is_duplicate"):
            f[flag] = False
        return f

    a, b = frame([0.5, 1.5, 1.0]), frame([0.0, 0.5, None])
    run_a, run_b = validate_batches("payroll.row", [a, b])

    def fte(run):
        (rule,) = [r for r in run.results if r.rule_id == "payroll.fte_range"]
        (doc,) = [
            d
            for d in run.document["results"]
            if d["expectation_config"]["meta"]["rule_id"] == "payroll.fte_range"
        ]
        return rule, doc["result"]

    rule, result = fte(run_a)
    assert (rule.success, rule.element_count, rule.unexpected_count) == (False, 3, 1)
    assert rule.failing_lines == [3]
    assert result["partial_unexpected_list"] == [1.5]
    assert result["missing_count"] == 0 and result["unexpected_percent"] == pytest.approx(100 / 3)
    rule, result = fte(run_b)
    assert (rule.success, rule.element_count, rule.unexpected_count) == (False, 3, 1)
    assert rule.failing_lines == [2]
    assert result["missing_count"] == 1 and result["unexpected_percent"] == 50.0
    assert result["partial_unexpected_index_list"] == [{"fte": 0.0, "source_line": 2}]
    # statistics per file: file 0 breaks only the FTE range; file 1 also misses an FTE
    assert run_a.document["statistics"]["unsuccessful_expectations"] == 1
    assert run_b.document["statistics"]["unsuccessful_expectations"] == 2
    assert not run_a.document["success"] and not run_b.document["success"]


def test_a_file_that_passes_is_a_success_beside_one_that_fails():
    bad = _frame("spend.row", 10, 7)
    good = bad.copy()
    for e in suite_dict("spend.row")["expectations"]:
        col = e["kwargs"]["column"]
        if "value_set" in e["kwargs"]:
            good[col] = e["kwargs"]["value_set"][0]
        else:
            good[col] = "x"
    run_bad, run_good = validate_batches("spend.row", [bad, good])
    assert not run_bad.document["success"]
    assert run_good.document["success"]
    assert run_good.document["statistics"]["success_percent"] == 100.0
    assert all(r.success and r.failing_lines == [] for r in run_good.results)


def test_frames_that_differ_in_dtype_are_validated_one_by_one():
    a = _frame("posts.row", 5, 1)
    b = _frame("posts.row", 5, 2)
    b["fte"] = b["fte"].astype(object)  # not the same dtype: no combined run
    runs = validate_batches("posts.row", [a, b])
    assert "ngss_batch" not in runs[0].document["meta"]
    assert runs[1].results == validate_batch("posts.row", b).results


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    suite=st.sampled_from(ROW_SUITES),
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=4),
    seed=st.integers(0, 10_000),
)
def test_random_batches_split_back_exactly(suite, sizes, seed):
    frames = [_frame(suite, n, seed + i, first_line=2 + i) for i, n in enumerate(sizes)]
    _assert_same_as_alone(suite, frames)


def test_a_column_missing_from_every_frame_fails_as_it_does_alone():
    """posts.row checks ``grade``; none of the frames has it: GX fails the rule without looking
    at rows, so the frames are validated one by one and the rule fails for each."""
    frames = [_frame("posts.row", 3, 1).drop(columns="grade"), _frame("posts.row", 2, 2)]
    frames[1] = frames[1].drop(columns="grade")
    runs = validate_batches("posts.row", frames)
    for frame, run in zip(frames, runs, strict=True):
        (grade,) = [r for r in run.results if r.column == "grade"]
        assert (grade.success, grade.element_count) == (False, None)
        assert not run.document["success"]
        assert "ngss_batch" not in run.document["meta"]
        assert run.results == validate_batch("posts.row", frame).results


def test_an_expectation_on_a_subset_of_rows_is_not_split():
    """``row_condition`` makes element_count the rows that meet the condition: not splittable
    by row counts, so each frame is validated alone."""
    extra = [
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {
                "column": "senior_fte",
                "min_value": 0,
                "row_condition": 'grade=="G"',
                "condition_parser": "pandas",
            },
            "meta": {"rule_id": "test.conditional"},
        }
    ]
    a = _frame("posts.row", 3, 1)
    a["grade"] = pd.Series(["G", "H", "H"], dtype=object)  # the same dtypes as b: combinable
    a["senior_fte"] = pd.Series([-1.0, -1.0, 0.2], dtype="Float64")
    b = _frame("posts.row", 2, 2)
    runs = validate_batches("posts.row", [a, b], extra)
    (cond,) = [r for r in runs[0].results if r.rule_id == "test.conditional"]
    assert (cond.element_count, cond.unexpected_count, cond.failing_lines) == (1, 1, [2])
    assert runs[0].results == validate_batch("posts.row", a, extra).results


def test_gx_sees_each_distinct_value_once(monkeypatch):
    """Two 1,000-row payroll frames whose columns hold at most 6 distinct values (a text
    column: missing and v1..v5; FTE: 0.5, 1.5, missing, 1.0): GX is given one frame of 6 rows,
    and the verdicts joined back to the rows are those of each frame alone."""
    import expectations.validate as validate

    seen: list[int] = []
    real = validate._gx_run

    def spy(name, frame, expectations, index_columns):
        seen.append(len(frame))
        return real(name, frame, expectations, index_columns)

    frames = []
    for k in range(2):
        f = _frame("payroll.row", 1000, 11 + k, first_line=2)
        f["fte"] = pd.Series(np.resize([0.5, 1.5, None, 1.0], 1000), dtype="Float64")
        f["pay_residual_gbp"] = pd.Series(np.resize([0.0, 0.02], 1000), dtype="Float64")
        frames.append(f)
    monkeypatch.setattr(validate, "_gx_run", spy)
    batched = validate_batches("payroll.row", frames)
    assert seen == [6]
    monkeypatch.setattr(validate, "_gx_run", real)
    for frame, run in zip(frames, batched, strict=True):
        alone = validate_batch("payroll.row", frame)
        assert run.results == alone.results
        (fte,) = [r for r in run.results if r.rule_id == "payroll.fte_range"]
        # 1.5 on every fourth row from the second: lines 3, 7, 11, ...
        assert fte.failing_lines == list(range(3, 1002, 4))


def _rule_doc(run, rule_id: str) -> dict:
    """The GX document's result entry of the rule ``rule_id`` in ``run``."""
    (doc,) = [
        d
        for d in run.document["results"]
        if d["expectation_config"]["meta"]["rule_id"] == rule_id
    ]
    return doc


def test_equal_values_of_another_kind_are_listed_as_the_rows_hold_them():
    """-0.0 and 0.0 are one distinct value to GX (FTE must be above 0: both fail), but each
    failing row is listed with its own value, as GX lists it alone."""
    frames = []
    for k in range(2):
        f = _frame("payroll.row", 6, 20 + k)
        f["fte"] = pd.Series([0.0, -0.0, 0.5, -0.0, 0.0, 1.0], dtype="Float64")
        frames.append(f)
    _assert_same_as_alone("payroll.row", frames)
    run = validate_batches("payroll.row", frames)[0]
    doc = _rule_doc(run, "payroll.fte_range")
    signs = [np.copysign(1, v) for v in doc["result"]["partial_unexpected_list"]]
    assert signs == [1, -1, -1, 1]


def test_more_than_200_failing_rows_as_gx_gives_them_alone():
    """GX returns every failing row but only the first 200 failing values (its value counts
    come from those): a frame with 201 rows failing one rule gets GX's own document, not one
    counted from every row (found by a break test)."""
    frames = []
    for n in (201, 3):
        f = _frame("payroll.row", n, 30 + n)
        f["ni_valid"] = False
        frames.append(f)
    _assert_same_as_alone("payroll.row", frames)
    run = validate_batches("payroll.row", frames)[0]
    doc = _rule_doc(run, "payroll.ni_valid")
    assert doc["result"]["partial_unexpected_counts"] == [{"value": False, "count": 200}]
    assert doc["result"]["unexpected_count"] == 201
    (rule,) = [r for r in run.results if r.rule_id == "payroll.ni_valid"]
    assert rule.failing_lines == list(range(2, 203))
