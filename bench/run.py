# ruff: noqa: T201  (a command-line report: printing is its job)
"""``make bench``: ngss at central-government scale, against DuckDB's own ingest of the same bytes.

Usage::

    python bench/run.py                 # full year: 25 bodies, ~6 M payroll rows (long)
    python bench/run.py --scale 0.1     # a tenth, a few minutes

One run, in phases (each measured phase is its own child process, so its peak memory is its
own and one-off imports are counted once and reported apart):

1. config   copy config/ into the work folder, write the bench bodies (bench/bodies.yaml)
2. generate the product's generator: 12 months of payroll, HR (employment) and accounts payable
            with planted truth (--employment snapshot: one HR month); plus one extra month of one body
3. ceiling  DuckDB read_csv / read_parquet of every generated file into tables of a fresh database
4. pipeline pull, stage (read, validate, split, normalise), publish, marts on the same files,
            per stage; then `ngss evaluate`'s precision and recall; then cProfile of one file of
            each layout, of one publish and of the marts
5. monthly  one body's monthly load on an empty warehouse and on the full-year warehouse
6. scaling  entity resolution on N distinct supplier records, and the marts on warehouses of N
            payment lines and N payroll rows, for two N; growth exponent log(t2/t1)/log(n2/n1)

Writes bench/results/<timestamp>.json (figures and machine) and .md (the table it prints).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import io
import json
import math
import os
import platform
import pstats
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

import yaml  # noqa: E402

SEED = 20251130
YEAR_MONTHS = [date(2025, m, 1) for m in range(1, 13)]
SNAPSHOT_MONTH = date(2025, 12, 1)  # the employment snapshot of the year
EXTRA_MONTH = date(2024, 12, 1)  # the monthly-load body's extra month (a new partition)
MONTHLY_BODY = "hmrc"
DOMAINS = ("payroll", "employment", "ap")


# ----------------------------------------------------------------------------- memory, timing
def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def maxrss_bytes(who: int = resource.RUSAGE_SELF) -> int:
    return resource.getrusage(who).ru_maxrss * 1024  # Linux: kilobytes


class RssSampler:
    """Samples this process's resident memory every 50 ms; `mark(name)` starts a named span
    whose peak is kept in `peaks`."""

    def __init__(self) -> None:
        self.peaks: dict[str, int] = {}
        self.current = "start"
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            r = rss_bytes()
            if r > self.peaks.get(self.current, 0):
                self.peaks[self.current] = r
            self._stop.wait(0.05)

    def mark(self, name: str) -> None:
        self.current = name
        self.peaks[name] = max(self.peaks.get(name, 0), rss_bytes())

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._t.join()
        return self.peaks


class Timers:
    """Accumulates seconds and calls per name; `wrap(module, attr)` times a module function
    in place (the pipeline imports these at call time, so wrapping the module attribute is
    enough)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    @contextlib.contextmanager
    def time(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, s: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + s
        self.calls[name] = self.calls.get(name, 0) + 1

    def wrap(self, module: Any, attr: str, name: str | None = None) -> None:
        fn = getattr(module, attr)
        label = name or attr
        timers = self

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers.add(label, time.perf_counter() - t0)

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        setattr(module, attr, timed)


# ------------------------------------------------------------------------------- 1. config
def _prefix_for(code: str, fmt: str) -> str:
    """`HMRC-AP-{:07d}` for body `mod` -> `MODX-AP-{:07d}`: the leading letters become the
    body's letters, same length (fixed-width columns keep their width)."""
    m = re.match(r"^([A-Za-z]+)", fmt)
    if not m:
        return fmt
    letters = re.sub(r"[^A-Z]", "", code.upper())
    run = m.group(1)
    new = (letters + "X" * len(run))[: len(run)]
    return new + fmt[len(run) :]


def build_config(work: Path) -> Path:
    """Copy config/ to work/config and write the bench bodies, registry entries and grade
    mappings. Returns the new config folder."""
    cfg = work / "config"
    if cfg.exists():
        shutil.rmtree(cfg)
    shutil.copytree(PROJECT / "config", cfg)
    bench = yaml.safe_load((BENCH_DIR / "bodies.yaml").read_text(encoding="utf-8"))
    base = yaml.safe_load((cfg / "generator" / "bodies.yaml").read_text(encoding="utf-8"))["bodies"]
    with (cfg / "reference" / "organisations.csv").open(encoding="utf-8", newline="") as fh:
        orgs = {r["body_code"]: r["name"] for r in csv.DictReader(fh)}
    bodies: dict[str, dict] = {}
    for code, spec in base.items():
        spec = dict(spec)
        spec["headcount"] = int(bench["existing"].get(code, spec["headcount"]))
        bodies[code] = spec
    for add in bench.get("added", []):
        code, like = add["code"], add["like"]
        if code in bodies:
            raise ValueError(f"bench/bodies.yaml: {code} already exists")
        if code not in orgs:
            raise ValueError(f"bench/bodies.yaml: {code} is not in organisations.csv")
        spec = json.loads(json.dumps(base[like]))
        spec["headcount"] = int(add["headcount"])
        spec["payment_ref"] = _prefix_for(code, spec["payment_ref"])
        spec["employee_number"] = _prefix_for(code, spec["employee_number"])
        if "title_rows" in spec:
            spec["title_rows"] = [t.replace(orgs[like], orgs[code]) for t in spec["title_rows"]]
        bodies[code] = spec
        for suffix in ("payroll", "employment", "spend__ap"):
            src_path = cfg / "sources" / f"{like}__{suffix}.yaml"
            src = yaml.safe_load(src_path.read_text(encoding="utf-8"))
            src["source_id"] = f"{code}__{suffix}"
            src["body"] = code
            src["title"] = src["title"].replace(orgs[like], orgs[code])
            if "owner" in src:
                src["owner"]["name"] = f"{orgs[code]} shared-services data team (bench)"
                src["owner"]["email"] = f"ngss-extracts@{code}.example.gov.uk"
            src["pull"]["path"] = src["pull"]["path"].replace(f"{like}/", f"{code}/", 1)
            src["pull"]["pattern"] = src["pull"]["pattern"].replace(f"{like}_", f"{code}_", 1)
            values = src.get("values") or {}
            if values.get("grades"):
                shutil.copy(
                    cfg / "mappings" / values["grades"], cfg / "mappings" / f"{code}_grades.csv"
                )
                values["grades"] = f"{code}_grades.csv"
            src["notes"] = f"Bench-only copy of {like}'s registry entry (bench/bodies.yaml)."
            (cfg / "sources" / f"{code}__{suffix}.yaml").write_text(
                yaml.safe_dump(src, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
    (cfg / "generator" / "bodies.yaml").write_text(
        "# Written by bench/run.py from bench/bodies.yaml\n"
        + yaml.safe_dump({"bodies": bodies}, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return cfg


def bench_sources(cfg: Path) -> list[str]:
    from transforms.config import load_registry

    bodies = yaml.safe_load((cfg / "generator" / "bodies.yaml").read_text(encoding="utf-8"))[
        "bodies"
    ]
    reg = load_registry(cfg)
    return sorted(
        s.source_id for s in reg.sources.values() if s.body in bodies and s.pull.root == "generated"
    )


def settings_for(work: Path, home: Path, warehouse: Path | None = None):
    from transforms.settings import Settings

    kw: dict[str, Any] = {"home": home, "config": work / "config"}
    if warehouse is not None:
        kw["warehouse"] = warehouse
    return Settings.from_env(**kw)


# ------------------------------------------------------------------------------ 2. generate
def phase_generate(work: Path, scale: float, employment: str = "monthly") -> dict:
    from transforms import generate as gen
    from transforms.privacy import ensure_local_key

    cfg = work / "config"
    home = work / "home"
    out = home / "generated"
    if out.exists():
        shutil.rmtree(out)
    ensure_local_key(settings_for(work, home))
    t0 = time.perf_counter()
    tmp = work / "gen_employment"
    if employment == "monthly":
        # The product's own shape: one HR snapshot per month. mart_function_cost joins each
        # payroll month to the same month's snapshot, so fewer snapshots break its truth.
        s1 = gen.generate(out, cfg, None, YEAR_MONTHS, SEED, scale)
        s2 = gen.GenerationSummary(out_dir=tmp)
    else:
        s1 = gen.generate(out, cfg, None, YEAR_MONTHS, SEED, scale, domains=("payroll", "ap"))
        # One month-end employment snapshot for the year (500 thousand rows at scale 1): written
        # apart, then its files and its planted faults are merged into the year's output.
        if tmp.exists():
            shutil.rmtree(tmp)
        s2 = gen.generate(tmp, cfg, None, [SNAPSHOT_MONTH], SEED, scale, domains=("employment",))
        for f in s2.files:
            dest = out / f.path.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(f.path), dest)
        faults_main = out / "ground_truth" / "faults.csv"
        with (tmp / "ground_truth" / "faults.csv").open(encoding="utf-8", newline="") as fh:
            extra = list(csv.reader(fh))[1:]
        with faults_main.open("a", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(extra)
        shutil.rmtree(tmp)
    gen_seconds = time.perf_counter() - t0
    # One extra month of the monthly-load body, outside the year (a new partition).
    extra_dir = work / "extra" / "generated"
    if extra_dir.parent.exists():
        shutil.rmtree(extra_dir.parent)
    s3 = gen.generate(extra_dir, cfg, [MONTHLY_BODY], [EXTRA_MONTH], SEED, scale)
    files = []
    for f in s1.files + s2.files:
        p = out / f.path.relative_to(out if f.path.is_relative_to(out) else tmp)
        files.append(
            {
                "source_id": f.source_id,
                "body": f.body,
                "domain": f.domain,
                "path": str(p),
                "rows": f.rows,
                "bytes": p.stat().st_size,
            }
        )
    return {
        "seconds": round(gen_seconds, 2),
        "files": files,
        "extra_files": [
            {"source_id": f.source_id, "path": str(f.path), "rows": f.rows} for f in s3.files
        ],
    }


# ------------------------------------------------------------------------------- 3. ceiling
def _xlsx_to_csv(path: Path, out: Path, skip_rows: int) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        n = 0
        for r in rows[skip_rows:]:
            w.writerow(["" if v is None else str(v) for v in r])
            n += 1
    return n - 1


def _varchar_columns(path: str, delim: str, enc: str) -> str:
    """The header of a CSV file as a DuckDB `columns` struct, every column VARCHAR: types
    declared, so DuckDB's sniffer does not run (the ceiling a dbt project with declared
    sources would see)."""
    with open(path, encoding="utf-8-sig" if enc == "utf-8" else "latin-1", newline="") as fh:
        header = next(csv.reader(fh, delimiter=delim))
    seen: dict[str, int] = {}
    names = []
    for h in header:
        k = seen.get(h, 0)
        seen[h] = k + 1
        names.append(h if k == 0 else f"{h}_{k}")
    return "{" + ", ".join("'" + n.replace("'", "''") + "': 'VARCHAR'" for n in names) + "}"


def phase_ceiling(work: Path, gen_info: dict) -> dict:
    import duckdb

    from transforms.config import load_registry

    cfg = work / "config"
    reg = load_registry(cfg)
    bodies = yaml.safe_load((cfg / "generator" / "bodies.yaml").read_text(encoding="utf-8"))[
        "bodies"
    ]
    db = work / "ceiling.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        if p.exists():
            p.unlink()
    conv_dir = work / "ceiling_xlsx_csv"
    shutil.rmtree(conv_dir, ignore_errors=True)
    conv_dir.mkdir(parents=True)
    by_source: dict[str, list[dict]] = {}
    for f in gen_info["files"]:
        by_source.setdefault(f["source_id"], []).append(f)
    per_format: dict[str, dict] = {}
    conversion_seconds = 0.0
    con = duckdb.connect(str(db))
    t_all = time.perf_counter()
    rows_total = 0
    bytes_total = 0
    for sid, files in sorted(by_source.items()):
        src = reg.source(sid)
        paths = [f["path"] for f in files]
        fmt = src.reader.format
        table = sid.replace("-", "_")
        if fmt == "parquet":
            sql = f"create table {table} as select * from read_parquet({paths!r})"
            how = "parquet"
        elif fmt == "fixed_width":
            widths = list(src.reader.widths or ())
            cols, start = [], 1
            for i, w in enumerate(widths):
                cols.append(f"trim(substr(line, {start}, {w})) as c{i}")
                start += w
            sql = (
                f"create table {table} as select {', '.join(cols)} from read_csv({paths!r}, "
                "columns={'line': 'VARCHAR'}, auto_detect=false, delim='\\x01', quote='', "
                "escape='', header=false, skip=1)"
            )
            how = "fixed_width"
        elif fmt == "excel":
            skip = len(bodies[src.body].get("title_rows", []))
            conv = []
            t0 = time.perf_counter()
            for p in paths:
                out = conv_dir / (Path(p).stem + ".csv")
                _xlsx_to_csv(Path(p), out, skip)
                conv.append(str(out))
            conversion_seconds += time.perf_counter() - t0
            sql = (
                f"create table {table} as select * from read_csv({conv!r}, header=true, "
                f"auto_detect=false, columns={_varchar_columns(conv[0], ',', 'utf-8')}, "
                "delim=',', quote='\"', escape='\"')"
            )
            how = "xlsx"
        else:
            enc = (src.reader.encoding or "utf-8").lower()
            enc = "latin-1" if enc in ("cp1252", "windows-1252", "latin-1") else "utf-8"
            delim = src.reader.delimiter if src.reader.delimiter not in (None, "auto") else ","
            cols = _varchar_columns(paths[0], delim, enc)
            sql = (
                f"create table {table} as select * from read_csv({paths!r}, header=true, "
                f"auto_detect=false, columns={cols}, delim='{delim}', quote='\"', "
                f"escape='\"', encoding='{enc}')"
            )
            how = "csv"
        t0 = time.perf_counter()
        con.execute(sql)
        dt = time.perf_counter() - t0
        n = con.execute(f"select count(*) from {table}").fetchone()[0]
        b = sum(f["bytes"] for f in files)
        d = per_format.setdefault(how, {"seconds": 0.0, "rows": 0, "bytes": 0, "files": 0})
        d["seconds"] += dt
        d["rows"] += n
        d["bytes"] += b
        d["files"] += len(files)
        rows_total += n
        bytes_total += b
    con.execute("checkpoint")
    con.close()
    wall = time.perf_counter() - t_all - conversion_seconds
    for d in per_format.values():
        d["seconds"] = round(d["seconds"], 3)
        d["rows_per_second"] = round(d["rows"] / d["seconds"]) if d["seconds"] else None
    shutil.rmtree(conv_dir, ignore_errors=True)
    return {
        "seconds": round(wall, 3),
        "rows": rows_total,
        "bytes": bytes_total,
        "rows_per_second": round(rows_total / wall),
        "by_format": per_format,
        "xlsx_conversion_seconds_excluded": round(conversion_seconds, 3),
        "db_bytes": db.stat().st_size,
        "how": (
            "One table per source (its 12 monthly files), all columns declared VARCHAR "
            "(auto_detect=false: no sniffing), fresh on-disk database. CSV: read_csv (cp1252 read as latin-1, the encodings extension cannot be "
            "installed offline; same bytes). Parquet: read_parquet (typed as written). Fixed "
            "width: read_csv of whole lines, substr/trim per registry width. XLSX: DuckDB's "
            "excel extension is not installable offline, so each workbook is converted to CSV "
            "with python-calamine first (conversion time reported apart, NOT in the ceiling), "
            "then read_csv."
        ),
    }


# ------------------------------------------------------------------------------ 4. pipeline
def _profile_text(prof: cProfile.Profile, n: int = 30) -> str:
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("tottime").print_stats(n)
    buf.write("\n---- by cumulative time ----\n")
    st.sort_stats("cumulative").print_stats(n)
    return buf.getvalue()


def _warm_worker(_: int) -> None:
    """Import what staging needs in a pool worker (timed as a one-off import)."""
    import expectations.validate as validate
    import transforms.read  # noqa: F401
    import transforms.stage  # noqa: F401

    validate._context()


def _cpu_seconds(who: int) -> float:
    """User + system CPU seconds of this process (its threads included) or of its exited
    children, from ``getrusage``."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def phase_pipeline(work: Path, gen_info: dict, profile_out: Path | None, workers: int = 1) -> dict:
    sampler = RssSampler()
    sampler.mark("imports")
    t_imp = time.perf_counter()
    import expectations.validate as validate
    import transforms.pipeline as pipeline
    import transforms.read as read
    import transforms.stage as stage_mod
    import warehouse.publish as publish_mod

    validate._context()  # GX import and context: one-off, reported apart
    imports_seconds = time.perf_counter() - t_imp

    home = work / "home"
    for sub in ("archive", "work"):
        shutil.rmtree(home / sub, ignore_errors=True)
    for p in home.glob("warehouse.duckdb*"):
        p.unlink()
    settings = settings_for(work, home)
    sources = sorted({f["source_id"] for f in gen_info["files"]})

    timers = Timers()
    timers.wrap(read, "read_file", "read")
    timers.wrap(stage_mod, "stage_table", "normalise (stage_table)")
    # every GX run, alone (validate_batch) or over several files (validate_batches)
    timers.wrap(validate, "_gx_run", "validate (GX runs)")
    # raw JSON is built lazily, only for quarantined rows, with their reasons
    label = "quarantine rows: raw JSON and reasons"
    timers.wrap(pipeline, "_quarantine_records", label)
    timers.wrap(pipeline, "_all_quarantined", label)
    timers.wrap(pipeline, "_finish", "write work files (_finish)")
    timers.wrap(stage_mod, "find_period", "find period")
    # each load's own publishing, alone (publish_load) or in a source's one transaction
    timers.wrap(publish_mod, "_publish", "publish_load")

    rows_read = 0
    outcome: dict[str, int] = {"staged": 0, "rejected": 0, "published": 0, "quarantined": 0}
    per_domain: dict[str, dict[str, float]] = {}
    # stage on `workers` processes (pipeline.StagePool, as `ngss load` does); their start-up
    # (imports) happens here, outside the timed pipeline, like the parent's imports above
    pool = pipeline.StagePool(workers).__enter__()
    if pool.workers > 1:
        t_imp = time.perf_counter()
        list(pool._executor.map(_warm_worker, range(pool.workers)))
        imports_seconds += time.perf_counter() - t_imp
    t_total = time.perf_counter()
    cpu_parent0 = _cpu_seconds(resource.RUSAGE_SELF)
    # pipeline.load_sources, as `ngss load` runs it: each source pulled, its files handed to
    # the staging workers, and the previous source published meanwhile. PULL and PUBLISH are
    # the parent's time in them; STAGE is the parent's wait for staged files (staging beyond
    # that overlapped publishing); per-domain rates below are per worker-second of staging.
    timers.wrap(pipeline, "pull", "PULL")
    timers.wrap(pipeline.StagePool, "collect", "STAGE")
    timers.wrap(pipeline, "publish", "PUBLISH")

    def published(_sid: str, summaries: list[dict]) -> None:
        nonlocal rows_read
        sampler.mark("load")
        for s in summaries:
            outcome["rejected" if s["status"] == "rejected" else "staged"] += 1
            outcome["published"] += s.get("rows_published") or 0
            outcome["quarantined"] += s.get("rows_quarantined") or 0
            rows_read += s.get("rows_read") or 0

    pipeline.load_sources(settings, sources, pool, on_source=published)
    load_seconds = time.perf_counter() - t_total
    cpu_parent = _cpu_seconds(resource.RUSAGE_SELF) - cpu_parent0
    pool.__exit__(None, None, None)
    # the workers' CPU is known once they have exited (their start-up imports included)
    cpu_workers = _cpu_seconds(resource.RUSAGE_CHILDREN) if workers > 1 else 0.0
    import duckdb

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    for domain, seconds, rows in con.execute(
        "select domain, sum(stage_seconds), sum(rows_read) from ops.load_log group by 1"
    ).fetchall():
        per_domain[domain] = {"stage_seconds": seconds, "rows": rows}
    con.close()
    sampler.mark("marts")
    with timers.time("MARTS"):
        marts = pipeline.build_marts(settings)
    total = time.perf_counter() - t_total
    sampler.mark("evaluate")
    from transforms.evaluate import evaluate

    t0 = time.perf_counter()
    scores = evaluate(settings)
    eval_seconds = time.perf_counter() - t0
    # What was resident at once, bounded from above: while the workers ran (the load step),
    # the parent's sampled peak of that step plus each worker at the largest worker's peak
    # (RUSAGE_CHILDREN gives the largest finished child); after the pool closed (marts,
    # evaluate), the parent alone at its own peak.
    worker_peak = maxrss_bytes(resource.RUSAGE_CHILDREN) if workers > 1 else 0
    during_load = sampler.peaks.get("load", 0) + workers * worker_peak
    parent_max = maxrss_bytes()
    peak_pipeline = max(parent_max, during_load)

    timer_snapshot = dict(timers.seconds)
    profiles = {}
    if profile_out is not None:
        sampler.mark("profile")
        profiles = _profile_pipeline(work, settings, gen_info, profile_out)
    peaks = sampler.stop()
    timers.seconds = timer_snapshot
    stage_total = timers.seconds.get("STAGE", 0.0)
    inner = [
        "read",
        "normalise (stage_table)",
        "validate (GX runs)",
        "quarantine rows: raw JSON and reasons",
        "find period",
        "write work files (_finish)",
    ]
    # _finish is called from inside _stage_one only: it is part of STAGE
    if workers > 1:  # the steps ran in the workers, out of the timers' sight
        split = {f"(split by step: run with --workers 1; {workers} workers here)": 0.0}
    else:
        split = {k: round(timers.seconds.get(k, 0.0), 3) for k in inner}
        split["other stage code (split, payment_date range, quarantine records, ...)"] = round(
            stage_total - sum(timers.seconds.get(k, 0.0) for k in inner), 3
        )
    return {
        "imports_seconds_excluded": round(imports_seconds, 2),
        "seconds": round(total, 3),
        "rows_read": rows_read,
        "rows_per_second": round(rows_read / total),
        "stages": {
            k.lower(): round(timers.seconds.get(k, 0.0), 3)
            for k in ("PULL", "STAGE", "PUBLISH", "MARTS")
        },
        "stage_split": split,
        "publish_load_seconds": round(timers.seconds.get("publish_load", 0.0), 3),
        "load_cpu": {
            "wall_seconds": round(load_seconds, 2),
            "parent_cpu_seconds": round(cpu_parent, 2),
            "workers_cpu_seconds": round(cpu_workers, 2),
        },
        "per_domain_stage": {
            k: {
                "stage_seconds": round(v["stage_seconds"], 2),
                "rows": v["rows"],
                "rows_per_second": round(v["rows"] / v["stage_seconds"])
                if v["stage_seconds"]
                else None,
            }
            for k, v in per_domain.items()
        },
        "outcome": outcome,
        "marts": marts,
        "evaluate_seconds": round(eval_seconds, 2),
        "scores": [
            {
                "measure": s.measure,
                "kind": s.kind,
                "tp": s.true_positives,
                "fp": s.false_positives,
                "fn": s.false_negatives,
                "precision": s.precision,
                "recall": s.recall,
            }
            for s in scores
        ],
        "peak_rss_bytes": peak_pipeline,
        "peak_rss_parts": {
            "parent_max": parent_max,
            "parent_during_load": sampler.peaks.get("load", 0),
            "largest_worker": worker_peak,
            "workers": workers,
        },
        "peak_rss_by_step": peaks,
        "warehouse_bytes": settings.warehouse.stat().st_size,
        "profiles": profiles,
    }


def _profile_pipeline(work: Path, settings, gen_info: dict, out: Path) -> dict:
    """cProfile: stage() of the largest file of each layout, one publish, the marts."""
    import transforms.pipeline as pipeline
    from transforms.config import load_registry

    reg = load_registry(settings.config)
    chosen: dict[str, dict] = {}
    for f in gen_info["files"]:
        fmt = reg.source(f["source_id"]).reader.format
        enc = reg.source(f["source_id"]).reader.encoding
        key = f"{f['domain']}:{fmt}:{enc or ''}"
        if key not in chosen or f["rows"] > chosen[key]["rows"]:
            chosen[key] = f
    picks = [chosen[k] for k in sorted(chosen)]
    summary: dict[str, Any] = {}
    text = []
    archive_of: dict[str, dict] = {}
    for sid in {f["source_id"] for f in picks}:
        for a in pipeline.pull(settings, sid):  # already archived: same sha, no copy
            archive_of[a["file_name"]] = a
    last_ref = None
    for f in picks:
        a = archive_of[Path(f["path"]).name]
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        refs = pipeline.stage(settings, a)
        prof.disable()
        dt = time.perf_counter() - t0
        last_ref = refs[0] if f["domain"] == "payroll" and f["path"].endswith(".csv") else last_ref
        name = Path(f["path"]).name
        summary[name] = {"rows": f["rows"], "seconds_profiled": round(dt, 2)}
        text.append(f"==== stage({name}) rows={f['rows']} {dt:.2f}s under cProfile\n")
        text.append(_profile_text(prof, 25))
    if last_ref is not None:
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        pipeline.publish(settings, [last_ref])
        prof.disable()
        summary["publish:" + last_ref["file_name"]] = {
            "seconds_profiled": round(time.perf_counter() - t0, 2)
        }
        text.append(f"==== publish({last_ref['file_name']}) on the full warehouse\n")
        text.append(_profile_text(prof, 25))
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    pipeline.build_marts(settings)
    prof.disable()
    summary["build_marts"] = {"seconds_profiled": round(time.perf_counter() - t0, 2)}
    text.append("==== build_marts on the full warehouse\n")
    text.append(_profile_text(prof, 25))
    out.write_text("".join(text), encoding="utf-8")
    summary["file"] = str(out)
    return summary


# ------------------------------------------------------------------------------- 5. monthly
def phase_monthly(work: Path, gen_info: dict) -> dict:
    import expectations.validate as validate
    import transforms.pipeline as pipeline

    validate._context()
    extra_gen = work / "extra" / "generated"
    sources = sorted({f["source_id"] for f in gen_info["extra_files"]})
    rows = sum(f["rows"] for f in gen_info["extra_files"])

    def load(home: Path, warehouse: Path) -> dict[str, float]:
        from transforms.privacy import ensure_local_key

        shutil.rmtree(home, ignore_errors=True)
        (home / "secrets").mkdir(parents=True)
        shutil.copy(work / "home" / "secrets" / "hmac.key", home / "secrets" / "hmac.key")
        os.chmod(home / "secrets" / "hmac.key", 0o600)
        ensure_local_key(settings_for(work, home))
        home.joinpath("generated").symlink_to(extra_gen)
        s = settings_for(work, home, warehouse)
        t = {"pull": 0.0, "stage": 0.0, "publish": 0.0}
        for sid in sources:
            t0 = time.perf_counter()
            archived = pipeline.pull(s, sid)
            t1 = time.perf_counter()
            refs = [r for a in archived for r in pipeline.stage(s, a)]
            t2 = time.perf_counter()
            pipeline.publish(s, refs)
            t3 = time.perf_counter()
            t["pull"] += t1 - t0
            t["stage"] += t2 - t1
            t["publish"] += t3 - t2
        t0 = time.perf_counter()
        pipeline.build_marts(s)
        t["marts"] = time.perf_counter() - t0
        t["load"] = t["pull"] + t["stage"] + t["publish"]
        return {k: round(v, 3) for k, v in t.items()}

    full_wh = work / "home" / "warehouse.duckdb"
    runs: dict[str, list[dict]] = {"empty": [], "full": []}
    for rep in range(2):
        empty_wh = work / "monthly_empty" / f"warehouse{rep}.duckdb"
        shutil.rmtree(empty_wh.parent, ignore_errors=True)
        runs["empty"].append(load(work / "monthly_home_e", empty_wh))
        runs["full"].append(load(work / "monthly_home_f", full_wh))
    best = {k: min(v, key=lambda r: r["load"]) for k, v in runs.items()}
    # leave the full warehouse as it was: drop the extra partition again
    import duckdb

    from warehouse.connection import duckdb_settings

    con = duckdb.connect(str(full_wh), config=duckdb_settings())
    for t in ("core.fct_payroll", "core.fct_employment", "core.fct_spend"):
        con.execute(f"delete from {t} where period = ?", [EXTRA_MONTH])
    con.close()
    return {
        "body": MONTHLY_BODY,
        "month": EXTRA_MONTH.isoformat(),
        "rows": rows,
        "empty": best["empty"],
        "full": best["full"],
        "runs": runs,
        "ratio_load": round(best["full"]["load"] / best["empty"]["load"], 3),
        "ratio_publish": round(best["full"]["publish"] / best["empty"]["publish"], 3),
        "ratio_with_marts": round(
            (best["full"]["load"] + best["full"]["marts"])
            / (best["empty"]["load"] + best["empty"]["marts"]),
            3,
        ),
        "peak_rss_bytes": maxrss_bytes(),
    }


# ------------------------------------------------------------------------------- 6. scaling
_SYL = (
    "ar",
    "bel",
    "cor",
    "dun",
    "el",
    "fen",
    "gar",
    "hol",
    "in",
    "jas",
    "kel",
    "lor",
    "mer",
    "nor",
    "ost",
    "pen",
    "quin",
    "ros",
    "sal",
    "tor",
    "ul",
    "ven",
    "wes",
    "yar",
    "zen",
    "bra",
    "cle",
    "dra",
    "fro",
    "gla",
)
_SECTOR = (
    "Consulting",
    "Systems",
    "Services",
    "Solutions",
    "Facilities",
    "Payroll",
    "Legal",
    "Estates",
    "Training",
    "Recruitment",
    "Software",
    "Audit",
    "Logistics",
    "Cleaning",
)
_SUFFIX = (" Ltd", " Limited", " PLC", " LLP", "")
_PLACES = ("Leeds", "Bristol", "Cardiff", "Glasgow", "Manchester", "London", "York", "Norwich")


def synth_supplier_records(n: int, seed: int = 7):
    """n distinct supplier records (name, postcode, VAT, company number) shaped like AP
    supplier lists: firms of 1 to 5 records each (suffix swaps, upper case, typos, a trailing
    place, registration numbers sometimes missing), a postcode pool growing with n (about
    three firms per postcode), and near-identical different firms sharing first words."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    words = [a.capitalize() + b for a in _SYL for b in _SYL]  # 900 pseudo-words
    seen: set[tuple] = set()
    out: list[tuple] = []
    firm = 0
    n_pc = max(200, n // 9)
    while len(out) < n:
        k = 50_000
        w1 = rng.integers(0, len(words), k)
        w2 = rng.integers(0, len(words), k)
        sec = rng.integers(0, len(_SECTOR), k)
        suf = rng.integers(0, len(_SUFFIX), k)
        pc = rng.integers(0, n_pc, k)
        ch = rng.random(k) < 0.6
        vat = rng.random(k) < 0.4
        nrec = rng.integers(1, 6, k)
        var = rng.integers(0, 6, (k, 5))
        keep_reg = rng.random((k, 5)) < 0.6
        for i in range(k):
            firm += 1
            name = f"{words[w1[i]]} {words[w2[i]]} {_SECTOR[sec[i]]}{_SUFFIX[suf[i]]}"
            p = int(pc[i])
            postcode = f"{chr(65 + p % 26)}{chr(65 + (p // 26) % 26)}{p // 676 % 99 + 1} {p % 9 + 1}{chr(65 + (p // 9) % 26)}{chr(65 + (p // 234) % 26)}"
            cnum = f"{firm:08d}" if ch[i] else None
            vnum = f"GB{(firm * 7919) % 10**9:09d}" if vat[i] else None
            for j in range(int(nrec[i])):
                v = int(var[i, j])
                if v == 1:
                    nm = name.replace(" Ltd", " Limited") if " Ltd" in name else name + " Ltd"
                elif v == 2:
                    nm = name.upper()
                elif v == 3 and len(name) > 8:
                    at = 3 + (firm + j) % (len(name) - 6)
                    nm = name[:at] + name[at + 1 :]
                elif v == 4:
                    nm = f"{name}, {_PLACES[(firm + j) % len(_PLACES)]}"
                else:
                    nm = name
                kr = bool(keep_reg[i, j])
                rec = (nm, postcode, vnum if kr else None, cnum if kr else None)
                if rec not in seen:
                    seen.add(rec)
                    out.append(rec)
            if len(out) >= n:
                break
    return pd.DataFrame(
        out[:n], columns=["supplier_name", "supplier_postcode", "vat_number", "company_number"]
    )


def _grow_fact(con, table: str, n: int, order: str) -> int:
    """Make `table` hold exactly n rows: its first n rows (by `order`) when it has more, else
    copies of itself with every date moved on 2 years per copy (so copies never look like
    duplicates of each other: the duplicate-payment window is 366 days) and load_id and
    source_file suffixed."""
    cols = con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = 'core' "
        "and table_name = ? order by column_index",
        [table.split(".")[1]],
    ).fetchall()
    base = con.execute(f"select count(*) from {table}").fetchone()[0]
    copies = max(1, math.ceil(n / max(base, 1)))
    sel = []
    for c, t in cols:
        if t == "DATE":
            sel.append(f'("{c}" + to_years(2 * i))::DATE as "{c}"')
        elif c in ("load_id", "source_file"):
            sel.append(f'case when i = 0 then "{c}" else "{c}" || \'#\' || i end as "{c}"')
        else:
            sel.append(f'"{c}"')
    con.execute(f"create temp table _src as select * from {table}")
    con.execute(f"delete from {table}")
    con.execute(
        f"insert into {table} select {', '.join(sel)} from (select * from _src order by {order}) s, "
        f"range({copies}) r(i) order by i, {order} limit {n}"
    )
    con.execute("drop table _src")
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def phase_scaling(work: Path, sizes: list[int]) -> dict:
    import duckdb

    import transforms.entity as entity
    import transforms.pipeline as pipeline
    from warehouse.connection import duckdb_settings

    ref_dir = work / "config" / "reference"
    er: dict[str, Any] = {}
    for n in sizes:
        t0 = time.perf_counter()
        recs = synth_supplier_records(n)
        gen_s = time.perf_counter() - t0
        entity.resolve_suppliers(recs.head(2000), reference_dir=ref_dir)  # warm caches
        t0 = time.perf_counter()
        res = entity.resolve_suppliers(recs, reference_dir=ref_dir)
        dt = time.perf_counter() - t0
        er[str(n)] = {
            "seconds": round(dt, 3),
            "records": n,
            "clusters": int(res["supplier_id"].nunique()),
            "synth_seconds": round(gen_s, 2),
        }
        del recs, res
    n1, n2 = sizes[0], sizes[-1]
    er["exponent"] = round(
        math.log(er[str(n2)]["seconds"] / er[str(n1)]["seconds"]) / math.log(n2 / n1), 3
    )

    marts: dict[str, Any] = {}
    full = work / "home" / "warehouse.duckdb"
    timers = Timers()
    import warehouse.models as models

    timers.wrap(models, "_supplier_resolution", "er")
    for n in sizes:
        wh = work / f"marts_{n}" / "warehouse.duckdb"
        shutil.rmtree(wh.parent, ignore_errors=True)
        wh.parent.mkdir(parents=True)
        shutil.copy(full, wh)
        con = duckdb.connect(str(wh), config=duckdb_settings())
        got_s = _grow_fact(con, "core.fct_spend", n, "period, body_code, source_file, source_line")
        got_p = _grow_fact(
            con, "core.fct_payroll", n, "period, body_code, source_file, source_line"
        )
        con.execute("checkpoint")
        con.close()
        s = settings_for(work, work / "home", wh)
        before = timers.seconds.get("er", 0.0)
        t0 = time.perf_counter()
        counts = pipeline.build_marts(s)
        dt = time.perf_counter() - t0
        marts[str(n)] = {
            "seconds": round(dt, 3),
            "spend_lines": got_s,
            "payroll_rows": got_p,
            "supplier_resolution_seconds": round(timers.seconds.get("er", 0.0) - before, 3),
            "mart_rows": counts,
        }
        shutil.rmtree(wh.parent, ignore_errors=True)
    marts["exponent"] = round(
        math.log(marts[str(n2)]["seconds"] / marts[str(n1)]["seconds"]) / math.log(n2 / n1), 3
    )
    return {"entity_resolution": er, "marts": marts, "peak_rss_bytes": maxrss_bytes()}


# --------------------------------------------------------------------------------- machine
def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    pkgs = {}
    for p in (
        "duckdb",
        "great-expectations",
        "pandas",
        "pyarrow",
        "numpy",
        "apache-airflow",
        "clevercsv",
        "python-calamine",
        "rapidfuzz",
        "openpyxl",
    ):
        try:
            pkgs[p] = version(p)
        except PackageNotFoundError:
            pkgs[p] = None
    return {
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_report": [round(x, 2) for x in os.getloadavg()],
        "packages": pkgs,
    }


# ---------------------------------------------------------------------------------- report
def _gb(b: int | None) -> str:
    """Bytes in GB of 10^9 bytes (the issue's unit; a GiB is 7% larger)."""
    return f"{(b or 0) / 1e9:.2f} GB"


def render(res: dict) -> str:
    from transforms.evaluate import format_ratio

    c, p = res["ceiling"], res["pipeline"]
    g = res["generate"]
    rows = [("Figure", "Value", "Target (issue 6)")]
    rows.append(
        ("Scale / bodies / files", f"{res['scale']} / {res['bodies']} / {len(g['files'])}", "")
    )
    dom_rows: dict[str, int] = {}
    for f in g["files"]:
        dom_rows[f["domain"]] = dom_rows.get(f["domain"], 0) + f["rows"]
    rows.append(
        (
            "Generated rows (payroll / AP / employment)",
            f"{dom_rows.get('payroll', 0):,} / {dom_rows.get('ap', 0):,} / {dom_rows.get('employment', 0):,}"
            f" ({sum(f['bytes'] for f in g['files']) / 1e6:,.0f} MB)",
            "",
        )
    )
    rows.append(
        (
            "Ceiling: DuckDB ingest of the same files",
            f"{c['seconds']:.1f} s, {c['rows_per_second']:,} rows/s"
            f" (XLSX→CSV conversion {c['xlsx_conversion_seconds_excluded']:.1f} s excluded)",
            "",
        )
    )
    ratio = c["seconds"] / p["seconds"]
    rows.append(
        (
            "Pipeline total (pull→marts)",
            f"{p['seconds']:.1f} s, {p['rows_per_second']:,} rows/s, {ratio:.3f} of ceiling"
            f" (+{p['imports_seconds_excluded']:.1f} s one-off imports)",
            "≥ 0.25 (aim 0.5)",
        )
    )
    label = {
        "stage": "stage (waiting for the workers; the rest overlapped publish)",
        "publish": "publish (while the next source stages)",
    }
    for k, v in p["stages"].items():
        rows.append(
            (
                f"  {label.get(k, k)}",
                f"{v:.1f} s ({p['rows_read'] / v if v else 0:,.0f} rows/s; "
                f"{c['seconds'] / v if v else 0:.2f}× ceiling time)",
                "",
            )
        )
    for k, v in p["stage_split"].items():
        rows.append(
            (
                f"    stage: {k}",
                f"{v:.1f} s ({100 * v / max(p['stages']['stage'], 1e-9):.0f}% of stage)",
                "",
            )
        )
    for k, v in p["per_domain_stage"].items():
        rows.append(
            (
                f"    stage rate per worker, {k}",
                f"{v['rows_per_second']:,} rows/s ({v['rows']:,} rows, {v['stage_seconds']:.1f} s)",
                "",
            )
        )
    cpu = p.get("load_cpu")
    if cpu and cpu["workers_cpu_seconds"]:
        rows.append(
            (
                "  CPU of the load (pull, stage, publish)",
                f"{cpu['wall_seconds']:.1f} s wall on {res['machine']['cores']} cores: parent "
                f"(pull, publish) {cpu['parent_cpu_seconds']:.1f} s, staging workers "
                f"{cpu['workers_cpu_seconds']:.1f} s (their start-up included)",
                "",
            )
        )
    rows.append(("Peak RSS, whole run (max of phases)", _gb(res["peak_rss_bytes"]), "< 4 GB"))
    for ph, b in res["peak_rss_by_phase"].items():
        rows.append((f"  peak RSS {ph}", _gb(b), ""))
    m = res.get("monthly")
    if m:
        rows.append(
            (
                f"Monthly load {m['body']} {m['month']} ({m['rows']:,} rows): full / empty",
                f"{m['full']['load']:.2f} s / {m['empty']['load']:.2f} s = {m['ratio_load']:.2f}"
                f" (publish {m['ratio_publish']:.2f}; with marts {m['ratio_with_marts']:.2f})",
                "≤ 1.2",
            )
        )
    s = res.get("scaling")
    if s:
        er, mt = s["entity_resolution"], s["marts"]
        ns = [k for k in er if k != "exponent"]
        rows.append(
            (
                "Entity resolution " + " / ".join(f"{int(k):,}" for k in ns) + " records",
                " / ".join(f"{er[k]['seconds']:.1f} s" for k in ns)
                + f", exponent {er['exponent']:.2f}",
                "≤ 1.2",
            )
        )
        rows.append(
            (
                "Marts at " + " / ".join(f"{int(k):,}" for k in ns) + " spend + payroll rows",
                " / ".join(
                    f"{mt[k]['seconds']:.1f} s (ER {mt[k]['supplier_resolution_seconds']:.1f} s)"
                    for k in ns
                )
                + f", exponent {mt['exponent']:.2f}",
                "",
            )
        )
    allq = [x for x in p["scores"] if x["kind"] == "all"]
    for x in allq:
        pr, rc = format_ratio(x["precision"]), format_ratio(x["recall"])
        rows.append((f"P / R {x['measure']}", f"{pr} / {rc}", "unchanged"))
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    out = [f"| {' | '.join(r[i].ljust(w[i]) for i in range(3))} |" for r in rows]
    out.insert(1, f"|{'|'.join('-' * (w[i] + 2) for i in range(3))}|")
    return "\n".join(out)


# ------------------------------------------------------------------------------------ main
def run_phase(args: argparse.Namespace) -> None:
    work = Path(args.work)
    state = json.loads((work / "state.json").read_text()) if (work / "state.json").exists() else {}
    if args.phase == "generate":
        out = phase_generate(work, args.scale, args.employment)
    elif args.phase == "ceiling":
        out = phase_ceiling(work, state["generate"])
    elif args.phase == "pipeline":
        prof = Path(args.profile_out) if args.profile_out else None
        out = phase_pipeline(work, state["generate"], prof, args.workers)
    elif args.phase == "monthly":
        out = phase_monthly(work, state["generate"])
    elif args.phase == "scaling":
        out = phase_scaling(work, [int(x) for x in args.sizes.split(",")])
    else:
        raise SystemExit(f"unknown phase {args.phase}")
    out.setdefault("peak_rss_bytes", maxrss_bytes())
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    (work / f"phase_{args.phase}.json").write_text(json.dumps(out, default=str))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0: a full year (~6 M payroll rows)")
    ap.add_argument("--work", default=None, help="work folder (default .ngss/bench-<scale>)")
    ap.add_argument("--sizes", default="100000,1000000", help="record counts for ER and marts")
    ap.add_argument(
        "--skip", default="", help="comma-separated phases to skip: monthly,scaling,profile"
    )
    ap.add_argument(
        "--employment",
        choices=("monthly", "snapshot"),
        default="monthly",
        help="HR extracts: one per month (default; what mart_function_cost needs) or one "
        "month-end snapshot for the year (500 thousand rows at scale 1; function-cost truth no "
        "longer holds)",
    )
    ap.add_argument("--reuse", action="store_true", help="reuse generated files in --work")
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes staging files side by side (default: the cores); 1 also gives the "
        "split of stage time by step",
    )
    ap.add_argument(
        "--phases",
        default="ceiling,pipeline,monthly,scaling",
        help="with --reuse: the phases to run again; the others' figures come from the last run",
    )
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        run_phase(args)
        return
    work = Path(args.work or PROJECT / ".ngss" / f"bench-{args.scale:g}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    t_run = time.perf_counter()
    state: dict[str, Any] = {}
    if args.reuse and (work / "state.json").exists():
        state = json.loads((work / "state.json").read_text())
    peaks: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def child(phase: str, *extra: str) -> dict:
        print(f"[bench] {phase} ...", flush=True)
        t0 = time.perf_counter()
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--phase",
            phase,
            "--work",
            str(work),
            "--scale",
            str(args.scale),
            "--sizes",
            args.sizes,
            "--employment",
            args.employment,
            "--workers",
            str(args.workers),
            *extra,
        ]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        subprocess.run(cmd, check=True, env=env)
        out = json.loads((work / f"phase_{phase}.json").read_text())
        seconds[phase] = round(time.perf_counter() - t0, 1)
        peaks[phase] = out.get("peak_rss_bytes", 0)
        print(
            f"[bench] {phase} done in {seconds[phase]:.1f} s, peak RSS {_gb(peaks[phase])}",
            flush=True,
        )
        return out

    if "generate" not in state:
        print("[bench] config ...", flush=True)
        build_config(work)
        state = {"generate": child("generate")}
        (work / "state.json").write_text(json.dumps(state, default=str))
    if "generate" not in peaks and "generate" in state:
        peaks["generate"] = state["generate"].get("peak_rss_bytes", 0)
    todo = (
        {x.strip() for x in args.phases.split(",")}
        if args.reuse
        else {"ceiling", "pipeline", "monthly", "scaling"}
    )
    prof_out = results_dir / f"{stamp}-profile.txt"
    extra = [] if "profile" in skip else ["--profile-out", str(prof_out)]
    for ph in ("ceiling", "pipeline", "monthly", "scaling"):
        if ph in skip or (ph not in todo and ph in state):
            if ph in state:
                peaks[ph] = state[ph].get("peak_rss_bytes", 0)
            continue
        state[ph] = child(ph, *(extra if ph == "pipeline" else []))
        (work / "state.json").write_text(json.dumps(state, default=str))
    if "pipeline" not in todo or "profile" in skip:
        prof_out = Path(state["pipeline"].get("profiles", {}).get("file", "skipped"))
        extra = ["reused"]
    (work / "state.json").write_text(json.dumps(state, default=str))
    bodies = yaml.safe_load((work / "config" / "generator" / "bodies.yaml").read_text())["bodies"]
    res = {
        "timestamp": stamp,
        "scale": args.scale,
        "bodies": len(bodies),
        "machine": machine(),
        "phase_seconds": seconds,
        "peak_rss_by_phase": peaks,
        "peak_rss_bytes": max(max(peaks.values()), maxrss_bytes(resource.RUSAGE_CHILDREN)),
        "generate": {**state["generate"], "files_count": len(state["generate"]["files"])},
        "ceiling": state["ceiling"],
        "pipeline": state["pipeline"],
        "monthly": state.get("monthly"),
        "scaling": state.get("scaling"),
        "wall_seconds": round(time.perf_counter() - t_run, 1),
    }
    res["pipeline_to_ceiling"] = round(res["ceiling"]["seconds"] / res["pipeline"]["seconds"], 4)
    table = render(res)
    (results_dir / f"{stamp}.json").write_text(json.dumps(res, indent=2, default=str))
    mach = res["machine"]
    (results_dir / f"{stamp}.md").write_text(
        f"# ngss bench {stamp} (scale {args.scale:g})\n\n"
        f"Machine: {mach['cores']} cores, {_gb(mach['memory_bytes'])}, {mach['cpu_model']}, "
        f"Python {mach['python']}; load average at the end {mach['loadavg_at_report']} "
        "(other work on the machine slows every figure, the ceiling included); "
        + ", ".join(f"{k} {v}" for k, v in mach["packages"].items() if v)
        + f"\n\n{table}\n\nWall time of the whole bench: {res['wall_seconds']:.0f} s. "
        f"Profile: {prof_out.name}.\n",
        encoding="utf-8",
    )
    print()
    print(table)
    print(
        f"\n[bench] wrote {results_dir / (stamp + '.json')} and .md ({res['wall_seconds']:.0f} s)"
    )


if __name__ == "__main__":
    main()
