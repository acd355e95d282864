"""What the machine can hold: the memory a search or a training run needs, estimated from its
settings before anything is allocated, and refused in one line (with the estimate) when it
exceeds the memory this process can get.

A search of B trees allocates each tree at full size up front (mcts.Searcher: 2 x (simulations
+ leaves_per_tree) + 1 nodes of A edges and one state each), so its memory follows exactly from
its settings: e.g. Connect Four at 1,000,000,000 simulations is 343 GiB for one tree.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from games import Game
from mcts.tree import new_tree, tree_bytes

GIB = 2**30


class ResourceError(ValueError):
    """Settings whose memory the machine cannot hold; says how much they need."""


def gib(n: float) -> str:
    return f"{n / GIB:,.1f} GiB" if n >= GIB / 10 else f"{n / 2**20:,.1f} MiB"


@functools.lru_cache(maxsize=None)
def _tree_sizes(num_actions: int, state_size: int) -> tuple[int, int]:
    """(bytes per node, bytes per tree besides its nodes) of mcts' tree layout."""
    one, two = (tree_bytes(new_tree(1, n, num_actions, state_size)) for n in (1, 2))
    return two - one, 2 * one - two


def search_bytes(game: Game, simulations: int, leaves_per_tree: int = 1, trees: int = 1) -> int:
    """Memory of `trees` search trees of `simulations` (as mcts.Searcher sizes them)."""
    node, fixed = _tree_sizes(game.num_actions, game.state_size)
    capacity = 2 * (max(simulations, 1) + leaves_per_tree) + 1
    return trees * (fixed + capacity * node)


def available_bytes() -> int:
    """Memory this process can still get: the system's available memory, or less under a
    cgroup limit (a container's)."""
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text())
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(available, 0)


def check_memory(needed: int, what: str, fix: str, already: int = 0) -> None:
    """ResourceError when `needed` more bytes (beside `already` held) do not fit."""
    free = available_bytes()
    if needed > free:
        held = f" besides the {gib(already)} already held" if already else ""
        raise ResourceError(f"{what} needs about {gib(needed)} of memory{held}; this machine "
                            f"has {gib(free)} available ({fix})")


def check_search(game: Game, simulations: int, trees: int = 1, leaves_per_tree: int = 1,
                 option: str = "--simulations", already: int = 0) -> int:
    """The bytes of the search, after checking that they fit; `option` names the setting."""
    needed = search_bytes(game, simulations, leaves_per_tree, trees)
    check_memory(needed, f"a search of {simulations:,} simulations "
                 f"in {trees:,} tree{'s' * (trees != 1)}", f"lower {option}", already)
    return needed


def network_bytes(game: Game, blocks: int, channels: int, value_hidden: int) -> int:
    """Memory of the parameters of one network (float32)."""
    c_in, h, w = game.planes
    params = (9 * c_in * channels + blocks * 2 * (9 * channels * channels + 2 * channels)
              + 3 * channels + 2 * h * w * game.num_actions + h * w * value_hidden
              + value_hidden)
    return 4 * params


def train_bytes(game: Game, config) -> dict[str, int]:
    """What a training run of `config` holds at most, by part: the self-play trees, the arena's
    and rating's trees (a SearchPlayer keeps a tree batch per batch size it met), the replay
    window and the networks (best, candidate, its gradients, momentum and average, and the
    copies in the self-play workers)."""
    from engine.arena import ladder

    s, a, r, t, n = config.search, config.arena, config.replay, config.trainer, config.network
    gate_batch = min(32, a.max_games + 1)
    sizes = lambda batch: batch * (batch + 1) // 2  # noqa: E731 - trees of batch sizes 1..batch
    arena = max(2 * search_bytes(game, a.simulations, 1, sizes(gate_batch)),
                search_bytes(game, a.simulations, 1, sizes(a.rating_games))
                + search_bytes(game, ladder(a)[-1], 1, sizes(a.rating_games)))
    position = 8 * game.state_size + 4 * game.num_actions + 4
    c, h, w = game.planes
    workers = config.pipeline.workers or os.cpu_count() or 1
    return {
        "self-play search (search.simulations x selfplay.games_in_parallel)": search_bytes(
            game, s.simulations, s.leaves_per_tree, config.selfplay.games_in_parallel),
        "arena search (arena.simulations, arena.rating_games, the ladder's top)": arena,
        "replay window (replay.window_max)": r.window_max * position
        + t.batch_size * (4 * c * h * w + 4 * game.num_actions + 4),
        "networks (network.blocks x network.channels)": (6 + workers) * network_bytes(
            game, n.blocks, n.channels, n.value_hidden),
    }


def check_train(game: Game, config) -> None:
    """ResourceError naming the largest part when a training run cannot fit in memory."""
    parts = train_bytes(game, config)
    largest = max(parts, key=parts.get)
    check_memory(sum(parts.values()), "this training run",
                 f"the most is the {largest}: {gib(parts[largest])}")
