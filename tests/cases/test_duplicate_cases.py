"""Failure case 19 through the registry: duplicate invoices with reference and supplier-name
variants, the same invoice paid by two bodies, and look-alikes that must not be flagged."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb

from tests.helpers import make_home
from transforms import pipeline

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "19-duplicate-invoices-and-number-reuse"


def _source(body: str, entity: str) -> dict:
    return {
        "source_id": f"{body}__spend__ap",
        "body": body,
        "domain": "spend",
        "feed": "ap",
        "title": f"{entity} accounts payable (case 19)",
        "owner": {"name": "AP", "email": "ap@example.org"},
        "pull": {"method": "local", "path": body, "pattern": f"{body}_ap_invoices.csv"},
        "columns": {
            "entity": ["Entity"],
            "supplier_name": ["Supplier"],
            "invoice_number": ["Invoice Number"],
            "invoice_date": ["Invoice Date"],
            "amount_gbp": ["Gross Amount"],
            "payment_date": ["Payment Date"],
            "transaction_number": ["Payment Ref"],
        },
        "values": {"date_formats": ["%d/%m/%Y"], "entity_role": "unit"},
        # The case's extract is a payment history: 5 of 9 dated lines are in March 2025.
        "period": {"source": "column", "column": "payment_date", "min_share": 0.5},
        "tolerance": {"max_quarantine_share": 0.25},
    }


def test_19_duplicate_invoices_flags_exactly_the_three_pairs(tmp_path):
    expected = json.loads((CASE / "expected.json").read_text())
    # Two bodies that exist in the reference list stand in for the case's DCI and MRT.
    settings = make_home(tmp_path, [_source("dft", "DCI"), _source("moj", "MRT")])
    for body, name in (("dft", "dci_ap_invoices.csv"), ("moj", "mrt_ap_invoices.csv")):
        (settings.landing / body).mkdir()
        shutil.copy(CASE / name, settings.landing / body / f"{body}_ap_invoices.csv")
    loads = pipeline.load_source(settings, "dft__spend__ap") + pipeline.load_source(settings, "moj__spend__ap")
    assert sum(s["rows_published"] for s in loads) == expected["rows_loaded"] == 16
    assert sum(s["rows_quarantined"] for s in loads) == 0
    pipeline.build_marts(settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    flags = con.execute(
        "select kind, l.transaction_number, r.transaction_number, d.amount_at_risk_gbp "
        "from marts.mart_duplicate_payments d "
        "join core.fct_spend l on l.source_file = d.l_source_file and l.source_line = d.l_source_line "
        "join core.fct_spend r on r.source_file = d.r_source_file and r.source_line = d.r_source_line "
        "order by 2"
    ).fetchall()
    got = {frozenset((a, b)): (kind, amount) for kind, a, b, amount in flags}
    want = {frozenset(f["payments"]): Decimal(f["amount_at_risk"]) for f in expected["duplicate_flags"]}
    assert {k: v[1] for k, v in got.items()} == want
    assert len(flags) == expected["duplicate_flag_count"] == 3
    assert sum(a for *_, a in flags) == Decimal(expected["total_amount_at_risk"])
    assert got[frozenset({"DCI-PAY-1001", "MRT-PAY-5520"})][0] == "same_invoice_two_bodies"
    assert got[frozenset({"DCI-PAY-0912", "DCI-PAY-0950"})][0] == "same_invoice_same_body"
    assert got[frozenset({"MRT-PAY-5523", "MRT-PAY-5547"})][0] == "same_invoice_same_body"
    flagged_refs = {ref for pair in got for ref in pair}
    for must_not in expected["must_not_flag"]:
        refs = set(must_not.get("payments", must_not.get("refs", [])))
        assert not any(pair <= refs for pair in got), must_not["why"]
    assert "DCI-CR-0004" not in flagged_refs
    reasons = con.execute("select reason from marts.mart_duplicate_payments where kind = 'same_invoice_two_bodies'").fetchall()
    assert reasons == [("Invoice HDS-2025-0417 of 18240.00 pounds from Harrowgate Data Systems plc was paid by both dft (2025-03-24) and moj (2025-03-26).",)]
