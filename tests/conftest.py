from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def connect4_data() -> Path:
    """../shared/data/connect4 beside the checkout (Pons' test sets, solver-scored positions)."""
    path = SHARED_DATA / "connect4"
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path}")
    return path
