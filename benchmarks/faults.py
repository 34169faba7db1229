"""Faults during an import: SIGKILL at random moments, and a full disk. `python -m benchmarks.faults --scale 1m --kills 20`.

Each kill: a copy of the store before the batch, `python -m analytics import` on it, SIGKILL at a random moment
(stratified over the import: moment i of k falls in the i-th k-th of a clean run's time after the store was
opened), then the store must open, hold exactly the state before the batch or the whole batch (table digests:
rows and a hash of every row; bookkeeping tables that hold ids and times, by rows), and importing the same files
again must give the data of a clean import. The full disk: the store on a small tmpfs (its temp directory, next
to it, too) must refuse the import with a clear message (no traceback, says what ran out) and keep the store
as it was. Mounting needs root; without it the run fails and says so.

Scales: `small` (~15k submissions, what tests/slow runs), `50k`, and `1m`, generated once under benchmarks/out/
(or `--data DIR`: a folder with the five canonical CSVs, e.g. the ones `make bench` made). The "before" store holds
the therapists and clients; the batch is all five files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1]
OUT_DIR = PROJECT_DIR / "benchmarks" / "out"
TABLES = ("therapists", "clients", "assignments", "submissions", "measures")
BEFORE_TABLES = ("therapists", "clients")
END = date(2026, 11, 29)
SCALES = {  # demo arguments: clients, therapists, weeks
    "small": (80, 4, 52),
    "50k": (275, 10, 52),
    "1m": (5500, 100, 52),
}
# Tables whose rows carry batch ids or clock times (they differ between two imports of the same files): compared by rows.
BY_ROWS = ("audit_log", "audit_head", "import_log", "import_batches", "export_log")


class FaultError(AssertionError):
    """A fault left the store in a state it must never be in (or the run could not be set up); the message says which."""


def practice_files(scale: str, cache: Path = OUT_DIR) -> Path:
    """The folder of the five canonical CSVs for `scale` (generated once, cached)."""
    folder = cache / f"faults-{scale}"
    if not (folder / "demo.json").is_file():
        from analytics.demo import write_demo

        clients, therapists, weeks = SCALES[scale]
        write_demo(folder, clients=clients, therapists=therapists, weeks=weeks, end=END)
    return folder


def digests(path: Path) -> dict[str, tuple]:
    """Per table of the store: (rows, sum of row hashes); the bookkeeping tables of BY_ROWS and undo_*: (rows,)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "and table_type = 'BASE TABLE' order by 1").fetchall()]
        found = {}
        for name in names:  # names come from the store's own catalogue
            if name in BY_ROWS or name.startswith("undo_"):
                found[name] = con.execute(f'select count(*) from "{name}"').fetchone()
            else:
                found[name] = con.execute(f'select count(*), coalesce(sum(hash(t)::hugeint), 0) from "{name}" t').fetchone()
        return found
    finally:
        con.close()


def data_part(found: dict[str, tuple]) -> dict[str, tuple]:
    """The digests of the tables that hold the practice's data (what two imports of the same files must agree on)."""
    return {name: value for name, value in found.items() if len(value) == 2}


def import_command(store: Path, folder: Path, tables=TABLES) -> list[str]:
    return [sys.executable, "-m", "analytics", "import", "--db", str(store), "--quiet",
            *[str(folder / f"{t}.csv") for t in tables]]


def run_import(store: Path, folder: Path, tables=TABLES, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(import_command(store, folder, tables), cwd=PROJECT_DIR, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise FaultError(f"import into {store} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def open_and_close(store: Path) -> None:
    """Open the store as the dashboard and the command line do (replays its write-ahead log, migrates), then close."""
    from analytics.store.database import open_store

    open_store(store).close()


@dataclass
class Stores:
    """The store before the batch, after a clean import of it, their digests, and the clean import's times."""

    folder: Path
    before: Path
    after: Path
    before_digest: dict
    after_digest: dict
    opened_after: float  # seconds from starting the import process until the store's write-ahead log appeared
    clean_seconds: float  # the clean import's whole run


def prepare(folder: Path, work: Path) -> Stores:
    """Make the before store (therapists and clients imported) and the after store (then the whole batch, timed)."""
    work.mkdir(parents=True, exist_ok=True)
    before, after = work / "before.duckdb", work / "after.duckdb"
    for stale in (before, after):
        stale.unlink(missing_ok=True)
    run_import(before, folder, BEFORE_TABLES)
    open_and_close(before)  # checkpointed: a plain file, no write-ahead log
    shutil.copy(before, after)
    started = time.monotonic()
    process = subprocess.Popen(import_command(after, folder), cwd=PROJECT_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    opened = wait_for_wal(after, process)
    _, err = process.communicate()
    clean = time.monotonic() - started
    if process.returncode != 0:
        raise FaultError(f"the clean import failed ({process.returncode}): {err[-2000:]}")
    if opened is None:
        raise FaultError("the clean import never wrote a write-ahead log: cannot tell when it opened the store")
    b, a = digests(before), digests(after)
    if data_part(b) == data_part(a):
        raise FaultError("the batch changes nothing: the test could not tell before from after")
    return Stores(folder, before, after, b, a, opened - started, clean)


def wait_for_wal(store: Path, process: subprocess.Popen) -> float | None:
    """Wait until the import process has opened the store (its .wal file exists); the moment, or None if it exited first."""
    wal = Path(f"{store}.wal")
    while process.poll() is None:
        if wal.exists():
            return time.monotonic()
        time.sleep(0.005)
    return None


@dataclass
class Kill:
    moment: float  # seconds after the store was opened
    killed: bool  # False: the import had finished before the moment
    state: str  # "before" or "after"
    seconds_to_open: float
    reimport_seconds: float


def kill_once(stores: Stores, work: Path, moment: float) -> Kill:
    """Copy the before store, start the import, SIGKILL it `moment` seconds after it opened the store, and check."""
    store = work / "killed.duckdb"
    for stale in (store, Path(f"{store}.wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(f"{store}.tmp", ignore_errors=True)
    shutil.copy(stores.before, store)
    process = subprocess.Popen(import_command(store, stores.folder), cwd=PROJECT_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        opened = wait_for_wal(store, process)
        if opened is not None:
            while process.poll() is None and time.monotonic() < opened + moment:
                time.sleep(0.002)
        killed = process.poll() is None
        if killed:
            os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    if not killed and process.returncode != 0:
        raise FaultError(f"the import exited with {process.returncode} before it was killed")
    started = time.monotonic()
    try:
        open_and_close(store)
    except Exception as exc:
        raise FaultError(f"the store does not open after SIGKILL at {moment:.2f} s: {exc}") from exc
    seconds_to_open = time.monotonic() - started
    found = digests(store)
    if found == stores.before_digest:
        state = "before"
    elif found == stores.after_digest:
        state = "after"
    else:
        diff = {t: (stores.before_digest.get(t), stores.after_digest.get(t), found.get(t))
                for t in sorted(set(found) | set(stores.after_digest))
                if found.get(t) not in (stores.before_digest.get(t), stores.after_digest.get(t))
                or found.get(t) != stores.before_digest.get(t)}
        raise FaultError(f"SIGKILL at {moment:.2f} s left a store that is neither before nor after the batch "
                         f"(table: before, after, found): {diff}")
    if not killed and state != "after":
        raise FaultError("the import finished but the store does not hold the batch")
    started = time.monotonic()
    run_import(store, stores.folder)
    reimport = time.monotonic() - started
    if data_part(digests(store)) != data_part(stores.after_digest):
        raise FaultError(f"importing again after SIGKILL at {moment:.2f} s did not give the store a clean import gives")
    return Kill(moment, killed, state, seconds_to_open, reimport)


def kill_inside(stores: Stores, work: Path, moment: float, tries: int = 4) -> Kill:
    """kill_once, at half the moment again while the import had finished before it (the machine ran faster than the
    clean import did), so that the kill lands inside the import; the last try's result is returned either way."""
    for _ in range(tries - 1):
        kill = kill_once(stores, work, moment)
        if kill.killed:
            return kill
        moment /= 2
    return kill_once(stores, work, moment)


def kill_moments(stores: Stores, kills: int, rng: random.Random) -> list[float]:
    """One random moment in each k-th of the clean import's time after it opened the store (the last runs a little past),
    in random order (a run cut short has still tried the whole import, commit included)."""
    span = (stores.clean_seconds - stores.opened_after) * 1.05
    moments = [span * (i + rng.random()) / kills for i in range(kills)]
    rng.shuffle(moments)
    return moments


# ---------------------------------------------------------------------------------------------
# A full disk
# ---------------------------------------------------------------------------------------------


@dataclass
class FullDisk:
    size_mb: int
    returncode: int
    message: str  # the last lines the import printed on stderr


def mount_tmpfs(directory: Path, size_mb: int) -> None:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}M", "tmpfs", str(directory)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise FaultError(f"cannot mount a {size_mb} MB tmpfs at {directory} for the full-disk test (it needs root, "
                         f"as in CI): {done.stderr.strip() or done.returncode}")


def full_disk(stores: Stores, work: Path) -> FullDisk:
    """The before store on a tmpfs with a little room: the import must refuse clearly and leave the store as it was."""
    growth = stores.after.stat().st_size - stores.before.stat().st_size
    size_mb = max(1, (stores.before.stat().st_size + growth // 4) >> 20)
    disk = Path(tempfile.mkdtemp(prefix="full-disk-", dir=work))
    mount_tmpfs(disk, size_mb)
    try:
        store = disk / "store.duckdb"
        shutil.copy(stores.before, store)
        # DuckDB's temp directory is <store>.tmp, on the same small disk: a spill runs out there too.
        done = subprocess.run(import_command(store, stores.folder), cwd=PROJECT_DIR, capture_output=True, text=True)
        message = (done.stderr.strip() + "\n" + done.stdout.strip()).strip()
        if done.returncode == 0:
            raise FaultError(f"the import succeeded on a {size_mb} MB disk: the disk was not too small")
        if "Traceback" in message:
            raise FaultError(f"a full disk gave a traceback:\n{message[-3000:]}")
        if "disk is full" not in message.lower():
            raise FaultError(f"a full disk was not named in the message:\n{message[-3000:]}")
        kept = work / "kept.duckdb"
        shutil.copy(store, kept)
        if Path(f"{store}.wal").exists():
            shutil.copy(f"{store}.wal", f"{kept}.wal")
    finally:
        subprocess.run(["umount", str(disk)], check=False)
        shutil.rmtree(disk, ignore_errors=True)
    open_and_close(kept)
    if digests(kept) != stores.before_digest:
        raise FaultError("after a full disk the store is not as it was before the import")
    return FullDisk(size_mb, done.returncode, message.splitlines()[-1] if message else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--data", type=Path, default=None, help="the five canonical CSVs to import (instead of --scale)")
    parser.add_argument("--seed", type=int, default=None, help="for the random moments (default: a new one each run)")
    parser.add_argument("--no-full-disk", action="store_true", help="skip the full-disk run (it needs root to mount)")
    parser.add_argument("--full-disk-first", action="store_true", help="run the full disk before the kills")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    folder = args.data or practice_files(args.scale)
    what = f"the files in {folder}" if args.data else args.scale  # --data: not the --scale default's practice
    missing = [t for t in TABLES if not (folder / f"{t}.csv").is_file()]
    if missing:
        print(f"error: {folder} has no {', '.join(t + '.csv' for t in missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        work = Path(tmp)
        stores = prepare(folder, work)
        print(f"{what}: clean import {stores.clean_seconds:.1f} s (store opened after {stores.opened_after:.1f} s); "
              f"seed {seed}", flush=True)
        kills = []

        def save(disk: FullDisk | None = None) -> None:
            if args.json:
                args.json.write_text(json.dumps({"scale": what, "seed": seed, "clean_seconds": stores.clean_seconds,
                                                 "kills": [asdict(k) for k in kills],
                                                 "full_disk": asdict(disk) if disk else None}, indent=2))

        early = full_disk(stores, work) if args.full_disk_first and not args.no_full_disk else None
        if early:
            print(f"full disk ({early.size_mb} MB tmpfs): refused with exit {early.returncode}: {early.message}", flush=True)
        for i, moment in enumerate(kill_moments(stores, args.kills, random.Random(seed)), 1):
            kill = kill_inside(stores, work, moment)
            kills.append(kill)
            save()
            print(f"kill {i:2d} at {kill.moment:6.2f} s: {'killed' if kill.killed else 'had finished'}, store holds the "
                  f"{kill.state} state; opened in {kill.seconds_to_open:.1f} s; import again {kill.reimport_seconds:.1f} s",
                  flush=True)
        disk = early or (None if args.no_full_disk else full_disk(stores, work))
        if disk and not early:
            print(f"full disk ({disk.size_mb} MB tmpfs): refused with exit {disk.returncode}: {disk.message}")
        save(disk)
    states = [k.state for k in kills]
    print(f"{len(kills)} kills: {states.count('before')} before, {states.count('after')} after, none in between")
    return 0


if __name__ == "__main__":
    sys.exit(main())
