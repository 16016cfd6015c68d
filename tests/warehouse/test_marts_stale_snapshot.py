"""The analysts' read snapshot never shows new core with old marts: a publish marks the marts
stale, a failed marts rebuild leaves them stale, and no writer session copies the snapshot
until a rebuild commits (warehouse.connection.writing, ops.marts_status)."""

from __future__ import annotations

import duckdb
import pytest

from tests.helpers import HEADER, drop, make_home
from transforms import pipeline
from warehouse.connection import connect_reader, snapshot_path, writing

LINE = "HM Revenue & Customs,HMRC,{d:02d}/03/2025,IT Services,Digital,Kestrel Data Ltd,T{i:04d},{a}.00\n"


def _file(n: int) -> str:
    return HEADER + "".join(LINE.format(d=1 + i % 28, i=i, a=25000 + i) for i in range(n))


def _state(path) -> tuple[int, int, bool]:
    """(rows in core.fct_spend, rows in marts.mart_shared_suppliers' source, marts_stale)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        core = con.execute("select count(*) from core.fct_spend").fetchone()[0]
        marts = con.execute("select count(*) from marts.int_supplier_resolution").fetchone()[0]
        stale = con.execute("select marts_stale from ops.marts_status").fetchone()[0]
        return core, marts, stale
    finally:
        con.close()


def test_a_failed_rebuild_keeps_the_snapshot_whole(tmp_path, monkeypatch):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "spend_2025_03.csv", _file(3))
    pipeline.load_source(settings, "hmrc__spend")
    pipeline.build_marts(settings)
    snap = snapshot_path(settings.warehouse)
    before = _state(snap)
    assert before[0] == 3 and not before[2]

    # a corrected file with more lines is published, then the rebuild fails half way
    drop(
        settings,
        "hmrc",
        "spend_2025_03_v2.csv",
        _file(5).replace("Kestrel Data Ltd,T0004", "Brackenford Ltd,T0004"),
    )
    pipeline.load_source(settings, "hmrc__spend")
    assert _state(settings.warehouse)[2] is True  # core changed, marts now stale

    import warehouse.models as models

    def broken(*args, **kwargs):
        raise RuntimeError("planted failure inside the marts rebuild")

    monkeypatch.setattr(models, "_comment", broken)
    with pytest.raises(RuntimeError, match="planted failure"):
        pipeline.build_marts(settings)
    # the writers' file: new core, old marts, flagged; the snapshot: the whole old state
    core, marts, stale = _state(settings.warehouse)
    assert (core, stale) == (5, True) and marts == before[1]
    assert _state(snap) == before
    # another writer session (e.g. ngss evaluate) does not copy the stale state either
    with writing(settings.warehouse):
        pass
    assert _state(snap) == before
    con = connect_reader(settings.warehouse)
    try:
        assert con.execute("select count(*) from core.fct_spend").fetchone()[0] == 3
    finally:
        con.close()

    monkeypatch.undo()
    pipeline.build_marts(settings)  # the rebuild succeeds: snapshot moves to the new state
    after = _state(snap)
    assert after[0] == 5 and not after[2] and after[1] == before[1] + 1
