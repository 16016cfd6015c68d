"""Small helpers for tests that need their own registry and landing folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from transforms.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SPEND_SOURCE = {
    "source_id": "hmrc__spend",
    "body": "hmrc",
    "domain": "spend",
    "title": "HMRC spend over £25,000 (test)",
    "owner": {"name": "Test team", "email": "test@example.org"},
    "pull": {"method": "local", "path": "hmrc", "pattern": "*.csv"},
    "values": {"date_formats": ["%d/%m/%Y"], "entity_role": "body"},
    "period": {"source": "column", "column": "payment_date"},
}

HEADER = (
    "Department family,Entity,Date,Expense type,Expense area,Supplier,Transaction number,Amount\n"
)


def make_home(tmp_path: Path, sources: list[dict] | None = None) -> Settings:
    """A throw-away installation: config (the project's domains, mappings and reference plus
    the given sources), an empty landing root and a fresh warehouse path."""
    config = tmp_path / "config"
    for part in ("domains", "mappings", "reference"):
        shutil.copytree(PROJECT_ROOT / "config" / part, config / part)
    (config / "sources").mkdir(parents=True)
    for src in sources or [SPEND_SOURCE]:
        (config / "sources" / f"{src['source_id']}.yaml").write_text(
            yaml.safe_dump(src), encoding="utf-8"
        )
    landing = tmp_path / "landing"
    landing.mkdir()
    return Settings.from_env(
        home=tmp_path / "home",
        landing=landing,
        config=config,
        warehouse=tmp_path / "home" / "warehouse.duckdb",
    )


def drop(settings: Settings, folder: str, name: str, text: str, encoding: str = "cp1252") -> Path:
    """Put a file in a landing folder, replacing the folder's previous files."""
    target = settings.landing / folder
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    path = target / name
    path.write_bytes(text.encode(encoding))
    return path
