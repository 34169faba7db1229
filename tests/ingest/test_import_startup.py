"""The command line's import of canonical files loads no pandas (0.3-0.4 s of a whole-process import): frames are
built only for previews, the log and the Data page."""

from __future__ import annotations

from analytics.store.database import PROJECT_DIR
from tests.test_cli_startup import modules_loaded_by

DEMO = PROJECT_DIR / "data" / "demo"
TABLES = ("therapists", "clients", "assignments", "submissions", "measures")


def test_importing_canonical_files_from_the_command_line_loads_no_pandas(tmp_path):
    files = [str(DEMO / f"{t}.csv") for t in TABLES]
    code, output, modules = modules_loaded_by(["import", "--db", str(tmp_path / "s.duckdb"), "--quiet", *files])
    assert code == 0, output
    assert output.startswith("Imported as batch ")
    assert not {"pandas", "plotly", "streamlit"} & modules
    # the same files again: nothing to add, still no pandas
    code, output, modules = modules_loaded_by(["import", "--db", str(tmp_path / "s.duckdb"), "--quiet", *files])
    assert code == 0 and "0 added" in output, output
    assert "pandas" not in modules
