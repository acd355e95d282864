"""`zeroplay play` as a person meets it: driven through a pseudo-terminal (pexpect) for a full
game with an illegal move, a hint, an undo and a new game; the board marks and the legend."""
import os
import sys
from pathlib import Path

import pexpect

import games
from engine.play import Session, legend, mark

ROOT = Path(__file__).resolve().parents[1]
GAME = games.get("tictactoe")
TIMEOUT = 120  # seconds for one answer: a cold start compiles the search kernels


def test_a_game_in_a_terminal_with_an_illegal_move_a_hint_an_undo_and_a_new_game():
    child = pexpect.spawn(sys.executable, ["-m", "engine", "play", "--game", "tictactoe",
                                           "--mcts-rollouts", "--simulations", "200"],
                          cwd=str(ROOT), env={**os.environ, "OMP_NUM_THREADS": "1"},
                          encoding="utf-8", timeout=TIMEOUT)
    child.expect_exact("You are X and move first. Type a move (1-9) or u undo, h hint, "
                       "n new game, q quit.")
    child.expect_exact(" . . .    1 2 3")  # the board with its legend
    child.expect_exact("X to move: ")
    child.sendline("0")
    child.expect_exact("bad move '0'")
    child.expect_exact("X to move: ")
    child.sendline("5")
    child.expect_exact("You play 5.")
    child.expect(r"O plays (\d) \(value [+-]\d\.\d\d, \d+/200 visits")
    reply = child.match.group(1)
    child.expect(r"\[O\]")  # the reply, marked on the board
    child.expect_exact("X to move: ")
    child.sendline(reply)  # a taken cell
    child.expect_exact(f"illegal move {reply}: cell {reply} is taken")
    child.sendline("u")
    child.expect_exact(f"Took back 5 and {reply}.")
    child.expect_exact(" . . .    1 2 3\r\n . . .    4 5 6\r\n . . .    7 8 9")
    hint, played = None, 0
    while child.expect_exact(["X to move: ", "You win!", "You lose.", "Draw."]) == 0:
        if hint is None:  # ask for a hint, then play it
            child.sendline("h")
            child.expect(r"Hint: (\d) \(value [+-]\d\.\d\d, \d+/200 visits")
            hint = child.match.group(1)
        else:
            child.sendline(hint)
            child.expect_exact(f"You play {hint}.")
            hint, played = None, played + 1
    assert 3 <= played <= 5  # X's moves in a finished game of tic-tac-toe
    child.expect_exact("u undo, h hint, n new game, q quit: ")
    child.sendline("n")
    child.expect_exact("New game.")
    child.expect_exact(" . . .    1 2 3")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in child.before


def test_the_last_move_is_marked_and_the_legend_shows_the_free_cells():
    before, after = GAME.position("15"), GAME.position("153")
    assert mark(GAME.render(before), GAME.render(after)).splitlines() == [
        " X .[X]", " . O .", " . . ."]
    assert legend(GAME, GAME.render(after), after) == [". 2 .", "4 . 6", "7 8 9"]
    c4 = games.get("connect4")  # its board has column numbers of its own: no legend
    assert legend(c4, c4.render(c4.initial()), c4.initial()) == []


class Scripted:
    """A session's input and output: answers in order, then the end of input."""

    def __init__(self, *answers):
        self.answers, self.out = list(answers), []

    def ask(self, prompt):
        self.out.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)


def first_free(states):
    """A stand-in for the engine: the first free cell, as a view of it."""
    from engine.thinking import MoveView, View

    move = GAME.format_move(int(GAME.legal(states[0]).argmax()))
    return [View(move, 0.0, 0, None, (MoveView(move, 1.0, 0, None, None),))]


def test_undo_takes_back_the_move_and_its_reply_and_nothing_before_the_first():
    io = Scripted("5", "u", "u", "9", "q")
    session = Session(GAME, first_free, 1, False, "a stand-in", io.ask, io.out.append)
    assert session.run() == 0
    said = [line for line in io.out if isinstance(line, str)]
    assert "You play 5." in said and "Took back 5 and 2." in said  # X's replies: 1, then 2
    assert said.index("Nothing to undo.") > said.index("Took back 5 and 2.")
    assert session.moves == [0, 8, 1]  # X 1, O 9, X 2
