"""`make bench`'s harness runs end to end at a tiny scale and writes every figure; its pandas yardstick computes the
same per-client table as the store."""

from __future__ import annotations

import json

from benchmarks import run
from benchmarks.pages import percentile


def test_the_harness_at_a_tiny_scale_writes_every_field(tmp_path, capsys):
    assert run.main(["--scale", "tiny", "--runs", "1", "--clients", "2", "--dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results-tiny.json").read_text())
    assert set(run.FIELDS) <= set(results)
    assert results["parameters"]["end"] == run.END.isoformat()
    # The tiny practice: 8 clients, 2 therapists, 4 weeks of homework; every row of it imported.
    assert results["data"]["rows"]["clients"] == 8 and results["data"]["rows"]["therapists"] == 2
    assert results["data"]["rows"]["submissions"] > 0
    for step in ("import", "reimport", "pandas_read"):
        assert results[step]["seconds"] > 0 and results[step]["peak_rss_mb"] > 10
    for step in ("summary", "pandas_summary"):
        assert results[step]["median"] > 0 and len(results[step]["samples"]) == 1
    assert results["pandas_summary"]["disagrees_on"] == []  # the yardstick computes the same table
    assert set(results["pages"]) == {"Overview", "Caseload", "Client", "Effectiveness", "Planner", "Data", "Users",
                                     "Audit", "Settings"}
    for page in results["pages"].values():
        assert page["seconds"]["median"] > 0 and page["seconds"]["p95"] >= page["seconds"]["median"]
        assert page["chart_bytes"] >= 0 and page["max_table_rows"] >= 0
    assert results["pages"]["Client"]["chart_bytes"] > 1000  # the Client page draws charts, and they were counted
    assert results["pages"]["Caseload"]["max_table_rows"] == 8  # one row per client
    assert results["client_page"]["clients"] == 2
    assert results["machine"]["load_average_after"]
    for when in ("before", "after"):  # the machine's speed, beside which the figures compare
        speed = results["machine"][f"speed_{when}"]
        assert speed["python_loop_seconds"] > 0 and speed["duckdb_sum_seconds"] > 0
    printed = capsys.readouterr().out
    assert "summary --by client" in printed and "page Overview" in printed
    assert "machine speed before -> after: a Python loop of 10,000,000 additions" in printed
    # The generated files stay cached under a name made of the parameters; the stores do not.
    assert (tmp_path / "data" / run.SCALES["tiny"].key / "submissions.csv").is_file()
    assert not (tmp_path / "work").exists()


def test_a_second_run_reuses_the_generated_files(tmp_path):
    folder, seconds = run.generate(run.SCALES["tiny"], tmp_path)
    assert seconds is not None and (folder / "demo.json").is_file()
    again, seconds = run.generate(run.SCALES["tiny"], tmp_path)
    assert again == folder and seconds is None
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # nothing half-written left beside it


def test_the_95th_percentile_is_a_sample_at_or_above_95_percent_of_them():
    assert percentile([1.0], 0.95) == 1.0
    assert percentile([5.0, 1.0, 3.0], 0.95) == 5.0
    samples = [float(n) for n in range(1, 21)]  # 20 samples: the 19th is the 95th percentile
    assert percentile(samples, 0.95) == 19.0
    assert percentile(samples, 0.5) == 10.0
