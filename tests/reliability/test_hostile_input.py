"""Hostile and broken input, each handled with a clear error and nothing lost.

0-byte file, header-only file, a 200 MB single field, file names carrying ``../`` or an
absolute path (landing folder names, received file names, archived names), and SQL in a body
code, a column header or a value. "Nothing lost": a rejected file publishes nothing, keeps every
row it read in ``ops.quarantine_row`` under the file rule, stays archived byte for byte, and the
partition published before it is untouched.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from pydantic import ValidationError

from tests.helpers import HEADER, SPEND_SOURCE, drop, make_home
from transforms import pipeline
from transforms.config import PullSpec
from transforms.extract import LocalFolderPuller, archive_all, sha256_file

GOOD = HEADER + (
    "HM Revenue & Customs,HMRC,03/03/2025,IT Services,Digital,Kestrel Data Ltd,700101,25000.00\n"
    "HM Revenue & Customs,HMRC,04/03/2025,IT Services,Digital,Brackenford Ltd,700102,30000.50\n"
)
SQL = "x'); drop table core.fct_spend; --"


def _rows(settings, sql: str, params=None):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture()
def loaded(tmp_path):
    """A home where March 2025 is already published (2 rows)."""
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "spend_2025_03.csv", GOOD)
    (s,) = pipeline.load_source(settings, "hmrc__spend")
    assert s["status"] == "published" and s["rows_published"] == 2
    return settings


def _march_intact(settings) -> None:
    assert _rows(settings, "SELECT count(*), sum(amount_gbp) FROM core.fct_spend WHERE period = '2025-03-01'") == [
        (2, pytest.approx(55000.50))
    ]


def test_zero_byte_file_is_an_ingest_failure(loaded) -> None:
    drop(loaded, "hmrc", "spend_2025_04.csv", "")
    (s,) = pipeline.load_source(loaded, "hmrc__spend")
    assert s["status"] == "rejected" and s["reject_rule"] == "file.empty"
    assert "spend_2025_04.csv" in s["reject_detail"] and "empty" in s["reject_detail"]
    _march_intact(loaded)


def test_header_only_file_fails_row_count(loaded) -> None:
    drop(loaded, "hmrc", "spend_2025_04.csv", HEADER)
    (s,) = pipeline.load_source(loaded, "hmrc__spend")
    assert s["status"] == "rejected" and s["reject_rule"] == "file.has_rows"
    assert "spend_2025_04.csv" in s["reject_detail"] and "line 1" in s["reject_detail"]
    _march_intact(loaded)


def test_200mb_single_field_is_rejected_naming_line_and_field(loaded) -> None:
    """A 200 MB description (generated in tmp, streamed to disk): rejected before anything
    is stored beyond the archive, naming file, line and field; the archived copy is the file
    byte for byte."""
    folder = loaded.landing / "hmrc"
    for old in folder.iterdir():
        old.unlink()
    path = folder / "spend_2025_04.csv"
    with path.open("wb") as fh:
        fh.write(HEADER.replace(",Amount\n", ",Amount,Description\n").encode())
        fh.write(b'HM Revenue & Customs,HMRC,03/04/2025,IT,Digital,Kestrel Data Ltd,1,25000.00,"')
        block = b"x" * (1 << 20)
        for _ in range(200):
            fh.write(block)
        fh.write(b'"\n')
    sha = sha256_file(path)
    (s,) = pipeline.load_source(loaded, "hmrc__spend")
    assert s["status"] == "rejected" and s["reject_rule"] == "file.field_too_large"
    detail = s["reject_detail"]
    assert "spend_2025_04.csv" in detail and "line 2" in detail and "field 9" in detail, detail
    archived = _rows(loaded, "SELECT archive_path, sha256 FROM ops.load_log WHERE file_name = 'spend_2025_04.csv'")
    (apath, asha), = archived
    assert asha == sha and sha256_file(Path(apath)) == sha
    _march_intact(loaded)


@pytest.mark.parametrize("bad", ["../hmrc", "/etc", "hmrc/../../etc", "..", "/"])
def test_landing_folder_outside_the_landing_root_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="relative path inside the landing root"):
        PullSpec(path=bad, pattern="*.csv")


def test_registry_with_traversal_names_the_file_and_key(tmp_path) -> None:
    from transforms.config import check_registry

    src = dict(SPEND_SOURCE, pull={"method": "local", "path": "../../etc", "pattern": "*.csv"})
    settings = make_home(tmp_path, [src])
    registry, problems = check_registry(settings.config)
    assert registry is None
    assert any("hmrc__spend.yaml" in f and "pull" in key for f, key, _ in problems), problems


@pytest.mark.parametrize("name", ["../../outside.csv", "/etc/passwd", "..\\..\\win.csv", "a/../../b.csv"])
def test_received_file_name_never_becomes_a_path(tmp_path, name: str) -> None:
    """A puller (any transport) may report any name; the archive path comes from the content
    hash and a safe extension only, so nothing is written outside the archive."""
    settings = make_home(tmp_path)
    from transforms.config import load_registry

    source = load_registry(settings.config).source("hmrc__spend")

    class HostilePuller:
        def list_files(self):
            return [name]

        def fetch(self, n, dest: Path) -> None:
            dest.write_bytes(GOOD.encode())

    before = {p for p in tmp_path.rglob("*")}
    (archived,) = archive_all(settings, source, HostilePuller())
    target = Path(archived["archive_path"]).resolve()
    assert settings.archive.resolve() in target.parents
    assert target.name in {hashlib.sha256(GOOD.encode()).hexdigest() + ext for ext in ("", ".csv")}
    new = {p for p in tmp_path.rglob("*")} - before
    assert all(settings.archive.resolve() in p.resolve().parents for p in new if p.is_file()), new
    assert archived["file_name"] == name  # kept as data (a bound parameter), never a path


def test_local_puller_fetches_only_listed_files(tmp_path) -> None:
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "spend_2025_03.csv", GOOD)
    (tmp_path / "secret.csv").write_text("do not read")
    (settings.landing / "hmrc" / "link.csv").symlink_to(tmp_path / "secret.csv")
    puller = LocalFolderPuller(settings.landing / "hmrc", "*.csv")
    assert puller.list_files() == ["spend_2025_03.csv"]
    for name in ("../secret.csv", str(tmp_path / "secret.csv"), "link.csv"):
        with pytest.raises(FileNotFoundError):
            puller.fetch(name, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()


def test_sql_in_values_is_stored_as_text(loaded) -> None:
    text = HEADER + f"HM Revenue & Customs,HMRC,03/04/2025,IT,Digital,\"{SQL}\",\"{SQL}\",25000.00\n"
    drop(loaded, "hmrc", "spend_2025_04.csv", text)
    (s,) = pipeline.load_source(loaded, "hmrc__spend")
    assert s["status"] == "published"
    assert _rows(loaded, "SELECT supplier_name, transaction_number FROM core.fct_spend WHERE period = '2025-04-01'") == [
        (SQL, SQL)
    ]
    _march_intact(loaded)


def test_sql_in_a_body_code_column_quarantines_the_row(loaded) -> None:
    text = GOOD.replace("03/03/2025", "03/04/2025").replace("04/03/2025", "04/04/2025")
    text = text.replace("HM Revenue & Customs,HMRC,04/04", f"\"{SQL}\",\"{SQL}\",04/04")
    drop(loaded, "hmrc", "spend_2025_04.csv", text)
    (s,) = pipeline.load_source(loaded, "hmrc__spend")
    assert s["status"] in ("published", "rejected")
    assert s["rows_read"] == s["rows_published"] + s["rows_quarantined"] == 2
    ((rules, raw),) = _rows(loaded, "SELECT rule_ids, raw_json FROM ops.quarantine_row WHERE raw_json LIKE '%drop table%'")
    assert "spend.body_known" in rules and SQL in raw
    _march_intact(loaded)


def test_sql_in_a_column_header_rejects_the_file_naming_it(loaded) -> None:
    text = HEADER.replace(",Amount\n", f",Amount,\"{SQL}\"\n") + (
        "HM Revenue & Customs,HMRC,03/04/2025,IT,Digital,Kestrel Data Ltd,1,25000.00,boom\n"
    )
    drop(loaded, "hmrc", "spend_2025_04.csv", text)
    (s,) = pipeline.load_source(loaded, "hmrc__spend")
    assert s["status"] == "rejected" and s["reject_rule"] == "file.no_unexpected_columns"
    assert SQL in s["reject_detail"] and "spend_2025_04.csv" in s["reject_detail"]
    assert _rows(loaded, "SELECT count(*) FROM ops.quarantine_row WHERE source_file = 'spend_2025_04.csv'") == [(1,)]
    _march_intact(loaded)


def test_sql_in_a_source_body_code_is_a_configuration_error(tmp_path) -> None:
    from transforms.config import check_registry

    src = dict(SPEND_SOURCE, body=SQL)
    settings = make_home(tmp_path, [src])
    registry, problems = check_registry(settings.config)
    assert registry is None and problems
