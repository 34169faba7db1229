"""Faults during an import (benchmarks/faults.py at a small size): SIGKILL at random moments, and a full disk.

Cost: about 25 s on 2 cores (a ~14k-submission practice generated once, a clean import, five killed imports each
imported again, and one import on a 5 MB tmpfs). The full size is `python -m benchmarks.faults --scale 1m --kills 20`.
The full-disk test mounts a tmpfs: it needs root (CI runs as root) and fails, never skips, without it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks import faults

pytestmark = pytest.mark.slow

KILLS = 5


@pytest.fixture(scope="module")
def stores(small_practice: Path, tmp_path_factory: pytest.TempPathFactory) -> faults.Stores:
    work = tmp_path_factory.mktemp("faults")
    return faults.prepare(small_practice, work / "stores")


def test_the_batch_changes_every_table_it_holds(stores: faults.Stores) -> None:
    # Otherwise "before or after" could not tell them apart: rows are added to the three tables not in the before store.
    for table in ("assignments", "submissions", "measures"):
        assert stores.before_digest[table][0] == 0
        assert stores.after_digest[table][0] > 1000
    assert stores.before_digest["clients"] == stores.after_digest["clients"]


def test_sigkill_at_random_moments_leaves_the_store_before_or_after_the_batch(stores: faults.Stores, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    moments = faults.kill_moments(stores, KILLS, random.Random(seed))
    results = []
    for moment in moments:
        try:
            results.append(faults.kill_inside(stores, tmp_path, moment))  # checks before/after, then imports again
        except faults.FaultError as exc:
            pytest.fail(f"seed {seed}, moment {moment:.2f} s: {exc}")
    assert {k.state for k in results} <= {"before", "after"}
    assert all(k.killed for k in results), f"seed {seed}: every kill must land inside the import: {results}"


def test_a_full_disk_refuses_the_import_clearly_and_keeps_the_store(stores: faults.Stores, tmp_path: Path) -> None:
    try:
        disk = faults.full_disk(stores, tmp_path)  # raises FaultError for a traceback, an unclear message, a changed store
    except faults.FaultError as exc:
        pytest.fail(str(exc))
    assert disk.returncode == 1
    assert disk.message.startswith("error: the disk is full (writing "), disk.message
    assert "nothing was written and the store is as it was" in disk.message
