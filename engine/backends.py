"""Backends that run self-play: in this process, or in one process per core.

Both take the network's weights and return (game records, stats, network evaluations), so the
pipeline does not care where the games were played. They play with the config they are given:
the learner's generator settings (engine/learners).
"""
from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os

import numpy as np
import torch

import games
from engine.config import Config
from engine.network import InferenceSettings, NetworkEvaluator, make_evaluator
from engine.selfplay import SelfPlayStats, SelfPlayStream, play_games


class LocalSelfPlay:
    """Self-play in this process, with the network evaluated in place. Its games stay in
    flight between calls when config.selfplay.carry_over is set."""

    def __init__(self, config: Config, evaluator: NetworkEvaluator):
        self.config, self.evaluator = config, evaluator
        self.net, self.game = evaluator.net, games.get(config.game)
        self.stream: SelfPlayStream | None = None

    def play(self, weights: dict, num_games: int, seed: int):
        """Play num_games games with these weights (seed: of the first call's games; weights:
        on the CPU, any device's network takes them)."""
        self.net.load_state_dict(weights)
        sp, search = self.config.selfplay, self.config.search
        before = self.evaluator.positions
        if not sp.carry_over:
            records, stats = play_games(self.game, self.evaluator, search, sp, num_games, seed)
        else:
            if self.stream is None:
                self.stream = SelfPlayStream(self.game, self.evaluator, search, sp,
                                             sp.games_in_parallel, seed)
            records, stats = self.stream.play(num_games)
        return records, stats, self.evaluator.positions - before

    def close(self) -> None:
        pass


_worker: LocalSelfPlay | None = None
_start_error: str | None = None


def _start_worker(config: Config, settings: InferenceSettings) -> None:
    """A pool's initializer. A failure is kept for the first job to raise: an initializer that
    raises makes the pool start a new worker, forever."""
    global _worker, _start_error
    try:
        torch.set_num_threads(1)
        game = games.get(config.game)
        settings = dataclasses.replace(settings, threads=1)
        _worker = LocalSelfPlay(config, make_evaluator(game, config.network, None, settings))
    except Exception as e:  # noqa: BLE001 - reported by _worker_play
        _start_error = f"a self-play worker could not start: {type(e).__name__}: {e}"


def _worker_play(weights: dict, num_games: int, seed: int):
    if _worker is None:
        raise RuntimeError(_start_error)
    return _worker.play(weights, num_games, seed)


class ProcessSelfPlay:
    """Self-play in `workers` processes with one torch thread each: every core plays its own
    batch of games, so the tree work of one overlaps the network work of the others."""

    def __init__(self, config: Config, settings: InferenceSettings, workers: int):
        self.pool = mp.get_context("spawn").Pool(workers, _start_worker, (config, settings))
        self.workers = workers

    def play(self, weights: dict, num_games: int, seed: int):
        shares = np.full(self.workers, num_games // self.workers)
        shares[: num_games % self.workers] += 1
        jobs = [(weights, int(n), seed + 1_000_003 * i) for i, n in enumerate(shares) if n]
        results = self.pool.starmap(_worker_play, jobs)
        records = [r for part, _, _ in results for r in part]
        return (records, SelfPlayStats.merge([stats for _, stats, _ in results]),
                sum(e for _, _, e in results))

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


def make_selfplay(config: Config, net, settings: InferenceSettings):
    """The backend that config.pipeline.workers asks for (1 = this process, 0 = one per core)."""
    workers = config.pipeline.workers or len(os.sched_getaffinity(0))
    if workers > 1:
        return ProcessSelfPlay(config, settings, workers)
    return LocalSelfPlay(config, NetworkEvaluator(net, games.get(config.game), settings))
