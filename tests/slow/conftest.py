"""The slow group's shared practice: ~14k submissions generated once per run (benchmarks/faults.py's "small" scale)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import faults


@pytest.fixture(scope="session")
def small_practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the five canonical CSVs of the small practice (80 clients, 4 therapists, 52 weeks)."""
    return faults.practice_files("small", cache=tmp_path_factory.mktemp("practice"))
