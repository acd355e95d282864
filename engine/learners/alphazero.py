"""AlphaZero: the search's policy, and the game's result (mixed with the search's value by
selfplay.value_target_search) as the value target, at every fully searched position."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.config import Config
from engine.learners import rated, searched
from games import Game


@dataclass
class AlphaZero:
    search_weight: float
    kind: str = "alphazero"

    def generator(self, config: Config) -> Config:
        return searched(config)

    def label(self, records, rng):
        return rated(records, [r.result for r in records], self.search_weight), {}


def build(game: Game, config: Config, run_dir=None) -> AlphaZero:
    return AlphaZero(config.selfplay.value_target_search)
