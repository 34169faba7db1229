"""Every link in the app and the docs points to something that exists: Markdown links (and their #anchors) and
file paths quoted in README.md, data/README.md and docs/*.md, and file paths in the strings of the app's code
(dashboard.py, pages/, analytics/) that people are shown or sent to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
DOCS = [PROJECT / "README.md", PROJECT / "data" / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
CODE = [PROJECT / "dashboard.py", *sorted((PROJECT / "pages").glob("*.py")), *sorted((PROJECT / "analytics").rglob("*.py"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
QUOTED = re.compile(r"`([^`\s]+)`")
PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)+[\w.-]+\.(?:md|py|sql|csv|toml|txt|json))\b")
PLACEHOLDER = re.compile(r"NNN|\b(?:FILE|PATH|DIR|NAME)\b|\*|<|\{")  # e.g. migrations/NNN_what.sql: not real paths
# Files the practice writes itself and must never commit (the sign-in secrets): named, never shipped.
WRITTEN_BY_THE_PRACTICE = {".streamlit/secrets.toml"}


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


def doc_links() -> list[tuple[Path, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        found += [(doc, target) for target in LINK.findall(text)]
        # (a quoted path that climbs out, like `../../etc/clients.csv`, is an example of a hostile name, not a link)
        found += [(doc, quoted) for quoted in QUOTED.findall(text) if PATH.fullmatch(quoted)
                  and not quoted.startswith("../")]
    return found


def code_paths() -> list[tuple[Path, str]]:
    found = []
    for module in CODE:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [(module, p) for p in PATH.findall(node.value)]
    return found


LINKS = [(doc, target) for doc, target in doc_links()
         if not target.startswith(("http://", "https://", "mailto:")) and not PLACEHOLDER.search(target)
         and target not in WRITTEN_BY_THE_PRACTICE]
CODE_PATHS = [(module, path) for module, path in code_paths()
              if not PLACEHOLDER.search(path) and path not in WRITTEN_BY_THE_PRACTICE]


def resolve(source: Path, target: str) -> Path | None:
    """The file a link or path names: relative to the document, else to the project."""
    for base in (source.parent, PROJECT):
        candidate = (base / target).resolve()
        if candidate.exists():
            return candidate
    return None


def test_there_are_links_to_check():
    assert len(LINKS) >= 20 and len(CODE_PATHS) >= 5
    assert any(target == "data/README.md" for _, target in CODE_PATHS)


@pytest.mark.parametrize("doc, target", LINKS, ids=[f"{d.relative_to(PROJECT)}:{t}" for d, t in LINKS])
def test_every_link_and_path_in_the_docs_exists(doc: Path, target: str):
    file, _, anchor = target.partition("#")
    path = resolve(doc, file) if file else doc
    assert path is not None, f"{doc.relative_to(PROJECT)} points to {target}, which does not exist"
    if anchor and path.suffix == ".md":
        assert anchor in anchors(path), f"{doc.relative_to(PROJECT)}: no heading #{anchor} in {path.name}"


@pytest.mark.parametrize("module, path", CODE_PATHS, ids=[f"{m.relative_to(PROJECT)}:{p}" for m, p in CODE_PATHS])
def test_every_file_the_app_names_exists(module: Path, path: str):
    assert resolve(PROJECT / "x", path) is not None, f"{module.relative_to(PROJECT)} names {path}, which does not exist"


def test_the_checks_catch_a_missing_file_and_anchor(tmp_path):
    assert resolve(PROJECT / "README.md", "docs/import-guide.md") is None
    assert "importing-safely" in anchors(PROJECT / "data" / "README.md")
    assert PATH.findall("see docs/import-guide.md.") == ["docs/import-guide.md"]
    assert slug("`summary` on the command line") == "summary-on-the-command-line"
