"""Staging on two processes (pipeline.StagePool, used by ``ngss load`` and the benchmark) gives
the same loads, rows and work files as staging one file after another."""

from __future__ import annotations

import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tests.helpers import HEADER, SPEND_SOURCE, make_home
from transforms import pipeline

LINE = "HM Revenue & Customs,HMRC,{d:02d}/{m:02d}/2025,IT Services,Digital,Kestrel Data Ltd,T{m}{i:04d},{a}\n"


def _files(settings) -> None:
    folder = settings.landing / "hmrc"
    folder.mkdir(parents=True)
    for m in (1, 2, 3, 4):
        rows = [LINE.format(d=1 + i % 27, m=m, i=i, a=f"{25000 + i}.00") for i in range(40 + m)]
        rows[3] = rows[3].replace("25003.00", "TBC")  # one quarantined row per file
        (folder / f"spend_2025_{m:02d}.csv").write_text(HEADER + "".join(rows), encoding="cp1252")


def _summary(refs: list[dict], settings) -> list[tuple]:
    out = []
    for r in refs:
        q = pq.read_table(f"{r['work_dir']}/quarantine.parquet").to_pylist()
        good = feather.read_table(f"{r['work_dir']}/{pipeline.CANONICAL_FILE}").num_rows
        out.append(
            (
                r["file_name"],
                r["period"],
                r["status"],
                r["rows_read"],
                r["rows_good"],
                r["rows_quarantined"],
                good,
                [(x["source_line"], x["rule_ids"]) for x in q],
            )
        )
    return out


def test_two_workers_stage_what_one_does(tmp_path):
    settings = make_home(tmp_path, [SPEND_SOURCE])
    _files(settings)
    archived = pipeline.pull(settings, "hmrc__spend")
    assert len(archived) == 4
    one = _summary(pipeline.stage_all(settings, archived), settings)
    with pipeline.StagePool(2) as pool:
        assert pool.workers == 2 and pool._executor is not None
        two = _summary(pool.stage(settings, archived), settings)
    assert two == one
    assert [x[1] for x in one] == ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]
    assert [x[3:6] for x in one] == [(41, 40, 1), (42, 41, 1), (43, 42, 1), (44, 43, 1)]
    assert all(x[7] == [(5, ["spend.amount_valid"])] for x in one)


def _second_source(settings) -> None:
    """A second body (DWP) with two files, each with one quarantined row."""
    folder = settings.landing / "dwp"
    folder.mkdir(parents=True)
    for m in (5, 6):
        rows = [
            LINE.replace("HMRC", "DWP").format(d=1 + i, m=m, i=i, a=f"{26000 + i}.00")
            for i in range(20)
        ]
        rows[2] = rows[2].replace("26002.00", "n/a")
        (folder / f"spend_2025_{m:02d}.csv").write_text(HEADER + "".join(rows), encoding="cp1252")


def _warehouse(settings) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return (
            con.execute(
                "select source_id, period, status, rows_read, rows_published, rows_quarantined "
                "from ops.load_log order by all"
            ).fetchall()
            + con.execute(
                "select source_id, count(*), sum(amount_gbp) from core.fct_spend group by 1 order by 1"
            ).fetchall()
        )
    finally:
        con.close()


def test_load_sources_publishes_one_source_while_the_next_stages(tmp_path, monkeypatch):
    dwp = {**SPEND_SOURCE, "source_id": "dwp__spend", "body": "dwp"}
    dwp["pull"] = {**SPEND_SOURCE["pull"], "path": "dwp"}
    ids = ["hmrc__spend", "dwp__spend"]
    one = make_home(tmp_path / "one", [SPEND_SOURCE, dwp])
    two = make_home(tmp_path / "two", [SPEND_SOURCE, dwp])
    for s in (one, two):
        _files(s)
        _second_source(s)
    for sid in ids:  # one source after another, in this process
        pipeline.load_source(one, sid)

    events: list[str] = []
    real_publish, real_submit = pipeline.publish, pipeline.StagePool.submit

    def publish(settings, refs, con=None):
        events.append("publish " + refs[0]["source_id"])
        return real_publish(settings, refs, con)

    def submit(self, settings, archived):
        events.append("submit " + archived[0]["source_id"])
        return real_submit(self, settings, archived)

    monkeypatch.setattr(pipeline, "publish", publish)
    monkeypatch.setattr(pipeline.StagePool, "submit", submit)
    import warehouse.connection as connection

    real_connect, opened = connection.connect_writer, []

    def connect_writer(path):
        opened.append(path)
        return real_connect(path)

    monkeypatch.setattr(connection, "connect_writer", connect_writer)
    seen = []
    with pipeline.StagePool(2) as pool:
        summaries = pipeline.load_sources(two, ids, pool, lambda sid, s: seen.append((sid, len(s))))
    # both sources were published in one writer session (pipeline.publishing)
    assert opened == [two.warehouse]
    # DWP's files were handed to the workers before HMRC's loads were published
    assert events == [
        "submit hmrc__spend",
        "submit dwp__spend",
        "publish hmrc__spend",
        "publish dwp__spend",
    ]
    assert seen == [("hmrc__spend", 4), ("dwp__spend", 2)]
    assert [s["rows_quarantined"] for s in summaries] == [1, 1, 1, 1, 1, 1]
    assert _warehouse(two) == _warehouse(one)
    # 4 HMRC files of 41..44 rows and 2 DWP files of 20 rows, one row of each quarantined
    assert [r[1:] for r in _warehouse(two)[-2:]] == [
        (2 * 19, sum(26000 + i for i in range(20) if i != 2) * 2),
        (40 + 41 + 42 + 43, sum(25000 + i for m in (1, 2, 3, 4) for i in range(40 + m) if i != 3)),
    ]


def _work_files(refs: list[dict]) -> list[tuple]:
    """Each load's verdicts and GX documents as written, the combined-run note aside."""
    import json
    from pathlib import Path

    out = []
    for r in refs:
        work = Path(r["work_dir"])
        docs = json.loads((work / "gx_results.json").read_text(encoding="utf-8"))
        notes = [d["meta"].pop("ngss_batch", None) for d in docs]
        for d in docs:
            d["meta"].pop("batch_markers", None)
        out.append((json.loads((work / "validation.json").read_text(encoding="utf-8")), docs))
        out.append(notes)
    return out


def test_files_validated_together_keep_their_own_results(tmp_path):
    """stage_all folds the four files' row suites into one GX run; each load's rows, verdicts
    and GX documents are what staging the file alone gives (batch_rows=0: one run per file)."""
    settings = make_home(tmp_path, [SPEND_SOURCE])
    _files(settings)
    archived = pipeline.pull(settings, "hmrc__spend")
    alone_refs = pipeline.stage_all(settings, archived, batch_rows=0)
    alone = (_summary(alone_refs, settings), _work_files(alone_refs))
    together_refs = pipeline.stage_all(settings, archived)
    together = (_summary(together_refs, settings), _work_files(together_refs))
    assert together[0] == alone[0]
    verdicts_alone, verdicts_together = alone[1][0::2], together[1][0::2]
    assert verdicts_together == verdicts_alone
    # the file suite runs per file; the spend.row suite ran once per file alone and once for
    # the four files together, on each column's distinct values: the amounts 25000 + i
    # (i < 40 + m, row 3 "TBC", missing) are the most varied column, 40 + m values in file m
    # and 44 in the four files
    assert alone[1][1::2] == [
        [None, {"frames": 1, "position": 0, "rows": 40 + m, "distinct_rows": 40 + m}]
        for m in (1, 2, 3, 4)
    ]
    assert together[1][1::2] == [
        [None, {"frames": 4, "position": k, "rows": 40 + m, "distinct_rows": 44}]
        for k, m in enumerate((1, 2, 3, 4))
    ]
    # each load's own failing line: line 5 (row 3, amount "TBC"), in each file's own document
    for validation, docs in verdicts_together:
        (amount,) = [v for v in validation if v["rule_id"] == "spend.amount_valid"]
        assert (amount["success"], amount["unexpected_count"]) == (False, 1)
        (row_doc,) = [d for d in docs if d["suite_name"] == "spend.row"]
        assert row_doc["statistics"]["unsuccessful_expectations"] == 1


def test_chunks_keep_file_order_and_split_by_bytes(tmp_path):
    sizes = [100, 100, 100, 100, 400, 50, 50]  # bytes
    archived = []
    for i, n in enumerate(sizes):
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(b"x" * n)
        archived.append({"archive_path": str(path), "file_name": path.name})
    two = pipeline._chunks(archived, 2)
    # 900 bytes: the first four files (400) and the 400-byte file's middle at 600 > 450
    assert [[a["file_name"] for a in c] for c in two] == [
        ["f0.csv", "f1.csv", "f2.csv", "f3.csv"],
        ["f4.csv", "f5.csv", "f6.csv"],
    ]
    assert [a for c in pipeline._chunks(archived, 3) for a in c] == archived
    assert pipeline._chunks(archived[:1], 2) == [archived[:1]]
    assert pipeline._chunks([], 2) == []
    missing = [{"archive_path": str(tmp_path / "gone.csv"), "file_name": "gone.csv"}] * 2
    assert pipeline._chunks(missing, 2) == [[missing[0]], [missing[1]]]


def test_load_sources_hands_three_sources_ahead_to_the_workers(monkeypatch):
    """Six sources: the fourth is handed to the workers before the first is published, each
    later one as the one three places before it is published, all are published in order, in
    one writer session opened when the first source is staged and closed after the last
    publish."""
    from contextlib import contextmanager

    events: list[str] = []

    class Pool:
        def submit(self, settings, archived):
            events.append(f"submit {archived}")
            return archived

        def collect(self, handle):
            return [{"source_id": handle}]

    @contextmanager
    def publishing(settings):
        events.append("open")
        yield "session"
        events.append("close")

    def publish(settings, refs, con=None):
        events.append(f"publish {refs[0]['source_id']} in {con}")
        return []

    class Registry:
        def source(self, sid):
            return sid

    monkeypatch.setattr(pipeline, "load_registry", lambda config: Registry())
    monkeypatch.setattr(pipeline, "pull", lambda settings, sid: sid)
    monkeypatch.setattr(pipeline, "publishing", publishing)
    monkeypatch.setattr(pipeline, "publish", publish)
    monkeypatch.setattr(pipeline, "alert_owners", lambda settings, summaries: 0)
    assert pipeline.SOURCES_AHEAD == 3
    settings = type("Settings", (), {"config": None})()
    pipeline.load_sources(settings, ["a", "b", "c", "d", "e", "f"], Pool())
    assert events == [
        "submit a",
        "submit b",
        "submit c",
        "submit d",
        "open",
        "publish a in session",
        "submit e",
        "publish b in session",
        "submit f",
        "publish c in session",
        "publish d in session",
        "publish e in session",
        "publish f in session",
        "close",
    ]
    events.clear()
    assert pipeline.load_sources(settings, [], Pool()) == []
    assert events == []  # nothing to load: the warehouse is not opened


def test_an_unknown_source_fails_before_the_warehouse_is_opened(tmp_path):
    """A source id the registry lacks (even after a good one) is a ConfigError at once: nothing
    pulled, no warehouse created, the writer lock never taken."""
    from transforms.errors import ConfigError
    from warehouse.connection import _lock_path

    settings = make_home(tmp_path, [SPEND_SOURCE])
    _files(settings)
    with pytest.raises(ConfigError, match="no__such"):
        pipeline.load_sources(settings, ["hmrc__spend", "no__such"])
    assert not settings.warehouse.exists()
    assert not _lock_path(settings.warehouse).exists()
    assert not any(settings.archive.rglob("*.csv"))


def test_a_small_source_is_staged_whole_by_one_worker(tmp_path, monkeypatch):
    """A source of at most SPLIT_SOURCE_BYTES goes to one worker whole (its row suites in one
    GX run); a bigger one is cut into one run per worker."""
    archived = []
    for i in range(4):
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(b"x" * 100)
        archived.append({"archive_path": str(path), "file_name": path.name})
    pool = pipeline.StagePool(2)
    monkeypatch.setattr(pipeline, "SPLIT_SOURCE_BYTES", 400)
    assert pool._parts(archived) == 1  # 400 bytes
    monkeypatch.setattr(pipeline, "SPLIT_SOURCE_BYTES", 399)
    assert pool._parts(archived) == 2
    assert pipeline.StagePool(3)._parts(archived) == 3
    assert pool._parts(archived[:1]) == 1  # 100 bytes
    # a file gone from the archive counts 1 byte (staging reports it)
    assert pool._parts([{"archive_path": str(tmp_path / "gone.csv")}]) == 1


def test_the_load_columns_of_a_work_file_hold_one_value_each(tmp_path):
    """canonical.arrow: load_id, source_id, body_code and source_file dictionary-encoded with
    one entry, period a date32 of the load's period, then the rows' own columns."""
    import datetime as dt

    import pyarrow as pa

    settings = make_home(tmp_path, [SPEND_SOURCE])
    _files(settings)
    (ref, *_) = pipeline.stage_all(settings, pipeline.pull(settings, "hmrc__spend"))
    table = feather.read_table(f"{ref['work_dir']}/{pipeline.CANONICAL_FILE}")
    assert table.num_rows == 40 and table.column_names[:6] == [
        "load_id",
        "source_id",
        "body_code",
        "period",
        "source_file",
        "source_line",
    ]
    for name, value in [
        ("load_id", ref["load_id"]),
        ("source_id", "hmrc__spend"),
        ("body_code", "hmrc"),
        ("source_file", "spend_2025_01.csv"),
    ]:
        column = table.column(name).combine_chunks()
        assert column.type == pa.dictionary(pa.int32(), pa.string())
        assert column.dictionary.to_pylist() == [value]
        assert set(column.to_pylist()) == {value}
    assert table.schema.field("period").type == pa.date32()
    assert set(table.column("period").to_pylist()) == {dt.date(2025, 1, 1)}
    # the 41 rows but line 5 (amount "TBC", quarantined)
    assert table.column("source_line").to_pylist() == [n for n in range(2, 43) if n != 5]
