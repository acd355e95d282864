"""A noisy critic: AlphaZero's targets with each game's result flipped (win <-> loss) with
probability learner.flip_probability (Wang et al. 2020's perturbed rewards, symmetric)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.config import Config
from engine.learners import rated, searched
from games import Game


@dataclass
class NoisyCritic:
    flip_probability: float
    search_weight: float
    kind: str = "noisy_critic"

    def generator(self, config: Config) -> Config:
        return searched(config)

    def label(self, records, rng):
        flips = rng.random(len(records)) < self.flip_probability
        ratings = [-r.result if flip else r.result for r, flip in zip(records, flips)]
        decisive = np.array([r.result != 0 for r in records], bool)
        return rated(records, ratings, self.search_weight), {
            "flipped_share": float((flips & decisive).sum() / max(decisive.sum(), 1))}


def build(game: Game, config: Config, run_dir=None) -> NoisyCritic:
    return NoisyCritic(config.learner.flip_probability, config.selfplay.value_target_search)
