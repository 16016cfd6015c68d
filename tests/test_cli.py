"""The ngss command line: sources check, load, status, sql (read-only, table and csv)."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.helpers import HEADER, SPEND_SOURCE, drop, make_home
from transforms.cli import app

runner = CliRunner()

MARCH = (
    HEADER
    + 'HMRC,HMRC,01/03/2025,IT,Digital,FUJITSU SERVICES LTD,5100001,"£151,646.88"\n'
    + "HMRC,HMRC,02/03/2025,IT,Digital,SERCO LTD,5100002,100\n"
)


def _env(settings) -> dict[str, str]:
    return {
        "NGSS_HOME": str(settings.home),
        "NGSS_LANDING": str(settings.landing),
        "NGSS_CONFIG": str(settings.config),
        "NGSS_WAREHOUSE": str(settings.warehouse),
    }


def test_sources_check_on_the_project_registry():
    result = runner.invoke(app, ["sources", "check"])
    assert result.exit_code == 0, result.output
    # 30 sources of bundled public files + 33 of generated payroll, HR and accounts-payable
    assert (
        "registry OK: 63 sources (11 employment, 11 payroll, 8 posts, 27 spend, 6 workforce)"
        in result.output
    )


def test_sources_check_names_every_problem_with_file_and_key(tmp_path):
    bad = dict(
        SPEND_SOURCE,
        source_id="hmrc__spend",
        domain="spend",
        values={"date_formats": ["%m/%d/%Y"]},
        pull={"path": "../etc", "pattern": "*"},
    )
    other = dict(
        SPEND_SOURCE,
        source_id="dwp__spend",
        body="dwp",
        columns={"not_a_field": ["X"]},
        pull={"path": "dwp", "pattern": "*.csv"},
    )
    settings = make_home(tmp_path, [bad, other])
    result = runner.invoke(app, ["sources", "check"], env=_env(settings))
    assert result.exit_code == 1
    out = result.output
    assert "hmrc__spend.yaml: pull.path:" in out
    assert "dwp__spend.yaml: columns.not_a_field: not a field of domain 'spend'" in out


def test_month_first_date_format_is_refused(tmp_path):
    bad = dict(SPEND_SOURCE, values={"date_formats": ["%m/%d/%Y"]})
    settings = make_home(tmp_path, [bad])
    result = runner.invoke(app, ["sources", "check"], env=_env(settings))
    assert result.exit_code == 1
    assert "values.date_formats" in result.output and "month first" in result.output


def test_load_status_and_sql(tmp_path):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "march.csv", MARCH)
    env = _env(settings)
    loaded = runner.invoke(app, ["load", "hmrc__spend"], env=env)
    assert loaded.exit_code == 0, loaded.output
    assert "marts rebuilt:" in loaded.output
    status = runner.invoke(app, ["status", "--format", "csv"], env=env)
    assert status.exit_code == 0
    header, row = status.output.splitlines()
    assert header.startswith(
        "source_id,domain,period,file,status,rows_read,rows_published,rows_quarantined,rows_blank"
    )
    assert row.startswith("hmrc__spend,spend,2025-03-01,march.csv,published,2,2,0,0,")
    out = runner.invoke(
        app,
        [
            "sql",
            "select supplier_name, amount_gbp from core.fct_spend order by 1",
            "--format",
            "csv",
        ],
        env=env,
    )
    assert out.exit_code == 0
    assert out.output.splitlines() == [
        "supplier_name,amount_gbp",
        "FUJITSU SERVICES LTD,151646.88",
        "SERCO LTD,100.00",
    ]


def test_sql_is_read_only(tmp_path):
    settings = make_home(tmp_path)
    drop(settings, "hmrc", "march.csv", MARCH)
    env = _env(settings)
    runner.invoke(app, ["load", "hmrc__spend"], env=env)
    result = runner.invoke(app, ["sql", "delete from core.fct_spend"], env=env)
    assert result.exit_code == 1
    assert "read-only" in result.output.lower()
    count = runner.invoke(
        app, ["sql", "select count(*) as n from core.fct_spend", "--format", "csv"], env=env
    )
    assert count.output.splitlines() == ["n", "2"]


def test_sql_without_warehouse_says_how_to_build_it(tmp_path):
    settings = make_home(tmp_path)
    result = runner.invoke(app, ["sql", "select 1"], env=_env(settings))
    assert result.exit_code == 1
    assert "ngss demo" in result.output


def test_sources_check_names_unknown_body_bad_schedule_and_pattern(tmp_path):
    bad = dict(
        SPEND_SOURCE,
        body="ministry-of-magic",
        source_id="ministry-of-magic__spend",
        schedule="every tuesday-ish",
        pull={"path": "mom", "pattern": "../../etc/pass*"},
    )
    settings = make_home(tmp_path, [bad])
    result = runner.invoke(app, ["sources", "check"], env=_env(settings))
    assert result.exit_code == 1
    out = result.output
    assert "ministry-of-magic__spend.yaml: body: 'ministry-of-magic' is not a body_code" in out
    assert "ministry-of-magic__spend.yaml: schedule: 'every tuesday-ish' is neither" in out
    assert "ministry-of-magic__spend.yaml: pull.pattern:" in out


def test_precision_and_recall_print_rounded_down_to_four_places():
    from transforms.evaluate import format_ratio as _ratio

    assert _ratio(972454 / (972454 + 36)) == "0.9999"  # 0.99996 would round up to 1.0000
    assert _ratio(1.0) == "1.0000"
    assert _ratio(0.95) == "0.9500"
    assert _ratio(0.29) == "0.2900"  # 0.29 * 10_000 is 2899.9999999999995 in binary
    assert _ratio(None) == ""


def test_status_and_sql_refuse_an_unknown_format(tmp_path):
    settings = make_home(tmp_path)
    env = _env(settings)
    for args in (["status", "--format", "json"], ["sql", "select 1", "--format", "json"]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 2
        assert "--format must be table or csv, not 'json'" in result.output
