"""The same seed gives the same self-play games and the same training step, in one process."""
from dataclasses import replace

import numpy as np
import pytest
import torch

import games
from engine.config import load_config
from engine.network import NetworkEvaluator, build_network
from engine.learners.alphazero import AlphaZero
from engine.replay import ReplayBuffer
from engine.selfplay import play_games
from engine.trainer import make_optimizer, train
from mcts import UniformEvaluator
from test_pipeline import TINY, one_torch_thread  # noqa: F401 - a module fixture

GAME = games.get("tictactoe")
CONFIG = load_config("tictactoe", overrides=TINY)


def network(seed: int):
    torch.manual_seed(seed)
    return build_network(GAME, CONFIG.network)


def self_play(evaluator, seed: int):
    """(the games' records, statistics) of one generation's self-play."""
    return play_games(GAME, evaluator, CONFIG.search, CONFIG.selfplay,
                      CONFIG.selfplay.games_per_generation, seed)


def flat(trajectories) -> list[np.ndarray]:
    return [np.concatenate([getattr(t, key) for t in trajectories])
            for key in ("states", "policies", "values")]


@pytest.mark.parametrize("evaluator", [UniformEvaluator,
                                       lambda: NetworkEvaluator(network(0), GAME)],
                         ids=["uniform", "network"])
def test_the_same_seed_plays_the_same_games(evaluator):
    games_once, stats_once = self_play(evaluator(), seed=7)
    games_again, stats_again = self_play(evaluator(), seed=7)
    for once, again in zip(flat(games_once), flat(games_again)):
        np.testing.assert_array_equal(once, again)
    assert stats_once == stats_again
    other = flat(self_play(evaluator(), seed=8)[0])[0]
    assert other.shape != flat(games_once)[0].shape or (other != flat(games_once)[0]).any()


def test_the_same_seed_takes_the_same_first_training_step(tmp_path):
    replay = ReplayBuffer(GAME, CONFIG.replay, tmp_path)
    replay.add(AlphaZero(0.0).label(self_play(UniformEvaluator(), seed=7)[0], None)[0])
    one_step = replace(CONFIG.trainer, steps_per_generation=1)

    def first_step(seed):
        net = network(seed)
        train(net, make_optimizer(net, one_step), replay, one_step, 1,
              np.random.default_rng([seed, 1]))
        return net.state_dict()

    once, again, other = first_step(3), first_step(3), first_step(4)
    assert all(torch.equal(once[key], again[key]) for key in once)
    assert not all(torch.equal(once[key], other[key]) for key in once)
    assert not all(torch.equal(once[key], network(3).state_dict()[key]) for key in once)
