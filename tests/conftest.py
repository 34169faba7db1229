"""Shared fixtures: a store file in tmp_path holding a handful of hand-written rows, and HOMEWORK_DB pointing at it.

The rows are dated relative to date.today() so that the expected figures never go stale. The
numbers each test expects are worked out by hand in tests/pages/test_pages.py from the rows below.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis fails an example that takes over 200 ms by default: on a busy machine that fails tests whose answers
# are right (a CSV round trip took 326 ms once, 10 ms on the retry). What the tests check is what they compute.
settings.register_profile("no_deadline", deadline=None)
settings.load_profile("no_deadline")

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the project on sys.path
    sys.path.insert(0, str(PROJECT_DIR))

from analytics.ingest.importer import import_batch  # noqa: E402
from analytics.store.database import open_store  # noqa: E402
from analytics.store.scope import Scope  # noqa: E402
from benchmarks.browser import SharedChromium  # noqa: E402


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def _at_noon(offset: int) -> str:
    # Noon UTC, so the calendar date is the same in the store (UTC) and on any nearby clock.
    return f"{_day(offset)}T12:00:00Z"


def fixture_files() -> list[tuple[str, bytes]]:
    """The five canonical CSVs of the fixture practice, as (file name, bytes).

    Therapists: T1 Ada Byron; T2 "Robin **Bold** Lee" (a name with Markdown in it, which must show as typed).
    Clients: C1, C2 (T1, active); C3 (T2, active); C4 (T2, discharged, nothing ever set).
    Assignments (d = days from today; * = submitted after the due date):
      A1 C1 expected 2, due d-10: completed d-11                        -> credit 1,   on time 1
      A2 C1 expected 3, due d-5:  partial d-6, completed d-3*           -> credit 1.5, on time 0.5
      A3 C2 expected 1, due d-3:  CANCELLED, completed d-4              -> never due
      A4 C3 expected 2, due d-8:  completed d-9, d-8, d-2*              -> credit 2 (capped), on time 2
      A5 C3 expected 1, due d-20: nothing submitted                     -> credit 0
      A6 C1 expected 1, due d+5:  completed d-1                         -> not due yet
      A7 C2 expected 1, due d-40: skipped d-41                          -> credit 0 (previous period)
      A8 C3 expected 1, due d-35: completed d-36                        -> credit 1 (previous period)
    """
    therapists = "therapist_id,name,email\nT1,Ada Byron,ada@example.org\nT2,Robin **Bold** Lee,robin@example.org\n"
    clients = (
        "client_id,therapist_id,label,intake_date,status\n"
        f"C1,T1,Client One,{_day(-90)},active\n"
        f"C2,T1,Client Two,{_day(-90)},active\n"
        f"C3,T2,Client Three,{_day(-90)},active\n"
        f"C4,T2,Client Four,{_day(-90)},discharged\n"
    )
    assignments = (
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,status\n"
        f"A1,C1,journaling,Thought record,{_day(-14)},{_day(-10)},2,active\n"
        f"A2,C1,behavioural,Morning walk,{_day(-12)},{_day(-5)},3,active\n"
        f"A3,C2,mindfulness,Body scan,{_day(-7)},{_day(-3)},1,cancelled\n"
        f"A4,C3,creative,Mood collage,{_day(-15)},{_day(-8)},2,active\n"
        f"A5,C3,narrative,Letter to self,{_day(-25)},{_day(-20)},1,active\n"
        f"A6,C1,mindfulness,Breathing space,{_day(-1)},{_day(5)},1,active\n"
        f"A7,C2,journaling,Gratitude list,{_day(-45)},{_day(-40)},1,active\n"
        f"A8,C3,behavioural,Activity plan,{_day(-40)},{_day(-35)},1,active\n"
    )
    submissions = (
        "submission_id,assignment_id,submitted_at,completion\n"
        f"S1,A1,{_at_noon(-11)},completed\n"
        f"S2,A2,{_at_noon(-6)},partial\n"
        f"S3,A2,{_at_noon(-3)},completed\n"
        f"S4,A3,{_at_noon(-4)},completed\n"
        f"S5,A4,{_at_noon(-9)},completed\n"
        f"S6,A4,{_at_noon(-8)},completed\n"
        f"S7,A4,{_at_noon(-2)},completed\n"
        f"S8,A6,{_at_noon(-1)},completed\n"
        f"S9,A7,{_at_noon(-41)},skipped\n"
        f"S10,A8,{_at_noon(-36)},completed\n"
    )
    measures = f"client_id,measure,score,administered_on\nC1,PHQ-9,14,{_day(-30)}\nC1,PHQ-9,9,{_day(-2)}\n"
    return [
        ("therapists.csv", therapists.encode()),
        ("clients.csv", clients.encode()),
        ("assignments.csv", assignments.encode()),
        ("submissions.csv", submissions.encode()),
        ("measures.csv", measures.encode()),
    ]


def make_store(path: Path, files: list[tuple[str, bytes]] | None = None) -> Path:
    """Create the store at `path` holding `files` (the fixture practice by default); returns the path.

    The fixture practice and the empty store are built once per process (and day: their rows are dated from today)
    and copied; a copy is the file the import made, byte for byte. Other files are imported into a new store.
    """
    if (files is None or files == []) and not path.exists() and not Path(f"{path}.wal").exists():
        key = "the fixture practice" if files is None else "an empty store"
        return built_once(key, path, lambda target: _build_store(target, files))
    return _build_store(path, files)


def built_once(key: str, path: Path, build: Callable[[Path], object]) -> Path:
    """The store file `build(path)` writes, built once per process for `key` and copied to `path` after that.

    For a fixture that builds the same store for every test of a file: `key` must name everything the store holds (the
    day is added to it, for rows dated from today). `build` must close the store, so the copy is the whole file."""
    key = f"{key}@{date.today().isoformat()}"
    if key in _BUILT:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_BUILT[key], path)
        return path
    build(path)
    assert not Path(f"{path}.wal").exists(), f"{key}: the store must be closed (checkpointed) before it is copied"
    folder = Path(tempfile.mkdtemp(prefix="homework-built-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    _BUILT[key] = Path(shutil.copyfile(path, folder / path.name))
    return path


_BUILT: dict[str, Path] = {}


def _build_store(path: Path, files: list[tuple[str, bytes]] | None) -> Path:
    files = fixture_files() if files is None else files
    con = open_store(path)
    try:
        if files:
            report = import_batch(con, files, scope=Scope.practice(), imported_by="test fixture")
            assert report.accepted, report.to_text()
    finally:
        con.close()
    return path


@pytest.fixture(scope="session", autouse=True)
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Build make_store's two stores before any test's own fixture can patch what an import uses."""
    folder = tmp_path_factory.mktemp("templates")
    make_store(folder / "practice.duckdb")
    make_store(folder / "empty.duckdb", files=[])


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store file holding the fixture practice; HOMEWORK_DB points at it."""
    path = make_store(tmp_path / "homework.duckdb")
    monkeypatch.setenv("HOMEWORK_DB", str(path))
    return path


@pytest.fixture
def empty_store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store file with no rows yet; HOMEWORK_DB points at it."""
    path = make_store(tmp_path / "empty.duckdb", files=[])
    monkeypatch.setenv("HOMEWORK_DB", str(path))
    return path


@pytest.fixture
def offered(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """file name -> what its download button offers: bytes, or the function a deferred download runs."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    found: dict[str, object] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def record(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        found[file_name] = path_or_data
        return add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    def record_deferred(self, data_callable, mimetype, coordinates, file_name=None, *, element_id=""):
        found[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name, element_id=element_id)

    monkeypatch.setattr(MediaFileManager, "add", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    return found


@pytest.fixture(scope="session")
def small_practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/slow's practice: the five canonical CSVs of benchmarks/faults.py's "small" scale (80 clients, 4
    therapists, 52 weeks, ~14k submissions), generated once per run. (Kept here, as every shared fixture: a second
    module named conftest, in a folder below, would shadow this one for `from conftest import make_store`.)"""
    from benchmarks import faults

    return faults.practice_files("small", cache=tmp_path_factory.mktemp("practice"))


@pytest.fixture(scope="module")
def browser() -> Iterator[SharedChromium]:
    """tests/browser's one Chromium per module (benchmarks/browser.py): launched by the module's first test that opens
    a page, so a missing Chromium fails that test (never skips it); each page has a context of its own."""
    shared = SharedChromium()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(autouse=True)
def navigation_pages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make AppTest run the app the way the server does after its first run: st.navigation, not pages/ discovery.

    Streamlit treats an app with a `pages/` folder as a legacy multipage app until st.navigation runs
    once, and from then on ignores the folder for good. AppTest (1.67) forgets that before every run,
    so from the second run on it executes the page file alone, without dashboard.py's frame (no sidebar,
    no "View as"). Our pages are declared with st.navigation, so the flag is kept False here.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original_init = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(autouse=True, scope="session")
def installed_components_scanned_once() -> Iterator[None]:
    """Each AppTest's first run scans every installed package's metadata for Streamlit components (1.67:
    `manifest_scanner.scan_component_manifests`, 0.15-0.35 s on the 2-core VM, once per AppTest, hundreds of AppTests
    in a run). The installed packages do not change during a test run, so the scan is made once per process and its
    answer handed to every AppTest; the server makes it once at start-up anyway. The dashboard uses no such component."""
    from streamlit.components.v2 import manifest_scanner

    original = manifest_scanner.scan_component_manifests
    found: list = []

    def scan_once(*args: object, **kwargs: object) -> list:
        if not found:
            found.append(original(*args, **kwargs))
        return list(found[0])

    manifest_scanner.scan_component_manifests = scan_once
    try:
        yield
    finally:
        manifest_scanner.scan_component_manifests = original


@pytest.fixture(autouse=True, scope="session")
def app_runs_awaited_without_polling() -> Iterator[None]:
    """AppTest (1.67) waits for each script run by waking every millisecond to scan the run's events for its end
    (`local_script_runner.require_widgets_deltas`). Each wake-up takes the interpreter lock from the script thread,
    which then runs the dashboard slower. The run's thread ends just after that event, so the wait here sleeps on the
    thread instead (woken the moment it ends), with the same timeout and, past it, the same error."""
    from streamlit.testing.v1 import local_script_runner

    original = local_script_runner.require_widgets_deltas

    def wait_for_the_run(runner: object, timeout: float = 3) -> None:
        deadline = time.monotonic() + timeout
        thread = runner._script_thread
        while not runner.script_stopped():
            left = deadline - time.monotonic()
            if left <= 0 or thread is None or not thread.is_alive():
                return original(runner, max(left, 0.01))  # what AppTest does: waits out the rest, or says it timed out
            thread.join(min(left, 0.5))
        return None

    local_script_runner.require_widgets_deltas = wait_for_the_run
    try:
        yield
    finally:
        local_script_runner.require_widgets_deltas = original


@pytest.fixture(autouse=True)
def no_sign_in_remembered() -> Iterator[None]:
    """Each test starts with no sign-in remembered by the process.

    signin.sign_ins() is a process-wide st.cache_resource keyed by the sign-in (email and the ID token's
    issue second), which is right for a server; between tests it would carry one test's sign-out into the
    next test that signs the same person in within the same second.
    """
    yield
    import signin

    signin.sign_ins.clear()



# `make test` runs `pytest -n 2 --dist loadgroup` (pytest-xdist). A work unit goes to whichever worker is free: a test
# file, or one of the groups below, whose tests run one after another on one worker: each starts servers, browsers or
# import processes of its own, and two at once on two cores would only race each other's timeouts.
SERIAL_GROUPS = {"tests/browser/": "browser", "tests/slow/": "slow"}
# Then the files that take longest, or hold one long test (`--durations=0` on the 2-core VM, 2026-12-01), longest
# first: xdist's own order (most tests first) left test_facts.py's one-minute test, or the 25-second hostile uploads,
# for the end, while the other worker had nothing left to do.
LONG_FILES = ("tests/metrics/test_facts.py", "tests/ingest/test_import.py", "tests/pages/test_pages_client_caseload.py",
              "tests/metrics/test_attention.py", "tests/pages/test_pages_effectiveness_planner.py",
              "tests/pages/test_pages_access.py", "tests/test_cli.py", "tests/test_bench.py",
              "tests/ingest/test_flat_reference.py", "tests/pages/test_hostile_uploads.py",
              "tests/metrics/test_client_overview.py", "tests/metrics/test_one_client_paths.py",
              "tests/export/test_backup.py", "tests/ingest/test_roundtrip.py")


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """--dist loadgroup, by file and the folders of SERIAL_GROUPS.

    xdist's own loadgroup reads `xdist_group` marks into the test ids, which pytest 9 no longer lets it change (the
    marks are then silently ignored); the folders are known here from the ids alone, which is all a scheduler sees.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFileAndGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for folder, group in SERIAL_GROUPS.items():
                if nodeid.startswith(folder):
                    return group
            return nodeid.split("::", 1)[0]

        def _assign_work_unit(self, node: object) -> None:
            # The groups are the longest units (minutes), then LONG_FILES: handed out first, so that no worker waits
            # alone at the end.
            for unit in reversed((*SERIAL_GROUPS.values(), *LONG_FILES)):
                if unit in self.workqueue:
                    self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return ByFileAndGroup(config, log)
