"""Learners: how finished self-play games become training targets (the critic as a switch).

A learner chooses the generator (the self-play settings its games are played with) and labels
the raw `GameRecord`s into `Trajectory`s on their way into the replay buffer:

    learner = make_learner(game, config, run_dir)
    selfplay settings = learner.generator(config)     # a Config: search and selfplay sections
    trajectories, stats = learner.label(records, rng)  # stats: a flat dict of numbers

One small module per learner (alphazero, star, no_critic, noisy_critic, proxy_critic), chosen by
config.learner.kind. The value target NaN means "no value target" and a policy target of zeros
"no policy target" (the trainer skips them).
"""
from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.config import Config
from engine.selfplay import GameRecord, Trajectory
from games import Game
from mcts import UNKNOWN

KINDS = ("alphazero", "star", "no_critic", "noisy_critic", "proxy_critic")
# the learners whose critic is the game's result: their search sees the rules' verdict too
# (by default), and an arena gate may pick their generator by games' results (unless their
# search is made blind)
EXACT_BY_DEFAULT = ("alphazero", "star")


class Learner(Protocol):
    kind: str

    def generator(self, config: Config) -> Config:
        """The config self-play runs with: this learner's search and self-play settings."""
        ...

    def label(self, records: list[GameRecord], rng: np.random.Generator
              ) -> tuple[list[Trajectory], dict]:
        """Training targets of these games, and numbers about the labelling (for metrics)."""
        ...


class LearnerError(ValueError):
    """A learner that cannot run with this game or config; the message names what is wrong."""


def _module(config: Config):
    kind = config.learner.kind
    if kind not in KINDS:
        raise LearnerError(f"unknown learner.kind {kind!r} (learners: {', '.join(KINDS)})")
    return importlib.import_module(f"engine.learners.{kind}")


def check_learner(game: Game, config: Config) -> None:
    """A LearnerError naming what this game lacks for the configured learner (a solver, a
    proxy feature) or a setting that would show it the exact critic; cheap, and writes
    nothing."""
    module = _module(config)
    gate, kind = config.arena.gate, config.learner.kind
    # a blind search is a control on the exact critic too (alphazero with search_critic =
    # "none", the twin of noisy_critic at p = 0): a gate would show its generator the results
    if gate != "none" and (kind not in EXACT_BY_DEFAULT or blind_search(config)):
        whose = ("whose critic is not the result" if kind not in EXACT_BY_DEFAULT
                 else "whose search is blind to it (learner.search_critic = 'none')")
        raise LearnerError(f"arena.gate = {gate!r} would let the games' results choose the "
                           f"network that generates learner.kind = {kind!r}'s games, {whose}: "
                           "set arena.gate = 'none'")
    if hasattr(module, "check"):
        module.check(game, config)


def make_learner(game: Game, config: Config, run_dir: Path | None = None) -> Learner:
    """The learner config.learner.kind names (run_dir: where a learner keeps what it made,
    e.g. proxy_critic's frozen reward model)."""
    check_learner(game, config)
    return _module(config).build(game, config, run_dir)


def blind_search(config: Config) -> bool:
    """Whether self-play's search must not see the games' results (learner.search_critic)."""
    critic = config.learner.search_critic
    if critic == "auto":
        return config.learner.kind not in EXACT_BY_DEFAULT
    return critic == "none"


def searched(config: Config) -> Config:
    """config with the search the learner's critic allows: blind to finished games' results
    (and so without solver proofs) where the critic is not the result."""
    if not blind_search(config):
        return config
    search = dataclasses.replace(config.search, exact_terminals=False, solver=False)
    return dataclasses.replace(config, search=search)


def mixed_values(record: GameRecord, rows: np.ndarray, results: np.ndarray,
                 search_weight: float) -> np.ndarray:
    """[n] float32 value targets: (1 - w) * the rated result (mover's view) + w * the search's
    root value (exact where proven)."""
    root = np.where(record.proven[rows] == UNKNOWN, record.values[rows],
                    record.proven[rows]).astype(np.float64)
    return ((1 - search_weight) * results + search_weight * root).astype(np.float32)


def rated(records: list[GameRecord], ratings, search_weight: float) -> list[Trajectory]:
    """AlphaZero's targets with each game's result replaced by ratings[i] (first player's view):
    the search's policy, and the rating mixed with the search's value, at full searches."""
    trajectories = []
    for record, rating in zip(records, ratings):
        rows = np.flatnonzero(record.full)
        movers = record.movers[rows]
        results = np.where(movers == 0, rating, -rating).astype(np.float64)
        trajectories.append(Trajectory(record.states[rows], record.policies[rows],
                                       mixed_values(record, rows, results, search_weight)))
    return trajectories


def one_hot(actions: np.ndarray, num_actions: int) -> np.ndarray:
    out = np.zeros((len(actions), num_actions), np.float32)
    out[np.arange(len(actions)), actions] = 1.0
    return out
