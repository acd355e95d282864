"""No critic: the loop trains on its own output and nothing else, the "train a model on
itself" control: the policy on its own search's visits, the value on its own search's value
(built from its own predictions: the search is blind to the games' results)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.config import Config
from engine.learners import LearnerError, searched
from engine.selfplay import Trajectory
from games import Game


@dataclass
class NoCritic:
    kind: str = "no_critic"

    def generator(self, config: Config) -> Config:
        return searched(config)

    def label(self, records, rng):
        trajectories = []
        for record in records:
            rows = np.flatnonzero(record.full)
            trajectories.append(Trajectory(record.states[rows], record.policies[rows],
                                           record.values[rows].astype(np.float32)))
        return trajectories, {}


def check(game: Game, config: Config) -> None:
    if config.learner.search_critic == "exact":
        raise LearnerError("learner.search_critic = 'exact' contradicts learner.kind = "
                           "'no_critic': its search must not see the games' results")


def build(game: Game, config: Config, run_dir=None) -> NoCritic:
    return NoCritic()
