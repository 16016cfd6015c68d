"""pipeline.publish publishes a source's loads in one transaction
(warehouse.publish.publish_loads): the same warehouse as one transaction per load, and a load
that fails leaves what publishing one by one leaves."""

from __future__ import annotations

import duckdb
import pytest

from tests.helpers import SPEND_SOURCE, make_home
from tests.transforms.test_stage_pool import _files
from transforms import pipeline


def _state(settings) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(
            "select l.period, l.attempt, l.status, l.rows_read, l.rows_published, "
            "l.rows_quarantined, l.replaced_load_id is null, "
            "(select count(*) from core.fct_spend f where f.load_id = l.load_id), "
            "(select sum(amount_gbp) from core.fct_spend f where f.load_id = l.load_id), "
            "(select count(*) from ops.quarantine_row q where q.load_id = l.load_id), "
            "(select count(*) from ops.validation_run v where v.load_id = l.load_id) "
            "from ops.load_log l order by l.period, l.attempt"
        ).fetchall()
    finally:
        con.close()


def _one_by_one(settings, refs, publish_load) -> list[dict]:
    from warehouse.connection import writing

    with writing(settings.warehouse, snapshot=False) as con:
        return [publish_load(con, ref, "core.fct_spend") for ref in refs]


def test_together_equals_one_by_one(tmp_path, monkeypatch):
    """Four HMRC files (41..44 rows, one quarantined each), published twice: the second time
    each load is attempt 2 and its partition holds the same rows, not twice as many. The
    batch never falls back to a transaction per load."""
    import warehouse.publish

    real = warehouse.publish.publish_load

    def one_load(*args, **kwargs):
        raise AssertionError("a transaction per load")

    monkeypatch.setattr(warehouse.publish, "publish_load", one_load)
    homes = []
    for name in ("together", "alone"):
        settings = make_home(tmp_path / name, [SPEND_SOURCE])
        _files(settings)
        refs = pipeline.stage_all(settings, pipeline.pull(settings, "hmrc__spend"))
        homes.append((settings, refs))
    (together, refs_t), (alone, refs_a) = homes
    for _ in range(2):
        got = pipeline.publish(together, refs_t)
        want = _one_by_one(alone, refs_a, real)
        strip = lambda s: {k: v for k, v in s.items() if k != "load_id"}  # noqa: E731
        assert [strip(s) for s in got] == [strip(s) for s in want]
    state = _state(together)
    assert state == _state(alone)
    # by hand: 4 partitions x 2 attempts; file m has 40 + m rows, row 3 ("TBC") quarantined
    assert [(s[0].month, s[1], s[4], s[5], s[7]) for s in state] == [
        (m, attempt, 39 + m, 1, 39 + m) for m in (1, 2, 3, 4) for attempt in (1, 2)
    ]
    assert [s[8] for s in state[::2]] == [
        sum(25000 + i for i in range(40 + m) if i != 3) for m in (1, 2, 3, 4)
    ]


def test_a_failing_load_leaves_what_one_by_one_leaves(tmp_path):
    """The third of four loads does not reconcile: the batch is rolled back and published one
    by one, so the first two are published, the error names the third, the fourth waits."""
    settings = make_home(tmp_path, [SPEND_SOURCE])
    _files(settings)
    refs = pipeline.stage_all(settings, pipeline.pull(settings, "hmrc__spend"))
    broken = [dict(r) for r in refs]
    broken[2]["rows_read"] += 1
    with pytest.raises(Exception, match=rf"{broken[2]['file_name']}: rows read 44"):
        pipeline.publish(settings, broken)
    assert [(s[0].month, s[1], s[4]) for s in _state(settings)] == [(1, 1, 40), (2, 1, 41)]
    pipeline.publish(settings, refs)
    assert [(s[0].month, s[1], s[4]) for s in _state(settings)] == [
        (1, 1, 40),
        (1, 2, 40),
        (2, 1, 41),
        (2, 2, 41),
        (3, 1, 42),
        (4, 1, 43),
    ]


def test_loads_staged_before_the_arrow_work_files_still_publish(tmp_path):
    """A load staged by the release before (its rows in canonical.parquet) and published
    after the upgrade publishes the same rows."""
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    settings = make_home(tmp_path, [SPEND_SOURCE])
    _files(settings)
    refs = pipeline.stage_all(settings, pipeline.pull(settings, "hmrc__spend"))
    for ref in refs[:2]:
        arrow = tmp_path / ref["work_dir"] / pipeline.CANONICAL_FILE
        pq.write_table(feather.read_table(arrow), arrow.with_name("canonical.parquet"))
        arrow.unlink()
    pipeline.publish(settings, refs)
    assert [(s[0].month, s[4], s[7]) for s in _state(settings)] == [
        (m, 39 + m, 39 + m) for m in (1, 2, 3, 4)
    ]


def test_publishing_runs_on_one_duckdb_thread(tmp_path, monkeypatch):
    """The loads are inserted on one DuckDB thread (the staging workers need the other
    core), under the publishing session's memory limit (768 MB, unless
    NGSS_DUCKDB_MEMORY_LIMIT is set) and checkpoint threshold (256 MB)."""
    import warehouse.publish

    settings = make_home(tmp_path, [SPEND_SOURCE])
    _files(settings)
    refs = pipeline.stage_all(settings, pipeline.pull(settings, "hmrc__spend"))
    seen = []
    real = warehouse.publish.publish_loads

    def spy(con, loads):
        seen.append(
            con.execute(
                "select current_setting('threads'), current_setting('memory_limit'), "
                "current_setting('checkpoint_threshold')"
            ).fetchone()
        )
        return real(con, loads)

    monkeypatch.setattr(warehouse.publish, "publish_loads", spy)
    monkeypatch.delenv("NGSS_DUCKDB_MEMORY_LIMIT", raising=False)
    pipeline.publish(settings, refs)
    # DuckDB shows sizes in its own units: 768 MB is 732.4 MiB, 256 MB 244.1 MiB
    assert seen == [(1, "732.4 MiB", "244.1 MiB")]
    monkeypatch.setenv("NGSS_DUCKDB_MEMORY_LIMIT", "1GB")
    pipeline.publish(settings, refs)
    assert seen[1] == (1, "953.6 MiB", "244.1 MiB")
