"""The synthetic extract generator (`ngss generate`), checked by reading its files back
independently of the pipeline's reader: csv (stdlib), openpyxl, pyarrow and plain slicing."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
import yaml

from transforms.config import check_registry, normalise_label
from transforms.generate import generate, load_bodies, parse_months

CONFIG = Path(__file__).resolve().parents[2] / "config"
MONTHS = parse_months("2025-01..2025-02")
SEED = 424242
# HMRC's format, written here independently of the generator
NI_RE = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("gen")
    generate(d, CONFIG, None, MONTHS, SEED, scale=0.1)
    return d


def _source(source_id: str) -> dict:
    return yaml.safe_load((CONFIG / "sources" / f"{source_id}.yaml").read_text(encoding="utf-8"))


def _expected_headers(src: dict) -> list[str]:
    heads: list[str] = []
    for field, hs in src["columns"].items():
        heads.append(hs[0])
        if field == "ni_number":
            heads.extend(src["reader"].get("drop_columns", []))
    return heads


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def read_back(path: Path, src: dict) -> tuple[list[str], dict[int, list[str]]]:
    """Headers and {source line: cells as text} read without the pipeline's reader."""
    r = src["reader"]
    fmt = r["format"]
    if fmt == "csv":
        raw = path.read_bytes()
        if r["encoding"] == "utf-8-sig":
            assert raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode(r["encoding"])
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=r["delimiter"]))
        return rows[0], {i + 2: row for i, row in enumerate(rows[1:])}
    if fmt == "fixed_width":
        lines = path.read_bytes().decode(r["encoding"]).splitlines()
        cuts = []
        at = 0
        for w in r["widths"]:
            cuts.append((at, at + w))
            at += w

        def split(line: str) -> list[str]:
            return [line[a:b].strip() for a, b in cuts]

        return split(lines[0]), {i + 2: split(line) for i, line in enumerate(lines[1:])}
    if fmt == "parquet":
        t = pq.read_table(path)
        cols = [[_cell(v) for v in c.to_pylist()] for c in t.columns]
        # rows are numbered from 1: the schema is the header (as transforms.read reports them)
        return t.column_names, {i + 1: list(row) for i, row in enumerate(zip(*cols, strict=True))}
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    all_rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    titles = 0
    while all_rows[titles][0] != _expected_headers(src)[0]:
        titles += 1
    assert 2 <= titles <= 4
    width = len(all_rows[titles])
    # an empty cell at the end of a row is not stored in the sheet: pad to the header's width
    return all_rows[titles], {
        titles + 2 + i: (row + [""] * width)[:width] for i, row in enumerate(all_rows[titles + 1 :])
    }


def amount(text: str, decimal_comma: bool) -> Decimal:
    s = text.replace("£", "").strip()
    if decimal_comma:
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", "")
    return Decimal(s)


def _faults(out: Path) -> list[dict]:
    with (out / "ground_truth" / "faults.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _files(out: Path, domain: str) -> list[tuple[str, Path]]:
    folder = {"payroll": "payroll", "employment": "employment", "spend": "spend"}[domain]
    res = []
    for p in sorted(out.glob(f"*/{folder}/*")):
        body = p.parent.parent.name
        sid = f"{body}__spend__ap" if domain == "spend" else f"{body}__{domain}"
        res.append((sid, p))
    return res


def test_registry_is_clean_and_layouts_cover_six_kinds() -> None:
    registry, problems = check_registry(CONFIG)
    assert problems == []
    bodies = load_bodies(CONFIG)
    assert len(bodies) >= 10
    assert {b.layout for b in bodies.values()} >= {
        "csv_cp1252",
        "csv_utf8_bom",
        "csv_semicolon_decimal_comma",
        "xlsx_title_block",
        "parquet",
        "fixed_width",
    }
    types = {
        line.split(",")[2]
        for line in (CONFIG / "reference" / "organisations.csv").read_text().splitlines()[1:]
        if line.split(",")[0] in bodies
    }
    assert registry is not None and all(f"{b}__payroll" in registry.sources for b in bodies)
    assert len(types) >= 2


def test_same_seed_gives_identical_bytes(out: Path, tmp_path: Path) -> None:
    generate(tmp_path, CONFIG, None, MONTHS, SEED, scale=0.1)
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == second
    exts = {p.suffix for p in first}
    assert {".csv", ".txt", ".xlsx", ".parquet"} <= exts
    for rel in first:
        assert (out / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_different_seed_differs(out: Path, tmp_path: Path) -> None:
    generate(tmp_path, CONFIG, ["hmrc"], MONTHS[:1], SEED + 1, scale=0.1, domains=("payroll",))
    a = (out / "hmrc/payroll/hmrc_payroll_2025-01.csv").read_bytes()
    assert a != (tmp_path / "hmrc/payroll/hmrc_payroll_2025-01.csv").read_bytes()


@pytest.mark.parametrize("domain", ["payroll", "employment", "spend"])
def test_every_file_reads_independently_with_the_registry_headers(out: Path, domain: str) -> None:
    files = _files(out, domain)
    assert len(files) == 11 * len(MONTHS)
    for sid, path in files:
        src = _source(sid)
        headers, rows = read_back(path, src)
        assert headers == _expected_headers(src), path.name
        assert rows, path.name
        assert all(len(r) == len(headers) for r in rows.values()), path.name


def test_parquet_columns_are_typed(out: Path) -> None:
    t = pq.read_table(out / "home-office/payroll/home-office_payroll_2025-01.parquet")
    types = {f.name: str(f.type) for f in t.schema}
    assert types["paid_on"] == "date32[day]"
    assert types["gross_pay"] == "decimal128(18, 2)"
    assert types["employee_id"] == "string" and types["cost_centre_code"] == "string"


def _payroll_rows(out: Path):
    faults = {(f["file_name"], int(f["source_line"])): f["kind"] for f in _faults(out)}
    for sid, path in _files(out, "payroll"):
        src = _source(sid)
        headers, rows = read_back(path, src)
        col = {f: headers.index(hs[0]) for f, hs in src["columns"].items()}
        for line, row in rows.items():
            yield sid, src, path, line, row, col, faults.get((path.name, line))


def test_ni_numbers_valid_and_pay_reconciles_on_rows_without_faults(out: Path) -> None:
    n = 0
    for _sid, src, _path, _line, row, col, fault in _payroll_rows(out):
        if fault is not None:
            continue
        n += 1
        ni = row[col["ni_number"]].replace(" ", "")
        assert NI_RE.match(ni), ni
        dc = src.get("values", {}).get("decimal_comma", False)
        a = {f: amount(row[col[f]] or "0", dc) for f in col if f.endswith("_gbp")}
        assert a["net_pay_gbp"] == (
            a["gross_pay_gbp"]
            - a["tax_gbp"]
            - a["employee_ni_gbp"]
            - a["employee_pension_gbp"]
            - a["other_deductions_gbp"]
        )
        assert a["gross_pay_gbp"] > 0
        assert row[col["cost_centre"]]
    assert n > 2000


def test_leading_zeros_and_ni_spacing_differ_by_body(out: Path) -> None:
    _, rows = read_back(out / "hmrc/payroll/hmrc_payroll_2025-01.csv", _source("hmrc__payroll"))
    assert any(r[1].startswith("0") for r in rows.values())  # employee number
    assert any(re.fullmatch(r"[A-Z]{2} \d\d \d\d \d\d [A-D]", r[2]) for r in rows.values())
    _, rows = read_back(out / "dft/payroll/dft_payroll_2025-01.csv", _source("dft__payroll"))
    assert any(re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", r[2]) for r in rows.values())


def test_employee_ni_unique_within_body_month(out: Path) -> None:
    for sid, path in _files(out, "employment"):
        src = _source(sid)
        headers, rows = read_back(path, src)
        i = headers.index(src["columns"]["ni_number"][0])
        nis = [r[i].replace(" ", "") for r in rows.values()]
        assert len(nis) == len(set(nis)), path.name


def test_planted_faults_are_where_the_ground_truth_says(out: Path) -> None:
    faults = _faults(out)
    kinds = {f["kind"] for f in faults}
    assert kinds == {
        "invalid_ni",
        "pay_not_reconciling",
        "unknown_grade",
        "fte_out_of_range",
        "missing_pay_date",
        "exact_duplicate_row",
        "unknown_body",
    }
    orgs = {
        r["name"]
        for r in csv.DictReader((CONFIG / "reference/organisations.csv").open(encoding="utf-8"))
    }
    cache: dict[str, tuple[list[str], dict[int, list[str]], dict]] = {}
    per_file: dict[str, int] = {}
    for f in faults:
        sid = f["source_id"]
        body, domain = sid.split("__")[0], sid.split("__")[1]
        path = out / body / domain / f["file_name"]
        if f["file_name"] not in cache:
            src = _source(sid)
            headers, rows = read_back(path, src)
            cache[f["file_name"]] = (headers, rows, src)
        headers, rows, src = cache[f["file_name"]]
        per_file[f["file_name"]] = per_file.get(f["file_name"], 0) + 1
        col = {k: headers.index(hs[0]) for k, hs in src["columns"].items()}
        line = int(f["source_line"])
        row = rows[line]
        kind = f["kind"]
        assert f["expected_rule_id"] == (
            f"{domain}.ni_valid"
            if kind == "invalid_ni"
            else {
                "pay_not_reconciling": "payroll.pay_reconciles",
                "unknown_grade": "payroll.grade_known",
                "fte_out_of_range": "payroll.fte_range",
                "missing_pay_date": "payroll.pay_date_valid",
                "exact_duplicate_row": "payroll.not_duplicate",
                "unknown_body": "payroll.body_known",
            }[kind]
        )
        dc = src.get("values", {}).get("decimal_comma", False)
        if kind == "invalid_ni":
            assert not NI_RE.match(row[col["ni_number"]].replace(" ", ""))
        elif kind == "pay_not_reconciling":
            a = {k: amount(row[col[k]] or "0", dc) for k in col if k.endswith("_gbp")}
            net = (
                a["gross_pay_gbp"]
                - a["tax_gbp"]
                - a["employee_ni_gbp"]
                - a["employee_pension_gbp"]
                - a["other_deductions_gbp"]
            )
            assert abs(net - a["net_pay_gbp"]) > Decimal("0.01")
        elif kind == "unknown_grade":
            mapping = (CONFIG / "mappings" / src["values"]["grades"]).read_text(encoding="utf-8")
            known = {normalise_label(x.split(",")[0]) for x in mapping.splitlines()[1:]}
            assert normalise_label(row[col["grade"]]) not in known
        elif kind == "fte_out_of_range":
            v = float(amount(row[col["fte"]], dc))
            assert v <= 0 or v > 1
        elif kind == "missing_pay_date":
            assert row[col["pay_date"]] == ""
        elif kind == "exact_duplicate_row":
            assert rows[line - 1] == row
        elif kind == "unknown_body":
            assert row[col["employer"]] not in orgs and row[col["employer"]]
    # well under 5 % of any file's rows
    for name, k in per_file.items():
        assert k < 0.05 * len(cache[name][1]), name


def test_grade_bands_are_in_each_body_mapping(out: Path) -> None:
    planted = {
        (f["file_name"], int(f["source_line"]))
        for f in _faults(out)
        if f["kind"] == "unknown_grade"
    }
    for sid, path in _files(out, "payroll") + _files(out, "employment"):
        src = _source(sid)
        mapping = (CONFIG / "mappings" / src["values"]["grades"]).read_text(encoding="utf-8")
        known = {normalise_label(x.split(",")[0]) for x in mapping.splitlines()[1:]}
        headers, rows = read_back(path, src)
        i = headers.index(src["columns"]["grade"][0])
        for line, row in rows.items():
            if (path.name, line) not in planted:
                assert normalise_label(row[i]) in known, (path.name, line, row[i])


def _ap_row(
    out: Path, cache: dict, sid: str, file_name: str, line: int
) -> tuple[dict[str, str], dict]:
    body = sid.split("__")[0]
    if file_name not in cache:
        src = _source(sid)
        cache[file_name] = (read_back(out / body / "spend" / file_name, src), src)
    (headers, rows), src = cache[file_name]
    row = rows[line]
    return {k: row[headers.index(hs[0])] for k, hs in src["columns"].items()}, src


def _norm_ref(s: str) -> str:
    s = re.sub(r"[^A-Z0-9]", "", s.upper())
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", s)


def test_duplicate_payments_are_really_in_the_files(out: Path) -> None:
    cache: dict = {}
    with (out / "ground_truth" / "duplicate_payments.csv").open(encoding="utf-8") as fh:
        dups = list(csv.DictReader(fh))
    assert {d["kind"] for d in dups} == {
        "same_invoice_same_body",
        "same_invoice_two_bodies",
        "near_duplicate",
    }
    variants = 0
    for d in dups:
        left, src_l = _ap_row(
            out, cache, d["source_id_l"], d["file_name_l"], int(d["source_line_l"])
        )
        right, src_r = _ap_row(
            out, cache, d["source_id_r"], d["file_name_r"], int(d["source_line_r"])
        )
        dc_l = src_l["values"].get("decimal_comma", False)
        dc_r = src_r["values"].get("decimal_comma", False)
        assert (
            amount(left["amount_gbp"], dc_l)
            == amount(right["amount_gbp"], dc_r)
            == Decimal(d["amount_l"])
        )
        assert (
            left["invoice_number"] == d["invoice_l"] and right["invoice_number"] == d["invoice_r"]
        )
        if d["kind"] == "near_duplicate":
            assert _norm_ref(left["invoice_number"]) != _norm_ref(right["invoice_number"])
            assert d["payment_date_l"] != d["payment_date_r"]
        else:
            assert _norm_ref(left["invoice_number"]) == _norm_ref(right["invoice_number"])
            variants += left["invoice_number"] != right["invoice_number"]
        if d["kind"] == "same_invoice_two_bodies":
            assert d["body_l"] != d["body_r"]
        else:
            assert d["body_l"] == d["body_r"]
    assert variants > 0  # some references written differently (INV-00123 / INV123)


def test_must_not_flag_lookalikes(out: Path) -> None:
    cache: dict = {}
    with (out / "ground_truth" / "must_not_flag.csv").open(encoding="utf-8") as fh:
        items = list(csv.DictReader(fh))
    kinds = {d["kind"] for d in items}
    assert kinds == {
        "credit_note",
        "invoice_number_reused_later_year",
        "same_amount_same_date_different_invoice",
    }
    for d in items:
        left, src = _ap_row(out, cache, d["source_id_l"], d["file_name_l"], int(d["source_line_l"]))
        right, _ = _ap_row(out, cache, d["source_id_r"], d["file_name_r"], int(d["source_line_r"]))
        dc = src["values"].get("decimal_comma", False)
        a_l, a_r = amount(left["amount_gbp"], dc), amount(right["amount_gbp"], dc)
        if d["kind"] == "credit_note":
            assert a_r == -a_l
        elif d["kind"] == "invoice_number_reused_later_year":
            assert left["invoice_number"] == right["invoice_number"] and a_l != a_r
            fmt = src["values"]["date_formats"][0]
            years = [_parse_date(x["invoice_date"], fmt) for x in (left, right)]
            assert (years[1] - years[0]).days > 300
        else:
            assert a_l == a_r and left["payment_date"] == right["payment_date"]
            assert left["invoice_number"] != right["invoice_number"]


def _parse_date(text: str, fmt: str) -> date:
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        return date.fromisoformat(text)
    return datetime.strptime(text, fmt).date()


def test_supplier_truth_covers_every_ap_line_and_names_vary(out: Path) -> None:
    with (out / "ground_truth" / "suppliers.csv").open(encoding="utf-8") as fh:
        truth = {
            (r["file_name"], int(r["source_line"])): r["supplier_id"] for r in csv.DictReader(fh)
        }
    names_by_supplier: dict[str, set[str]] = {}
    total = 0
    for sid, path in _files(out, "spend"):
        src = _source(sid)
        headers, rows = read_back(path, src)
        i = headers.index(src["columns"]["supplier_name"][0])
        for line, row in rows.items():
            total += 1
            names_by_supplier.setdefault(truth[(path.name, line)], set()).add(row[i])
    assert total == len(truth)
    assert max(len(v) for v in names_by_supplier.values()) >= 3
    # near-identical different firms are different suppliers
    pool = list(csv.DictReader((CONFIG / "generator" / "suppliers.csv").open(encoding="utf-8")))
    assert sum(1 for s in pool if s["not_same_as"]) >= 20
    assert 250 <= len(pool) <= 400


def test_people_on_two_payrolls_share_an_ni_number(out: Path) -> None:
    with (out / "ground_truth" / "people_on_two_payrolls.csv").open(encoding="utf-8") as fh:
        pairs = list(csv.DictReader(fh))
    assert pairs and {p["explained_by_secondment"] for p in pairs} == {"true", "false"}
    index: dict[tuple[str, str, str], str] = {}
    seconded: dict[tuple[str, str], str] = {}
    orgs = {
        r["body_code"]: r["name"]
        for r in csv.DictReader((CONFIG / "reference/organisations.csv").open(encoding="utf-8"))
    }
    for sid, path in _files(out, "payroll"):
        src = _source(sid)
        headers, rows = read_back(path, src)
        e, n = (
            headers.index(src["columns"]["employee_number"][0]),
            headers.index(src["columns"]["ni_number"][0]),
        )
        month = path.stem[-7:]
        for row in rows.values():
            index[(sid.split("__")[0], month, row[e])] = row[n].replace(" ", "")
    for sid, path in _files(out, "employment"):
        if not path.stem.endswith(MONTHS[0].strftime("%Y-%m")):
            continue
        src = _source(sid)
        headers, rows = read_back(path, src)
        e, s = (
            headers.index(src["columns"]["employee_number"][0]),
            headers.index(src["columns"]["secondment_to"][0]),
        )
        for row in rows.values():
            if row[s]:
                seconded[(sid.split("__")[0], row[e])] = row[s]
    for p in pairs:
        month = p["pay_period"][:7]
        a = index[(p["body_a"], month, p["employee_number_a"])]
        b = index[(p["body_b"], month, p["employee_number_b"])]
        assert a == b
        explained = seconded.get((p["body_a"], p["employee_number_a"])) == orgs[p["body_b"]]
        assert explained == (p["explained_by_secondment"] == "true")


def test_function_staff_matches_hr_and_payroll(out: Path) -> None:
    """Recompute HR staff pay cost for one body-month from the extracts."""
    src_e, src_p = _source("dft__employment"), _source("dft__payroll")
    he, re_ = read_back(out / "dft/employment/dft_employment_2025-01.csv", src_e)
    hp, rp = read_back(out / "dft/payroll/dft_payroll_2025-01.csv", src_p)
    prof = {
        r[he.index(src_e["columns"]["employee_number"][0])]: r[
            he.index(src_e["columns"]["profession"][0])
        ]
        for r in re_.values()
    }
    e = hp.index(src_p["columns"]["employee_number"][0])
    g = hp.index(src_p["columns"]["gross_pay_gbp"][0])
    ni = hp.index(src_p["columns"]["employer_ni_gbp"][0])
    pen = hp.index(src_p["columns"]["employer_pension_gbp"][0])
    cost = sum(
        Decimal(r[g]) + Decimal(r[ni]) + Decimal(r[pen])
        for r in rp.values()
        if prof.get(r[e]) == "Human Resources"
    )
    with (out / "ground_truth" / "function_staff.csv").open(encoding="utf-8") as fh:
        row = next(
            r
            for r in csv.DictReader(fh)
            if r["body"] == "dft" and r["function"] == "HR" and r["pay_period"] == "2025-01-01"
        )
    assert Decimal(row["pay_cost_gbp"]) == cost
    assert int(row["headcount"]) == sum(1 for p in prof.values() if p == "Human Resources")


@pytest.mark.slow
def test_a_million_payroll_rows(tmp_path: Path) -> None:
    """Benchmark-style: one month, every non-spreadsheet body, about a million payroll rows.
    Asserts correctness only; the time is printed (pytest -s)."""
    bodies = [b for b, x in load_bodies(CONFIG).items() if x.layout != "xlsx_title_block"]
    t0 = time.perf_counter()
    s = generate(tmp_path, CONFIG, bodies, MONTHS[:1], 7, scale=80, domains=("payroll",))
    print(f"\n{s.rows(domain='payroll')} payroll rows in {time.perf_counter() - t0:.1f} s")  # noqa: T201
    assert s.rows(domain="payroll") >= 950_000
    t = pq.read_table(tmp_path / "home-office/payroll/home-office_payroll_2025-01.parquet")
    nis = [x.replace(" ", "") for x in t.column("ni_no").to_pylist()]
    assert len(set(nis)) > 0.99 * len(nis)


def test_chance_near_duplicates_are_separated_by_a_penny() -> None:
    """Unplanted lines to one supplier never share an amount within 12 days (a week of the
    near-duplicate rule plus the 5 days a planted copy may follow its line), whatever the body:
    the later line gets a penny more (two if that makes a whole pound), until none is left."""
    import numpy as np

    from transforms.generate import _separate_chance_duplicates

    d = np.datetime64("2025-03-03", "D")
    sup = np.array([5, 5, 5, 6, 7, 7, 9, 9, 9])
    pay = np.array([d, d + 12, d + 25, d + 1, d, d + 7, d, d + 1, d + 2])
    amount = np.array([1000, 1000, 1000, 1000, 1099, 1099, 500, 500, 500], dtype=np.int64)
    changed = _separate_chance_duplicates(sup, amount, pay)
    # supplier 5: 12 days later moves; 25 days later is 13 after that one and stays; another
    # supplier (6) stays. Supplier 7: 10.99 + 1p would be 11.00, a whole pound, so 11.01.
    # Supplier 9: three in a row: 5.00 / 5.01 / 5.02 (the third moves twice).
    assert amount.tolist() == [1000, 1001, 1000, 1000, 1099, 1101, 500, 501, 502]
    assert changed == 5  # 1 + 1 + (2 then 1)


def test_summary_counts_every_ground_truth_file(tmp_path: Path) -> None:
    s = generate(tmp_path, CONFIG, ["hmrc", "dwp"], MONTHS[:1], SEED, scale=0.05)
    files = sorted(p.name for p in (tmp_path / "ground_truth").iterdir())
    assert (
        sorted(s.ground_truth)
        == files
        == [
            "duplicate_payments.csv",
            "faults.csv",
            "function_staff.csv",
            "must_not_flag.csv",
            "people_on_two_payrolls.csv",
            "suppliers.csv",
        ]
    )
    for name, n in s.ground_truth.items():
        with (tmp_path / "ground_truth" / name).open(encoding="utf-8", newline="") as fh:
            assert n == len(list(csv.reader(fh))) - 1, name
    assert s.ground_truth["suppliers.csv"] == s.rows(domain="ap") > 0
