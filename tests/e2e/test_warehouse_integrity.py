"""Invariants of the warehouse built from the whole bundle: every code resolves to a body,
every table and column is documented, the ops tables agree with each other."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("bundle")


@pytest.mark.parametrize(
    "table, column",
    [
        pytest.param("core.fct_spend", "body_code", id="spend-publisher"),
        pytest.param("core.fct_spend", "entity_code", id="spend-paying-body"),
        pytest.param("core.fct_spend", "department_code", id="spend-department"),
        pytest.param("core.fct_post", "organisation_code", id="post-organisation"),
        pytest.param("core.fct_post", "parent_code", id="post-parent"),
        pytest.param("core.fct_workforce", "organisation_code", id="workforce-organisation"),
        pytest.param("core.dim_organisation", "parent_code", id="dim-parent"),
    ],
)
def test_every_code_is_a_body_in_dim_organisation(bundle_db, table, column):
    missing = bundle_db.execute(
        f"select distinct {column} from {table} where {column} is not null "
        f"and {column} not in (select body_code from core.dim_organisation)"
    ).fetchall()
    assert missing == []


def test_every_published_spend_row_names_its_paying_body(bundle_db):
    assert bundle_db.execute("select count(*) from core.fct_spend where entity_code is null").fetchall() == [(0,)]


def test_every_table_and_column_is_documented(bundle_db):
    tables = bundle_db.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where schema_name in ('core', 'marts', 'ops') and coalesce(comment, '') = ''"
    ).fetchall()
    columns = bundle_db.execute(
        "select schema_name || '.' || table_name || '.' || column_name from duckdb_columns() "
        "where schema_name in ('core', 'marts', 'ops') and coalesce(comment, '') = ''"
    ).fetchall()
    assert tables == [] and columns == []
    grains = bundle_db.execute(
        "select table_name, comment from duckdb_tables() where schema_name in ('core', 'marts', 'ops')"
    ).fetchall()
    assert all(comment.startswith("One row per") for _, comment in grains), grains


def test_live_partitions_are_published_loads(bundle_db):
    rows = bundle_db.execute(
        "select p.source_id, l.status, l.period = p.period from ops.partition p "
        "join ops.load_log l using (load_id)"
    ).fetchall()
    assert len(rows) == 28  # 16 spend + 8 posts + 4 monthly workforce files
    assert {status for _, status, _ in rows} == {"published"}
    assert all(same for _, _, same in rows)


def test_craven_grand_total_is_a_control_total_that_agrees(bundle_db):
    (figures,) = bundle_db.execute(
        "select v.success, v.kwargs_json from ops.validation_result v join ops.load_log l using (load_id) "
        "where l.source_id = 'craven-district-council__spend' and v.rule_id = 'file.control_total'"
    ).fetchall()
    success, kwargs = figures
    assert success is True
    assert '"control_total_gbp": "726583.94"' in kwargs and '"loaded_count": 171' in kwargs


def test_every_load_reconciles(bundle_db):
    bad = bundle_db.execute(
        "select load_id from ops.load_log where rows_read <> rows_published + rows_quarantined"
    ).fetchall()
    assert bad == []
    per_load = bundle_db.execute(
        "select l.load_id, l.rows_quarantined, count(q.load_id) from ops.load_log l "
        "left join ops.quarantine_row q using (load_id) group by all having l.rows_quarantined <> count(q.load_id)"
    ).fetchall()
    assert per_load == []
