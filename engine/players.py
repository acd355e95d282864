"""Players: anything that picks moves for a batch of positions, `choose(states [n, S]) -> [n]`."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.limits import check_search, search_bytes
from games import Game
from mcts import RolloutEvaluator, Searcher, SearchConfig

MODELS_DIR = Path(__file__).parent / "models"


class Player(Protocol):
    name: str

    def choose(self, states: np.ndarray) -> np.ndarray:
        ...


class RandomPlayer:
    """A uniformly random legal move."""

    def __init__(self, game: Game, seed: int = 0):
        self.game, self.rng, self.name = game, np.random.default_rng(seed), "random"

    def choose(self, states):
        masks = self.game.legal_masks(states)
        scores = self.rng.random(masks.shape) * masks
        return scores.argmax(axis=1)


class SearchPlayer:
    """Search from each position (fresh trees) and play the search's pick. The memory of its
    trees is checked before they are allocated (engine.limits); `option` is the setting that
    the message asks to lower."""

    def __init__(self, game: Game, evaluate, search: SearchConfig, name: str, seed: int = 0,
                 option: str = "the simulations"):
        self.game, self.evaluate, self.search, self.name = game, evaluate, search, name
        self.seed, self.option = seed, option
        self._searchers: dict[int, Searcher] = {}
        check_search(game, search.simulations, 1, search.leaves_per_tree, option)

    def choose(self, states):
        return self.analyse(states)[0].action

    def analyse(self, states):
        """(the search's result, its trees) for states [n, S]: engine.thinking reads both."""
        n = len(states)
        if n not in self._searchers:
            cfg = self.search
            held = sum(search_bytes(self.game, cfg.simulations, cfg.leaves_per_tree, b)
                       for b in self._searchers)
            check_search(self.game, cfg.simulations, n, cfg.leaves_per_tree, self.option, held)
            self._searchers[n] = Searcher(self.game, self.evaluate, self.search, n,
                                          seed=self.seed + n)
        searcher = self._searchers[n]
        searcher.set_roots(states)
        return searcher.run(), searcher.tree


def mcts_name(simulations: int) -> str:
    """A pure-MCTS player's name: 'mcts200'."""
    return f"mcts{simulations}"


def mcts_player(game: Game, simulations: int, rollouts: int = 1, seed: int = 0,
                c_init: float = 3.0, option: str = "the simulations") -> SearchPlayer:
    """Pure MCTS: uniform priors, random rollouts, exploration suited to rollout values."""
    cfg = SearchConfig(simulations=simulations, c_init=c_init, dirichlet_fraction=0.0)
    return SearchPlayer(game, RolloutEvaluator(game, rollouts, seed), cfg,
                        mcts_name(simulations), seed, option)


def resolve_checkpoint(spec: str, game: Game) -> Path:
    """A checkpoint path; 'builtin' is the model shipped for the game."""
    from engine.checkpoint import CheckpointError

    if spec == "builtin":
        path = MODELS_DIR / f"{game.name}.ckpt"
        if not path.exists():
            raise CheckpointError(f"no builtin model for {game.name}")
        return path
    return Path(spec)


def network_player(game: Game, checkpoint: str | Path, simulations: int | None, seed: int = 0,
                   search: SearchConfig | None = None,
                   option: str = "the simulations") -> SearchPlayer:
    """A network loaded from a checkpoint, with `simulations` of search (0 = raw policy,
    None = the checkpoint's own setting). The checkpoint's config and weights are checked
    (engine.checkpoint.check_contents) before the network is built."""
    from engine.checkpoint import CheckpointError, load_checkpoint  # torch only when needed
    from engine.config import from_dict
    from engine.network import make_evaluator

    if simulations is not None:
        check_search(game, simulations, option=option)  # before the checkpoint is read
    ckpt = load_checkpoint(resolve_checkpoint(str(checkpoint), game), game.name)
    config = from_dict(ckpt.game, ckpt.config)
    try:
        evaluator = make_evaluator(game, config.network, ckpt.weights)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {checkpoint} does not fit the network: "
                              f"{str(e).splitlines()[0]}") from None
    base = search or config.search
    if simulations is None:
        simulations = base.simulations
    cfg = dataclasses.replace(base, simulations=simulations, dirichlet_fraction=0.0)
    return SearchPlayer(game, evaluator, cfg, f"net{ckpt.generation}-{simulations}", seed,
                        option)


def _count(text: str) -> int | None:
    """An integer written in ASCII digits, else None ('²'.isdigit() is true: int() fails)."""
    return int(text) if text.isascii() and text.isdigit() else None


def parse_player(game: Game, spec: str, seed: int = 0):
    """A player from text: 'random', 'mcts:SIMS' (pure MCTS), 'net:CHECKPOINT[:SIMS]'
    (CHECKPOINT may be 'builtin'; SIMS 0 = raw policy, default: the checkpoint's own) or, for
    Go, 'gnugo:LEVEL' (GNU Go over GTP: engine/gnugo.py)."""
    from engine.config import excerpt

    kind, _, rest = spec.partition(":")
    if kind == "random" and not rest:
        return RandomPlayer(game, seed)
    if kind == "mcts" and _count(rest):
        return mcts_player(game, _count(rest), seed=seed, option=f"SIMS of {excerpt(spec)}")
    if kind == "net" and rest:
        path, sep, sims = rest.rpartition(":")
        if sep and _count(sims) is not None:
            return network_player(game, path, _count(sims), seed,
                                  option=f"SIMS of {excerpt(spec)}")
        return network_player(game, rest, None, seed, option=f"SIMS of {excerpt(spec)}")
    if kind == "gnugo":
        from engine.gnugo import GnuGoPlayer, parse_level

        return GnuGoPlayer(game, parse_level(game, spec, rest), seed)
    raise ValueError(f"bad player {excerpt(spec)}: expected random, mcts:SIMS (SIMS >= 1), "
                     f"net:CHECKPOINT[:SIMS] or gnugo:LEVEL")
