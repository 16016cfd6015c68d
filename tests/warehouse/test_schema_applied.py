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


def test_evaluation_counts_hold_pair_counts_past_two_to_the_31(tmp_path):
    """Supplier resolution on the full-scale benchmark year counts 17,381,014,283 true pairs."""
    con = connection.connect_writer(tmp_path / "w.duckdb")
    try:
        con.execute(
            "insert into ops.evaluation values (now()::timestamp, 't', 'supplier_resolution', "
            "'all', 17381014283, 0, 2147483648, 1.0, 1.0, null)"
        )
        assert con.execute(
            "select true_positives, false_negatives from ops.evaluation"
        ).fetchall() == [(17381014283, 2147483648)]
    finally:
        con.close()


def test_a_warehouse_with_integer_counts_is_widened(tmp_path):
    path = tmp_path / "old.duckdb"
    con = connection.connect_writer(path)
    con.execute("drop table ops.evaluation")
    con.execute(
        "create table ops.evaluation (evaluated_at timestamp not null, ground_truth varchar not null, "
        "measure varchar not null, kind varchar not null, true_positives integer not null, "
        'false_positives integer not null, false_negatives integer not null, "precision" double, '
        "recall double, detail varchar)"
    )
    con.execute("delete from ops.schema_applied")  # as if built by code before the change
    con.close()
    con = connection.connect_writer(path)
    try:
        types = dict(
            con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = 'ops' and table_name = 'evaluation'"
            ).fetchall()
        )
        assert types["true_positives"] == types["false_negatives"] == "BIGINT"
    finally:
        con.close()
