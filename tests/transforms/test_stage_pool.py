"""Staging on two processes (pipeline.StagePool, used by ``ngss load`` and the benchmark) gives
the same loads, rows and work files as staging one file after another."""

from __future__ import annotations

import pyarrow.parquet as pq

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
        good = pq.read_table(f"{r['work_dir']}/canonical.parquet").num_rows
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
