"""numba's cache of the search's kernels follows every file they compile in (mcts.cache): an
edit to a helper that lives in another file than the kernel takes effect at the next start,
with mcts/__pycache__ left as it was."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# a search through mcts.step.step (a plain function as evaluator: the Python loop), printing
# the root children's visits and the step kernel's cache hits and misses
SEARCH = """
import numpy as np
import games
from mcts import Searcher, SearchConfig
from mcts.step import step

def evaluate(states, masks):
    return masks / masks.sum(axis=1, keepdims=True), np.zeros(len(states), np.float32)

game = games.get("tictactoe")
searcher = Searcher(game, evaluate, SearchConfig(simulations=40, dirichlet_fraction=0.0), 2)
searcher.set_roots(game.new_states(2))
visits = int(searcher.run().visits.sum())
stats = step.stats
print(visits, sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def search(package: Path) -> tuple[int, int, int]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", SEARCH], cwd=package, env=env, check=True,
                         capture_output=True, text=True, timeout=600).stdout
    visits, hits, misses = map(int, out.split())
    return visits, hits, misses


def test_an_edit_to_a_file_the_step_kernel_compiles_in_takes_effect(tmp_path):
    for name in ("mcts", "games"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    assert search(tmp_path) == (80, 0, 1)  # 2 trees x 40 simulations, compiled
    assert search(tmp_path) == (80, 1, 0)  # loaded from the cache
    select = tmp_path / "mcts" / "select.py"
    source = select.read_text()
    visit = '    """A walk passes through the node of record e: one visit and a virtual loss at once."""\n    e.visits += 1\n'
    assert source.count(visit) == 1
    select.write_text(source.replace(visit, visit.replace("+= 1", "+= 3")))  # in step.py's code
    assert search(tmp_path) == (240, 0, 1)  # three visits per walk: compiled afresh
    assert search(tmp_path) == (240, 1, 0)
