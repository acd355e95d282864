"""Replay buffer: a growing window of recent positions, stored as atomic shards on disk."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from engine.checkpoint import atomic_write
from engine.config import ReplayConfig
from engine.selfplay import Trajectory
from games import Game

SHARD = re.compile(r"^shard_(\d{6})\.npz$")


class ReplayBuffer:
    """Positions of the last games, loaded from and saved to `directory` shard by shard."""

    def __init__(self, game: Game, cfg: ReplayConfig, directory: Path,
                 complete_shards: int | None = None, total_positions: int | None = None):
        """Load the shards in directory; with complete_shards, delete the shards numbered from
        it on (written by a generation that did not complete). total_positions: the positions
        ever added to this buffer (a run's state counts them), of which the shards on disk are
        the last: the window goes on growing from there, as it would have without the restart
        (default: the positions on disk)."""
        self.game, self.cfg, self.dir = game, cfg, Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.states = np.zeros((0, game.state_size), np.int64)
        self.policies = np.zeros((0, game.num_actions), np.float32)
        self.values = np.zeros(0, np.float32)
        self.total_positions = 0  # every position ever added, the window's clock
        self.next_shard = 0
        shards = []
        for path in sorted(self.dir.iterdir()):
            match = SHARD.match(path.name)
            if match and complete_shards is not None and int(match.group(1)) >= complete_shards:
                path.unlink()
            elif match:
                shards.append(_read_shard(path))
                self.next_shard = int(match.group(1)) + 1
        # the clock before the oldest shard on disk (the shards pruned before it held the rest):
        # each shard is then appended, and the window cut, as when it was first added
        on_disk = sum(len(values) for _, _, values in shards)
        self.total_positions = max((total_positions or 0) - on_disk, 0)
        for shard in shards:
            self._append(*shard)

    @property
    def window(self) -> int:
        cfg = self.cfg
        return int(min(cfg.window_max, cfg.window_min + cfg.window_growth * max(
            0, self.total_positions - cfg.window_min)))

    def __len__(self) -> int:
        return len(self.values)

    def add(self, trajectories: list[Trajectory]) -> Path | None:
        """Append the games' positions and write them as the next shard (atomically)."""
        if not trajectories:
            return None
        states = np.concatenate([t.states for t in trajectories])
        policies = np.concatenate([t.policies for t in trajectories])
        values = np.concatenate([t.values for t in trajectories])
        buf = io.BytesIO()
        np.savez(buf, states=states, policies=policies, values=values)
        path = self.dir / f"shard_{self.next_shard:06d}.npz"
        atomic_write(path, buf.getvalue())
        self.next_shard += 1
        self._append(states, policies, values)
        self._prune_files()
        return path

    def _append(self, states, policies, values) -> None:
        self.total_positions += len(values)
        keep = self.window
        self.states = np.concatenate([self.states, states])[-keep:]
        self.policies = np.concatenate([self.policies, policies])[-keep:]
        self.values = np.concatenate([self.values, values])[-keep:]

    def _prune_files(self) -> None:
        """Delete the oldest shards that lie wholly outside the window."""
        shards = sorted(p for p in self.dir.iterdir() if SHARD.match(p.name))
        newer = 0
        for path in reversed(shards):
            if newer >= self.window:
                path.unlink()
            else:
                with np.load(path) as data:
                    newer += len(data["values"])

    def sample(self, batch: int, rng: np.random.Generator):
        """A batch (planes [n, C, H, W], policies [n, A], values [n]) with random symmetries."""
        idx = rng.integers(0, len(self), batch)
        states, policies = self.states[idx], self.policies[idx]
        planes = np.empty((batch, *self.game.planes), np.float32)
        self.game.encode(states, planes)
        return apply_symmetries(self.game, planes, policies, rng) + (self.values[idx],)


def apply_symmetries(game: Game, planes, policies, rng):
    """Apply one random symmetry of the game to each sample (planes and policy together)."""
    n, c, h, w = planes.shape
    k = rng.integers(0, len(game.cell_perms), n)
    inverse_cells = np.argsort(game.cell_perms, axis=1)[k]  # [n, H*W]
    inverse_actions = np.argsort(game.action_perms, axis=1)[k]  # [n, A]
    flat = planes.reshape(n, c, h * w)
    planes = np.take_along_axis(flat, inverse_cells[:, None, :], axis=2).reshape(n, c, h, w)
    policies = np.take_along_axis(policies, inverse_actions, axis=1)
    return planes, policies


def _read_shard(path: Path):
    with np.load(path) as data:
        return data["states"], data["policies"], data["values"]
