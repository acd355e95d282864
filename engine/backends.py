"""Backends that run self-play: in this process, in one process per core, or as actors on a Ray
cluster (engine/ray_backend.py, imported only when chosen: one machine needs no Ray).

Each is a `SelfPlayBackend`: play(weights, games, seed) returns (game records, stats, network
evaluations), so the pipeline does not care where the games were played. They play with the
config they are given: the learner's generator settings (engine/learners).
"""
from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import socket
from typing import Callable, Protocol

import numpy as np
import torch

import games
from engine.config import Config
from engine.extras import require
from engine.network import InferenceSettings, NetworkEvaluator, make_evaluator
from engine.rundir import RunError
from engine.selfplay import GameQuota, GameRecord, SelfPlayStats, SelfPlayStream, play_games

Played = tuple[list[GameRecord], SelfPlayStats, int]  # records, stats, network evaluations


class SelfPlayBackend(Protocol):
    def play(self, weights: dict, num_games: int, seed: int) -> Played:
        """num_games finished games played with these weights (a state dict on the CPU)."""

    def close(self) -> None:
        """Stop the workers this backend started."""


class LocalSelfPlay:
    """Self-play in this process, with the network evaluated in place. Its games stay in
    flight between calls when config.selfplay.carry_over is set."""

    def __init__(self, config: Config, evaluator: NetworkEvaluator):
        self.config, self.evaluator = config, evaluator
        self.net, self.game = evaluator.net, games.get(config.game)
        self.stream: SelfPlayStream | None = None

    def play(self, weights: dict, num_games: int, seed: int,
             quota: GameQuota | None = None) -> Played:
        """Play num_games games with these weights (on the CPU: any device's network takes
        them), or with carry_over as many as this process claims from a quota that other
        processes share. seed: of this call's games; with carry_over, of the first call's only
        (later calls go on with the stream)."""
        self.net.load_state_dict(weights)
        sp, search = self.config.selfplay, self.config.search
        before = self.evaluator.positions
        if not sp.carry_over:
            records, stats = play_games(self.game, self.evaluator, search, sp, num_games, seed)
        else:
            if self.stream is None:
                self.stream = SelfPlayStream(self.game, self.evaluator, search, sp,
                                             sp.games_in_parallel, seed)
            records, stats = self.stream.play(num_games, quota=quota)
        return records, stats, self.evaluator.positions - before

    def close(self) -> None:
        pass


_worker: LocalSelfPlay | None = None
_start_error: str | None = None
_claimed = None  # the games of the current call claimed by all the pool's workers together
_index = 0  # this worker's number in its pool, in the order they started


class SharedQuota:
    """A generation's games, claimed one by one by whichever worker finishes them first: a
    worker whose games end early plays on for the others instead of waiting for them."""

    def __init__(self, claimed, total: int):
        self.claimed, self.total = claimed, total

    def take(self) -> bool:
        with self.claimed.get_lock():
            if self.claimed.value >= self.total:
                return False
            self.claimed.value += 1
            return True

    def full(self) -> bool:
        return self.claimed.value >= self.total


def _start_worker(config: Config, settings: InferenceSettings, claimed=None,
                  started=None) -> None:
    """A pool's initializer (claimed: the pool's shared game count; started: its count of
    workers started, which numbers this one). A failure is kept for the first job to raise:
    an initializer that raises makes the pool start a new worker, forever."""
    global _worker, _start_error, _claimed, _index
    _claimed = claimed
    if started is not None:
        with started.get_lock():
            _index, started.value = started.value, started.value + 1
    try:
        torch.set_num_threads(1)
        game = games.get(config.game)
        settings = dataclasses.replace(settings, threads=1)
        _worker = LocalSelfPlay(config, make_evaluator(game, config.network, None, settings))
    except Exception as e:  # noqa: BLE001 - reported by _worker_play
        _start_error = f"a self-play worker could not start: {type(e).__name__}: {e}"


def _worker_play(weights: dict, num_games: int, seed: int, shared: bool = False):
    """This worker's games: its share of the call (num_games, seeded by `seed`), or with
    `shared` as many of the call's num_games as it claims first (its stream seeded by `seed`
    and its own number: whichever job a worker takes, no two streams share a seed)."""
    if _worker is None:
        raise RuntimeError(_start_error)
    if shared:
        return _worker.play(weights, num_games, worker_seed(seed, _index),
                            SharedQuota(_claimed, num_games))
    return _worker.play(weights, num_games, seed)


def worker_seed(seed: int, worker: int) -> int:
    """The seed of a worker's games in a call (with carry_over, of its stream's first call
    only: later calls go on with the stream)."""
    return seed + 1_000_003 * worker


def shares(num_games: int, workers: int, seed: int) -> list[tuple[int, int, int]]:
    """(worker, games, seed) of each worker with games to play: num_games split evenly."""
    counts = np.full(workers, num_games // workers)
    counts[: num_games % workers] += 1
    return [(i, int(n), worker_seed(seed, i)) for i, n in enumerate(counts) if n]


def merge(parts: list[Played]) -> Played:
    """The workers' results as one."""
    return ([r for records, _, _ in parts for r in records],
            SelfPlayStats.merge([stats for _, stats, _ in parts]), sum(e for _, _, e in parts))


class ProcessSelfPlay:
    """Self-play in `workers` processes with one torch thread each: every core plays its own
    batch of games, so the tree work of one overlaps the network work of the others. With
    carry_over, the workers claim a call's games from one count as they finish them (which
    worker plays which game then depends on timing: `pipeline.workers = 1` is reproducible);
    else each plays an even share to the end."""

    def __init__(self, config: Config, settings: InferenceSettings, workers: int):
        ctx = mp.get_context("spawn")
        self.claimed = ctx.Value("q", 0)
        self.pool = ctx.Pool(workers, _start_worker,
                             (config, settings, self.claimed, ctx.Value("q", 0)))
        self.workers, self.shared = workers, config.selfplay.carry_over

    def play(self, weights: dict, num_games: int, seed: int) -> Played:
        if self.shared:
            self.claimed.value = 0
            jobs = [(weights, num_games, seed, True)] * self.workers
        else:
            jobs = [(weights, n, s) for _, n, s in shares(num_games, self.workers, seed)]
        return merge(self.pool.starmap(_worker_play, jobs, chunksize=1))

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


def check_backend(config: Config) -> None:
    """A ValueError unless config's backend can start here: Ray installed for "ray", and the
    cluster at pipeline.ray_address answering. Writes nothing."""
    p = config.pipeline
    if p.backend != "ray":
        return
    require("ray", ("ray",), "pipeline.backend = ray")
    if p.ray_address:
        host, port = p.ray_address.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            raise RunError(f"pipeline.ray_address: no Ray cluster answers at {p.ray_address} "
                           f"({e.strerror or e}); start one with `ray start --head`, or leave "
                           f"the address empty for a cluster on this machine") from None


def make_selfplay(config: Config, net, settings: InferenceSettings,
                  log: Callable[[str], None] = lambda message: None) -> SelfPlayBackend:
    """The backend that config.pipeline asks for: `backend`, with `workers` processes or
    actors (1 process: this one; 0: one per core), in this process with a network of net's
    weights. log: where a Ray actor's restart is told."""
    p = config.pipeline
    if p.backend == "ray":
        from engine.ray_backend import RaySelfPlay

        return RaySelfPlay(config, log)
    workers = p.workers or len(os.sched_getaffinity(0))
    if p.backend == "processes" and workers > 1:
        return ProcessSelfPlay(config, settings, workers)
    return LocalSelfPlay(config, make_evaluator(games.get(config.game), config.network,
                                                net.state_dict(), settings))
