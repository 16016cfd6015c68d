"""The person-key secret never leaves where it is kept.

A payroll and an HR load (the domains that hash NI numbers) run twice: with the key in
``NGSS_HMAC_KEY``, then with the key only in the local key file ``$NGSS_HOME/secrets/hmac.key``.
Neither key, as hex (either case) or as raw bytes, may appear in: the repository's files, the
log records of the run, the step results that Airflow would push as XComs (pull / stage /
publish return values), any table of the warehouse or its read snapshot, or any file under the
load's work folders. (The key file itself is the one place the second key lives.)
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import duckdb
import pytest

from transforms import generate as gen
from transforms import pipeline
from transforms.privacy import ENV_KEY, key_path
from transforms.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_SECRET = "c0ffee15" * 8          # 32 bytes, hex
FILE_SECRET = "5ec12e7b" * 8
SOURCES = ["hmrc__payroll", "hmrc__employment"]


def _needles(hex_key: str) -> list[bytes]:
    return [hex_key.lower().encode(), hex_key.upper().encode(), bytes.fromhex(hex_key)]


def _run(settings: Settings) -> list:
    xcoms = []
    for source_id in SOURCES:
        archived = pipeline.pull(settings, source_id)
        refs = [r for a in archived for r in pipeline.stage(settings, a)]
        xcoms += [archived, refs, pipeline.publish(settings, refs)]
    xcoms.append(pipeline.build_marts(settings))
    return xcoms


def _scan_warehouse(path: Path, needles: list[bytes]) -> int:
    con = duckdb.connect(str(path), read_only=True)
    cells = 0
    try:
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal"
        ).fetchall():
            for row in con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                for v in row:
                    text = repr(v).encode()
                    cells += 1
                    assert not any(n in text for n in needles[:2]), f"key in {schema}.{table}"
    finally:
        con.close()
    raw = path.read_bytes()
    assert not any(n in raw for n in needles), f"key bytes in {path.name}"
    return cells


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("secrets")
    settings = Settings.from_env(home=home, landing=PROJECT_ROOT / "data" / "sample",
                                 config=PROJECT_ROOT / "config", warehouse=home / "warehouse.duckdb")
    gen.generate(settings.generated, settings.config, ["hmrc"], gen.parse_months("2025-01..2025-01"), 7, 0.05)
    mp = pytest.MonkeyPatch()
    handler_records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            handler_records.append(record)

    root = logging.getLogger()
    keep = Keep(level=logging.DEBUG)
    old_level = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    try:
        mp.setenv(ENV_KEY, ENV_SECRET)
        xcoms = _run(settings)
        mp.delenv(ENV_KEY)
        key_path(settings).parent.mkdir(parents=True, exist_ok=True)
        key_path(settings).write_text(FILE_SECRET + "\n")
        key_path(settings).chmod(0o600)
        # a second month's extracts so the file key is used on new loads
        gen.generate(settings.generated, settings.config, ["hmrc"], gen.parse_months("2025-02..2025-02"), 7, 0.05)
        xcoms += _run(settings)
    finally:
        root.removeHandler(keep)
        root.setLevel(old_level)
        mp.undo()
    logs = "\n".join(f"{r.getMessage()} {r.args!r}" for r in handler_records)
    return settings, xcoms, logs


@pytest.mark.parametrize("secret", [ENV_SECRET, FILE_SECRET], ids=["env", "key-file"])
def test_key_never_in_warehouse_work_files_logs_or_xcoms(runs, secret: str) -> None:
    settings, xcoms, logs = runs
    needles = _needles(secret)
    published = [s for group in xcoms if isinstance(group, list) for s in group if isinstance(s, dict) and s.get("status") == "published"]
    assert len(published) >= 2, "the payroll and HR loads must publish for the scan to mean anything"
    for n in needles[:2]:
        assert n.decode() not in logs
        assert n.decode() not in json.dumps(xcoms, default=str)
    assert _scan_warehouse(settings.warehouse, needles) > 1000
    from warehouse.connection import snapshot_path

    _scan_warehouse(snapshot_path(settings.warehouse), needles)
    files = [p for p in settings.work.rglob("*") if p.is_file()]
    assert files
    for p in files:
        data = p.read_bytes()
        assert not any(n in data for n in needles), p


@pytest.mark.parametrize("secret", [ENV_SECRET, FILE_SECRET], ids=["env", "key-file"])
def test_key_never_in_repository_files(runs, secret: str) -> None:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    needles = _needles(secret)
    this = Path(__file__).resolve()
    checked = 0
    for name in filter(None, listed):
        path = PROJECT_ROOT / name
        if not path.is_file() or path.resolve() == this:
            continue  # this test names the keys it plants
        data = path.read_bytes()
        checked += 1
        assert not any(n in data for n in needles), name
    assert checked > 50


def test_repository_holds_no_key_file_and_ignores_the_secrets_folder() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    assert "hmac.key" not in tracked
    ignored = subprocess.run(["git", "check-ignore", ".ngss/secrets/hmac.key"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True)
    assert ignored.returncode == 0, "the local key file must be git-ignored"
