"""Crash safety: SIGKILL the publishing process at random points.

A warehouse holds March 2025 (file v1) and its marts: the state *before*. A corrected March
file (v2, 5,000 rows) is staged once. Each trial copies the *before* warehouse (and its read
snapshot), starts a child process that publishes v2 (partition replace, one transaction) and
rebuilds the marts (one transaction, then the read snapshot), and kills it with SIGKILL after a
random delay spread over the whole publish + marts run (calibrated by a clean run that also
gives the state *after*).

Afterwards:

* the warehouse analysts read (the read snapshot, ``warehouse.read.duckdb``, what ``ngss sql``,
  the review site and the DuckDB CLI open) holds exactly *before* or exactly *after*, core and
  marts together: never a mixture, not even new core with old marts;
* the writers' file (opened as the next load would, replaying DuckDB's WAL) holds, per schema,
  *before* or *after*; its one intermediate state, core *after* with marts *before*, carries
  ``ops.marts_status.marts_stale = true``, which is why the snapshot was not refreshed from it;
* rerunning publish + marts (an Airflow retry) converges on *after* in both files.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from tests.helpers import HEADER, SPEND_SOURCE, drop, make_home
from transforms import pipeline
from transforms.settings import Settings

pytestmark = pytest.mark.slow
TRIALS = 20
PROJECT_ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys, time
from pathlib import Path
from transforms import pipeline
from transforms.settings import Settings
args = json.loads(sys.argv[1])
settings = Settings(**{k: Path(v) for k, v in args["settings"].items()})
print("ready", flush=True)
t0 = time.perf_counter()
pipeline.publish(settings, args["refs"])
print("published", time.perf_counter() - t0, flush=True)
pipeline.build_marts(settings)
print("marts", time.perf_counter() - t0, flush=True)
"""


def _file(version: int, n: int) -> str:
    suppliers = ["Kestrel Data Ltd", "Brackenford Ltd", "Saltmarsh Civil Engineering Ltd", "Westmere Consulting LLP"]
    lines = [
        f"HM Revenue & Customs,HMRC,{1 + i % 28:02d}/03/2025,IT Services,Digital,{suppliers[i % 4]},"
        f"V{version}-{i:06d},{25000 + i * version}.{i % 100:02d}"
        for i in range(n)
    ]
    return HEADER + "\n".join(lines) + "\n"


def checksums(warehouse: Path) -> dict[str, str]:
    """Per schema (core, marts): SHA-256 over every table's name and sorted rows. Opens the
    file read-write, as the next load would, so DuckDB replays or drops its WAL first."""
    con = duckdb.connect(str(warehouse))
    try:
        out = {}
        for schema in ("core", "marts"):
            h = hashlib.sha256()
            tables = con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY 1", [schema]
            ).fetchall()
            for (t,) in tables:
                rows = con.execute(f'SELECT * FROM {schema}."{t}"').fetchall()
                h.update(t.encode())
                for r in sorted(repr(x) for x in rows):
                    h.update(r.encode())
            out[schema] = h.hexdigest()
        return out
    finally:
        con.close()


def snapshot_of(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.stem + ".read.duckdb")


def marts_stale(warehouse: Path) -> bool:
    con = duckdb.connect(str(warehouse))
    try:
        return bool(con.execute("select marts_stale from ops.marts_status").fetchone()[0])
    finally:
        con.close()


def _kw(settings: Settings, warehouse: Path) -> dict[str, str]:
    return {"home": str(settings.home), "landing": str(settings.landing), "config": str(settings.config),
            "warehouse": str(warehouse)}


def _run_child(settings: Settings, refs, warehouse: Path, kill_after: float | None, phase: str = "publish"):
    """Run publish + marts in a child; kill it ``kill_after`` seconds after it is ready
    (``phase="publish"``) or after it reports the publish committed (``phase="marts"``), so
    both phases are hit whatever the machine's load."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps({"settings": _kw(settings, warehouse), "refs": refs})],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    if kill_after is None:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        return out
    if phase == "marts":
        line = proc.stdout.readline()
        if not line.startswith("published"):
            proc.communicate(timeout=60)
            return False
    time.sleep(kill_after)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return killed


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    dwp = dict(SPEND_SOURCE, source_id="dwp__spend", body="dwp", pull={"method": "local", "path": "dwp", "pattern": "*.csv"})
    settings = make_home(root, [SPEND_SOURCE, dwp])
    # DWP pays the same suppliers, so the shared-supplier mart changes with HMRC's figures
    drop(settings, "dwp", "spend_2025_03.csv",
         _file(3, 200).replace("HM Revenue & Customs,HMRC", "Department for Work and Pensions,DWP"))
    pipeline.load_source(settings, "dwp__spend")
    drop(settings, "hmrc", "spend_2025_03.csv", _file(1, 1000))
    pipeline.load_source(settings, "hmrc__spend")
    pipeline.build_marts(settings)
    before_file = root / "before" / "warehouse.duckdb"
    before_file.parent.mkdir()
    shutil.copyfile(settings.warehouse, before_file)
    shutil.copyfile(snapshot_of(settings.warehouse), snapshot_of(before_file))
    drop(settings, "hmrc", "spend_2025_03_v2.csv", _file(2, 5000))
    refs = [r for a in pipeline.pull(settings, "hmrc__spend") for r in pipeline.stage(settings, a)]
    refs = [r for r in refs if r["file_name"] == "spend_2025_03_v2.csv"]
    assert [r["status"] for r in refs] == ["staged"]
    # calibration: a clean run gives the "after" state and the timings of the two phases
    after_file = root / "after" / "warehouse.duckdb"
    after_file.parent.mkdir()
    shutil.copyfile(before_file, after_file)
    out = _run_child(settings, refs, after_file, None)
    times = dict(line.split() for line in out.splitlines() if line.split()[0] in ("published", "marts"))
    return {
        "settings": settings, "refs": refs, "root": root, "before_file": before_file,
        "before": checksums(before_file), "after": checksums(after_file),
        "before_snapshot": checksums(snapshot_of(before_file)),
        "after_snapshot": checksums(snapshot_of(after_file)),
        "t_publish": float(times["published"]), "t_marts": float(times["marts"]),
    }


def test_sigkill_at_random_points_leaves_before_or_after_and_rerun_converges(scene) -> None:
    before, after = scene["before"], scene["after"]
    assert before["core"] != after["core"] and before["marts"] != after["marts"]
    rng = random.Random(20250331)
    # even trials: a random point from the start (mostly inside the partition replace); odd
    # trials: a random point after the publish committed (inside the marts rebuild)
    marts_time = max(scene["t_marts"] - scene["t_publish"], 0.05)
    phases = ["publish" if i % 2 == 0 else "marts" for i in range(TRIALS)]
    delays = [rng.uniform(0, scene["t_publish"] * 1.1) if p == "publish" else rng.uniform(0, marts_time * 0.9)
              for p in phases]

    def trial(i: int):
        wh = scene["root"] / f"trial{i}" / "warehouse.duckdb"
        wh.parent.mkdir()
        shutil.copyfile(scene["before_file"], wh)
        shutil.copyfile(snapshot_of(scene["before_file"]), snapshot_of(wh))
        killed = _run_child(scene["settings"], scene["refs"], wh, delays[i], phases[i])
        state = checksums(wh)
        state["stale"] = marts_stale(wh)
        seen_by_analysts = checksums(snapshot_of(wh))
        # rerun the same publish + marts (what an Airflow retry does): converges on "after"
        settings = Settings(**{k: Path(v) for k, v in _kw(scene["settings"], wh).items()})
        pipeline.publish(settings, scene["refs"])
        pipeline.build_marts(settings)
        return killed, state, seen_by_analysts, (checksums(wh), checksums(snapshot_of(wh)))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(trial, range(TRIALS)))

    seen = {"before": 0, "core after, marts before": 0, "after": 0}
    seen_snapshot = {"before": 0, "after": 0}
    assert scene["before_snapshot"] == before and scene["after_snapshot"] == after
    for (_killed, state, snap, rerun), delay in zip(results, delays, strict=True):
        stale = state.pop("stale")
        # what analysts read: exactly before or exactly after, core and marts together
        assert snap in (before, after), f"the read snapshot is a mixture (kill at {delay:.3f}s)"
        seen_snapshot["before" if snap == before else "after"] += 1
        # the writers' file: each schema whole; new core with old marts is flagged stale
        assert state["core"] in (before["core"], after["core"]), f"core is a mixture (kill at {delay:.3f}s)"
        assert state["marts"] in (before["marts"], after["marts"]), f"marts are a mixture (kill at {delay:.3f}s)"
        if state["marts"] == after["marts"]:
            assert state["core"] == after["core"]
        key = ("before" if state["core"] == before["core"] else
               "after" if state["marts"] == after["marts"] else "core after, marts before")
        seen[key] += 1
        if key == "core after, marts before":
            assert stale, "new core with old marts is not flagged stale"
            assert snap == before, "the snapshot was refreshed from stale marts"
        if key == "after":
            assert not stale
        assert rerun == (after, after)
    kills = sum(1 for k, *_ in results if k)
    print(  # noqa: T201
        f"\ncrash safety: {TRIALS} trials, {kills} SIGKILLs landed; writers' file after kill: {seen}; "
        f"read snapshot after kill: {seen_snapshot}; "
        f"publish {scene['t_publish']:.2f}s, marts done at {scene['t_marts']:.2f}s")  # noqa: T201
    assert kills >= 20
    assert seen["before"] >= 1 and seen["core after, marts before"] >= 1
