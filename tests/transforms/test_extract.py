"""Pull: files archived as received under their SHA-256; the landing folder cannot be escaped."""

from __future__ import annotations

import hashlib

import pytest

from tests.helpers import make_home
from transforms.config import load_registry
from transforms.errors import NgssError
from transforms.extract import archive_all, puller_for


def test_archive_by_content_hash_and_idempotent(tmp_path):
    settings = make_home(tmp_path)
    folder = settings.landing / "hmrc"
    folder.mkdir()
    data = "Date,Amount\n01/03/2025,£1\n".encode("cp1252")
    (folder / "march.csv").write_bytes(data)
    (folder / "notes.txt").write_text("not matched by *.csv")
    source = load_registry(settings.config).source("hmrc__spend")
    first = archive_all(settings, source, puller_for(settings, source))
    second = archive_all(settings, source, puller_for(settings, source))
    digest = hashlib.sha256(data).hexdigest()
    assert [a["file_name"] for a in first] == ["march.csv"]
    assert first[0]["sha256"] == second[0]["sha256"] == digest
    target = settings.archive / "hmrc" / "spend" / f"{digest}.csv"
    assert first[0]["archive_path"] == str(target)
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_symlink_out_of_the_landing_folder_is_ignored(tmp_path):
    settings = make_home(tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text("Date,Amount\n")
    folder = settings.landing / "hmrc"
    folder.mkdir()
    (folder / "escape.csv").symlink_to(secret)
    source = load_registry(settings.config).source("hmrc__spend")
    assert puller_for(settings, source).list_files() == []


def test_unimplemented_pull_method_is_a_clear_error(tmp_path):
    from tests.helpers import SPEND_SOURCE

    src = dict(SPEND_SOURCE, pull={"method": "sftp", "path": "hmrc", "conn_id": "hmrc_sftp"})
    settings = make_home(tmp_path, [src])
    source = load_registry(settings.config).source("hmrc__spend")
    with pytest.raises(NgssError, match="'sftp'.*hmrc_sftp.*not implemented"):
        puller_for(settings, source)


def test_files_are_listed_oldest_first(tmp_path):
    import os

    settings = make_home(tmp_path)
    folder = settings.landing / "hmrc"
    folder.mkdir()
    for name, mtime in (("march-v2.csv", 2_000_000_000), ("march-v10.csv", 2_000_000_100), ("march.csv", 1_900_000_000)):
        (folder / name).write_text(name)
        os.utime(folder / name, (mtime, mtime))
    source = load_registry(settings.config).source("hmrc__spend")
    assert puller_for(settings, source).list_files() == ["march.csv", "march-v2.csv", "march-v10.csv"]
