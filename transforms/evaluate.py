"""Measure the duplication marts and quarantine against the generator's planted ground truth.

``evaluate(settings)`` reads ``$NGSS_HOME/generated/ground_truth/*.csv`` (written by
``ngss generate``) and the warehouse, and returns, and stores in ``ops.evaluation``, one row per
measure and kind with true and false positives, false negatives, precision and recall:

* ``mart_duplicate_payments``: pairs of payment lines, identified by (file, line) of both lines,
  per kind (``same_invoice_same_body``, ``same_invoice_two_bodies``, ``near_duplicate``);
  planted look-alikes that must not be flagged count as false positives when flagged.
* ``mart_people_on_multiple_payrolls``: (pay period, set of (body, employee number)); kinds
  ``explained`` (a secondment recorded) and ``unexplained``.
* ``mart_shared_suppliers``: true suppliers paid by two or more bodies against the mart's rows.
* ``mart_function_cost``: (body, function) rows whose FTE and pay cost equal the planted staff.
* ``supplier_resolution``: pairwise precision and recall of the supplier each accounts-payable
  line resolves to, against the true supplier of the line.
* ``quarantine``: planted faults found in ``ops.quarantine_row`` under the expected rule, per
  fault kind; rows quarantined in generated files that were not planted are false positives.
"""

from __future__ import annotations

import csv
import logging
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from transforms.errors import NgssError
from transforms.settings import Settings

log = logging.getLogger(__name__)


def format_ratio(value: float | None) -> str:
    """A precision or recall to four places, rounded down: only an exact 1 prints as 1.0000
    (36 false pairs in 972,490 would round up to it). ``None`` (nothing to measure) is ``""``."""
    if value is None:
        return ""
    return f"{math.floor(value * 10_000 + 1e-9) / 10_000:.4f}"  # 0.29 * 10_000 is 2899.99...


@dataclass
class Score:
    """One measure's result (a row of ``ops.evaluation``)."""

    measure: str
    kind: str
    true_positives: int
    false_positives: int
    false_negatives: int
    detail: str = ""

    @property
    def precision(self) -> float | None:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        planted = self.true_positives + self.false_negatives
        return self.true_positives / planted if planted else None


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _set_scores(
    measure: str, kind: str, found: set, planted: set, forbidden: set | None = None
) -> Score:
    tp = found & planted
    fp = found - planted
    fn = planted - found
    detail = []
    if forbidden:
        hits = found & forbidden
        if hits:
            detail.append(
                f"{len(hits)} look-alike(s) flagged, e.g. {sorted(map(sorted, hits))[:2]}"
            )
    if fp:
        detail.append(f"false alarms e.g. {sorted(map(str, fp))[:2]}")
    if fn:
        detail.append(f"missed e.g. {sorted(map(str, fn))[:2]}")
    return Score(measure, kind, len(tp), len(fp), len(fn), "; ".join(detail))


def _duplicate_payments(con, truth: Path) -> list[Score]:
    def pair(fl, ll, fr, lr) -> frozenset:
        return frozenset({(fl, int(ll)), (fr, int(lr))})

    planted: dict[str, set] = defaultdict(set)
    for r in _read(truth / "duplicate_payments.csv"):
        planted[r["kind"]].add(
            pair(r["file_name_l"], r["source_line_l"], r["file_name_r"], r["source_line_r"])
        )
    forbidden = {
        pair(r["file_name_l"], r["source_line_l"], r["file_name_r"], r["source_line_r"])
        for r in _read(truth / "must_not_flag.csv")
    }
    found: dict[str, set] = defaultdict(set)
    generated_files = {f for pairs in planted.values() for p in pairs for f, _ in p} | {
        f for p in forbidden for f, _ in p
    }
    for kind, fl, ll, fr, lr in con.execute(
        "select kind, l_source_file, l_source_line, r_source_file, r_source_line "
        "from marts.mart_duplicate_payments"
    ).fetchall():
        if fl in generated_files or fr in generated_files:
            found[kind].add(pair(fl, ll, fr, lr))
    kinds = ("same_invoice_same_body", "same_invoice_two_bodies", "near_duplicate")
    scores = [
        _set_scores("mart_duplicate_payments", k, found[k], planted[k], forbidden) for k in kinds
    ]
    all_found = set().union(*found.values())
    all_planted = set().union(*planted.values())
    scores.append(_set_scores("mart_duplicate_payments", "all", all_found, all_planted, forbidden))
    return scores


def _people(con, truth: Path) -> list[Score]:
    planted: dict[str, set] = {"explained": set(), "unexplained": set()}
    for r in _read(truth / "people_on_two_payrolls.csv"):
        key = (
            r["pay_period"][:10],
            frozenset(
                {(r["body_a"], r["employee_number_a"]), (r["body_b"], r["employee_number_b"])}
            ),
        )
        planted[
            "explained" if r["explained_by_secondment"].lower() == "true" else "unexplained"
        ].add(key)
    found: dict[str, set] = {"explained": set(), "unexplained": set()}
    for period, evidence, explained in con.execute(
        "select pay_period::varchar, evidence, explained_by_secondment from marts.mart_people_on_multiple_payrolls"
    ).fetchall():
        members = frozenset((e["body_code"], n) for e in evidence for n in e["employee_numbers"])
        found["explained" if explained else "unexplained"].add((period, members))
    scores = [
        _set_scores("mart_people_on_multiple_payrolls", k, found[k], planted[k]) for k in found
    ]
    scores.append(
        _set_scores(
            "mart_people_on_multiple_payrolls",
            "all",
            found["explained"] | found["unexplained"],
            planted["explained"] | planted["unexplained"],
        )
    )
    return scores


def _pairs(counts: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def _supplier_resolution(con, truth: Path) -> list[Score]:
    """Pairwise precision and recall of the marts' resolution (``evidence``) and of the
    candidates it was chosen over (``exact``, ``fuzzy_name``), on the same records."""
    from transforms.entity import STRATEGIES, resolve_suppliers

    records = con.execute(
        "select supplier_name, supplier_postcode, vat_number, company_number "
        "from marts.int_supplier_resolution order by all"
    ).df()
    scores = []
    for strategy in STRATEGIES:
        resolved = resolve_suppliers(records, strategy)[
            ["supplier_name", "supplier_postcode", "vat_number", "company_number", "supplier_id"]
        ]
        con.register("_candidate", resolved)
        scores.append(_score_resolution(con, truth, strategy))
        con.unregister("_candidate")
    return scores


def _score_resolution(con, truth: Path, kind: str) -> Score:
    """Pairwise scores of the resolution registered as ``_candidate`` on the generated
    accounts-payable lines: a pair of lines is positive when both resolve to one supplier."""
    true_of = {
        (r["file_name"], int(r["source_line"])): r["supplier_id"]
        for r in _read(truth / "suppliers.csv")
    }
    rows = con.execute(
        "select s.source_file, s.source_line, r.supplier_id from core.fct_spend s "
        "join _candidate r on r.supplier_name = s.supplier_name "
        "and r.supplier_postcode is not distinct from s.supplier_postcode "
        "and r.vat_number is not distinct from s.vat_number "
        "and r.company_number is not distinct from s.company_number"
    ).fetchall()
    joint: Counter = Counter()
    pred: Counter = Counter()
    true: Counter = Counter()
    for f, line, predicted in rows:
        t = true_of.get((f, line))
        if t is None:
            continue
        joint[(predicted, t)] += 1
        pred[predicted] += 1
        true[t] += 1
    tp = _pairs(joint)
    return Score(
        "supplier_resolution",
        kind,
        tp,
        _pairs(pred) - tp,
        _pairs(true) - tp,
        f"{sum(true.values())} accounts-payable lines, {len(true)} true suppliers, {len(pred)} resolved",
    )


def _shared_suppliers(con, truth: Path) -> Score:
    """Suppliers truly paid by two or more bodies (generated lines) against the mart's rows,
    each mart row standing for the true supplier most of its generated lines belong to."""
    true_of = {
        (r["file_name"], int(r["source_line"])): r["supplier_id"]
        for r in _read(truth / "suppliers.csv")
    }
    rows = con.execute(
        "select s.source_file, s.source_line, coalesce(s.entity_code, s.body_code), r.supplier_id "
        "from core.fct_spend s join marts.int_supplier_resolution r on r.supplier_name = s.supplier_name "
        "and r.supplier_postcode is not distinct from s.supplier_postcode "
        "and r.vat_number is not distinct from s.vat_number "
        "and r.company_number is not distinct from s.company_number"
    ).fetchall()
    bodies_of_true: dict[str, set] = defaultdict(set)
    votes: dict[str, Counter] = defaultdict(Counter)
    for f, line, body, predicted in rows:
        t = true_of.get((f, line))
        if t is not None:
            bodies_of_true[t].add(body)
            votes[predicted][t] += 1
    planted = {t for t, bodies in bodies_of_true.items() if len(bodies) >= 2}
    mart_ids = {
        sid
        for (sid,) in con.execute("select supplier_id from marts.mart_shared_suppliers").fetchall()
    }
    found = {votes[sid].most_common(1)[0][0] for sid in mart_ids if votes.get(sid)}
    return _set_scores("mart_shared_suppliers", "all", found, planted)


def _function_cost(con, truth: Path) -> Score:
    """Each (body, function) of mart_function_cost whose FTE and pay cost equal the planted
    staff (function_staff.csv) to the penny is a true positive; any other is a miss."""
    pay: dict[tuple[str, str], float] = defaultdict(float)
    fte: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in _read(truth / "function_staff.csv"):
        key = (r["body"], r["function"])
        pay[key] += float(r["pay_cost_gbp"])
        fte[key].append(float(r["fte"]))
    rows = con.execute(
        "select body_code, back_office_function, pay_cost_gbp, fte from marts.mart_function_cost"
    ).fetchall()
    good, bad = set(), set()
    for body, function, cost, f in rows:
        key = (body, function)
        if key not in pay:
            continue
        expected_fte = sum(fte[key]) / len(fte[key])
        if (
            abs(float(cost) - pay[key]) < 0.01 * len(fte[key])
            and abs(float(f) - expected_fte) < 0.01
        ):
            good.add(key)
        else:
            bad.add(key)
    planted = {k for k in pay if k[1] != "OTHER"}
    return Score(
        "mart_function_cost",
        "all",
        len(good),
        len(bad),
        len(planted - good - bad) + len(bad),
        f"mismatched e.g. {sorted(bad)[:2]}" if bad else "",
    )


def _quarantine(con, truth: Path) -> list[Score]:
    faults = _read(truth / "faults.csv")
    files = {r["file_name"] for r in faults}
    quarantined: dict[tuple[str, int], set[str]] = {}
    for f, line, rules in con.execute(
        "select source_file, source_line, rule_ids from ops.quarantine_row q "
        "join ops.partition p using (load_id)"
    ).fetchall():
        quarantined[(f, line)] = set(rules)
    generated_q = {k for k in quarantined if k[0] in files}
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in faults:
        by_kind[r["kind"]].append(r)
    scores = []
    planted_keys = set()
    for kind, rows in sorted(by_kind.items()):
        hit = {
            (r["file_name"], int(r["source_line"]))
            for r in rows
            if r["expected_rule_id"]
            in quarantined.get((r["file_name"], int(r["source_line"])), set())
        }
        keys = {(r["file_name"], int(r["source_line"])) for r in rows}
        planted_keys |= keys
        scores.append(
            Score(
                "quarantine",
                kind,
                len(hit),
                0,
                len(keys - hit),
                f"missed e.g. {sorted(keys - hit)[:2]}" if keys - hit else "",
            )
        )
    extra = generated_q - planted_keys
    hits = sum(s.true_positives for s in scores)
    scores.append(
        Score(
            "quarantine",
            "all",
            hits,
            len(extra),
            len(planted_keys) - hits,
            f"unplanted rows quarantined e.g. {sorted(extra)[:2]}" if extra else "",
        )
    )
    return scores


def evaluate(settings: Settings, truth_dir: Path | None = None) -> list[Score]:
    """Score the marts and quarantine against the planted truth and store the scores. Marts
    left stale by a publish (``ops.marts_status``) are rebuilt first, so the scores are those of
    the marts core gives today.

    Raises:
        NgssError: when there is no ground truth (run ``ngss generate`` and load first).
    """
    from warehouse.connection import marts_stale, writing

    truth = truth_dir or settings.generated / "ground_truth"
    if not (truth / "faults.csv").exists():
        raise NgssError(f"no ground truth in {truth}: run `ngss generate`, then load")
    with writing(settings.warehouse) as con:
        if marts_stale(con):  # core changed since the marts were built: score today's marts
            from warehouse.models import build_all

            log.info("marts are stale (core changed since the last rebuild): rebuilding first")
            build_all(con, settings.config)
        scores = (
            _duplicate_payments(con, truth)
            + _people(con, truth)
            + [
                *_supplier_resolution(con, truth),
                _shared_suppliers(con, truth),
                _function_cost(con, truth),
            ]
            + _quarantine(con, truth)
        )
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute("BEGIN TRANSACTION")
        for s in scores:
            con.execute(
                "insert into ops.evaluation values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    now,
                    str(truth),
                    s.measure,
                    s.kind,
                    s.true_positives,
                    s.false_positives,
                    s.false_negatives,
                    s.precision,
                    s.recall,
                    s.detail,
                ],
            )
        con.execute("COMMIT")
    for s in scores:
        log.info("%s", asdict(s))
    return scores
