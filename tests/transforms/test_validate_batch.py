"""expectations.validate.validate_batch: failing lines for the split, GX's result document for
Data Docs with GX's partial lists only, and nullable floats checked as GX checks NumPy floats."""

from __future__ import annotations

import pandas as pd

from expectations.validate import validate_batch


def _fte_rule(run):
    (rule,) = [r for r in run.results if r.rule_id == "payroll.fte_range"]
    (doc,) = [
        d
        for d in run.document["results"]
        if d["expectation_config"]["meta"]["rule_id"] == "payroll.fte_range"
    ]
    return rule, doc


def test_failing_lines_and_a_document_with_partial_lists_only():
    n = 30
    fte = [0.5] * n
    for i in (3, 7, 29):
        fte[i] = 1.5  # above 1: out of range
    fte[10] = None  # missing: another rule's business, not this one's
    frame = pd.DataFrame({"source_line": range(2, n + 2), "fte": pd.Series(fte, dtype="Float64")})
    run = validate_batch("payroll.row", frame)
    rule, doc = _fte_rule(run)
    assert rule.failing_lines == [5, 9, 31]  # rows 3, 7 and 29 are on lines 5, 9 and 31
    assert (rule.element_count, rule.unexpected_count) == (30, 3)
    result = doc["result"]
    assert result["unexpected_count"] == 3
    assert result["partial_unexpected_list"] == [1.5, 1.5, 1.5]
    assert [x["source_line"] for x in result["partial_unexpected_index_list"]] == [5, 9, 31]
    for key in ("unexpected_list", "unexpected_index_list", "unexpected_index_query"):
        assert key not in result


def test_nullable_and_numpy_floats_get_the_same_verdict():
    values = [0.0, 0.2, 1.0, 1.01, None]
    runs = [
        validate_batch(
            "payroll.row",
            pd.DataFrame({"source_line": [2, 3, 4, 5, 6], "fte": pd.Series(values, dtype=dtype)}),
        )
        for dtype in ("Float64", "float64")
    ]
    verdicts = [_fte_rule(r)[0] for r in runs]
    assert [v.failing_lines for v in verdicts] == [[2, 5], [2, 5]]  # 0 (strict minimum), 1.01
    assert verdicts[0].unexpected_count == verdicts[1].unexpected_count == 2
