"""Schema drift: a renamed, missing, extra or reordered column, or a column whose values change
type, gives a file-level rejection naming the column and what was expected, unless the source's
configuration maps the new name. Data is never silently dropped or loaded as NULL."""

from __future__ import annotations

import duckdb
import pytest

from tests.helpers import SPEND_SOURCE, drop, make_home
from transforms import pipeline

COLS = ["Department family", "Entity", "Date", "Expense type", "Expense area", "Supplier", "Transaction number", "Amount"]
ROW = ["HM Revenue & Customs", "HMRC", "03/03/2025", "IT Services", "Digital", "Kestrel Data Ltd", "7001", "25000.00"]


def _file(cols: list[str], rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in [cols, *rows]) + "\n"


def _rows(n: int = 5) -> list[list[str]]:
    return [[*ROW[:6], f"70{i:02d}", f"{25000 + i}.00"] for i in range(n)]


def _load(tmp_path, text: str, source: dict | None = None):
    settings = make_home(tmp_path, [source or SPEND_SOURCE])
    drop(settings, "hmrc", "spend_2025_03.csv", text)
    (s,) = pipeline.load_source(settings, "hmrc__spend")
    return settings, s


def _published(settings) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("SELECT supplier_name, amount_gbp FROM core.fct_spend").fetchall()
    finally:
        con.close()


def _rejected(s, rule: str, *names: str) -> None:
    assert s["status"] == "rejected" and s["reject_rule"] == rule, s
    assert s["rows_published"] == 0 and s["rows_quarantined"] == s["rows_read"]
    for n in names:
        assert n in s["reject_detail"], (n, s["reject_detail"])
    assert "spend_2025_03.csv" in s["reject_detail"]


def test_renamed_amount_column_rejected_naming_it_and_the_expected_name(tmp_path) -> None:
    cols = [c if c != "Amount" else "Amount Paid" for c in COLS]
    settings, s = _load(tmp_path, _file(cols, _rows()))
    _rejected(s, "file.required_columns", "amount_gbp", "'Amount'", "'Amount Paid'")
    assert _published(settings) == []


def test_renamed_column_loads_once_the_source_maps_the_new_name(tmp_path) -> None:
    cols = [c if c != "Amount" else "Amount Paid" for c in COLS]
    src = dict(SPEND_SOURCE, columns={"amount_gbp": ["Amount Paid"]})
    settings, s = _load(tmp_path, _file(cols, _rows()), src)
    assert s["status"] == "published" and s["rows_published"] == 5
    assert all(a is not None for _, a in _published(settings))


def test_missing_column_rejected(tmp_path) -> None:
    cols = [c for c in COLS if c != "Supplier"]
    rows = [[v for c, v in zip(COLS, r, strict=True) if c != "Supplier"] for r in _rows()]
    _, s = _load(tmp_path, _file(cols, rows))
    _rejected(s, "file.required_columns", "supplier_name", "'Supplier'")


def test_extra_column_rejected_naming_it(tmp_path) -> None:
    rows = [[*r, "20.00"] for r in _rows()]
    _, s = _load(tmp_path, _file([*COLS, "VAT Amount"], rows))
    _rejected(s, "file.no_unexpected_columns", "'VAT Amount'", "expected columns")


def test_reordered_columns_load_by_name_never_by_position(tmp_path) -> None:
    order = [7, 5, 6, 2, 0, 1, 3, 4]
    cols = [COLS[i] for i in order]
    rows = [[r[i] for i in order] for r in _rows()]
    settings, s = _load(tmp_path, _file(cols, rows))
    assert s["status"] == "published" and s["rows_published"] == 5
    assert sorted(str(a) for _, a in _published(settings)) == [f"{25000 + i}.00" for i in range(5)]
    assert {n for n, _ in _published(settings)} == {"Kestrel Data Ltd"}


def test_amount_column_turned_to_text_rejects_the_file_naming_the_column(tmp_path) -> None:
    rows = _rows(10)
    for r in rows[:8]:
        r[7] = "twenty five thousand"
    settings, s = _load(tmp_path, _file(COLS, rows))
    _rejected(s, "file.bad_row_share", "'Amount'", "amount_gbp", "expected a valid amount", "twenty five thousand")
    assert _published(settings) == []


def test_date_column_turned_to_another_format_rejects_naming_the_column(tmp_path) -> None:
    rows = _rows(10)
    for r in rows:
        r[2] = "March 3rd 2025"
    _, s = _load(tmp_path, _file(COLS, rows))
    assert s["status"] == "rejected" and s["rows_published"] == 0
    assert "'Date'" in s["reject_detail"] or "payment_date" in s["reject_detail"], s["reject_detail"]


@pytest.mark.parametrize("value", ["31/13/2025", "not a date"])
def test_optional_typed_column_with_unparseable_value_is_never_a_silent_null(tmp_path, value: str) -> None:
    """An optional typed column (invoice date) that is filled in but does not parse quarantines
    the row (spend.optional_values_parse) instead of loading it with a NULL."""
    cols = [*COLS, "Invoice Date"]
    rows = [[*r, "01/03/2025"] for r in _rows(10)]
    rows[0][-1] = value
    settings, s = _load(tmp_path, _file(cols, rows))
    assert s["status"] == "published" and s["rows_published"] == 9 and s["rows_quarantined"] == 1
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM core.fct_spend WHERE invoice_date IS NULL").fetchall() == [(0,)]
        ((rules,),) = con.execute("SELECT rule_ids FROM ops.quarantine_row").fetchall()
    finally:
        con.close()
    assert "spend.optional_values_parse" in rules
