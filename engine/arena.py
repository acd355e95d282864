"""Arena: matches between players in colour-swapped pairs, Elo with an exact interval, SPRT
gating."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from engine.config import ArenaConfig
from games import ONGOING, Game

CONFIDENCE = 0.95  # of every interval printed or stored


@dataclass
class ArenaGame:
    """One finished match game: its moves from the initial position (the random opening's
    first), where it ended, the side `first` played (0: the first player) and its result for
    `first` (1 win, 0 draw, -1 loss)."""

    moves: list[int]
    final_state: np.ndarray
    first_side: int
    first_result: int


@dataclass
class MatchResult:
    wins: int = 0
    draws: int = 0
    losses: int = 0
    played: list[ArenaGame] = field(default_factory=list, compare=False, repr=False)

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / max(self.games, 1)

    def elo(self, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
        """Elo difference of the first player over the second, with an exact interval
        (`score_interval`). When every game was won, the upper end is +inf and the estimate is
        the lower end (a floor, not a value); when every game was lost, the mirror."""
        lo, hi = (elo_of(x) for x in score_interval(self.points, self.games, confidence))
        if self.games == 0:
            return 0.0, lo, hi
        score = self.score
        return (lo if score == 1 else hi if score == 0 else elo_of(score)), lo, hi

    @property
    def points(self) -> float:
        return self.wins + 0.5 * self.draws

    def add(self, other: "MatchResult") -> None:
        self.wins += other.wins
        self.draws += other.draws
        self.losses += other.losses
        self.played += other.played

    def describe(self) -> str:
        if self.games == 0:
            return "no games"
        return (f"+{self.wins} ={self.draws} -{self.losses} ({self.games} games), "
                f"score {self.score:.3f}, Elo {describe_elo(*self.elo())}")


def describe_elo(elo: float, lo: float, hi: float) -> str:
    """'+120 [+45, +210]'; '>= +28' when the interval has no upper end, '<= -28' no lower."""
    if math.isinf(hi) and math.isinf(lo):
        return "unknown (no games)"
    if math.isinf(hi):
        return f">= {lo:+.0f}"
    if math.isinf(lo):
        return f"<= {hi:+.0f}"
    return f"{elo:+.0f} [{lo:+.0f}, {hi:+.0f}]"


def rating_basis(cfg: ArenaConfig) -> str:
    """What a rating's Elo rests on: '40 games at 32 simulations a move' against each anchor."""
    return f"{rated_games(cfg)} games at {cfg.simulations} simulations a move"


def describe_ratings(elo: dict, cfg: ArenaConfig, generation: int) -> str:
    """'Elo of generation 8 (95%; 40 games at 32 simulations a move): vs random
    >= +245, vs mcts800 +120 [+45, +210]'."""
    return (f"Elo of generation {generation} (95%; {rating_basis(cfg)}): "
            + ", ".join(f"vs {anchor} {describe_elo(*triple)}" for anchor, triple in elo.items()))


def score_interval(points: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval of a score of `points` in n trials (a draw is
    half a point); (0, 1) when n is 0. Its ends are 0 and 1 exactly when the score is."""
    from scipy.stats import beta

    tail = (1 - confidence) / 2
    lo = beta.ppf(tail, points, n - points + 1) if points > 0 else 0.0
    hi = beta.ppf(1 - tail, points + 1, n - points) if points < n else 1.0
    return float(lo), float(hi)


def elo_of(score: float) -> float:
    """The logistic Elo difference of a score in [0, 1] (an even score: +0, not -0; a score of
    1 is +inf, of 0 -inf)."""
    if score in (0.0, 1.0):
        return math.copysign(math.inf, score - 0.5)
    return 400.0 * math.log10(score / (1.0 - score))


def score_of(elo: float) -> float:
    return 1.0 / (1.0 + 10 ** (-elo / 400.0))


def rated_games(cfg: ArenaConfig) -> int:
    """Games of a rating match against one anchor (pairs of colour-swapped games)."""
    return 2 * (cfg.rating_games // 2)


def ladder(cfg: ArenaConfig) -> list[int]:
    """The pure-MCTS anchors' simulations, lowest first."""
    return [cfg.anchor_rollouts * cfg.ladder_factor ** k for k in range(cfg.ladder_rungs)]


LADDER_SCORES = (0.25, 0.75)  # a score at or beyond these moves the next rating a rung down, up


def next_rung(rungs: list[int], last: dict[int, float]) -> int:
    """The rung to rate against next, given the last rating's Elo against the rungs it played
    (simulations -> Elo): that rung, one higher after a score of 75% or more against it, one
    lower after 25% or less (the lowest before any rating), so the match stays near even."""
    played = [i for i, n in enumerate(rungs) if n in last]
    if not played:
        return rungs[0]
    i = played[-1]
    score = score_of(last[rungs[i]])
    i += (score >= LADDER_SCORES[1] and i + 1 < len(rungs)) - (score <= LADDER_SCORES[0] and i > 0)
    return rungs[i]


def choose(player, states: np.ndarray, histories: list[list[int]]) -> np.ndarray:
    """A player's moves in states [n, S]; a player that keeps its own board (a GTP engine:
    `takes_history`) is also given each game's moves from the initial position."""
    if getattr(player, "takes_history", False):
        return player.choose(states, histories)
    return player.choose(states)


def play_pairs(game: Game, first, second, pairs: int, opening_moves: int,
               seed: int, progress: bool = False) -> MatchResult:
    """2 * pairs games: each random opening is played twice, with the colours swapped; the
    result keeps every game (`played`). progress: a bar of finished games on a terminal."""
    rng = np.random.default_rng(seed)
    states = game.new_states(pairs)
    openings = [[] for _ in range(pairs)]
    for _ in range(opening_moves):  # random legal openings, never ending the game
        masks = game.legal_masks(states)
        actions = (rng.random(masks.shape) * masks).argmax(axis=1)
        game.play(states, actions)
        going = game.outcomes(states) == ONGOING
        for moves, action in zip(openings, actions):
            moves.append(int(action))
        openings = [moves for moves, on in zip(openings, going) if on]
        states = states[going]
    histories = [list(moves) for moves in openings + openings]
    states = np.concatenate([states, states])
    first_plays = np.concatenate([np.zeros(len(states) // 2, np.int8),
                                  np.ones(len(states) // 2, np.int8)])  # who `first` is
    start_mover = game.to_play(states)
    outcomes = game.outcomes(states)
    bar = tqdm(total=len(states), unit="game", leave=False, disable=None if progress else True)
    while (outcomes == ONGOING).any():
        live = outcomes == ONGOING
        movers = game.to_play(states)
        actions = np.zeros(len(states), np.int64)
        for player, turn in ((first, movers == (start_mover ^ first_plays)),
                             (second, movers != (start_mover ^ first_plays))):
            rows = np.flatnonzero(live & turn)
            if len(rows):
                actions[rows] = choose(player, states[rows], [histories[r] for r in rows])
        rows = np.flatnonzero(live)
        for r in rows:
            histories[r].append(int(actions[r]))
        sub = states[rows]
        game.play(sub, actions[rows])
        states[rows] = sub
        outcomes = game.outcomes(states)
        bar.update(int((outcomes != ONGOING).sum()) - bar.n)
    bar.close()
    # outcome is for the player to move; `first` is to move when movers == start ^ first_plays
    first_to_move = game.to_play(states) == (start_mover ^ first_plays)
    first_result = np.where(first_to_move, outcomes, -outcomes)
    played = [ArenaGame(moves, state, int(side), int(result)) for moves, state, side, result
              in zip(histories, states, start_mover ^ first_plays, first_result)]
    return MatchResult(int((first_result == 1).sum()), int((first_result == 0).sum()),
                       int((first_result == -1).sum()), played)


def sprt_llr(result: MatchResult, elo0: float, elo1: float) -> float:
    """Log-likelihood ratio of H1 (elo1) against H0 (elo0), normal approximation to the
    trinomial model of game results."""
    n = result.games
    if n == 0:
        return 0.0
    s = result.score
    var = (result.wins * (1 - s) ** 2 + result.draws * (0.5 - s) ** 2 + result.losses * s ** 2) / n
    if var <= 0:
        var = 0.25 / n  # all results equal: a weak but finite variance
    s0, s1 = score_of(elo0), score_of(elo1)
    return n * (s1 - s0) * (2 * s - s0 - s1) / (2 * var)


def gate(game: Game, candidate, best, cfg: ArenaConfig, seed: int,
         round_pairs: int = 16) -> tuple[bool, MatchResult, str]:
    """Decide whether the candidate replaces the best: (promote, result, reason)."""
    result = MatchResult()
    if cfg.gate == "none":
        return True, result, "no gate"
    upper = math.log((1 - cfg.beta) / cfg.alpha)
    lower = math.log(cfg.beta / (1 - cfg.alpha))
    round_no = 0
    while result.games < cfg.max_games:
        pairs = min(round_pairs, (cfg.max_games - result.games + 1) // 2)
        result.add(play_pairs(game, candidate, best, pairs, cfg.opening_moves,
                              seed + 7919 * round_no))
        round_no += 1
        if cfg.gate == "sprt":
            llr = sprt_llr(result, cfg.elo0, cfg.elo1)
            if llr >= upper:
                return True, result, f"SPRT accepted H1 (LLR {llr:.2f} >= {upper:.2f})"
            if llr <= lower:
                return False, result, f"SPRT accepted H0 (LLR {llr:.2f} <= {lower:.2f})"
    if cfg.gate == "threshold":
        ok = result.score >= cfg.threshold
        return ok, result, f"score {result.score:.3f} {'>=' if ok else '<'} {cfg.threshold}"
    llr = sprt_llr(result, cfg.elo0, cfg.elo1)
    return llr > 0, result, f"SPRT undecided after {result.games} games (LLR {llr:.2f})"
