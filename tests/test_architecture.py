"""The rules of the architecture (docs/DESIGN.md), checked on the source text.

analytics/ is a plain library that never imports streamlit; every file in pages/ is registered in
dashboard.PAGES; pages are thin (no SQL, no duckdb, no pandas); nothing renders raw HTML.
"""

from __future__ import annotations

import ast
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
    return [
        path for path in PROJECT_DIR.rglob("*.py")
        if not SKIPPED_DIRS & set(path.relative_to(PROJECT_DIR).parts)
    ]


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
