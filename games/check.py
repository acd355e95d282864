"""Conformance self-test for a registered game: `check_game(game) -> list[str]`, [] when all good.

Random games are played with the batched kernels, then every position on the way is checked:
the rules' invariants (outcome values, legal moves, alternation), the encoding's mover's view,
the symmetries, the notation, the playouts, and that batched kernels agree row by row with
single-row calls, and the kernels' exact dtypes. The encoding check holds for placement games
(tic-tac-toe, Connect Four, Gomoku) and for games that flip (Othello) or capture (Go) stones:
see the contract in games/interface.py.
"""
from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np

from games.interface import ONGOING, Game, GameError
from games.rng import make_rng

OUTCOME_VALUES = (-1, 0, 1, ONGOING)


class _Report:
    """Problems found: the first example of each kind, and how often that kind occurred."""

    def __init__(self):
        self.first: dict[str, str] = {}
        self.count: Counter = Counter()

    def add(self, kind: str, example: str) -> None:
        self.count[kind] += 1
        self.first.setdefault(kind, example)

    def problems(self) -> list[str]:
        more = {kind: f" (and {n - 1} more)" if n > 1 else "" for kind, n in self.count.items()}
        return [f"{kind}: {example}{more[kind]}" for kind, example in self.first.items()]


class _View(NamedTuple):
    """What the kernels say about a batch of positions."""
    masks: np.ndarray  # [n, A] bool
    outcomes: np.ndarray  # [n] int8
    to_play: np.ndarray  # [n] int8
    planes: np.ndarray  # [n, C, H*W] float32


class _Games(NamedTuple):
    """Random games and what the kernels say along them."""
    game: Game
    actions: np.ndarray  # [n, T] int64, -1 after each game's end
    lengths: np.ndarray  # [n] moves in each game
    states: np.ndarray  # [T + 1, n, S] the positions after t moves (frozen after the end)
    views: list  # [T + 1] _View of states[t]
    seed: int

    def where(self, i: int, t: int) -> str:
        """The position after t moves of game i, for a problem's example."""
        return f"after {self.game.format_moves(self.actions[i, :t])!r}" if t else "at the start"


def check_game(game: Game, n_games: int = 200, seed: int = 0) -> list[str]:
    """Check `game` against the interface's invariants over `n_games` random games.

    Returns one clear line per kind of problem found (with its first example); [] = all good.
    A check that raises is reported as a problem too.
    """
    report = _Report()
    try:
        actions = _random_games(game, n_games, np.random.default_rng(seed), report)
        states = _replay(game, actions)
        g = _Games(game, actions, (actions >= 0).sum(axis=1), states,
                   [_view(game, s) for s in states], seed)
    except Exception as e:  # noqa: BLE001 -- a broken kernel is a finding, not a crash
        report.add("playing random games raises", f"{type(e).__name__}: {e}")
        return report.problems()
    for check in (_check_dtypes, _check_rules, _check_encoding, _check_symmetries, _check_notation,
                  _check_batching, _check_playouts):
        try:
            check(g, report)
        except Exception as e:  # noqa: BLE001
            report.add(f"{check.__name__.removeprefix('_check_')} check raises",
                       f"{type(e).__name__}: {e}")
    return report.problems()


def _random_games(game: Game, n: int, rng: np.random.Generator, report: _Report) -> np.ndarray:
    """[n, T] int64 actions of n uniformly random games, -1 after each game's end."""
    states = game.new_states(n)
    if not (states == game.initial()).all():
        report.add("new_states rows differ", f"new_states({n}) does not repeat one initial position")
    actions = np.full((n, game.max_moves), -1, np.int64)
    for t in range(game.max_moves):
        live = np.flatnonzero(game.outcomes(states) == ONGOING)
        if live.size == 0:
            return actions[:, :t]
        masks = game.legal_masks(states[live])
        # a uniform choice among the legal moves: the largest random key among them
        actions[live, t] = np.argmax(np.where(masks, rng.random(masks.shape), -1.0), axis=1)
        rows = states[live]
        game.play(rows, actions[live, t])
        states[live] = rows
    if (game.outcomes(states) == ONGOING).any():
        report.add("a game does not end", f"not over after max_moves = {game.max_moves} moves")
    return actions


def _replay(game: Game, actions: np.ndarray) -> np.ndarray:
    """[T + 1, n, S]: the positions after t moves of each game (frozen after its end)."""
    n, length = actions.shape
    states = np.empty((length + 1, n, game.state_size), np.int64)
    states[0] = game.new_states(n)
    for t in range(length):
        states[t + 1] = states[t]
        moving = actions[:, t] >= 0
        rows = states[t + 1, moving]
        game.play(rows, actions[moving, t])
        states[t + 1, moving] = rows
    return states


def _view(game: Game, states: np.ndarray) -> _View:
    planes = np.zeros((len(states), *game.planes), np.float32)
    game.encode(states, planes)
    return _View(game.legal_masks(states), game.outcomes(states), game.to_play(states),
                 planes.reshape(len(states), game.planes[0], -1))


def _check_rules(g, report):
    for t, v in enumerate(g.views):
        for i in np.flatnonzero(g.lengths >= t):
            outcome, n_legal = int(v.outcomes[i]), int(v.masks[i].sum())
            if outcome not in OUTCOME_VALUES:
                report.add("outcome out of range", f"{outcome} {g.where(i, t)}")
            if v.to_play[i] != t % 2:
                report.add("players do not alternate", f"to_play {v.to_play[i]} {g.where(i, t)}")
            if outcome == ONGOING and n_legal == 0:
                report.add("a game not over has no legal move", g.where(i, t))
            if outcome != ONGOING and n_legal:
                report.add("a finished game has legal moves", f"{n_legal} {g.where(i, t)}")
            if outcome == 1 and not g.game.scored:
                report.add("the player to move has already won (the last mover should win: -1)",
                           g.where(i, t))


def _check_dtypes(g, report):
    """The kernels' results have the exact dtypes the search's function pointers expect."""
    game, states = g.game, g.states[0]
    results = {"legal_masks": (game.legal_masks(states), np.bool_),
               "outcomes": (game.outcomes(states), np.int8),
               "to_play": (game.to_play(states), np.int8),
               "playouts": (game.playouts(states.copy(), make_rng(g.seed, 1)), np.float32)}
    for name, (result, dtype) in results.items():
        if result.dtype != dtype:
            report.add(f"{name} returns {result.dtype}, not {np.dtype(dtype)}", "at the start")


def _check_encoding(g, report):
    """Planes 0 and 1 never overlap; on each move the mover's stones never shrink and the
    opponent's never grow (roles swapping), a move other than a pass fills exactly one empty
    cell, and a pass only swaps the planes. A capture empties cells of the opponent's."""
    for t in range(len(g.views) - 1):
        before, after = g.views[t].planes, g.views[t + 1].planes
        for i in np.flatnonzero(g.lengths > t):
            mover, opponent = after[i, 1], after[i, 0]  # the roles swap after the move
            empty = 1.0 - before[i, 0] - before[i, 1]
            placed = (empty * mover).sum()  # the mover's stones on cells empty before the move
            passed = g.actions[i, t] == g.game.pass_action
            if not ((mover >= before[i, 0]).all() and (opponent <= before[i, 1]).all()
                    and (mover + opponent <= 1).all() and placed == (0 if passed else 1)
                    and not (passed and ((mover != before[i, 0]).any()
                                         or (opponent != before[i, 1]).any()))):
                report.add("planes are not from the mover's view (plane 0: the player to move, "
                           "plane 1: the opponent, roles swapping each move; a move fills one "
                           "empty cell, a pass none)", g.where(i, t + 1))


def _check_symmetries(g, report):
    game, actions = g.game, g.actions
    for k in range(1, len(game.action_perms)):
        action_perm, cell_perm = game.action_perms[k], game.cell_perms[k]
        permuted = _replay(game, np.where(actions >= 0, action_perm[np.maximum(actions, 0)], -1))
        for t, v in enumerate(g.views):
            pv = _view(game, permuted[t])
            for i in np.flatnonzero(g.lengths >= t):
                if not np.array_equal(pv.masks[i, action_perm], v.masks[i]):
                    report.add(f"symmetry {k} changes the legal moves", g.where(i, t))
                if pv.outcomes[i] != v.outcomes[i]:
                    report.add(f"symmetry {k} changes the outcome",
                               f"{v.outcomes[i]} vs {pv.outcomes[i]} {g.where(i, t)}")
                if not np.array_equal(pv.planes[i][:, cell_perm], v.planes[i]):
                    report.add(f"symmetry {k}: planes of the permuted game are not the permuted "
                               "planes", g.where(i, t))


def _check_notation(g, report):
    game = g.game
    names = [name.lower() for name in game.move_names]
    if len(names) != game.num_actions or len(set(names)) != len(names):
        report.add("move names are not one distinct name per action", f"{len(names)} names")
    if any(not name or set(name) & set(" ,\t\n") for name in names):
        report.add("a move name is empty or holds a separator", repr(game.move_names))
    for i, length in enumerate(g.lengths):
        moves = [int(a) for a in g.actions[i, :length]]
        text = game.format_moves(moves)
        if game.parse_moves(text) != moves or game.format_moves(game.parse_moves(text)) != text:
            report.add("notation does not round-trip", repr(text))
        try:
            if not np.array_equal(game.position(text), g.states[length, i]):
                report.add("position(text) differs from playing the moves", repr(text))
        except GameError as e:
            report.add("position(text) refuses a legal game", f"{text!r}: {e}")


def _check_batching(g, report):
    game = g.game
    for t, v in enumerate(g.views):
        for i in np.flatnonzero(g.lengths >= t):
            row = g.states[t, i:i + 1]
            single = _view(game, row.copy())
            for name, batched, one in zip(_View._fields, v, single):
                if not np.array_equal(batched[i], one[0]):
                    report.add(f"batched {name} differs from one row at a time", g.where(i, t))
            if t < g.lengths[i]:
                played = row.copy()
                game.play(played, g.actions[i, t:t + 1])
                if not np.array_equal(played[0], g.states[t + 1, i]):
                    report.add("batched play differs from one row at a time", g.where(i, t + 1))


def _check_playouts(g, report):
    game = g.game
    for t, v in enumerate(g.views):
        present = np.flatnonzero(g.lengths >= t)
        rows = g.states[t, present].copy()
        rng = make_rng(g.seed + t, len(rows))
        values = game.playouts(rows, rng.copy())
        if not np.array_equal(rows, g.states[t, present]):
            report.add("playouts change the states", f"{g.where(present[0], t)}, ...")
        for j, i in enumerate(present):
            if values[j] not in (-1.0, 0.0, 1.0):
                report.add("playout value not in {-1, 0, 1}", f"{values[j]} {g.where(i, t)}")
            if v.outcomes[i] != ONGOING and values[j] != v.outcomes[i]:
                report.add("playout of a finished game differs from its outcome",
                           f"{values[j]} vs {v.outcomes[i]} {g.where(i, t)}")
            one = game.playouts(rows[j:j + 1].copy(), rng[j:j + 1].copy())
            if one[0] != values[j]:
                report.add("batched playouts differ from one row at a time", g.where(i, t))
