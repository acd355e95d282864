"""A proxy critic: AlphaZero's targets with each game rated by a cheap proxy instead of its
result, as a learned reward model stands in for people's judgement in LLM training (Gao,
Schulman and Hilton 2022). The rating is the proxy's verdict (its sign) on the final position.

learner.proxy:
- "feature": the game's hand-written `proxy_score` (Connect Four: stones in the centre column);
- "reward_model": a small value network trained once, then frozen, on learner.reward_games
  games of uniformly random play (their unfinished positions, labelled with the results). The
  final positions it rates are unlike anything it saw: where a learned proxy goes wrong.

Each generation logs how often the proxy's verdict agrees with the result on decisive games
(`proxy_agreement`): the point where the policy's games and the proxy part shows there."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.config import Config, NetworkConfig
from engine.learners import LearnerError, rated, searched
from games import Game

REWARD_NETWORK = NetworkConfig(blocks=1, channels=16, value_hidden=16)


@dataclass
class ProxyCritic:
    game: Game
    score: object  # states [n, S] -> [n] float32, the proxy's value for the mover
    search_weight: float
    kind: str = "proxy_critic"

    def generator(self, config: Config) -> Config:
        return searched(config)

    def label(self, records, rng):
        finals = np.stack([r.final_state for r in records])
        movers = self.game.to_play(finals)
        proxy = np.sign(self.score(finals)).astype(np.float64)
        ratings = np.where(movers == 0, proxy, -proxy)  # first player's view
        results = np.array([r.result for r in records])
        decisive = results != 0
        stats = {"proxy_agreement": float((ratings[decisive] == results[decisive]).mean())
                 if decisive.any() else float("nan"),
                 "proxy_first_player_rating": float(ratings.mean())}
        return rated(records, ratings, self.search_weight), stats


def check(game: Game, config: Config) -> None:
    if config.learner.proxy == "feature" and game.proxy_score is None:
        raise LearnerError(f"learner.proxy = 'feature': {game.name} has no proxy_score "
                           "(use proxy = 'reward_model')")


def build(game: Game, config: Config, run_dir: Path | None = None) -> ProxyCritic:
    o = config.learner
    if o.proxy == "feature":
        score = game.proxy_score
    else:
        score = _reward_model(game, o.reward_games, o.reward_steps, config.pipeline.seed,
                              None if run_dir is None else Path(run_dir) / "reward_model.ckpt")
    return ProxyCritic(game, score, config.selfplay.value_target_search)


def _reward_model(game: Game, num_games: int, steps: int, seed: int, path: Path | None):
    """The frozen reward model as a scoring function: loaded from path, else trained (and
    saved there) from seed, so that a resumed run rates with the same model."""
    from engine.checkpoint import Checkpoint, atomic_write, load_checkpoint
    from engine.network import build_network, make_evaluator

    if path is not None and path.exists():
        weights = load_checkpoint(path, game.name).weights
    else:
        net = build_network(game, REWARD_NETWORK)
        _train_reward_model(net, game, num_games, steps, seed)
        weights = net.state_dict()
        if path is not None:
            # a checkpoint's config is a zeroplay config (checked on loading): the network's;
            # what trained it is the run's learner settings
            config = {"network": REWARD_NETWORK.__dict__}
            atomic_write(path, Checkpoint(game.name, 0, config, weights).to_bytes())
    evaluator = make_evaluator(game, REWARD_NETWORK, weights)

    def score(states: np.ndarray) -> np.ndarray:
        return evaluator(states, np.ones((len(states), game.num_actions), bool))[1]

    return score


def _train_reward_model(net, game: Game, num_games: int, steps: int, seed: int) -> None:
    rng = np.random.default_rng([seed, 0x5EED])
    torch.manual_seed(seed)
    positions, results = game.random_positions(num_games, rng)
    planes = np.empty((len(positions), *game.planes), np.float32)
    game.encode(positions, planes)
    x, y = torch.from_numpy(planes), torch.from_numpy(results.astype(np.float32))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    net.train()
    for _ in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(x), 256))
        loss = torch.nn.functional.mse_loss(net(x[idx])[1], y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
