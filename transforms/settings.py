"""Paths and switches for one ngss installation, taken from the environment with local defaults.

Environment variables (all optional):

* ``NGSS_HOME``: the local home holding the archive, work files, warehouse and Airflow home
  (default ``<project>/.ngss``).
* ``NGSS_LANDING``: the root of the landing folders, one per body and domain
  (default ``<project>/data/sample``, the bundled public files).
* ``NGSS_CONFIG``: the configuration folder (default ``<project>/config``).
* ``NGSS_WAREHOUSE``: the DuckDB file (default ``$NGSS_HOME/warehouse.duckdb``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Resolved paths of one installation. All paths are absolute."""

    home: Path
    landing: Path
    config: Path
    warehouse: Path

    @property
    def archive(self) -> Path:
        """Files as received, immutable: ``archive/<body>/<domain>/<sha256><ext>``."""
        return self.home / "archive"

    @property
    def work(self) -> Path:
        """Per-load staging files: ``work/<load_id>/{raw,good,quarantine,canonical}.parquet``."""
        return self.home / "work"

    @property
    def generated(self) -> Path:
        """Synthetic extracts written by ``ngss generate`` (sources with ``pull.root: generated``)."""
        return self.home / "generated"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @classmethod
    def from_env(cls, **overrides: str | Path) -> Settings:
        """Build settings from the environment; keyword overrides win over the environment."""
        env = {**os.environ, **{f"NGSS_{k.upper()}": str(v) for k, v in overrides.items()}}
        home = Path(env.get("NGSS_HOME", PROJECT_ROOT / ".ngss")).resolve()
        return cls(
            home=home,
            landing=Path(env.get("NGSS_LANDING", PROJECT_ROOT / "data" / "sample")).resolve(),
            config=Path(env.get("NGSS_CONFIG", PROJECT_ROOT / "config")).resolve(),
            warehouse=Path(env.get("NGSS_WAREHOUSE", home / "warehouse.duckdb")).resolve(),
        )
