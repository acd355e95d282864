"""The contract every game meets, and the Python-side helpers built on it.

A game is a module of `games/` (found by the registry, no list to edit: see games/__init__.py)
that defines, over a fixed-size int64 state array, batched numba kernels (each takes
`states: [n, STATE_SIZE] int64`, C-contiguous, and works on all n rows, n = 0 included) plus a
few constants:

    NAME, NUM_ACTIONS, STATE_SIZE, PLANES (C, H, W), MAX_MOVES, DIRICHLET_ALPHA
    new_states(n)            -> [n, S] int64, the initial position n times
    play(states, actions)    in place, returns None: each row plays its (legal) action;
                             actions [n] int64
    legal_masks(states)      -> [n, A] bool (np.bool_)
    outcomes(states)         -> [n] int8: ONGOING, or the result for the player to move
                                (+1 win, 0 draw, -1 loss)
    to_play(states)          -> [n] int8: 0 for the first player, 1 for the second
    encode(states, out)      fills out [n, C, H, W] float32 with planes from the mover's view:
                             plane 0 the mover's stones, plane 1 the opponent's (more planes
                             may follow, free-form)
    playouts(states, rng)    -> [n] float32: result of a uniform random playout, mover's view;
                             rng [1] or [n] uint64 (games/rng.py)
    render(state)            -> str, the board for a person
    proxy_score(states)      (optional) -> [n] float32 in [-1, 1], a cheap hand-written proxy
                             of how good the position is for the mover (research kit)
    SYMMETRIES               (cell permutations [K, H*W], action permutations [K, A]); entry 0
                             is the identity. Playing the permuted moves gives the permuted
                             planes, mask and the same outcome (a pass maps to itself).
    ILLEGAL_MESSAGE          why a move is illegal, e.g. "column {move} is full"
    MOVE_NAMES               the notation: action i is written MOVE_NAMES[i] (a str of one
                             character per action, or a sequence of names such as "d3").
                             A position is the sequence of moves from the initial position:
                             written back to back when every name is one character ("4453"),
                             else separated by spaces ("d3 c5"; commas are read as spaces).
    NOTATION                 the notation in a few words, for help texts: "columns 1-7"
    GYM_ID                   its gymnasium id, e.g. "zeroplay/ConnectFour-v0"
    PASS                     (optional, default None) the action that passes: legal only
                             when the rules allow it, it changes no stone.
    OPENSPIEL                (optional) the same rules in OpenSpiel, as pyspiel.load_game
                             reads them ("connect_four", "gomoku(size=9)"), with the same
                             action numbers: the tests play random games in both
    SCORED                   (optional, default False) True when the result is counted at the
                             end (Othello's discs, Go's area), so the player to move may have
                             won; False: only the last mover can win (a line game).
    SGF_GAME                 (optional) SGF's game number (GM: 1 Go, 4 Gomoku) of a game whose
                             moves are the GTP points of its square board (`a1` at the lower
                             left, no column i) and maybe a pass: it has SGF records and speaks
                             GTP (engine/sgf.py, engine/gtp.py), which check those names
    SGF_RULES                (optional, default "") the rules as SGF's RU names them
    area_score(state)        (optional) -> float: the first player's count minus the second's,
                             komi included (Go's area), of one state row [S], over or not: SGF's
                             RE and GTP's final_score; komi is -area_score(initial position)

Players alternate strictly: a player who cannot move plays PASS. MAX_MOVES bounds the length of
a game, passes included. The kernels' dtypes are exact (the search calls them through function
pointers of these types: mcts.search.GAME_KERNEL_TYPES); games/check.py checks the kernels,
their dtypes, the symmetries and the notation against all of the above.
A move may add a stone, flip stones (both planes change) or capture them (plane 1 loses stones);
the check asks only that the mover's stones never shrink and the opponent's never grow on a move,
that a move other than PASS fills exactly one empty cell, and that PASS only swaps the planes.

A module defining NAME is one game (`Game.from_module`); a module may instead define
`GAMES`, a tuple of `Game`s (variants of one rule set, e.g. board sizes).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import numpy as np

ONGOING = 2  # outcomes() value of a position that is not over


class GameError(ValueError):
    """Bad input for a game: malformed notation or an illegal move. The message names it."""


@dataclass(frozen=True)
class Game:
    """One game's rules, as batched kernels over state arrays (see the module docstring)."""

    name: str
    num_actions: int
    state_size: int
    planes: tuple[int, int, int]
    max_moves: int
    dirichlet_alpha: float
    move_names: tuple[str, ...]  # action i is written move_names[i]
    notation: str  # the notation in a few words: "columns 1-7"
    gym_id: str
    illegal_message: str  # why a move can be illegal, with {move}: "column {move} is full"
    cell_perms: np.ndarray  # [K, H*W] int64: symmetry k sends cell i to cell_perms[k, i]
    action_perms: np.ndarray  # [K, A] int64: symmetry k sends action a to action_perms[k, a]
    new_states: Callable
    play: Callable
    legal_masks: Callable
    outcomes: Callable
    to_play: Callable
    encode: Callable
    playouts: Callable
    render: Callable
    proxy_score: Callable | None = None  # optional: a hand-written proxy critic (see above)
    pass_action: int | None = None  # the action that passes, where the rules have one
    scored: bool = False  # the result is counted at the end: the player to move may have won
    openspiel: str | None = None  # the same rules in OpenSpiel (pyspiel.load_game's string)
    sgf_game: int | None = None  # SGF's GM of a game whose moves are GTP points (see above)
    sgf_rules: str = ""  # SGF's RU
    area_score: Callable | None = None  # the first player's margin of a state row (see above)

    @classmethod
    def from_module(cls, m: ModuleType) -> "Game":
        cells, actions = m.SYMMETRIES
        return cls(
            name=m.NAME, num_actions=m.NUM_ACTIONS, state_size=m.STATE_SIZE,
            planes=tuple(m.PLANES), max_moves=m.MAX_MOVES, dirichlet_alpha=m.DIRICHLET_ALPHA,
            move_names=tuple(m.MOVE_NAMES), notation=m.NOTATION, gym_id=m.GYM_ID,
            illegal_message=m.ILLEGAL_MESSAGE, cell_perms=np.asarray(cells, np.int64),
            action_perms=np.asarray(actions, np.int64), new_states=m.new_states, play=m.play,
            legal_masks=m.legal_masks, outcomes=m.outcomes, to_play=m.to_play,
            encode=m.encode, playouts=m.playouts, render=m.render,
            proxy_score=getattr(m, "proxy_score", None), pass_action=getattr(m, "PASS", None),
            scored=getattr(m, "SCORED", False), openspiel=getattr(m, "OPENSPIEL", None),
            sgf_game=getattr(m, "SGF_GAME", None), sgf_rules=getattr(m, "SGF_RULES", ""),
            area_score=getattr(m, "area_score", None))

    # ---- notation -------------------------------------------------------------------------

    @property
    def separator(self) -> str:
        """What stands between two moves of a position: "" when every move is one character."""
        return "" if all(len(name) == 1 for name in self.move_names) else " "

    def format_move(self, action: int) -> str:
        return self.move_names[action]

    def format_moves(self, actions) -> str:
        return self.separator.join(self.move_names[a] for a in actions)

    def parse_moves(self, text: str) -> list[int]:
        """Parse a move sequence (no legality check); raise GameError on a bad move."""
        text = text.strip()
        tokens = list(text) if not self.separator else text.replace(",", " ").split()
        actions = []
        for i, token in enumerate(tokens):
            a = self._index.get(token.lower(), -1)
            if a < 0:
                raise GameError(f"{self.name}: bad move {token!r} at position {i + 1} of "
                                f"{excerpt(text)}: moves are {self.notation}")
            actions.append(a)
        return actions

    def parse_move(self, token: str, state: np.ndarray | None = None) -> int:
        """Parse one move; with `state`, also check that it is legal there."""
        action = self._index.get(token.strip().lower(), -1)
        if action < 0:
            raise GameError(f"{self.name}: bad move {excerpt(token.strip())}: a move is one of "
                            f"{self.notation}")
        if state is not None:
            check_legal(self, state, action)
        return action

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        """Each move's name, in lower case, to its action."""
        return {name.lower(): a for a, name in enumerate(self.move_names)}

    def random_positions(self, num_games: int, rng: np.random.Generator):
        """(states [n, S], results [n] for each position's mover) of uniformly random games'
        unfinished positions."""
        states = self.new_states(num_games)
        seen = []
        while (self.outcomes(states) == ONGOING).any():
            live = np.flatnonzero(self.outcomes(states) == ONGOING)
            seen.append((live, states[live].copy()))
            masks = self.legal_masks(states[live])
            actions = (rng.random(masks.shape) * masks).argmax(axis=1)
            sub = states[live]
            self.play(sub, actions)
            states[live] = sub
        end_movers = self.to_play(states)
        first_result = np.where(end_movers == 0, self.outcomes(states), -self.outcomes(states))
        rows = np.concatenate([r for r, _ in seen])
        positions = np.concatenate([s for _, s in seen])
        movers = self.to_play(positions)
        return positions, np.where(movers == 0, first_result[rows], -first_result[rows])

    # ---- single positions -----------------------------------------------------------------

    def initial(self) -> np.ndarray:
        """The initial position, [S] int64."""
        return self.new_states(1)[0]

    def apply(self, state: np.ndarray, action: int) -> np.ndarray:
        """Return the state after a legal `action` (checked; GameError otherwise)."""
        action = check_legal(self, state, action)
        rows = state[None].copy()
        self.play(rows, np.array([action], np.int64))
        return rows[0]

    def position(self, text: str) -> np.ndarray:
        """The state reached by a move sequence, every move checked; GameError names a bad one."""
        state = self.initial()
        for i, action in enumerate(self.parse_moves(text)):
            try:
                state = self.apply(state, action)
            except GameError as e:
                raise GameError(f"{e} (move {i + 1} of {excerpt(text.strip())})") from None
        return state

    def outcome(self, state: np.ndarray) -> int:
        return int(self.outcomes(check_state(self, state)[None])[0])

    def legal(self, state: np.ndarray) -> np.ndarray:
        return self.legal_masks(check_state(self, state)[None])[0]

    def player(self, state: np.ndarray) -> int:
        return int(self.to_play(check_state(self, state)[None])[0])


def excerpt(value, limit: int = 60) -> str:
    """repr(value) cut to `limit` characters: a message never echoes a megabyte of input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def check_state(game: Game, state) -> np.ndarray:
    """state, if it is one position of the game: an int64 array of shape [S]; else GameError.
    (The single-position helpers check it; the batched kernels trust their caller.)"""
    if (not isinstance(state, np.ndarray) or state.dtype != np.int64
            or state.shape != (game.state_size,)):
        what = (f"one of dtype {state.dtype} and shape {list(state.shape)}"
                if isinstance(state, np.ndarray) else f"a {type(state).__name__}")
        raise GameError(f"{game.name}: a state is an int64 array of shape "
                        f"[{game.state_size}], not {what}")
    return state


def action_number(game: Game, action) -> int:
    """action as an int, if it is an integer (a Python or NumPy one, or a 0-d integer array);
    GameError for anything else: a float is not rounded, and True, "3", [3] or None is no move.
    Game.apply and both envs (gymnasium and PettingZoo) check actions here."""
    if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
        try:
            value = np.asarray(action)
        except (ValueError, TypeError):  # a ragged list, an object numpy cannot hold
            value = np.asarray(None)
        if value.shape != () or not np.issubdtype(value.dtype, np.integer):
            raise GameError(f"{game.name}: an action is an integer, not {excerpt(action)}")
    return int(action)


def check_legal(game: Game, state: np.ndarray, action: int) -> int:
    """action as an int, if it is legal in state; else GameError naming it."""
    check_state(game, state)
    action = action_number(game, action)
    if not 0 <= action < game.num_actions:
        raise GameError(f"{game.name}: action {action} out of range 0-{game.num_actions - 1}")
    if game.outcome(state) != ONGOING:
        raise GameError(f"{game.name}: the game is over; no move {game.format_move(action)} "
                        "can be played")
    if not game.legal(state)[action]:
        move = game.format_move(action)
        raise GameError(f"{game.name}: illegal move {move}: "
                        + game.illegal_message.format(move=move))
    return action
