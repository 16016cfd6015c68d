"""Generated payroll, HR and accounts-payable extracts end to end: every planted fault
quarantined under its rule, every row accounted for, the duplication marts measured against the
planted truth, a unit cost recomputed by hand, and no NI number or name stored anywhere."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal

import duckdb
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.xdist_group("synthetic")


def _db(settings):
    return duckdb.connect(str(settings.warehouse), read_only=True)


def _truth(settings, name):
    with (settings.generated / "ground_truth" / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_planted_fault_is_quarantined_under_its_rule(synthetic_warehouse):
    settings, _ = synthetic_warehouse
    con = _db(settings)
    got = {(f, line): set(rules) for f, line, rules in con.execute(
        "select source_file, source_line, rule_ids from ops.quarantine_row").fetchall()}
    faults = _truth(settings, "faults.csv")
    assert len(faults) > 20
    kinds = {r["kind"] for r in faults}
    assert kinds == {"invalid_ni", "pay_not_reconciling", "unknown_grade", "fte_out_of_range",
                     "missing_pay_date", "exact_duplicate_row", "unknown_body"}
    for r in faults:
        key = (r["file_name"], int(r["source_line"]))
        assert r["expected_rule_id"] in got.get(key, set()), (r, got.get(key))
    planted = {(r["file_name"], int(r["source_line"])) for r in faults}
    generated = {r["file_name"] for r in faults}
    unplanted = {k for k in got if k[0] in generated} - planted
    assert unplanted == set()


def test_every_load_reconciles_and_nothing_is_rejected(synthetic_warehouse):
    settings, _ = synthetic_warehouse
    con = _db(settings)
    rows = con.execute(
        "select source_id, status, rows_read, rows_published, rows_quarantined from ops.load_log"
    ).fetchall()
    assert len(rows) == 8 * 3 * 2  # bodies x extracts x months
    assert all(status == "published" and read == pub + q for _, status, read, pub, q in rows)


@pytest.mark.parametrize("measure", ["mart_duplicate_payments", "mart_people_on_multiple_payrolls",
                                     "mart_shared_suppliers", "mart_function_cost",
                                     "supplier_resolution", "quarantine"])
def test_precision_and_recall_at_least_095(synthetic_warehouse, measure):
    _, scores = synthetic_warehouse
    # supplier_resolution also reports the candidates the marts' method was chosen over
    mine = [s for s in scores if s.measure == measure and s.kind not in ("exact", "fuzzy_name")]
    assert mine
    for s in mine:
        planted = s.true_positives + s.false_negatives
        assert planted > 0, s
        assert s.recall >= 0.95, s
        assert s.precision >= 0.95, s


def test_duplicate_kinds_are_all_planted_and_found(synthetic_warehouse):
    _, scores = synthetic_warehouse
    kinds = {s.kind: s for s in scores if s.measure == "mart_duplicate_payments"}
    for kind in ("same_invoice_same_body", "same_invoice_two_bodies", "near_duplicate"):
        assert kinds[kind].true_positives > 0, kind
    people = {s.kind: s for s in scores if s.measure == "mart_people_on_multiple_payrolls"}
    assert people["explained"].true_positives > 0 and people["unexplained"].true_positives > 0


def test_look_alikes_are_not_flagged(synthetic_warehouse):
    settings, _ = synthetic_warehouse
    con = _db(settings)
    flagged = {frozenset({(a, b), (c, d)}) for a, b, c, d in con.execute(
        "select l_source_file, l_source_line, r_source_file, r_source_line from marts.mart_duplicate_payments"
    ).fetchall()}
    look_alikes = _truth(settings, "must_not_flag.csv")
    assert {r["kind"] for r in look_alikes} >= {"credit_note", "invoice_number_reused_later_year"}
    for r in look_alikes:
        pair = frozenset({(r["file_name_l"], int(r["source_line_l"])), (r["file_name_r"], int(r["source_line_r"]))})
        assert pair not in flagged, r


def _hmrc_rows(settings, domain):
    """hmrc's cp1252 CSV extracts, read with the stdlib alone."""
    out = []
    for path in sorted((settings.generated / "hmrc" / domain).glob("*.csv")):
        with path.open(encoding="cp1252", newline="") as fh:
            out.extend((path.name, i + 2, row) for i, row in enumerate(csv.DictReader(fh)))
    return out


def _pounds(text: str) -> Decimal:
    return Decimal(text.replace("£", "").replace(",", "") or "0")


def test_cost_per_payslip_and_saving_by_hand(synthetic_warehouse):
    """hmrc's PAYROLL function: pay cost of its payroll staff (gross + employer NI + employer
    pension, from the payroll extract, staff identified in the HR extract of the same month),
    payslips = payroll rows that publish, both annualised over the two months."""
    settings, _ = synthetic_warehouse
    faults = {(r["file_name"], int(r["source_line"])) for r in _truth(settings, "faults.csv")}
    payroll_staff = set()
    for _, _, row in _hmrc_rows(settings, "employment"):
        if row["Profession"] == "Payroll":
            payroll_staff.add((row["As At"][3:], row["Staff Number"]))  # (mm/yyyy, employee)
    cost = Decimal(0)
    payslips = 0
    for name, line, row in _hmrc_rows(settings, "payroll"):
        if (name, line) in faults:
            continue
        payslips += 1
        if (row["Pay Period"][3:], row["Staff Number"]) in payroll_staff:
            cost += _pounds(row["Gross Pay"]) + _pounds(row["Employer NI"]) + _pounds(row["Employer Pension"])
    assert payslips > 0 and cost > 0
    annual_cost = cost * 12 / 2
    annual_payslips = Decimal(payslips) * 12 / 2
    by_hand = annual_cost / annual_payslips
    con = _db(settings)
    (unit, best, saving, units) = con.execute(
        "select cost_per_unit_gbp, best_quartile_cost_per_unit_gbp, estimated_annual_saving_gbp, units "
        "from marts.mart_function_cost where body_code = 'hmrc' and back_office_function = 'PAYROLL'"
    ).fetchall()[0]
    assert units == payslips
    assert abs(unit - by_hand) < Decimal("0.0001")
    saving_by_hand = max(Decimal(0), (by_hand - best) * annual_payslips)
    assert abs(saving - saving_by_hand) < Decimal("0.01") * annual_payslips / 1000 + Decimal("1")
    # the benchmark is the 25th percentile of the bodies' unit costs (linear interpolation)
    costs = sorted(c for (c,) in con.execute(
        "select cost_per_unit_gbp from marts.mart_function_cost where back_office_function = 'PAYROLL' "
        "and cost_per_unit_gbp is not null").fetchall())
    pos = (len(costs) - 1) * Decimal("0.25")
    lo = int(pos)
    q = costs[lo] + (costs[min(lo + 1, len(costs) - 1)] - costs[lo]) * (pos - lo)
    assert abs(best - q) < Decimal("0.0001")


# ------------------------------------------------------------------------------- privacy
NI_IN_TEXT = re.compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")


def _people_in_extracts(settings) -> tuple[set[str], set[str]]:
    """Every NI number (compact form) and full name written in the generated payroll and HR
    extracts, found without the product's readers (regex over text, pyarrow, openpyxl)."""
    import openpyxl

    nis, names = set(), set()
    for path in sorted(settings.generated.glob("*/*/*")):
        if path.parent.name not in ("payroll", "employment"):
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path).to_pylist()
            cells = [[str(v) for v in r.values()] for r in table]
            header = list(table[0].keys()) if table else []
        elif path.suffix == ".xlsx":
            rows = [[("" if c is None else str(c)) for c in r] for r in openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
            start = next(i for i, r in enumerate(rows) if sum(1 for c in r if c) > 5)
            header, cells = rows[start], rows[start + 1:]
        else:
            text = path.read_bytes().decode("utf-8-sig", errors="replace").replace("\ufffd", "")
            nis |= {m.replace(" ", "") for m in NI_IN_TEXT.findall(text)}
            continue
        for r in cells:
            for c in r:
                nis |= {m.replace(" ", "") for m in NI_IN_TEXT.findall(c)}
        lower = [h.lower() for h in header]
        sur = next((i for i, h in enumerate(lower) if "surname" in h or "last" in h or "family" in h), None)
        fore = next((i for i, h in enumerate(lower) if "forename" in h or "first" in h or "given" in h), None)
        if sur is not None and fore is not None:
            names |= {f"{r[fore]} {r[sur]}" for r in cells if r[sur] and r[fore]}
    return nis, names


def _spaced(ni: str) -> str:
    return f"{ni[:2]} {ni[2:4]} {ni[4:6]} {ni[6:8]} {ni[8]}"


def test_no_plain_ni_number_or_name_anywhere_the_pipeline_writes(synthetic_warehouse):
    settings, _ = synthetic_warehouse
    nis, names = _people_in_extracts(settings)
    assert len(nis) > 1000 and len(names) > 100
    needles = nis | {_spaced(n) for n in nis} | names
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    con = _db(settings)
    found = []
    for schema, table, column in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where schema_name in ('core', 'marts', 'ops') and (data_type = 'VARCHAR' or data_type like '%[]' or data_type like 'STRUCT%')"
    ).fetchall():
        for (value,) in con.execute(f'select distinct "{column}"::varchar from {schema}.{table}').fetchall():
            if value and pattern.search(value):
                found.append((table, column, value[:80]))
    # every file the pipeline writes, the archive of received files and the generator's own
    # output (what the bodies send) aside
    arrow_files = 0
    for path in settings.home.rglob("*"):
        if not path.is_file() or settings.generated in path.parents or settings.archive in path.parents:
            continue
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), default=str)
        elif path.suffix == ".arrow":  # the staged rows to publish (Arrow IPC work files)
            text = json.dumps(feather.read_table(path).to_pylist(), default=str)
            arrow_files += 1
        elif path.suffix in (".json", ".log", ".txt", ".csv"):
            text = path.read_text(encoding="utf-8", errors="replace")
        else:
            continue
        if pattern.search(text):
            found.append((str(path), pattern.search(text).group(0)))
    assert found == []
    assert arrow_files > 0  # the scan read the staged rows too
