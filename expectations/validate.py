"""Run a suite with Great Expectations 1.x on a pandas batch and collect the verdicts.

The batch is a staged frame with one row per source row and a ``source_line`` column; GX
returns, for each failing row-level expectation, the failing rows' ``source_line`` values
(``COMPLETE`` result format with ``unexpected_index_column_names``), from which the split into
published and quarantined rows is made.

GX runs on pandas here: its SQL datasource fails on DuckDB through duckdb-engine (DESIGN.md §8).
The context is ephemeral and created once per process.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from expectations.suites import suite_dict

log = logging.getLogger(__name__)
for _name in ("great_expectations", "great_expectations._docs_decorators"):
    logging.getLogger(_name).setLevel(logging.WARNING)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

_CONTEXT: Any = None


@dataclass
class RuleResult:
    """One expectation's verdict on one batch (a row of ``ops.validation_result``).

    Attributes:
        rule_id, level, description, how_to_fix, rule_source: from the expectation's meta.
        expectation_type: the GX expectation type.
        column: the column checked (None for table-level expectations).
        success: whether it passed.
        element_count: rows evaluated; unexpected_count: rows that failed.
        failing_lines: the ``source_line`` of each failing row (row-level rules).
        kwargs: the expectation's arguments.
    """

    rule_id: str
    level: str
    description: str
    how_to_fix: str
    rule_source: str
    expectation_type: str
    column: str | None
    success: bool
    element_count: int | None
    unexpected_count: int | None
    failing_lines: list[int] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)

    def as_record(self, load_id: str) -> dict[str, Any]:
        """The row stored in ``ops.validation_result``."""
        return {
            "load_id": load_id,
            "rule_id": self.rule_id,
            "level": self.level,
            "expectation_type": self.expectation_type,
            "column_name": self.column,
            "success": self.success,
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "description": self.description,
            "how_to_fix": self.how_to_fix,
            "rule_source": self.rule_source,
            "kwargs_json": json.dumps(self.kwargs, default=str, sort_keys=True),
        }


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        import great_expectations as gx

        ctx = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # pragma: no cover - older layouts of the config module
            log.debug("could not switch GX progress bars off", exc_info=True)
        ds = ctx.data_sources.add_pandas("ngss")
        asset = ds.add_dataframe_asset("staged")
        _CONTEXT = (ctx, asset.add_batch_definition_whole_dataframe("whole"))
    return _CONTEXT


@dataclass
class SuiteRun:
    """One suite's run on one batch.

    Attributes:
        results: one :class:`RuleResult` per expectation, in suite order.
        document: Great Expectations' own ``ExpectationSuiteValidationResult`` as a JSON dict
            (what GX Data Docs render), with each result's full lists of failing values and
            rows cut to GX's ``partial_*`` lists (at most 20 values each), so it stays small.
    """

    results: list[RuleResult]
    document: dict[str, Any]


#: Keys of a GX result holding every failing value or row; Data Docs show the partial lists.
_FULL_LISTS = ("unexpected_list", "unexpected_index_list", "unexpected_index_query")


#: Expectation arguments that name a column of the batch.
_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list", "column_set")


def _columns_read(frame: pd.DataFrame, expectations: list[dict]) -> pd.DataFrame:
    """The batch cut to the columns the suite reads, plus ``source_line``, nullable floats as
    NumPy floats: GX fingerprints and indexes the whole frame it is given, and a staged frame
    carries every raw and typed column.
    A column the suite names but the frame lacks stays absent, so its expectation fails as it
    would on the whole frame. Row count and order are unchanged."""
    wanted: list[str] = ["source_line"] if "source_line" in frame.columns else []
    for exp in expectations:
        for key in _COLUMN_KWARGS:
            value = exp.get("kwargs", {}).get(key)
            for name in [value] if isinstance(value, str) else list(value or []):
                if name in frame.columns and name not in wanted:
                    wanted.append(name)
    out = frame[wanted] if wanted else frame
    # Nullable floats (Float64) as NumPy float64, <NA> as NaN: GX compares NumPy numbers in one
    # vectorised step but calls Python per value on extension dtypes; both count NaN and <NA>
    # as missing, so the verdicts are the same.
    floats = [c for c in out.columns if str(out[c].dtype) == "Float64"]
    if floats:
        out = out.assign(**{c: out[c].astype("float64") for c in floats})
    return out


def run_suite(
    name: str, frame: pd.DataFrame, extra_expectations: list[dict] | None = None
) -> list[RuleResult]:
    """Validate ``frame`` with the suite ``name``; the verdicts only (see :func:`validate_batch`)."""
    return validate_batch(name, frame, extra_expectations).results


def _gx_run(name: str, frame: pd.DataFrame, expectations: list[dict], index_columns: list[str]):
    """Run ``expectations`` (the suite ``name``'s, see :func:`_expectations`) on ``frame`` with
    GX: the raw ``ExpectationSuiteValidationResult`` and the result format used."""
    import great_expectations as gx

    _, batch_definition = _context()
    suite = gx.ExpectationSuite(name=name, expectations=[dict(e) for e in expectations])
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    fmt: dict[str, Any] = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
    if index_columns:
        fmt["unexpected_index_column_names"] = list(index_columns)
    outcome = batch.validate(suite, result_format=fmt)
    for res in outcome.results:
        cfg = res.expectation_config
        info = res.exception_info or {}
        if info.get("raised_exception") and cfg.type != "expect_column_to_exist":
            raise RuntimeError(
                f"expectation {(cfg.meta or {}).get('rule_id')} could not run: "
                f"{info.get('exception_message')}"
            )
    return outcome, fmt


def _expectations(name: str, extra_expectations: list[dict] | None) -> list[dict]:
    return list(suite_dict(name)["expectations"]) + list(extra_expectations or [])


def _rule_result(cfg, success: bool, result: dict[str, Any]) -> RuleResult:
    """A :class:`RuleResult` from one GX expectation result (``result`` with its full
    ``unexpected_index_list`` of ``{"source_line": ...}`` dicts)."""
    meta = cfg.meta or {}
    lines = [
        int(item["source_line"])
        for item in result.get("unexpected_index_list") or []
        if isinstance(item, dict)
    ]
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
    return RuleResult(
        rule_id=meta.get("rule_id", cfg.type),
        level=meta.get("level", "row"),
        description=meta.get("description", ""),
        how_to_fix=meta.get("how_to_fix", ""),
        rule_source=meta.get("source", ""),
        expectation_type=cfg.type,
        column=kwargs.get("column"),
        success=bool(success),
        element_count=result.get("element_count"),
        unexpected_count=result.get("unexpected_count"),
        failing_lines=sorted(set(lines)),
        kwargs=kwargs,
    )


def validate_batch(
    name: str, frame: pd.DataFrame, extra_expectations: list[dict] | None = None
) -> SuiteRun:
    """Validate ``frame`` with the suite ``name`` (plus any extra expectation dicts).

    Args:
        name: suite name, e.g. ``spend.row`` or ``file``.
        frame: the staged batch; row-level suites need a ``source_line`` integer column.
        extra_expectations: expectation dicts in the suite JSON format, added for this batch
            only (e.g. ``expect_column_to_exist`` for each of the domain's required fields).

    Returns:
        A :class:`SuiteRun`: the verdicts and GX's validation result document.

    Raises:
        RuntimeError: an expectation could not run (a suite or data defect, never bad rows).
    """
    expectations = _expectations(name, extra_expectations)
    return _validate_cut(name, _columns_read(frame, expectations), expectations)


def _validate_cut(name: str, cut: pd.DataFrame, expectations: list[dict]) -> SuiteRun:
    """:func:`validate_batch` of a frame already cut by :func:`_columns_read`."""
    index = ["source_line"] if "source_line" in cut.columns else []
    outcome, _ = _gx_run(name, cut, expectations, index)
    results = [
        _rule_result(res.expectation_config, res.success, res.result or {})
        for res in outcome.results
    ]
    # The full lists are dropped before GX serialises the result: it deep-copies and converts
    # every value first (1.1 s for a 20,000-row batch failing ten rules, 4.5 ms without them).
    for res in outcome.results:
        for key in _FULL_LISTS:
            (res.result or {}).pop(key, None)
    return SuiteRun(results=results, document=outcome.to_json_dict())


#: The row-level expectation types whose verdict on a row depends on that row alone, so one GX
#: run over several files' rows can be split back into each file's own result exactly
#: (:func:`validate_batches`), given only the arguments in :data:`SPLITTABLE_KWARGS`.
SPLITTABLE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
    }
)

#: The arguments a :data:`SPLITTABLE` expectation may have and still be split: nothing that
#: makes a row's verdict depend on other rows or on a subset (``mostly``, ``row_condition``).
SPLITTABLE_KWARGS = frozenset(
    {"column", "value_set", "min_value", "max_value", "strict_min", "strict_max"}
)

#: The column numbering the rows of the distinct-values frame GX validates (``0..k-1``).
_VALUE = "__ngss_value"


def _distinct_values(
    frame: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The frame GX validates in place of ``frame``'s rows: row ``k`` holds, in each of
    ``columns``, that column's ``k``-th distinct value (missing counts as one value), taken
    from the first row holding it, so dtypes and values are the rows' own; a column with fewer
    distinct values repeats its first. ``_VALUE`` numbers the rows.

    Returns:
        ``(distinct, codes)``: ``codes[column]`` is ``(row_codes, first_rows)``, each row's
        distinct-value number (int64, one per row of ``frame``) and the row each value was
        taken from.
    """
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for column in columns:
        row_codes, _ = pd.factorize(frame[column], use_na_sentinel=False)
        row_codes = np.asarray(row_codes, dtype=np.int64)
        # codes are numbered in order of first appearance: a first row raises the running max
        rising = np.maximum.accumulate(row_codes) if len(row_codes) else row_codes
        first = np.flatnonzero(np.diff(rising, prepend=-1) > 0)
        codes[column] = (row_codes, first)
    size = max((len(first) for _, first in codes.values()), default=0)
    data: dict[str, Any] = {}
    for column, (_, first) in codes.items():
        take = np.concatenate([first, np.full(size - len(first), first[0] if len(first) else 0)])
        data[column] = frame[column].iloc[take].reset_index(drop=True)
    data[_VALUE] = np.arange(size, dtype=np.int64)
    return pd.DataFrame(data), codes


def validate_batches(
    name: str, frames: list[pd.DataFrame], extra_expectations: list[dict] | None = None
) -> list[SuiteRun]:
    """Validate several files' staged frames with the suite ``name`` in **one** GX run and give
    each frame its own :class:`SuiteRun`, equal to what :func:`validate_batch` gives on that
    frame alone (``tests/transforms/test_validate_batches.py`` checks this on random frames).

    Why: a GX run costs about 0.1 s whatever its size (GX rebuilds each expectation's
    configuration and metric graph per run), which is most of a small file's validation; a
    year of 25 bodies' monthly extracts is about 900 runs.

    How: every expectation here decides a row by that row's value in one column alone
    (:data:`SPLITTABLE`), so GX validates each column's *distinct* values once rather than
    every row (:func:`_distinct_values`: a payroll month of 90,000 rows has a few hundred), and
    its verdict on a value is joined back to the rows holding it. The frames (cut to the
    columns the suite reads) are stacked, and each frame's result of each expectation is
    rebuilt by GX's own map-expectation formatter (``_format_map_output``) from that frame's
    rows: its row count, its missing values (for the expectations that count them) and its
    failing rows' values and lines, in frame order. Each
    frame's document is GX's document of the combined run with those results, its statistics
    recomputed as GX computes them (``calc_validation_statistics``), and in its ``meta`` an
    ``ngss_batch`` entry naming the combined run (``frames``, ``position``, ``rows``, and
    ``distinct_rows``: the rows GX validated, one per distinct value of the most varied
    column). A single frame is validated the same way.

    Falls back to one :func:`validate_batch` per frame (the same results, more slowly) when a
    frame lacks ``source_line``, an expectation is not in :data:`SPLITTABLE`, has an argument
    outside :data:`SPLITTABLE_KWARGS` (``mostly``, ``row_condition``) or names a column the
    frames lack, or the frames' columns or dtypes differ.

    Args:
        name: a row-level suite name, e.g. ``payroll.row``.
        frames: staged frames, each with a ``source_line`` integer column.
        extra_expectations: as for :func:`validate_batch`.

    Returns:
        One :class:`SuiteRun` per frame, in order.

    Raises:
        RuntimeError: an expectation could not run (a suite or data defect).
    """
    expectations = _expectations(name, extra_expectations)
    cut = [_columns_read(f, expectations) for f in frames]
    splittable = (
        len(frames) > 0
        and all("source_line" in c.columns for c in cut)
        and all(
            e["type"] in SPLITTABLE
            and set(e.get("kwargs", {})) <= SPLITTABLE_KWARGS
            # a column missing from the batch: GX's verdict is not made of rows
            and e.get("kwargs", {}).get("column") in cut[0].columns
            for e in expectations
        )
        and all(list(c.dtypes.items()) == list(cut[0].dtypes.items()) for c in cut)
    )
    if not splittable:
        return [_validate_cut(name, c, expectations) for c in cut]
    from great_expectations.constants import MAX_RESULT_RECORDS
    from great_expectations.expectations.expectation import _format_map_output
    from great_expectations.expectations.expectation_configuration import parse_result_format
    from great_expectations.util import convert_to_json_serializable

    sizes = [len(c) for c in cut]
    offsets = np.cumsum([0, *sizes])
    combined = pd.concat(cut, ignore_index=True)
    columns = list(dict.fromkeys(e["kwargs"]["column"] for e in expectations))
    distinct, codes = _distinct_values(combined, columns)
    outcome, fmt = _gx_run(name, distinct, expectations, [_VALUE])
    fmt = parse_result_format(dict(fmt))
    lines = combined["source_line"]
    per_frame: list[list[tuple[Any, bool, dict]]] = [[] for _ in cut]
    for res in outcome.results:
        cfg = res.expectation_config
        result = res.result or {}
        index = result.get("unexpected_index_list") or []
        if len(index) != (result.get("unexpected_count") or 0):
            raise RuntimeError(
                f"{name}: GX gave {len(index)} failing rows for "
                f"{result.get('unexpected_count')} unexpected in {cfg.type}"
            )
        column = cfg.kwargs["column"]
        # the distinct values GX failed (a padding row repeats value 0), then their rows
        failed = np.array([int(item[_VALUE]) for item in index], dtype=np.int64)
        failed = np.unique(np.where(failed < len(codes[column][1]), failed, 0))
        rows = np.flatnonzero(np.isin(codes[column][0], failed))
        for j in range(len(cut)):
            mine = rows[(rows >= offsets[j]) & (rows < offsets[j + 1])]
            # each failing row's own value and line, as GX lists them from a frame
            vals = list(combined[column].iloc[mine])
            idx = [
                {column: v, "source_line": line}
                for v, line in zip(vals, list(lines.iloc[mine]), strict=True)
            ]
            # GX returns every failing row but only the first MAX_RESULT_RECORDS values (its
            # value counts are made from those), even in the COMPLETE format
            vals = vals[:MAX_RESULT_RECORDS]
            nonnull = None
            if "missing_count" in result:
                nonnull = sizes[j] - int(cut[j][column].isna().sum())
            formatted = _format_map_output(
                result_format=fmt,
                success=not idx,
                element_count=sizes[j],
                nonnull_count=nonnull,
                unexpected_count=len(idx),
                unexpected_list=vals,
                unexpected_index_list=idx,
                unexpected_index_query=None,
                unexpected_index_column_names=["source_line"],
            )
            per_frame[j].append((cfg, formatted["success"], formatted["result"]))
    for res in outcome.results:
        for key in _FULL_LISTS:
            (res.result or {}).pop(key, None)
    document = outcome.to_json_dict()
    runs = []
    for j, rows in enumerate(per_frame):
        results = [_rule_result(cfg, ok, result) for cfg, ok, result in rows]
        doc = copy.deepcopy(document)
        for item, (_, ok, result) in zip(doc["results"], rows, strict=True):
            item["success"] = ok
            item["result"] = convert_to_json_serializable(
                {k: v for k, v in result.items() if k not in _FULL_LISTS}
            )
        evaluated = len(rows)
        successful = sum(1 for _, ok, _ in rows if ok)
        doc["success"] = successful == evaluated
        doc["statistics"] = {
            "evaluated_expectations": evaluated,
            "successful_expectations": successful,
            "unsuccessful_expectations": evaluated - successful,
            "success_percent": successful / evaluated * 100 if evaluated else None,
        }
        doc["meta"]["ngss_batch"] = {
            "frames": len(cut),
            "position": j,
            "rows": sizes[j],
            "distinct_rows": len(distinct),
        }
        runs.append(SuiteRun(results=results, document=doc))
    return runs
