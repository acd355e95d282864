"""GNU Go as an arena opponent: `gnugo:LEVEL` in `evaluate`, played over GTP (engine/gtp.py).

GNU Go runs as `gnugo --mode gtp --level LEVEL --boardsize N --komi K --chinese-rules
--positional-superko --never-resign`: area scoring, the superko rule and komi of our Go, and
every game played out (no resignation). Its board follows each game's moves (`play`); its own
moves come from `kgs-genmove_cleanup`, which is `genmove` except that GNU Go does not pass while
stones of ours that it judges dead are on the board: it captures them first. Tromp-Taylor counts
every stone left on the board as alive, so without this a game that GNU Go ends early would be
scored with our dead stones alive. The stones of GNU Go's that are dead in our area are ours to
capture; where we pass without, Tromp-Taylor counts them alive and GNU Go's `final_score`
counts them dead: `check_scores` reports each game where the two scores differ, and the stones
GNU Go calls dead there.
"""
from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.gtp import GtpClient, GtpError
from engine.sgf import SgfError, board, score_text
from games import Game
from games.interface import excerpt

LEVELS = range(1, 11)  # GNU Go's --level
INSTALL = "apt-get install gnugo"
DEBIAN_PATH = Path("/usr/games/gnugo")  # where Debian installs it, often not on PATH


def binary() -> str:
    """The gnugo executable; a ValueError naming the package to install if there is none."""
    found = shutil.which("gnugo") or (str(DEBIAN_PATH) if DEBIAN_PATH.exists() else None)
    if found is None:
        raise ValueError(f"gnugo:LEVEL needs GNU Go, which is not installed: {INSTALL}")
    return found


def parse_level(game: Game, spec: str, text: str) -> int:
    """The level of a `gnugo:LEVEL` spec, checked with the game: GNU Go plays Go only."""
    if not (text.isascii() and text.isdigit() and int(text) in LEVELS):
        raise ValueError(f"bad player {excerpt(spec)}: GNU Go's LEVEL is an integer from "
                         f"{LEVELS[0]} to {LEVELS[-1]}")
    try:
        go = board(game).number == 1
    except SgfError:
        go = False
    if not go:
        raise ValueError(f"bad player {excerpt(spec)}: GNU Go plays Go, not {game.name}")
    return int(text)


class GnuGoPlayer:
    """GNU Go at one level, for every game of a match: before each of its moves its board is
    brought to that game's moves (the moves it lacks played; another game's cleared first)."""

    takes_history = True  # engine.arena.choose gives it each game's moves

    def __init__(self, game: Game, level: int, seed: int = 0):
        b = board(game)
        self.game, self.name = game, f"gnugo{level}"
        argv = [binary(), "--mode", "gtp", "--level", str(level), "--boardsize", str(b.size),
                "--komi", f"{b.komi:g}", "--chinese-rules", "--positional-superko",
                "--never-resign", "--seed", str(seed % (2**31 - 1) + 1)]  # 0: the clock's
        self.client = GtpClient(argv, f"GNU Go (level {level})")
        self.held: list[int] = []  # the moves on GNU Go's board

    def choose(self, states: np.ndarray, histories: list[list[int]]) -> np.ndarray:
        return np.array([self._genmove(state, moves) for state, moves in zip(states, histories)],
                        np.int64)

    def _genmove(self, state: np.ndarray, moves: list[int]) -> int:
        self._follow(moves)
        colour = "bw"[len(moves) % 2]  # Black moves first, and the players alternate
        reply = self.client.send(f"kgs-genmove_cleanup {colour}")
        try:
            action = self.game.parse_move(reply, state)
        except ValueError as e:
            raise GtpError(f"{self.client.name} played {excerpt(reply)}, which {self.game.name}"
                           f" refuses: {e}") from None
        self.held = [*moves, action]
        return action

    def _follow(self, moves: list[int]) -> None:
        """Bring GNU Go's board to `moves`."""
        if self.held != moves[:len(self.held)]:
            self.client.send("clear_board")
            self.held = []
        for i in range(len(self.held), len(moves)):
            self.client.send(f"play {'bw'[i % 2]} {self.game.format_move(moves[i])}")
        self.held = list(moves)

    def final_score(self, moves: list[int]) -> tuple[float, list[str]]:
        """(GNU Go's final_score of the game's end, as Black's margin; the stones it judges
        dead there)."""
        self._follow(moves)
        score = self.client.send("final_score")
        dead = self.client.send("final_status_list dead").split()
        return parse_score(score), [v.lower() for v in dead]

    def close(self) -> None:
        self.client.close()


def parse_score(text: str) -> float:
    """Black's margin of a GTP score: 'B+3.5' -> 3.5, 'W+0.5' -> -0.5, '0' -> 0."""
    text = text.strip()
    if text == "0":
        return 0.0
    try:
        margin = float(text[2:])
    except ValueError:
        margin = None
    if text[:2].upper() not in ("B+", "W+") or margin is None:
        raise GtpError(f"not a score: {excerpt(text)}")
    return margin if text[0].upper() == "B" else -margin


@dataclass
class ScoreCheck:
    """Our Tromp-Taylor scores against GNU Go's final_score over a match's games."""

    games: int = 0
    same_winner: int = 0
    disagreements: list[dict] = field(default_factory=list)  # game, ours, gnugo, dead

    @property
    def agreed(self) -> int:
        return self.games - len(self.disagreements)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "agreed": self.agreed}

    def describe(self) -> str:
        """'GNU Go's final_score agrees with our Tromp-Taylor score in 9 of 10 games (the
        winner in 10); game 4: B+3.5 here, B+12.5 by GNU Go, which counts c3 d3 dead'."""
        lines = [f"GNU Go's final_score agrees with the Tromp-Taylor score in {self.agreed} of "
                 f"{self.games} games (the winner in {self.same_winner})"]
        for d in self.disagreements:
            dead = f", which counts {' '.join(d['dead'])} dead" if d["dead"] else ""
            lines.append(f"  game {d['game']}: {d['ours']} here, {d['gnugo']} by GNU Go{dead}")
        return "\n".join(lines)


def check_scores(player: GnuGoPlayer, played) -> ScoreCheck:
    """Compare each finished game's Tromp-Taylor score with GNU Go's final_score (games
    numbered from 1, as the match played them)."""
    score = board(player.game).score
    check = ScoreCheck()
    for number, g in enumerate(played, 1):
        ours = float(score(g.final_state))
        theirs, dead = player.final_score(g.moves)
        check.games += 1
        check.same_winner += (ours > 0) == (theirs > 0) and (ours < 0) == (theirs < 0)
        if ours != theirs:
            check.disagreements.append({"game": number, "ours": score_text(ours),
                                        "gnugo": score_text(theirs), "dead": dead})
    return check
