"""Evaluators: `evaluate(states [n, S] int64, masks [n, A] bool) -> (priors [n, A], values [n])`.

Values are from the view of the player to move in each state. No torch here: the network
evaluator lives in engine/ and meets this same protocol.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from games import Game
from games.rng import make_rng


class Evaluator(Protocol):
    def __call__(self, states: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ...


def uniform_priors(masks: np.ndarray) -> np.ndarray:
    """[n, A] float32: equal prior over each row's legal actions."""
    priors = masks.astype(np.float32)
    return priors / np.maximum(priors.sum(axis=1, keepdims=True), 1.0)


class UniformEvaluator:
    """Uniform priors and value 0: the tree's own throughput, with no evaluation cost. It is
    the rollout evaluator with no rollouts, and runs inside the search's compiled loop too."""

    rollouts = 0
    rng = make_rng(0)  # never drawn from

    def __call__(self, states, masks):
        return uniform_priors(masks), np.zeros(len(states), np.float32)


class RolloutEvaluator:
    """Uniform priors and the mean result of `rollouts` random playouts (pure MCTS; 0 rollouts:
    value 0). The search runs this evaluator inside its compiled loop (mcts.step)."""

    def __init__(self, game: Game, rollouts: int = 1, seed: int = 0):
        self.game, self.rollouts = game, rollouts
        self.rng = make_rng(seed)

    def __call__(self, states, masks):
        values = np.zeros(len(states), np.float32)
        for _ in range(self.rollouts):
            values += self.game.playouts(states, self.rng)
        return uniform_priors(masks), values / max(self.rollouts, 1)
