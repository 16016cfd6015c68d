"""Quarantine CSVs are safe to open in a spreadsheet; negative amounts stay numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from warehouse.reports.csv_export import neutralise, quarantine_csv


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0", id="dde-formula"),
        pytest.param('+HYPERLINK("x")', '\'+HYPERLINK("x")', id="plus-formula"),
        pytest.param("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0", id="minus-formula"),
        pytest.param("@SUM(1+1)", "'@SUM(1+1)", id="at-formula"),
        pytest.param("\t=1+1", "'\t=1+1", id="leading-tab"),
        pytest.param("\r=1+1", "'\r=1+1", id="leading-cr"),
        pytest.param("-1200.50", "-1200.50", id="negative-amount"),
        pytest.param("-£81,770.30", "-£81,770.30", id="negative-pounds"),
        pytest.param("+3", "+3", id="signed-number"),
        pytest.param("726,583.94", "726,583.94", id="plain-amount"),
        pytest.param("ACME = BEST", "ACME = BEST", id="equals-inside"),
        pytest.param(None, "", id="none"),
    ],
)
def test_neutralise(raw, expected):
    assert neutralise(raw) == expected


def test_csv_neutralises_formulas_and_keeps_negative_amounts_numeric():
    rows = [
        {
            "source_line": 12,
            "rule_ids": ["spend.payment_date_valid"],
            "reason": "[spend.payment_date_valid] The payment date is present ...",
            "raw_json": json.dumps(
                {"Supplier Name": "=cmd|' /C calc'!A0", "Amount": "-1200.50", "Date": "31/04/2025"}
            ),
        },
        {
            "source_line": 13,
            "rule_ids": ["spend.amount_valid"],
            "reason": "x",
            "raw_json": json.dumps({"Amount": "TBC", "Note": "@evil"}),
        },
    ]
    text = quarantine_csv(rows)
    got = list(csv.DictReader(io.StringIO(text)))
    assert list(got[0]) == [
        "source_line",
        "rules_broken",
        "reason",
        "Supplier Name",
        "Amount",
        "Date",
        "Note",
    ]
    assert got[0]["Supplier Name"] == "'=cmd|' /C calc'!A0"
    assert got[0]["Amount"] == "-1200.50"
    assert float(got[0]["Amount"]) == -1200.5
    assert got[1]["Note"] == "'@evil"
    assert got[1]["Supplier Name"] == ""
    # No cell of the file starts with a formula character unless it is a plain number.
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell.replace(",", "").replace("£", ""))


def test_hostile_column_name_is_neutralised():
    text = quarantine_csv(
        [{"source_line": 1, "rule_ids": [], "reason": "", "raw_json": json.dumps({"=1+1": "a"})}]
    )
    assert text.splitlines()[0].endswith(",'=1+1")
