"""The contract every game meets, and the Python-side helpers built on it.

A game is one file that defines, over a fixed-size int64 state array, batched numba kernels
(each takes `states: [n, STATE_SIZE] int64` and works on all n rows) plus a few constants:

    NAME, NUM_ACTIONS, STATE_SIZE, PLANES (C, H, W), MAX_MOVES, DIRICHLET_ALPHA
    new_states(n)            -> [n, S] int64, the initial position n times
    play(states, actions)    in place: each row plays its (legal) action
    legal_masks(states)      -> [n, A] bool
    outcomes(states)         -> [n] int8: ONGOING, or the result for the player to move
                                (+1 win, 0 draw, -1 loss)
    to_play(states)          -> [n] int8: 0 for the first player, 1 for the second
    encode(states, out)      fills out [n, C, H, W] float32 with planes from the mover's view
    playouts(states, rng)    -> [n] float32: result of a uniform random playout, mover's view
    render(state)            -> str, the board for a person
    proxy_score(states)      (optional) -> [n] float32 in [-1, 1], a cheap hand-written proxy
                             of how good the position is for the mover (research kit)
    SYMMETRIES               (cell permutations [K, H*W], action permutations [K, A]); entry 0
                             is the identity. Playing the permuted moves gives the permuted
                             planes, mask and the same outcome.
    ILLEGAL_MESSAGE          why a move is illegal, e.g. "column {move} is full"
    MOVE_CHARS               the notation: move i is written MOVE_CHARS[i]; a position is the
                             sequence of moves from the initial position.

Players alternate strictly. `Game` bundles one such module; `games.get(name)` returns it.
"""
from __future__ import annotations

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
    move_chars: str
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

    @classmethod
    def from_module(cls, m: ModuleType) -> "Game":
        cells, actions = m.SYMMETRIES
        return cls(
            name=m.NAME, num_actions=m.NUM_ACTIONS, state_size=m.STATE_SIZE,
            planes=tuple(m.PLANES), max_moves=m.MAX_MOVES, dirichlet_alpha=m.DIRICHLET_ALPHA,
            move_chars=m.MOVE_CHARS, illegal_message=m.ILLEGAL_MESSAGE, cell_perms=np.asarray(cells, np.int64),
            action_perms=np.asarray(actions, np.int64), new_states=m.new_states, play=m.play,
            legal_masks=m.legal_masks, outcomes=m.outcomes, to_play=m.to_play,
            encode=m.encode, playouts=m.playouts, render=m.render,
            proxy_score=getattr(m, "proxy_score", None))

    # ---- notation -------------------------------------------------------------------------

    def format_move(self, action: int) -> str:
        return self.move_chars[action]

    def format_moves(self, actions) -> str:
        return "".join(self.move_chars[a] for a in actions)

    def parse_moves(self, text: str) -> list[int]:
        """Parse a move sequence (no legality check); raise GameError on a bad character."""
        text = text.strip()
        actions = []
        for i, ch in enumerate(text):
            a = self.move_chars.find(ch)
            if a < 0:
                raise GameError(
                    f"{self.name}: bad move {ch!r} at position {i + 1} of {excerpt(text)}: "
                    f"moves are the characters {self.move_chars[0]}-{self.move_chars[-1]}")
            actions.append(a)
        return actions

    def parse_move(self, token: str, state: np.ndarray | None = None) -> int:
        """Parse one move; with `state`, also check that it is legal there."""
        token = token.strip()
        if len(token) != 1 or token not in self.move_chars:
            raise GameError(f"{self.name}: bad move {excerpt(token)}: a move is one of "
                            f"{self.move_chars[0]}-{self.move_chars[-1]}")
        action = self.move_chars.index(token)
        if state is not None:
            check_legal(self, state, action)
        return action

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
