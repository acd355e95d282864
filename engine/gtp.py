"""`zeroplay gtp`: the engine as a Go Text Protocol (GTP 2) program on standard input and output,
for GUIs (Sabaki, GoGui) and referees (gogui-twogtp, GNU Go); and `GtpClient`, the other side,
which drives a GTP program (GNU Go: engine/gnugo.py).

The games it plays are those with an SGF form (engine/sgf.py: Go, Gomoku), their moves being GTP
vertices. Choices where GTP leaves room (docs/gtp.md):
- the colour of `play` and `genmove` decides: a move of the side not to move is preceded by a
  pass of the other side (refused where the game has no pass, as Gomoku, or where that pass
  would end the game); `undo` takes back the inserted pass with its move;
- `komi` accepts any komi, as GTP requires, and `final_score` counts it; the search still
  plays for the game's own komi (7.5 for go9, the komi its networks are trained for), which a
  line on standard error says where another is set; Gomoku ignores komi. `boardsize` accepts
  only the game's size;
- the engine never resigns; once the game is over (two passes), `genmove` answers `pass`,
  a move that `undo` takes back like any other;
- an unexpected error inside a command (a bug, a damaged network) is answered `? internal
  error: ...` (its traceback on standard error), the position unchanged, and the session goes on;
- `final_score` is the Tromp-Taylor area score of the position (every stone on the board alive)
  less the komi set.
"""
from __future__ import annotations

import math
import queue
import re
import subprocess
import sys
import threading
import time
import traceback
from typing import Callable

import numpy as np

import games
from engine.sgf import application, board, score_text
from games import ONGOING, Game, GameError
from games.boards import GTP_COLUMNS

COLOUR_WORDS = {"b": 0, "black": 0, "w": 1, "white": 1}
SIDES = ("black", "white")
MAX_LINE = 4096  # characters of a command line; a longer one is refused
ANSWER_TIMEOUT = 120.0  # seconds GtpClient waits for an answer before it stops the program
Think = Callable[[np.ndarray], tuple[int, str]]  # a position -> (its move, a line for stderr)


class GtpError(ValueError):
    """A command that fails: its message is the text after '?'."""


def add_gtp(subparsers) -> None:
    from engine.cli import add_game_option, add_player_options

    p = subparsers.add_parser(
        "gtp", help="play through GTP on standard input/output (GUIs, GNU Go, referees)",
        description="Speak GTP 2 on standard input and output, for a GUI (Sabaki, GoGui) or a "
                    "referee: protocol_version, name, version, known_command, list_commands, "
                    "boardsize, clear_board, komi, play, genmove, undo, final_score, showboard, "
                    "quit. Games whose moves are board points (Go, Gomoku). '--checkpoint "
                    "builtin' needs a model shipped for the game (engine/models/GAME.ckpt); "
                    "where none is shipped yet, --mcts-rollouts plays pure MCTS. The search's "
                    "view of each move goes to standard error. docs/gtp.md has the details.")
    add_game_option(p, required=True)
    add_player_options(p)
    p.set_defaults(run=run_gtp)


def run_gtp(args) -> int:
    from engine.cli import make_thinker
    from engine.thinking import describe

    game = games.get(args.game)
    board(game)  # a game without GTP vertices is refused before a network is loaded
    thinker = make_thinker(game, args)

    def think(state):
        (view,) = thinker(state[None])
        return game.parse_move(view.move), describe(view)

    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    Engine(game, think, sys.stderr).serve(stdin, sys.stdout)
    return 0


def parse_colour(word: str) -> int:
    """0 for black (the first player), 1 for white."""
    colour = COLOUR_WORDS.get(word.lower())
    if colour is None:
        raise GtpError(f"syntax error: invalid color {word[:20]!r} (b, black, w or white)")
    return colour


class Engine:
    """One GTP session of one game: the moves so far, each command's answer."""

    def __init__(self, game: Game, think: Think, log=None):
        self.game, self.think, self.log = game, think, log
        self.board = board(game)
        self.states = [game.initial()]  # the position after each play or genmove
        self.komi_set = self.board.komi  # set by `komi`, counted by final_score (None: no score)
        self.handlers = {  # name: (the method, its arguments)
            "protocol_version": (lambda: "2", ""), "name": (lambda: "zeroplay", ""),
            "version": (lambda: application().partition(":")[2], ""),
            "known_command": (self.known_command, "NAME"),
            "list_commands": (self.list_commands, ""), "boardsize": (self.boardsize, "SIZE"),
            "clear_board": (self.clear_board, ""), "komi": (self.komi, "KOMI"),
            "play": (self.play, "COLOR VERTEX"), "genmove": (self.genmove, "COLOR"),
            "undo": (self.undo, ""), "final_score": (self.final_score, ""),
            "showboard": (self.showboard, ""), "quit": (lambda: "", "")}

    @property
    def state(self) -> np.ndarray:
        return self.states[-1]

    # ---- the protocol ------------------------------------------------------------------------

    def serve(self, stdin, stdout) -> None:
        """Answer commands until `quit` or the end of input."""
        while line := stdin.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE:  # refused, and the rest of it skipped
                while line and not line.endswith("\n"):
                    line = stdin.readline(MAX_LINE + 1)
                reply, done = "? command line too long\n\n", False
            else:
                reply, done = self.respond(line)
            if reply is not None:
                stdout.write(reply)
                stdout.flush()
            if done:
                return

    def respond(self, line: str) -> tuple[str | None, bool]:
        """(the reply to one input line, or None for a line with no command; True after
        quit)."""
        line = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", line.split("#", 1)[0]).replace("\t", " ")
        words = line.split()
        if not words:
            return None, False
        ident = words.pop(0) if words[0].isascii() and words[0].isdigit() else ""
        if not words:
            return f"?{ident} syntax error: no command\n\n", False
        name, args = words[0], words[1:]
        try:
            if name not in self.handlers:
                raise GtpError("unknown command")
            handler, wanted = self.handlers[name]
            if len(args) != len(wanted.split()):
                raise GtpError(f"syntax error: {name} takes {wanted or 'no arguments'}")
            answer = handler(*args)
        except GtpError as e:
            return f"?{ident} {e}\n\n", False
        except Exception as e:  # a bug of ours: the GUI gets an answer and the session goes on
            if self.log:
                traceback.print_exc(file=self.log)
            return f"?{ident} internal error: {type(e).__name__}: {e}\n\n", False
        return f"={ident} {answer}\n\n", name == "quit"

    # ---- commands ----------------------------------------------------------------------------

    def known_command(self, name: str) -> str:
        return "true" if name in self.handlers else "false"

    def list_commands(self) -> str:
        return "\n".join(self.handlers)

    def boardsize(self, size: str) -> str:
        if not (size.isascii() and size.isdigit()):
            raise GtpError("syntax error: boardsize is an integer")
        if int(size) != self.board.size:
            raise GtpError(f"unacceptable size ({self.game.name} is played on "
                           f"{self.board.size}x{self.board.size})")
        return self.clear_board()

    def clear_board(self) -> str:
        self.states = [self.game.initial()]
        return ""

    def komi(self, value: str) -> str:
        try:
            komi = float(value)
        except ValueError:
            komi = math.nan
        if not math.isfinite(komi):
            raise GtpError("syntax error: komi is a number")
        if self.board.komi is None:  # a game without a score (Gomoku): ignored
            return ""
        self.komi_set = komi
        if komi != self.board.komi and self.log:
            print(f"komi {komi:g}: final_score counts it, but the search plays for "
                  f"{self.game.name}'s komi {self.board.komi:g}, the komi its networks are "
                  f"trained for", file=self.log, flush=True)
        return ""

    def play(self, colour: str, vertex: str) -> str:
        side = parse_colour(colour)
        try:
            action = self.game.parse_move(vertex)
        except GameError:
            raise GtpError(f"illegal move: {vertex[:20]!r} is not a vertex of {self.game.name} "
                           f"({self._vertices()})") from None
        state = self._bring_to_move(side, "illegal move")
        try:
            self.states.append(self.game.apply(state, action))
        except GameError as e:
            raise GtpError(f"illegal move: {str(e).partition(': illegal move ')[2] or e}") \
                from None
        return ""

    def genmove(self, colour: str) -> str:
        side = parse_colour(colour)
        if self.game.outcome(self.state) != ONGOING:
            if self.game.pass_action is None:
                raise GtpError("the game is over")
            self.states.append(self.state)  # a move for `undo` to take back, as sent
            return "pass"
        state = self._bring_to_move(side, f"cannot move for {SIDES[side]}")
        action, note = self.think(state)
        if self.log:
            print(f"{SIDES[side]} {note}", file=self.log, flush=True)
        self.states.append(self.game.apply(state, action))
        return self.vertex(action)

    def undo(self) -> str:
        if len(self.states) == 1:
            raise GtpError("cannot undo")
        self.states.pop()  # with the pass put before the move, if any
        return ""

    def final_score(self) -> str:
        if self.board.score is None:
            raise GtpError(f"cannot score {self.game.name}: a game won by its last move")
        area = float(self.board.score(self.state)) + self.board.komi  # Black's - White's
        return score_text(area - self.komi_set)

    def showboard(self) -> str:
        state, outcome = self.state, self.game.outcome(self.state)
        status = (f"{SIDES[self.game.player(state)]} to play" if outcome == ONGOING
                  else f"game over, {self.final_score() if self.board.score else 'finished'}")
        lines = [line for line in self.game.render(state).splitlines() if line.strip()]
        return "\n" + "\n".join(lines + [status])

    # ---- helpers -----------------------------------------------------------------------------

    def vertex(self, action: int) -> str:
        """An action as GTP writes it: 'E5', 'pass'."""
        name = self.game.format_move(action)
        return "pass" if action == self.game.pass_action else name.upper()

    def _vertices(self) -> str:
        """The vertices in a few words: 'a1-j9 or pass'."""
        last = f"{GTP_COLUMNS[self.board.size - 1]}{self.board.size}"
        return f"a1-{last}" + (" or pass" if self.game.pass_action is not None else "")

    def _bring_to_move(self, side: int, failure: str) -> np.ndarray:
        """The position with `side` to move: this one, or this one after a pass of the other
        side. GtpError, its message after `failure`, where that takes a pass the game cannot
        play."""
        game, state = self.game, self.state
        if game.outcome(state) != ONGOING:
            raise GtpError(f"{failure}: the game is over")
        if game.player(state) == side:
            return state
        other = SIDES[1 - side]
        if game.pass_action is None:
            raise GtpError(f"{failure}: {other} is to play ({game.name} has no pass)")
        passed = game.apply(state, game.pass_action)
        if game.outcome(passed) != ONGOING:
            raise GtpError(f"{failure}: {other} is to play, and a pass for {other} would end "
                           f"the game")
        return passed


# ---- the other side: a GTP program driven as a subprocess -----------------------------------

class GtpClient:
    """A GTP program run as a subprocess: `send` a command, get its answer (GtpError for a
    failure, naming the program and command). A program that does not answer within `timeout`
    seconds is stopped and the command is a GtpError, as is one whose output ends."""

    def __init__(self, argv: list[str], name: str, timeout: float = ANSWER_TIMEOUT):
        self.name, self.timeout = name, timeout
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self._lines: queue.Queue[str] = queue.Queue()  # its output's lines; "" at its end
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self.process.stdout:
                self._lines.put(line)
        except (OSError, ValueError):  # the pipe closed under us
            pass
        self._lines.put("")

    def send(self, command: str) -> str:
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self._stopped(command)
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:  # the answer: lines up to a blank one
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                self._kill()
                raise GtpError(f"{self.name} did not answer {command!r} within "
                               f"{self.timeout:g} s (stopped)") from None
            if not line:
                self._lines.put("")  # the end, for any later command too
                self._stopped(command)
            if line.strip():
                lines.append(line.rstrip("\r\n"))
            elif lines:
                break
        # '=' or '?', then the answer: we send no ids, so none is read (an answer may start
        # with a digit: protocol_version's '= 2')
        status, answer = lines[0][0], "\n".join([lines[0][1:]] + lines[1:]).strip()
        if status != "=":
            raise GtpError(f"{self.name} refused {command!r}: {answer or lines[0]}")
        return answer

    def _stopped(self, command: str):
        try:
            code = self.process.wait(1)
        except subprocess.TimeoutExpired:
            code = None
        raise GtpError(f"{self.name} stopped answering at {command!r}"
                       + (f" (exit status {code})" if code is not None else ""))

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        """Quit the program (killed if it does not answer or exit within 5 s)."""
        if self.process.poll() is None:
            self.timeout = min(self.timeout, 5.0)
            try:
                self.send("quit")
                self.process.wait(5)
            except (GtpError, subprocess.TimeoutExpired):
                self._kill()
        self._reader.join(5)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
