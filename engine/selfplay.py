"""Self-play: B games at once through the batched search. A finished game leaves as a raw
`GameRecord`; a learner (engine/learners) turns records into training `Trajectory`s."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from engine.config import SelfPlayConfig
from games import ONGOING, Game
from mcts import UNKNOWN, Searcher, SearchConfig, sample_actions


@dataclass
class GameRecord:
    """One finished self-play game as it was played, before any critic has rated it."""

    states: np.ndarray  # [T, S] int64, the position before each move
    movers: np.ndarray  # [T] int8, the player to move there (0 first, 1 second)
    actions: np.ndarray  # [T] int64, the move played
    policies: np.ndarray  # [T, A] float32, the search's policy (visit shares or Gumbel's)
    values: np.ndarray  # [T] float32, the search's root value, mover's view
    proven: np.ndarray  # [T] int8, the root's exact value for the mover, or UNKNOWN
    full: np.ndarray  # [T] bool, a full search (False: a playout-cap fast move)
    final_state: np.ndarray  # [S] int64, where the game ended
    result: float  # for the first player: 1 win, 0 draw, -1 loss (resigned: the resigner lost)
    resigned: bool = False
    # [K] int64, the random opening's moves from the initial position to states[0]
    opening: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def result_for(self, movers: np.ndarray) -> np.ndarray:
        """[n] float64: the game's result from each given player's view."""
        return np.where(np.asarray(movers) == 0, self.result, -self.result).astype(np.float64)


@dataclass
class Trajectory:
    """Training positions of one finished game, as a learner labelled them."""

    states: np.ndarray  # [T, S] int64
    policies: np.ndarray  # [T, A] float32, policy target
    values: np.ndarray  # [T] float32, value target from each position's mover view (NaN: none)


@dataclass
class SelfPlayStats:
    games: int = 0
    moves: int = 0
    positions: int = 0
    first_player_score: float = 0.0  # mean of (1 win, 0.5 draw, 0 loss) for the first player
    resigned: int = 0
    false_resigns: int = 0  # played-out would-resign games that the resigning side did not lose
    playthroughs: int = 0
    game_lengths: list = field(default_factory=list)
    restarts: int = 0  # self-play workers that died and were replaced while playing these games

    @classmethod
    def merge(cls, parts: list["SelfPlayStats"]) -> "SelfPlayStats":
        total = cls()
        for p in parts:
            total.first_player_score = ((total.first_player_score * total.games
                                         + p.first_player_score * p.games)
                                        / max(total.games + p.games, 1))
            total.games += p.games
            total.moves += p.moves
            total.positions += p.positions
            total.resigned += p.resigned
            total.false_resigns += p.false_resigns
            total.playthroughs += p.playthroughs
            total.restarts += p.restarts
            total.game_lengths += p.game_lengths
        return total


@dataclass
class _Slot:
    """A game in flight: one list entry per move played."""

    states: list = field(default_factory=list)
    movers: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    values: list = field(default_factory=list)
    proven: list = field(default_factory=list)
    full: list = field(default_factory=list)
    moves: int = 0
    would_resign: int = -1  # the player who would have resigned, or -1
    playthrough: bool = False
    opening: list = field(default_factory=list)  # the random moves before states[0]


class GameQuota(Protocol):
    """The finished games one `SelfPlayStream.play` call may hand out: a count of its own, or
    one shared by the worker processes of a generation (engine/backends.py), so that a worker
    whose games end late does not keep the others waiting."""

    def take(self) -> bool:
        """Claim one more game for the call; False once it has all it wants."""

    def full(self) -> bool:
        """Whether every game is claimed."""


class GameCount:
    """A quota of n games for one caller."""

    def __init__(self, n: int):
        self.left = n

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def full(self) -> bool:
        return self.left <= 0


class SelfPlayStream:
    """B self-play games in flight, searched together. Each `play` call returns num_games
    finished games (with a shared quota: those it claims). With carry_over, a finished game's
    slot starts a new game at once, and the games still running at the end (and games finished
    beyond num_games) carry over to the next call, so that every step searches all B trees;
    else slots empty once num_games games have been started, and the last steps search ever
    fewer."""

    def __init__(self, game: Game, evaluate, search: SearchConfig, cfg: SelfPlayConfig,
                 batch: int, seed: int):
        self.game, self.search, self.cfg = game, search, cfg
        self.rng = np.random.default_rng(seed)
        self.searcher = Searcher(game, evaluate, search, batch, seed=seed)
        # a playout cap's fast moves: fewer simulations in the same trees (never more than a
        # full search's: the trees are sized for those)
        self.fast_simulations = min(cfg.fast_simulations, search.simulations)
        openings = [self._opening() for _ in range(batch)]
        self.states = np.stack([state for state, _ in openings])
        self.slots = [self._new_slot(moves) for _, moves in openings]
        self.finished: list[tuple[GameRecord, SelfPlayStats]] = []  # not yet handed out

    def _opening(self) -> tuple[np.ndarray, list[int]]:
        """A new game's first position, after 0 to cfg.random_opening_moves uniformly random
        moves (so the network also meets positions that its own play avoids), and those moves."""
        state, moves = self.game.new_states(1), []
        for _ in range(self.rng.integers(0, self.cfg.random_opening_moves + 1)):
            if self.game.outcomes(state)[0] != ONGOING:
                break
            legal = np.flatnonzero(self.game.legal_masks(state)[0])
            moves.append(int(legal[self.rng.integers(len(legal))]))
            self.game.play(state, np.array(moves[-1:], np.int64))
        if self.game.outcomes(state)[0] != ONGOING:
            return self.game.new_states(1)[0], []
        return state[0], moves

    def _new_slot(self, opening: list[int]) -> _Slot:
        return _Slot(playthrough=self.rng.random() < self.cfg.resign_playthrough,
                     opening=opening)

    def play(self, num_games: int, carry_over: bool = True, quota: GameQuota | None = None
             ) -> tuple[list[GameRecord], SelfPlayStats]:
        """The next num_games finished games; with a shared quota (carry_over only), as many
        as this stream claims from it before it is full."""
        if quota is not None and not carry_over:
            raise ValueError("a shared quota needs carry_over: without it a call plays its "
                             "own games to the end")
        game, cfg, search, searcher = self.game, self.cfg, self.search, self.searcher
        states, slots, rng = self.states, self.slots, self.rng
        quota = GameCount(num_games) if quota is None else quota
        searcher.set_roots(states)  # fresh trees: the network may have changed since
        active = np.ones(len(states), bool)
        started, finished, handed = len(states), self.finished, []

        def hand_out():  # the oldest finished games first
            while finished and quota.take():
                handed.append(finished.pop(0))

        hand_out()
        while active.any() and not (carry_over and quota.full()):
            full = cfg.playout_cap_fraction <= 0 or rng.random() < cfg.playout_cap_fraction
            # Gumbel picks its moves by its noise (no temperature), so fast moves keep it too
            result = searcher.run(add_noise=full or search.method == "gumbel",
                                  simulations=None if full else self.fast_simulations)
            temperature = np.array([cfg.temperature if s.moves < cfg.temperature_moves
                                    else 0.0 for s in slots])
            actions = result.action.copy()
            if search.method == "puct" and full:
                sampled = sample_actions(result.policy, temperature, rng)
                actions = np.where((temperature > 0) & (result.proven == UNKNOWN), sampled,
                                   actions)
            movers = game.to_play(states)
            for b in np.flatnonzero(active):
                slot = slots[b]
                slot.states.append(states[b].copy())
                slot.movers.append(movers[b])
                slot.actions.append(actions[b])
                slot.policies.append(result.policy[b].copy())
                slot.values.append(result.value[b])
                slot.proven.append(result.proven[b])
                slot.full.append(full)
                if slot.would_resign < 0 and result.value[b] < cfg.resign_threshold:
                    slot.would_resign = movers[b]
                slot.moves += 1
            _play_active(game, states, actions, active)
            outcomes = game.outcomes(states)
            resigning = np.array([s.would_resign >= 0 and not s.playthrough for s in slots])
            finished_rows = np.flatnonzero(active & ((outcomes != ONGOING) | resigning))
            for b in finished_rows:
                finished.append(_finish(game, slots[b], states[b], outcomes[b]))
                if carry_over or started < num_games:
                    states[b], opening = self._opening()
                    slots[b] = self._new_slot(opening)
                    started += 1
                else:
                    active[b] = False
            hand_out()
            searcher.advance(actions, states)
            if len(finished_rows):
                searcher.set_roots(states[finished_rows], finished_rows)
        return [r for r, _ in handed], SelfPlayStats.merge([g for _, g in handed])


def play_games(game: Game, evaluate, search: SearchConfig, cfg: SelfPlayConfig, num_games: int,
               seed: int) -> tuple[list[GameRecord], SelfPlayStats]:
    """Play exactly num_games self-play games from the start, cfg.games_in_parallel at a time."""
    stream = SelfPlayStream(game, evaluate, search, cfg, min(cfg.games_in_parallel, num_games),
                            seed)
    return stream.play(num_games, carry_over=False)


def _play_active(game: Game, states, actions, active):
    """Play actions in the rows of unfinished games only."""
    rows = np.flatnonzero(active)
    sub = states[rows]
    game.play(sub, actions[rows])
    states[rows] = sub


def _finish(game: Game, slot: _Slot, state, outcome) -> tuple[GameRecord, SelfPlayStats]:
    """The finished game's record and statistics."""
    stats = SelfPlayStats()
    mover_at_end = game.player(state)
    if outcome == ONGOING:  # resigned: the player who would resign loses
        stats.resigned += 1
        winner_view = -1.0 if slot.would_resign == mover_at_end else 1.0
    else:
        winner_view = float(outcome)  # result for the player to move at the end
        if slot.playthrough and slot.would_resign >= 0:
            stats.playthroughs += 1
            loser = mover_at_end if outcome == -1 else 1 - mover_at_end if outcome == 1 else -1
            stats.false_resigns += int(loser != slot.would_resign)
    first_player_result = winner_view if mover_at_end == 0 else -winner_view
    stats.first_player_score = (1 + first_player_result) / 2
    stats.games, stats.moves = 1, slot.moves
    stats.positions = int(np.sum(slot.full))
    stats.game_lengths.append(slot.moves)
    record = GameRecord(
        states=np.array(slot.states, np.int64).reshape(-1, game.state_size),
        movers=np.array(slot.movers, np.int8), actions=np.array(slot.actions, np.int64),
        policies=np.array(slot.policies, np.float32).reshape(-1, game.num_actions),
        values=np.array(slot.values, np.float32), proven=np.array(slot.proven, np.int8),
        full=np.array(slot.full, bool), final_state=np.array(state, np.int64),
        result=first_player_result, resigned=outcome == ONGOING,
        opening=np.array(slot.opening, np.int64))
    return record, stats
