"""A full disk during a write is DiskFull (a StoreError that says so), not a conflict or a traceback.

The real full disk is in tests/slow/test_faults.py (a tmpfs); here, DuckDB's own messages for it, word for word.
"""

from __future__ import annotations

import duckdb
import pytest

from analytics.store.database import DiskFull, StoreError, WriteConflict, disk_full, open_store, transaction

WAL_FULL = ('TransactionContext Error: Failed to commit: Could not write file "/mnt/small/store.duckdb.wal": '
            "No space left on device")
SPILL_FULL = ("Out of Memory Error: failed to offload data block of size 256.0 KiB (32.3 MiB/32.3 MiB used).\n"
              "This limit was set by the 'max_temp_directory_size' setting.")


def test_duckdbs_words_for_a_full_disk_name_what_ran_out() -> None:
    wal = disk_full(duckdb.TransactionException(WAL_FULL))
    assert isinstance(wal, DiskFull) and isinstance(wal, StoreError)
    assert str(wal) == ("the disk is full (writing /mnt/small/store.duckdb.wal): nothing was written and the store is as it "
                        "was; free some space on that disk and try again")
    spill = disk_full(duckdb.OutOfMemoryException(SPILL_FULL))
    assert str(spill).startswith("the disk is full (writing the temp directory, where work that does not fit in memory goes)")
    assert disk_full(OSError(28, "No space left on device")) is not None
    assert disk_full(duckdb.TransactionException("Conflict on tuple deletion")) is None
    assert disk_full(duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")) is None


def test_a_write_that_fills_the_disk_is_rolled_back_as_diskfull(tmp_path) -> None:
    con = open_store(tmp_path / "store.duckdb")
    with pytest.raises(DiskFull), transaction(con):
        con.execute("insert into settings values ('probe', 'x')")
        raise duckdb.IOException('IO Error: Could not write file "store.duckdb": No space left on device')
    assert con.execute("select count(*) from settings where key = 'probe'").fetchone() == (0,)
    # A conflict stays a conflict.
    with pytest.raises(WriteConflict), transaction(con):
        raise duckdb.TransactionException("TransactionContext Error: Catalog write-write conflict")
