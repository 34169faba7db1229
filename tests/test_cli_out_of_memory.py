"""An import that needs more memory than the store may use is refused in one clear line, and writes nothing."""

from __future__ import annotations

import duckdb

from analytics import cli
from analytics.demo import write_demo


def test_an_import_out_of_memory_is_refused_plainly_and_the_store_is_as_it_was(tmp_path, monkeypatch, capsys):
    files = tmp_path / "csv"
    write_demo(files, clients=300, therapists=6, weeks=30, seed=3)
    store = tmp_path / "store.duckdb"
    monkeypatch.setattr(cli, "IMPORT_MEMORY_LIMIT", "2MB")
    code = cli.main(["import", "--db", str(store), "--quiet",
                     *[str(files / f"{t}.csv") for t in ("therapists", "clients", "assignments", "submissions")]])
    err = capsys.readouterr().err
    assert code == cli.EXIT_REFUSED
    assert err.startswith("error: out of memory: the work needed more than the 2MB of memory the store may use here; "
                          "nothing was written and the store is as it was.")
    assert "Traceback" not in err
    with duckdb.connect(str(store), read_only=True) as con:
        assert [con.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("therapists", "clients", "assignments", "submissions")] == [0, 0, 0, 0]
