"""The rules of the architecture (docs/DESIGN.md), checked on the source text.

analytics/ is a plain library that never imports streamlit; every file in pages/ is registered in
dashboard.PAGES; pages are thin (no SQL, no duckdb, no pandas); nothing renders raw HTML.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
ANALYTICS = sorted((PROJECT_DIR / "analytics").rglob("*.py"))
PAGES = sorted((PROJECT_DIR / "pages").glob("*.py"))
SQL_WORDS = ("select ", "insert ", "delete from ", "create table", "create or replace")
WRANGLING = {"execute", "executemany", "sql", "query", "groupby", "merge", "pivot_table", "agg"}
SKIPPED_DIRS = {".venv", ".git", "node_modules", "__pycache__", ".ruff_cache", ".pytest_cache"}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module the file imports (`import a.b` and `from a.b import c` give "a")."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def project_python_files() -> list[Path]:
    found = []
    for folder, subfolders, names in os.walk(PROJECT_DIR):  # SKIPPED_DIRS are not entered (.venv alone: ~1 s a walk)
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_DIRS)
        found += [Path(folder) / name for name in sorted(names) if name.endswith(".py")]
    return sorted(found)


def registered_pages() -> list[str]:
    """The file names in dashboard.PAGES, read from the source (importing it would need a Streamlit session)."""
    tree = ast.parse((PROJECT_DIR / "dashboard.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "PAGES":
            return [entry[0] for entry in ast.literal_eval(node.value)]
    raise AssertionError("dashboard.py has no PAGES list")


def test_the_project_has_analytics_modules_and_pages() -> None:
    assert ANALYTICS and PAGES  # the rules below must not pass on an empty glob


@pytest.mark.parametrize("module", ANALYTICS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_analytics_never_imports_streamlit(module: Path) -> None:
    assert "streamlit" not in imported_modules(module)


def test_every_page_file_is_registered_in_dashboard_pages() -> None:
    registered = registered_pages()
    on_disk = [f"pages/{path.name}" for path in PAGES]
    assert sorted(registered) == sorted(on_disk)
    assert len(registered) == len(set(registered))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_hold_no_sql_and_no_data_wrangling(page: Path) -> None:
    assert not {"duckdb", "pandas", "sqlite3"} & imported_modules(page)
    for node in ast.walk(ast.parse(page.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            assert not any(word in text for word in SQL_WORDS), f"{page.name} line {node.lineno}: SQL {node.value!r}"
        if isinstance(node, ast.Attribute):
            assert node.attr not in WRANGLING, f"{page.name} line {node.lineno}: .{node.attr}() belongs in analytics/"


@pytest.mark.parametrize("path", project_python_files(), ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_nothing_allows_raw_html(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.keyword):
            assert node.arg != "unsafe_allow_html", f"{path.name} line {node.value.lineno}: unsafe_allow_html"


@pytest.mark.parametrize("path", [PROJECT_DIR / "dashboard.py", *PAGES], ids=lambda p: p.name)
def test_the_screens_never_call_st_html(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "st":
            assert node.attr != "html", f"{path.name} line {node.lineno}: st.html renders raw HTML"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_page_first_goes_through_the_frame(page: Path) -> None:
    # The first statement after the imports must be require_frame() (see dashboard.py's docstring).
    body = [node for node in ast.parse(page.read_text(encoding="utf-8")).body
            if not isinstance(node, ast.Import | ast.ImportFrom | ast.Expr) or
            (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))]
    first = body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
    assert isinstance(first.value.func, ast.Name) and first.value.func.id == "require_frame"


# The stages of analytics/ and what each may import (analytics/__init__.py explains them). The entry points at
# the top (cli, demo and its parts) may import any stage.
STAGES = ("store", "ingest", "metrics", "planning", "export", "present")
MAY_IMPORT = {
    "store": {"store"},
    "ingest": {"store", "ingest"},
    "metrics": {"store", "metrics"},
    "planning": {"store", "metrics", "planning"},
    "export": {"store", "metrics", "export"},
    "present": {"store", "ingest", "metrics", "planning", "export", "present"},
}
MAX_MODULE_LINES = 600


def project_stages_imported(path: Path) -> set[str]:
    """The analytics sub-packages (or top modules) a file imports: `from analytics.metrics import mood` gives "metrics"."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "analytics" else [f"analytics.{a.name}" for a in node.names]
        found.update(name.split(".")[1] for name in names if name.startswith("analytics."))
    return found


def stage_of(path: Path) -> str | None:
    parts = path.relative_to(PROJECT_DIR / "analytics").parts
    return parts[0] if len(parts) > 1 else None


def test_every_stage_is_a_package_that_says_what_it_may_import() -> None:
    for stage in STAGES:
        init = PROJECT_DIR / "analytics" / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "import" in doc.lower(), f"{init} needs a docstring saying what it may import"


@pytest.mark.parametrize("module", [m for m in ANALYTICS if stage_of(m)], ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_imports_run_downward_between_stages(module: Path) -> None:
    stage = stage_of(module)
    assert stage in MAY_IMPORT, f"{stage} is not a known stage"
    wrong = project_stages_imported(module) - MAY_IMPORT[stage]
    assert not wrong, f"{module.relative_to(PROJECT_DIR)} ({stage}) imports {sorted(wrong)}"


def test_the_stage_rule_catches_an_upward_import(tmp_path: Path) -> None:
    # The checker itself: a metrics module importing the presenting stage is found.
    module = tmp_path / "upward.py"
    module.write_text("from analytics.present import figures\nfrom analytics import planning\n", encoding="utf-8")
    assert project_stages_imported(module) == {"present", "planning"}


@pytest.mark.parametrize("path", [p for p in project_python_files() if "tests" not in p.relative_to(PROJECT_DIR).parts],
                         ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_no_module_is_longer_than_about_600_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(PROJECT_DIR)} has {lines} lines: split it by job"


# Absolute paths of a build machine, or the folder beside the project (spelt in pieces so this line is not a hit).
OUTSIDE_PIECES = ["/" + "work/", "/" + "home/", "/" + "root/", "/" + "Users/", r"\.\./" + "shared\\b"]
OUTSIDE_PATHS = re.compile("(?<![\\w.])(" + "|".join(OUTSIDE_PIECES) + ")")


def test_project_files_never_point_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout.split()
    texts = [PROJECT_DIR / name for name in tracked if Path(name).suffix in {".py", ".md", ".toml", ".sql", ".txt", ".json", ""}]
    assert len(texts) > 20
    for path in texts:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            assert not OUTSIDE_PATHS.search(line), f"{path.relative_to(PROJECT_DIR)}:{number} points outside: {line.strip()}"


def test_the_outside_path_rule_catches_a_machine_path() -> None:
    assert OUTSIDE_PATHS.search("docs in " + "/work" + "/shared/STYLE.md")
    assert OUTSIDE_PATHS.search("see " + ".." + "/shared/STYLE.md")
    assert not OUTSIDE_PATHS.search("make run DB=/tmp/other.duckdb")


def test_every_file_the_test_scheduler_hands_out_first_exists() -> None:
    """conftest.LONG_FILES names test files by path: a renamed or moved one would silently lose its place."""
    from conftest import LONG_FILES, SERIAL_GROUPS

    assert [path for path in LONG_FILES if not (PROJECT_DIR / path).is_file()] == []
    assert [folder for folder in SERIAL_GROUPS if not (PROJECT_DIR / folder).is_dir()] == []
