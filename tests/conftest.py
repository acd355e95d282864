from pathlib import Path

import pytest

from engine.strength import DATA_DIR


@pytest.fixture(scope="session")
def connect4_data() -> Path:
    """Connect Four reference data shipped in the package (engine/data/connect4: Pons' six test
    sets and the two solver-scored position files, copies of the project's shared data)."""
    return DATA_DIR / "connect4"
