"""Shared pytest set-up.

Airflow reads its configuration when first imported, so before any test can import it this
points ``AIRFLOW_HOME`` and its SQLite metadata DB at a throw-away folder (never ``~/airflow``),
turns off example DAGs and names the project's ``dags/`` folder. Values already set in the
environment win.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ngss-test-airflow-"))
for _key, _value in {
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_AIRFLOW_HOME / "logs"),
}.items():
    os.environ.setdefault(_key, _value)


import pytest  # noqa: E402

SAMPLE = PROJECT_ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def bundle_warehouse(tmp_path_factory):
    """Every bundled source loaded once (pull, stage, publish, marts; no Airflow) into a
    throw-away NGSS_HOME. Returns ``(settings, summaries)``; tests must not write to it."""
    from transforms import pipeline
    from transforms.config import load_registry
    from transforms.settings import Settings

    home = tmp_path_factory.mktemp("ngss-home")
    settings = Settings.from_env(
        home=home,
        landing=SAMPLE,
        config=PROJECT_ROOT / "config",
        warehouse=home / "warehouse.duckdb",
    )
    registry = load_registry(settings.config)
    summaries = []
    for source_id in sorted(registry.sources):
        summaries.extend(pipeline.load_source(settings, source_id))
    pipeline.build_marts(settings)
    return settings, summaries


@pytest.fixture()
def bundle_db(bundle_warehouse):
    """A read-only DuckDB connection on the bundle warehouse."""
    import duckdb

    settings, _ = bundle_warehouse
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    yield con
    con.close()


SYNTHETIC_BODIES = ["hmrc", "dft", "hmt", "moj", "home-office", "dwp", "dvla", "nhsbsa"]
SYNTHETIC_SEED = 4242


@pytest.fixture(scope="session")
def synthetic_warehouse(tmp_path_factory):
    """Generated payroll, HR and accounts-payable extracts (8 bodies covering the six layouts,
    2 ALBs, two months, a tenth of the default headcount) loaded through the pipeline, marts
    built and evaluated. Returns ``(settings, scores)``; tests must not write to it."""
    import os

    from transforms import generate as gen
    from transforms import pipeline
    from transforms.config import load_registry
    from transforms.evaluate import evaluate
    from transforms.privacy import ENV_KEY
    from transforms.settings import Settings

    home = tmp_path_factory.mktemp("ngss-synthetic")
    settings = Settings.from_env(home=home, landing=SAMPLE, config=PROJECT_ROOT / "config",
                                 warehouse=home / "warehouse.duckdb")
    os.environ.setdefault(ENV_KEY, "5e" * 32)
    gen.generate(settings.generated, settings.config, SYNTHETIC_BODIES,
                 gen.parse_months("2025-01..2025-02"), SYNTHETIC_SEED, 0.1)
    registry = load_registry(settings.config)
    for source_id, source in sorted(registry.sources.items()):
        if source.pull.root == "generated":
            pipeline.load_source(settings, source_id)
    pipeline.build_marts(settings)
    return settings, evaluate(settings)
