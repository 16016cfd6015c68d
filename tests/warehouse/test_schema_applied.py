"""The writer applies the DDL when the warehouse's recorded schema digest differs from the
code's, not on every open (warehouse.connection.connect_writer)."""

from __future__ import annotations

import duckdb

import warehouse.connection as connection


def _comment(path) -> str | None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select comment from duckdb_tables() where schema_name = 'ops' and table_name = 'load_log'"
        ).fetchone()[0]
    finally:
        con.close()


def test_ddl_runs_on_a_new_warehouse_and_on_a_changed_schema_only(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    con = connection.connect_writer(path)
    digest = con.execute("select digest from ops.schema_applied").fetchall()
    con.close()
    assert digest == [(connection.schema_digest(),)]
    original = _comment(path)
    assert original and original.lower().startswith("one row per")

    # someone blanks a comment; reopening with the same schema leaves it alone (no DDL run)
    con = duckdb.connect(str(path))
    con.execute("comment on table ops.load_log is 'changed by hand'")
    con.close()
    connection.connect_writer(path).close()
    assert _comment(path) == "changed by hand"

    # code with different DDL: the schema is applied again and the digest recorded
    monkeypatch.setattr(connection, "schema_digest", lambda: "0" * 64)
    con = connection.connect_writer(path)
    assert con.execute("select digest from ops.schema_applied").fetchall() == [("0" * 64,)]
    con.close()
    assert _comment(path) == original
