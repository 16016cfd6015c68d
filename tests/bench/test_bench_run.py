"""The bench script's own logic (bench/run.py): config building and synthetic records."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_prefix_keeps_length():
    assert bench._prefix_for("mod", "HMRC-AP-{:07d}") == "MODX-AP-{:07d}"
    assert bench._prefix_for("hmpps", "DWP{:08d}") == "HMP{:08d}"
    assert bench._prefix_for("dhsc", "{:09d}") == "{:09d}"


def test_build_config_adds_bodies_with_registry_and_grades(tmp_path):
    cfg = bench.build_config(tmp_path)
    bodies = yaml.safe_load((cfg / "generator" / "bodies.yaml").read_text())["bodies"]
    spec = yaml.safe_load((ROOT / "bench" / "bodies.yaml").read_text())
    assert len(bodies) >= 20
    assert sum(b["headcount"] for b in bodies.values()) == 500_000
    for add in spec["added"]:
        code = add["code"]
        for suffix in ("payroll", "employment", "spend__ap"):
            src = yaml.safe_load((cfg / "sources" / f"{code}__{suffix}.yaml").read_text())
            assert src["body"] == code and src["pull"]["path"].startswith(f"{code}/")
        assert (cfg / "mappings" / f"{code}_grades.csv").exists()
    # the generator and the registry accept the bench config
    from transforms import generate as gen
    from transforms.config import load_registry

    assert set(gen.load_bodies(cfg)) == set(bodies)
    assert len(bench.bench_sources(cfg)) == 3 * len(bodies)
    load_registry(cfg)


def test_synthetic_supplier_records_are_distinct_and_sized():
    df = bench.synth_supplier_records(5000)
    assert len(df) == 5000
    assert not df.duplicated().any()
    assert df["supplier_name"].str.len().min() > 5
