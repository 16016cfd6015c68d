"""Analysts never block loads: an analyst's read session stays open across a load.

An analyst process opens the warehouse the supported way (:func:`warehouse.connection.
connect_reader`, which ``ngss sql`` and ``ngss status`` use), runs a query, then keeps the
session open while the test publishes a new load and rebuilds the marts. The load must succeed
(no "Could not set lock on file"), the analyst's open session must still see the old state whole
(a consistent snapshot), and a new session must see the new state.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.helpers import HEADER, drop, make_home
from transforms import pipeline

PROJECT_ROOT = Path(__file__).resolve().parents[2]

ANALYST = r"""
import sys
from pathlib import Path
from warehouse.connection import connect_reader
con = connect_reader(Path(sys.argv[1]))
q = "SELECT count(*), sum(amount_gbp) FROM core.fct_spend"
print("before", *con.execute(q).fetchone(), flush=True)
sys.stdin.readline()                      # hold the session open until the load is done
print("during", *con.execute(q).fetchone(), flush=True)
con.close()
con = connect_reader(Path(sys.argv[1]))
print("fresh", *con.execute(q).fetchone(), flush=True)
"""


def _file(month: int, n: int) -> str:
    return HEADER + "".join(
        f"HM Revenue & Customs,HMRC,{1 + i % 28:02d}/{month:02d}/2025,IT,Digital,Kestrel Data Ltd,{month}-{i},25000.00\n"
        for i in range(n)
    )


def test_a_load_succeeds_while_an_analyst_session_is_open(tmp_path) -> None:
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "spend_2025_03.csv", _file(3, 10))
    pipeline.load_source(settings, "hmrc__spend")

    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(settings.warehouse)], cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert analyst.stdout.readline().split() == ["before", "10", "250000.00"]
        # the analyst's read-only session is open: DuckDB would refuse a writer on the same
        # file; the writers' file is not the one the analyst holds
        drop(settings, "hmrc", "spend_2025_04.csv", _file(4, 5))
        (summary,) = pipeline.load_source(settings, "hmrc__spend")
        assert summary["status"] == "published" and summary["rows_published"] == 5
        pipeline.build_marts(settings)
        out, err = analyst.communicate("go\n", timeout=60)
    finally:
        if analyst.poll() is None:
            analyst.kill()
    assert analyst.returncode == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert lines == [["during", "10", "250000.00"], ["fresh", "15", "375000.00"]]
    assert "lock" not in err.lower()


def test_duckdb_itself_refuses_a_writer_while_a_reader_holds_the_file(tmp_path) -> None:
    """Why the snapshot exists (measured, duckdb 2.0): a read-only connection in another
    process stops a writer from opening the same file."""
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(path)!r}, read_only=True); print('r', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "r"
        try:
            duckdb.connect(str(path)).close()
            blocked = False
        except duckdb.IOException as exc:
            blocked = "lock" in str(exc).lower()
        assert blocked
    finally:
        reader.communicate("x\n", timeout=30)


def test_reader_opens_the_snapshot_never_the_writers_file(tmp_path) -> None:
    from warehouse.connection import connect_reader, snapshot_path

    settings = make_home(tmp_path)
    drop(settings, "hmrc", "spend_2025_03.csv", _file(3, 3))
    pipeline.load_source(settings, "hmrc__spend")
    snap = snapshot_path(settings.warehouse)
    assert not snap.exists()  # publishing alone does not copy the warehouse ...
    pipeline.build_marts(settings)  # ... the marts rebuild that follows every load does
    assert snap.exists() and snap.name == "warehouse.read.duckdb"
    con = connect_reader(settings.warehouse)
    try:
        ((name,),) = con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal AND database_name = current_database()").fetchall()
        assert Path(name).name == "warehouse.read.duckdb"
        # and while it is open, a writer can still open the warehouse
        w = duckdb.connect(str(settings.warehouse))
        w.close()
    finally:
        con.close()
