"""Many people at once: N real browser sessions against one dashboard. `python -m benchmarks.load --db PATH --sessions N`.

The store is copied (the original is never written), its truth read first (which therapist each client belongs
to; DuckDB lets one process hold a file, so this is done before the server starts), then one `streamlit run
dashboard.py` serves the copy in local mode (everyone is the admin). One Chromium runs N contexts at once (asyncio
Playwright); session i chooses "View as" therapist i (cycling through them) and clicks through Overview, Caseload,
Client (then another of its clients in the picker), Effectiveness and Planner, `--rounds` times.

A click is timed until the page is settled: the expected heading is shown, Streamlit says the script is not
running (`data-test-script-state="notRunning"` on the app, what Streamlit's own tests wait for) and nothing on
the page is stale; a page that shows an exception or "Something went wrong" is a failure. After every page the
session's whole page (text, input values, link addresses) is searched for client ids, client labels and therapist
names that belong only to other therapists: any one is a leak. The server's RSS is sampled from /proc every
half second. Prints p50/p95 per page and overall, the RSS over time and the leaks; --json writes it all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from benchmarks.browser import launch_options

PROJECT_DIR = Path(__file__).resolve().parents[1]
PAGES = ("Overview", "Caseload", "Client", "Effectiveness", "Planner")
PICKED = "Client (picked)"  # a second client chosen in the Client page's picker
SETTLE_MS = 120_000  # the longest a page may take before it counts as never settled
STARTUP_SECONDS = 90
NEEDED_BY = "The load test and its browser test"
FAILURE_TEXTS = ("Something went wrong", "Not found: there is nothing with that id")


class LoadError(AssertionError):
    """The run could not be made (the server did not start, a page showed an error); the message says why.

    No Chromium raises benchmarks.browser.ChromiumNotFound, also an AssertionError."""


# ---------------------------------------------------------------------------------------------
# The truth: who each client belongs to, read from the store before the server holds it
# ---------------------------------------------------------------------------------------------


@dataclass
class Truth:
    therapists: dict[str, str]  # therapist_id -> the name the "View as" select shows
    clients: dict[str, tuple[str, str]]  # client_id -> (therapist_id, label)

    def of(self, therapist_id: str) -> list[tuple[str, str]]:
        """(client_id, label) of one therapist's clients, in id order."""
        return sorted((cid, label) for cid, (tid, label) in self.clients.items() if tid == therapist_id)

    def foreign(self, therapist_id: str) -> re.Pattern[str]:
        """What a session viewing as `therapist_id` must never show: other therapists' client ids, the labels only
        other therapists' clients have, other therapists' names. Longest first, so a name inside a longer one is
        read as the longer one."""
        own_labels = {label for _, label in self.of(therapist_id)}
        own_name = self.therapists[therapist_id]
        words = {cid for cid, (tid, _) in self.clients.items() if tid != therapist_id}
        words |= {label for tid, label in self.clients.values() if tid != therapist_id and label not in own_labels}
        words |= {name for tid, name in self.therapists.items() if tid != therapist_id and name not in own_name}
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def read_truth(db: Path) -> Truth:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select therapist_id, name from therapists order by therapist_id").fetchall()
        names = [name for _, name in rows]
        # As dashboard.therapist_names shows them: a name two therapists share gets the id added.
        therapists = {tid: f"{name} ({tid})" if names.count(name) > 1 else name for tid, name in rows}
        clients = {cid: (tid, label) for cid, tid, label in
                   con.execute("select client_id, therapist_id, label from clients where therapist_id is not null").fetchall()}
    finally:
        con.close()
    return Truth(therapists, clients)


def session_therapists(truth: Truth, sessions: int) -> list[str]:
    """A therapist for each session: different ones, those with the most clients first, cycling when N is larger."""
    ranked = sorted(truth.therapists, key=lambda tid: (-len(truth.of(tid)), tid))
    ranked = [tid for tid in ranked if len(truth.of(tid)) >= 2] or ranked
    return [ranked[i % len(ranked)] for i in range(sessions)]


NEWCOMERS = 2  # clients the Data page's import adds to each session's therapist (--import-while-reading)
IMPORTED = "Imported. Every page now includes these rows."


def newcomers_file(truth: Truth, therapists: list[str], folder: Path) -> Path:
    """clients.csv for the import a session makes while the others read: NEWCOMERS new clients for each therapist in
    `therapists`, added to `truth` (they belong to that therapist's caseload and to no other)."""
    lines = ["client_id,therapist_id,label,status"]
    for i, tid in enumerate(dict.fromkeys(therapists)):
        for j in range(NEWCOMERS):
            cid, label = f"CLOAD{i:03d}{j}", f"Newcomer {i:03d}-{j}"
            lines.append(f"{cid},{tid},{label},active")
            truth.clients[cid] = (tid, label)
    path = folder / "clients.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# The server and its memory
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dashboard(db: Path, log: Path) -> Iterator[tuple[str, int]]:
    """`streamlit run dashboard.py -- --db DB` on a free port: (url, server pid); stopped afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HOMEWORK_DB"}
    command = [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
               "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
               "--", "--db", str(db)]
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            url = f"http://localhost:{port}"
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if server.poll() is not None:
                    raise LoadError(f"streamlit exited with {server.returncode}:\n{log.read_text(errors='replace')}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise LoadError(f"streamlit did not answer within {STARTUP_SECONDS}s:\n{log.read_text(errors='replace')}")
                time.sleep(0.25)
            yield url, server.pid
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)


def rss_mb(pid: int) -> float | None:
    """The resident memory of process `pid` in MB (VmRSS from /proc), None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


TICKS = os.sysconf("SC_CLK_TCK")  # /proc's CPU times are in these ticks


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) process `pid` has used so far, in seconds (/proc/PID/stat); None once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime and stime, the 14th and 15th fields of the line


def machine_busy_seconds() -> float:
    """The CPU time every core of the machine has spent busy so far, in seconds (/proc/stat: all but idle and iowait)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICKS  # user nice system idle iowait irq softirq steal


class RssSampler(threading.Thread):
    """Samples a process's RSS every `every` seconds: (seconds since start, MB), plus named marks. A mark also notes
    the CPU time the process and the whole machine have used by then (`cpu_marks`: name -> (process, machine, wall))."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every, self.started = pid, every, time.monotonic()
        self.samples: list[tuple[float, float]] = []
        self.marks: dict[str, float] = {}
        self.cpu_marks: dict[str, tuple[float, float, float]] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            if (mb := rss_mb(self.pid)) is not None:
                self.samples.append((round(time.monotonic() - self.started, 2), round(mb, 1)))
            self.halt.wait(self.every)

    def mark(self, name: str) -> None:
        if (mb := rss_mb(self.pid)) is not None:
            self.marks[name] = round(mb, 1)
        if (cpu := cpu_seconds(self.pid)) is not None:
            self.cpu_marks[name] = (cpu, machine_busy_seconds(), time.monotonic())

    def cpu_between(self, first: str, last: str, clicks: int) -> dict[str, float] | None:
        """The CPU used between marks `first` and `last`: by the process (server_s), by the whole machine (machine_s:
        the server, the browsers and anything else), the wall seconds, the cores, and the server's CPU per click."""
        if first not in self.cpu_marks or last not in self.cpu_marks:
            return None
        (server0, machine0, wall0), (server1, machine1, wall1) = self.cpu_marks[first], self.cpu_marks[last]
        server = server1 - server0
        return {"wall_s": round(wall1 - wall0, 2), "cores": os.cpu_count() or 1, "server_s": round(server, 2),
                "machine_s": round(machine1 - machine0, 2),
                "server_per_click_s": round(server / clicks, 3) if clicks else 0.0}


# ---------------------------------------------------------------------------------------------
# One browser session
# ---------------------------------------------------------------------------------------------

SETTLED = """([heading, first_text]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (first_text !== null) {
    const text = document.querySelector('[data-testid="stMain"] [data-testid="stText"]');
    if (!text || text.textContent.trim() !== first_text) return false;
  }
  return [...document.querySelectorAll('h1')].some(h => h.textContent.trim() === heading);
}"""

EVERYTHING_SHOWN = """() => [
  document.body.textContent,
  ...[...document.querySelectorAll('input, textarea')].map(e => e.value),
  ...[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
].join('\\n')"""


@dataclass
class SessionResult:
    session: int
    therapist: str
    timings: list[tuple[str, float]] = field(default_factory=list)  # (page, seconds from click to settled)
    leaks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    control: bool = False  # stays on the whole practice: must "leak", or the leak check finds nothing


async def settle(page, heading: str, first_text: str | None = None) -> None:
    """Wait until the page is settled: `heading` shown (and the main area's first text `first_text`, when given: the
    client a picker chose), the script not running, nothing stale; then fail on an error shown."""
    await page.wait_for_function(SETTLED, arg=[heading, first_text], timeout=SETTLE_MS, polling=50)
    text = await page.evaluate("() => document.body.innerText")
    if await page.locator('[data-testid="stException"]').count() or any(t in text for t in FAILURE_TEXTS):
        raise LoadError(f"the {heading} page shows an error: {text[:400]!r}")


async def timed(page, result: SessionResult, label: str, heading: str, action, first_text: str | None = None) -> None:
    started = time.monotonic()
    try:
        await action()
        await settle(page, heading, first_text)
    except Exception as exc:  # a page that never settles or shows an error: counted, the session goes on
        result.failures.append(f"{label}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        return
    result.timings.append((label, time.monotonic() - started))


async def check_isolation(page, result: SessionResult, truth: Truth, where: str, shots: Path | None = None) -> None:
    shown = await page.evaluate(EVERYTHING_SHOWN)
    for found in sorted(set(truth.foreign(result.therapist).findall(shown))):
        result.leaks.append(f"{where}: {found!r}")
    if shots is not None and result.session == 0:
        shots.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=shots / f"load-{where.replace(' ', '-')}.png", full_page=True)


async def choose(page, combobox: str, text: str, option: str) -> None:
    """Pick `option` in a Streamlit selectbox by typing `text` into it (the list is long and drawn lazily)."""
    box = page.get_by_role("combobox", name=combobox)
    await box.click()
    await box.fill(text)
    await page.get_by_role("option", name=option, exact=True).click()


async def run_session(browser, url: str, number: int, therapist: str, truth: Truth, rounds: int,
                      gate: Gate, *, control: bool = False, shots: Path | None = None) -> SessionResult:
    result = SessionResult(number, therapist, control=control)
    waited = False
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = await context.new_page()
        page.set_default_timeout(SETTLE_MS)
        await page.goto(url)
        await settle(page, "Overview")
        name = truth.therapists[therapist]
        if not control:
            await choose(page, "View as", name, name)
            await page.get_by_text(f"Viewing as {name}", exact=False).first.wait_for()
            await settle(page, "Overview")
        await check_isolation(page, result, truth, "Overview (first)", shots)
        waited = True
        await gate.wait()  # every session viewing as its therapist: the timed clicks begin together
        nav = page.get_by_test_id("stSidebarNav")
        labels = [label for _, label in truth.of(therapist)]
        clients = [(cid, label) for cid, label in truth.of(therapist) if labels.count(label) == 1]  # picked by label
        for round_ in range(rounds):
            for title in PAGES:
                if title == "Overview" and round_ == 0:
                    continue  # already there
                await timed(page, result, title, title, lambda title=title: nav.get_by_text(title, exact=True).click())
                await check_isolation(page, result, truth, title, shots)
                if title == "Client" and len(clients) > 1 and not control:
                    cid, label = clients[(round_ + 1 + number) % len(clients)]
                    await timed(page, result, PICKED, "Client",
                                lambda label=label: choose(page, "Client", label, f"{label} · {name}"), label)
                    await page.wait_for_url(f"**client={cid}", timeout=SETTLE_MS)
                    await check_isolation(page, result, truth, PICKED, shots)
            if rounds > 1:
                await timed(page, result, "Overview", "Overview", lambda: nav.get_by_text("Overview", exact=True).click())
                await check_isolation(page, result, truth, "Overview")
    except Exception as exc:
        result.failures.append(f"session: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    finally:
        if not waited:
            gate.arrive()
        await context.close()
    return result


class Gate:
    """The timed clicks of all sessions begin together: once every session is ready (or has failed on the way)."""

    def __init__(self, sessions: int, sampler: RssSampler):
        self.left, self.sampler, self.open = sessions, sampler, asyncio.Event()

    def arrive(self) -> None:
        self.left -= 1
        if self.left <= 0 and not self.open.is_set():
            self.sampler.mark("sessions ready")
            self.open.set()

    async def wait(self) -> None:
        self.arrive()
        await self.open.wait()


async def run_importer(browser, url: str, number: int, upload: Path, gate: Gate) -> SessionResult:
    """The admin, on the whole practice, imports `upload` on the Data page once the readers have begun."""
    result = SessionResult(number, "(importer)", control=True)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    waited = False
    try:
        page = await context.new_page()
        page.set_default_timeout(SETTLE_MS)
        await page.goto(url)
        await settle(page, "Overview")
        waited = True
        await gate.wait()
        await asyncio.sleep(1.0)  # the readers are on their way through the pages
        nav = page.get_by_test_id("stSidebarNav")
        await timed(page, result, "Data", "Data", lambda: nav.get_by_text("Data", exact=True).click())
        await page.locator('input[type="file"]').set_input_files(str(upload))
        await page.get_by_text(upload.name, exact=True).first.wait_for()

        async def import_and_wait() -> None:
            await page.get_by_role("button", name="Import", exact=True).click()
            await page.get_by_text(IMPORTED).wait_for()

        await timed(page, result, "Import (Data page)", "Data", import_and_wait)
    except Exception as exc:
        result.failures.append(f"import: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    finally:
        if not waited:
            gate.arrive()
        await context.close()
    return result


async def drive(url: str, truth: Truth, therapists: list[str], rounds: int, sampler: RssSampler, *, control: bool = False,
                shots: Path | None = None, upload: Path | None = None) -> list[SessionResult]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options(needed_by=NEEDED_BY))
        try:
            gate = Gate(len(therapists) + control + (upload is not None), sampler)
            sessions = [run_session(browser, url, i, tid, truth, rounds, gate, shots=shots)
                        for i, tid in enumerate(therapists)]
            if control:  # viewing the whole practice, "as" the first session's therapist: the check must see others
                sessions.append(run_session(browser, url, len(therapists), therapists[0], truth, 1, gate, control=True))
            if upload is not None:
                sessions.append(run_importer(browser, url, len(therapists) + control, upload, gate))
            return list(await asyncio.gather(*sessions))
        finally:
            await browser.close()


# ---------------------------------------------------------------------------------------------
# The run and its report
# ---------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    sessions: int
    rounds: int
    store: str
    timings: dict[str, dict[str, float]]  # page -> n, p50, p95, max (seconds); "all" for every click
    rss: dict[str, float]  # MB at named moments, and the peak
    rss_samples: list[tuple[float, float]]
    leaks: list[str]
    failures: list[str]
    load: str
    control_leaks: int | None = None  # what the control session (whole practice) found; None without one
    imported: dict[str, float] | None = None  # the Data page's import while the others read: page -> seconds
    # CPU during the timed clicks (from every session ready to every session done): RssSampler.cpu_between's keys
    cpu: dict[str, float] | None = None

    @property
    def ok(self) -> bool:
        return not self.leaks and not self.failures

    def to_text(self) -> str:
        lines = [f"{self.sessions} sessions x {self.rounds} rounds on {self.store} (load: {self.load})",
                 f"{'page':<18}{'clicks':>7}{'p50 s':>8}{'p95 s':>8}{'max s':>8}"]
        for page, t in self.timings.items():
            lines.append(f"{page:<18}{t['n']:>7.0f}{t['p50']:>8.2f}{t['p95']:>8.2f}{t['max']:>8.2f}")
        lines.append("server RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in self.rss.items()))
        if self.rss_samples:
            picks = [self.rss_samples[round(i * (len(self.rss_samples) - 1) / 8)] for i in range(9)]
            lines.append("RSS over time (s: MB): " + ", ".join(f"{t:.0f}: {mb:.0f}" for t, mb in picks))
        if self.cpu:
            c = self.cpu
            lines.append(f"CPU in the timed clicks ({c['wall_s']:.1f} s, {c['cores']} cores, so "
                         f"{c['wall_s'] * c['cores']:.0f} core-seconds): the server {c['server_s']:.1f} s "
                         f"({c['server_per_click_s']:.2f} s a click), the whole machine {c['machine_s']:.1f} s "
                         f"(browsers and the rest: {c['machine_s'] - c['server_s']:.1f} s)")
        lines.append(f"leaks: {len(self.leaks)}" + "".join(f"\n  {leak}" for leak in self.leaks[:20]))
        lines.append(f"failures: {len(self.failures)}" + "".join(f"\n  {f}" for f in self.failures[:20]))
        if self.imported is not None:
            lines.append("import while the others read: " + (", ".join(f"{k} {v:.2f} s" for k, v in self.imported.items())
                                                              or "did not finish"))
        if self.control_leaks is not None:
            lines.append(f"control session (whole practice): {self.control_leaks} other therapists' names and clients seen "
                         "(must be more than 0: the leak check works)")
        return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarise(results: list[SessionResult]) -> dict[str, dict[str, float]]:
    by_page: dict[str, list[float]] = {}
    for result in results:
        for page, seconds in result.timings:
            by_page.setdefault(page, []).append(seconds)
            by_page.setdefault("all", []).append(seconds)
    return {page: {"n": len(v), "p50": statistics.median(v), "p95": percentile(v, 0.95), "max": max(v)}
            for page, v in sorted(by_page.items(), key=lambda kv: kv[0] == "all")}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(db: Path, sessions: int, rounds: int = 2, work: Path | None = None, *, control: bool = False,
        shots: Path | None = None, import_while_reading: bool = False) -> LoadReport:
    """Copy `db`, read its truth, serve the copy and drive `sessions` browser sessions through the pages.

    control adds a session that stays on the whole practice (not timed, not counted as a leak): it must see other
    therapists' clients, which shows the leak check can find them. shots: screenshots of session 0's pages."""
    launch_options(needed_by=NEEDED_BY)  # raises ChromiumNotFound (an AssertionError) before any work
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        folder = Path(work or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / "store.duckdb"
        shutil.copy(db, copy)
        if Path(f"{db}.wal").exists():
            shutil.copy(f"{db}.wal", f"{copy}.wal")
        truth = read_truth(copy)
        therapists = session_therapists(truth, sessions)
        upload = newcomers_file(truth, therapists, folder) if import_while_reading else None
        with dashboard(copy, folder / "streamlit.log") as (url, pid):
            sampler = RssSampler(pid)
            sampler.mark("server started")
            sampler.start()
            try:
                results = asyncio.run(drive(url, truth, therapists, rounds, sampler, control=control, shots=shots,
                                            upload=upload))
                sampler.mark("sessions done")
                time.sleep(2)
                sampler.mark("2 s later")
            finally:
                sampler.halt.set()
                sampler.join()
        peak = max((mb for _, mb in sampler.samples), default=0.0)
        clicks = sum(len(r.timings) for r in results)  # every session's, the control's and the importer's too
        importers = [r for r in results if r.therapist == "(importer)"]
        controls = [r for r in results if r.control and r not in importers]
        results = [r for r in results if not r.control]
        report = LoadReport(sessions, rounds, str(db), summarise(results), {**sampler.marks, "peak": peak},
                            sampler.samples, [f"session {r.session} ({r.therapist}) {leak}" for r in results for leak in r.leaks],
                            [f"session {r.session} ({r.therapist}) {f}" for r in [*results, *controls, *importers]
                             for f in r.failures],
                            load_average(), len(controls[0].leaks) if controls else None,
                            dict(importers[0].timings) if importers else None,
                            sampler.cpu_between("sessions ready", "sessions done", clicks))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the store to copy and serve (never written)")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="times each session clicks through the pages")
    parser.add_argument("--control", action="store_true", help="add a whole-practice session that must see others' clients")
    parser.add_argument("--import-while-reading", action="store_true",
                        help="add an admin session that imports new clients on the Data page while the others read")
    parser.add_argument("--screenshots", type=Path, default=None, help="save session 0's pages here (e.g. screenshots/)")
    parser.add_argument("--timeout", type=float, default=SETTLE_MS / 1000, help="seconds a page may take to settle")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)
    globals()["SETTLE_MS"] = int(args.timeout * 1000)  # read by settle() and each page's default timeout
    if not args.db.is_file():
        print(f"error: no such store: {args.db}", file=sys.stderr)
        return 2
    report = run(args.db, args.sessions, args.rounds, control=args.control, shots=args.screenshots,
                 import_while_reading=args.import_while_reading)
    print(report.to_text())
    if args.json:
        args.json.write_text(json.dumps(asdict(report) | {"ok": report.ok}, indent=2))
    return 0 if report.ok and report.control_leaks != 0 else 1


if __name__ == "__main__":
    sys.exit(main())
