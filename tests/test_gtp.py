"""`zeroplay gtp` (engine/gtp.py): a scripted GTP session in a real process, every command with
its error replies; undo, out-of-turn moves, final_score against area_score, in this process."""
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import games
from engine.cli import main
from engine.gtp import Engine
from engine.sgf import board, score_text
from games import ONGOING

ROOT = Path(__file__).resolve().parents[1]
GO = games.get("go9")


def first_legal(game):
    """A think function that plays the first legal move (a pass only when nothing else is)."""
    def think(state):
        legal = np.flatnonzero(game.legal(state))
        return int(legal[0]), "the first legal move"
    return think


def session(game=GO, think=None):
    engine = Engine(game, think or first_legal(game))

    def send(line: str) -> str:
        reply, _ = engine.respond(line)
        assert reply.endswith("\n\n") and reply[0] in "=?"
        return reply[:-2]
    return engine, send


def gtp(*args, stdin: str):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "engine", "gtp", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=300)


SCRIPT = [  # (command, the reply expected, or the start of a multi-line one)
    ("1 protocol_version", "=1 2"),
    ("2 name", "=2 zeroplay"),
    ("version", "= 0.1.0"),
    ("known_command genmove", "= true"),
    ("known_command frobnicate", "= false"),
    ("list_commands", "= protocol_version\nname\nversion\nknown_command\nlist_commands\n"
                      "boardsize\nclear_board\nkomi\nplay\ngenmove\nundo\nfinal_score\n"
                      "showboard\nquit"),
    ("3 boardsize 19", "?3 unacceptable size (go9 is played on 9x9)"),
    ("boardsize nine", "? syntax error: boardsize is an integer"),
    ("boardsize 9", "= "),
    ("clear_board", "= "),
    ("komi 6.5", "= "),  # GTP: any komi is accepted
    ("komi lots", "? syntax error: komi is a number"),
    ("komi 7.5", "= "),
    ("play b E5", "= "),
    ("play w e5", "? illegal move: e5: point e5 is taken, or a stone there would have no liberty "
                  "(suicide) or repeat an earlier position (positional superko)"),
    ("play w z9", "? illegal move: 'z9' is not a vertex of go9 (a1-j9 or pass)"),
    ("play red c3", "? syntax error: invalid color 'red' (b, black, w or white)"),
    ("play b", "? syntax error: play takes COLOR VERTEX"),
    ("frobnicate", "? unknown command"),
    ("# a comment line", None),
    ("", None),
    ("4 genmove white", "=4 "),  # then a vertex: the search's
    ("showboard", "= \n9 . . . . . . . . ."),
    ("undo", "= "),
    ("showboard", "= \n9 . . . . . . . . .\n8 . . . . . . . . .\n7 . . . . . . . . .\n"
                  "6 . . . . . . . . .\n5 . . . . X . . . .\n4 . . . . . . . . .\n"
                  "3 . . . . . . . . .\n2 . . . . . . . . .\n1 . . . . . . . . .\n"
                  "  a b c d e f g h j\nwhite to play"),
    ("play w pass", "= "),
    ("play b pass", "= "),
    ("final_score", "= B+73.5"),
    ("genmove w", "= pass"),  # the game is over
    ("play w d4", "? illegal move: the game is over"),
    ("quit", "= "),
    ("name", None),  # after quit: no answer
]


def test_a_scripted_session_answers_every_command_as_gtp_says():
    result = gtp("--game", "go9", "--mcts-rollouts", "--simulations", "8",
                 stdin="\n".join(command for command, _ in SCRIPT) + "\n")
    assert result.returncode == 0, result.stderr
    replies = result.stdout.split("\n\n")
    assert replies[-1] == ""
    expected = [reply for _, reply in SCRIPT if reply is not None]
    assert len(replies) - 1 == len(expected), result.stdout
    for reply, wanted in zip(replies, expected):
        assert reply.startswith(wanted), (reply, wanted)
    move = replies[expected.index("=4 ")][3:]
    assert GO.parse_move(move) != GO.pass_action and move == move.upper()
    assert f"white {move.lower()} (value " in result.stderr  # the search's view of its move


def test_undo_restores_each_position_and_an_empty_history_cannot_undo():
    engine, send = session()
    shown = [send("showboard")]
    for command in ("play b c3", "play w d4", "genmove b"):
        assert send(command).startswith("=")
        shown.append(send("showboard"))
    for board_text in reversed(shown[:-1]):
        assert send("undo") == "= "
        assert send("showboard") == board_text
    assert send("undo") == "? cannot undo"
    assert np.array_equal(engine.state, GO.initial())


def test_a_move_out_of_turn_follows_a_pass_that_undo_takes_back_with_it():
    engine, send = session()
    send("play b e5")
    assert send("play b d4") == "= "  # white passed in between
    assert GO.player(engine.state) == 1 and len(engine.states) == 3
    assert np.array_equal(engine.state, GO.position("e5 pass d4"))
    assert send("genmove b").startswith("= ")  # white passes again
    assert np.array_equal(engine.states[-2], GO.position("e5 pass d4"))
    send("undo")
    send("play w pass")
    assert send("play w c3") == ("? illegal move: black is to play, and a pass for black would "
                                 "end the game")
    assert send("genmove w") == ("? cannot move for white: black is to play, and a pass for "
                                 "black would end the game")


def test_genmove_after_the_end_passes_and_undo_takes_that_pass_back_first():
    engine, send = session()
    for command in ("play b e5", "play w pass", "play b pass"):
        send(command)
    over = send("showboard")
    assert over.endswith("game over, B+73.5")
    assert send("genmove w") == "= pass"
    assert send("undo") == "= "  # the pass just answered, not black's pass before it
    assert send("showboard") == over
    assert send("undo") == "= " and GO.outcome(engine.state) == ONGOING


def test_final_score_is_the_area_score_of_the_position():
    engine, send = session()
    rng = np.random.default_rng(0)
    while GO.outcome(engine.state) == ONGOING:
        legal = np.flatnonzero(GO.legal(engine.state))
        colour = "bw"[GO.player(engine.state)]
        assert send(f"play {colour} {GO.format_move(int(rng.choice(legal)))}") == "= "
        score = score_text(float(board(GO).score(engine.state)))
        assert send("final_score") == f"= {score}"
    assert score[:2] in ("B+", "W+") and send("genmove b") == "= pass"


def test_any_komi_is_accepted_as_gtp_requires_and_final_score_counts_it():
    log = io.StringIO()
    engine, send = session()
    engine.log = log
    assert send("komi 6.5") == "= "  # Sabaki's default: GTP says an engine must accept it
    assert "komi 6.5" in log.getvalue() and "7.5" in log.getvalue()  # the search's komi
    for command in ("play b e5", "play w pass", "play b pass"):
        send(command)
    assert send("final_score") == "= B+74.5"  # Black's 81 points, less komi 6.5
    assert send("showboard").endswith("game over, B+74.5")
    assert send("komi 81") == "= " and send("final_score") == "= 0"
    send("clear_board")  # komi is a setting: a new game keeps it
    send("play b pass")
    send("play w pass")
    assert send("final_score") == "= W+81"
    for value in ("nan", "inf", "seven"):
        assert send(f"komi {value}") == "? syntax error: komi is a number"
    assert send("komi -2") == "= " and send("final_score") == "= B+2"


def test_gomoku_plays_on_its_board_takes_any_komi_and_has_no_score():
    game = games.get("gomoku9")
    engine, send = session(game)
    assert send("boardsize 15") == "? unacceptable size (gomoku9 is played on 9x9)"
    assert send("komi 6.5") == "= "
    assert send("play b e5") == "= "
    assert send("play b d4") == "? illegal move: white is to play (gomoku9 has no pass)"
    assert send("play w pass") == "? illegal move: 'pass' is not a vertex of gomoku9 (a1-j9)"
    assert send("genmove w") == "= A9"
    assert send("final_score") == "? cannot score gomoku9: a game won by its last move"
    for move in ("b e4", "w b9", "b e3", "w c9", "b e2", "w d9", "b e1"):
        assert send(f"play {move}") == "= "
    assert send("genmove w") == "? the game is over"
    assert send("showboard").endswith("game over, finished")


def test_serve_answers_until_quit_and_drops_overlong_lines():
    engine = Engine(GO, first_legal(GO))
    out = io.StringIO()
    engine.serve(io.StringIO("name\n" + "x" * 5000 + "\nquit\nname\n"), out)
    assert out.getvalue() == "= zeroplay\n\n? command line too long\n\n= \n\n"


@pytest.mark.parametrize("args, message", [
    (["--game", "tictactoe", "--mcts-rollouts", "--simulations", "8"],
     "zeroplay: error: tictactoe has no SGF or GTP form: its moves are not the points of a "
     "square board (as in Go and Gomoku)"),
    (["--game", "gomoku", "--checkpoint", "builtin"],
     "zeroplay: error: no builtin model for gomoku"),
    (["--game", "go9", "--mcts-rollouts"],
     "zeroplay: error: --mcts-rollouts needs --simulations N with N >= 1"),
])
def test_a_command_that_cannot_start_is_one_line(args, message, capsys):
    assert main(["gtp", *args]) == 1
    assert capsys.readouterr() == ("", message + "\n")


# a GTP program for GtpClient: answers with numbers (protocol_version, version, an id-less
# reply that starts with a digit), a multi-line answer, a failure, and a command it never
# answers; it exits at `crash`
FAKE = r"""
import sys, time
answers = {"protocol_version": "= 2", "version": "= 3.8", "list": "= 12 a\nb", "bad": "? no",
           "count": "= 0"}
for line in sys.stdin:
    command = line.split()[0]
    if command == "hang":
        time.sleep(60)
    if command == "crash":
        sys.exit(3)
    print(answers.get(command, "= "), end="\n\n", flush=True)
"""


def fake_client(**options):
    from engine.gtp import GtpClient

    return GtpClient([sys.executable, "-c", FAKE], "the fake", **options)


def test_the_client_keeps_answers_that_start_with_a_digit():
    client = fake_client()
    try:
        assert [client.send(c) for c in ("protocol_version", "version", "count", "list")] \
            == ["2", "3.8", "0", "12 a\nb"]
        with pytest.raises(ValueError, match="the fake refused 'bad': no"):
            client.send("bad")
    finally:
        client.close()


def test_a_program_that_hangs_or_stops_is_an_error_naming_it_not_a_hang():
    import time
    from engine.gtp import GtpError

    client = fake_client(timeout=1.0)
    start = time.monotonic()
    with pytest.raises(GtpError, match=r"the fake did not answer 'hang' within 1 s"):
        client.send("hang")
    assert time.monotonic() - start < 10 and client.process.poll() is not None  # killed
    client.close()
    client = fake_client(timeout=5.0)
    with pytest.raises(GtpError, match=r"the fake stopped answering at 'crash' \(exit status 3\)"):
        client.send("crash")
    client.close()


def test_an_error_inside_a_command_is_answered_and_the_session_goes_on():
    def broken(state):
        raise RuntimeError("the network file is damaged")

    log = io.StringIO()
    engine = Engine(GO, broken, log)
    assert engine.respond("play b e5\n")[0] == "= \n\n"
    reply, done = engine.respond("7 genmove w\n")
    assert reply == "?7 internal error: RuntimeError: the network file is damaged\n\n"
    assert not done and "Traceback" in log.getvalue()
    assert len(engine.states) == 2  # the position after e5, nothing half-played
    assert engine.respond("play w d4\n")[0] == "= \n\n"
