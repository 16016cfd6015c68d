"""Every ngss DuckDB connection opens under a memory cap (warehouse.connection.duckdb_settings):
2 GB unless NGSS_DUCKDB_MEMORY_LIMIT says otherwise, so a full year's marts rebuild spills to
disk instead of taking most of the machine (5.3 GB uncapped, 2.2 GB capped, measured)."""

from __future__ import annotations

import warehouse.connection as connection


def _limit(con) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_writer_and_reader_default_to_two_gigabytes(tmp_path, monkeypatch):
    monkeypatch.delenv("NGSS_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("NGSS_DUCKDB_THREADS", raising=False)
    path = tmp_path / "w.duckdb"
    con = connection.connect_writer(path)
    assert _limit(con) == "1.8 GiB"  # DuckDB prints 2 GB (10^9 bytes) in GiB
    # the writer checkpoints when its session ends, not at every 16 MB of log
    assert (
        con.execute("select current_setting('checkpoint_threshold')").fetchone()[0] == "953.6 MiB"
    )
    con.execute("checkpoint")
    con.close()
    reader = connection.connect_reader(path)
    assert _limit(reader) == "1.8 GiB"
    reader.close()


def test_environment_sets_the_limit_and_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("NGSS_DUCKDB_MEMORY_LIMIT", "500MB")
    monkeypatch.setenv("NGSS_DUCKDB_THREADS", "1")
    con = connection.connect_writer(tmp_path / "w.duckdb")
    assert _limit(con) == "476.8 MiB"  # 500 * 10^6 bytes
    assert con.execute("select current_setting('threads')").fetchone()[0] == 1
    con.close()
