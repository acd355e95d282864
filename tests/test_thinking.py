"""What the engine thinks (engine.thinking): the search's pick, value, visits and proofs as
`show`, `bestmove` and `play` print them, checked on tic-tac-toe positions solved exactly."""
import io
import json
import time

import numpy as np
import pytest

import games
from engine.cli import main
from engine.players import mcts_player, network_player
from engine.strength import every_position
from engine.thinking import describe, notice_if_slow, table, think

GAME = games.get("tictactoe")
WIN_IN_ONE = "1425"  # X: 1, 2; O: 4, 5; X to move wins at 3 (and only there)


def late_positions(value: int) -> np.ndarray:
    """Solved positions with at most four empty cells whose exact value for the mover is
    `value`: a search of 200 simulations proves them."""
    states, _, values = every_position("tictactoe")
    empty = np.array([GAME.legal(s).sum() for s in states])
    return states[(values == value) & (empty <= 4)][:8]


def test_a_win_in_one_is_chosen_and_shown_proven():
    (view,) = think(GAME, mcts_player(GAME, 50), GAME.position(WIN_IN_ONE)[None])
    assert view.move == "3" and view.proven == "win" and view.chosen.proven == "win"
    assert view.value == pytest.approx(1.0, abs=1e-3)
    assert sum(m.visits for m in view.moves) == 50
    assert describe(view) == f"3 (value +1.00, {view.chosen.visits}/50 visits, proven win)"
    rows = table(view).splitlines()
    assert rows[0].split() == ["move", "prior", "visits", "Q", "proof"]
    assert rows[1].split()[0] == "3" and rows[1].split()[-1] == "win"
    assert len(rows) == 1 + 5  # five most searched of the six legal moves


@pytest.mark.parametrize("value, word", [(-1, "loss"), (0, "draw")])
def test_solved_positions_are_shown_with_their_exact_value(value, word):
    views = think(GAME, mcts_player(GAME, 200), late_positions(value))
    assert views and all(v.proven == word for v in views)
    assert all(f"proven {word}" in describe(v) for v in views)


def test_moves_are_sorted_by_visits_and_q_is_none_only_when_unsearched():
    (view,) = think(GAME, mcts_player(GAME, 30), GAME.position("5")[None])
    visits = [m.visits for m in view.moves]
    assert visits == sorted(visits, reverse=True) and len(view.moves) == 8
    assert all((m.q is None) == (m.visits == 0) for m in view.moves)
    assert view.move == view.moves[0].move


def test_the_raw_policy_shows_its_prior():
    player = network_player(GAME, "builtin", 0)
    (view,) = think(GAME, player, GAME.position("")[None])
    assert all(m.visits == 0 and m.q is None for m in view.moves)
    assert sum(m.prior for m in view.moves) == pytest.approx(1.0, abs=1e-4)
    assert view.move == max(view.moves, key=lambda m: m.prior).move
    assert "raw policy, prior" in describe(view)


def test_show_verbose_prints_the_view_and_its_table(capsys):
    assert main(["show", "--game", "tictactoe", "--moves", WIN_IN_ONE, "--mcts-rollouts",
                 "--simulations", "50", "--verbose"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[3] == "X to move"
    assert out[4].startswith("X would play 3 (value +1.00") and out[4].endswith("proven win)")
    assert out[5].split()[:2] == ["move", "prior"] and out[6].split()[0] == "3"


def test_bestmove_json_gives_each_position_its_view(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{WIN_IN_ONE}\n\n"))
    assert main(["bestmove", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "40",
                 "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["position"] for r in records] == [WIN_IN_ONE, ""]
    assert records[0]["move"] == "3" and records[0]["proven"] == "win"
    assert records[1]["proven"] is None and len(records[1]["moves"]) == 9
    for record in records:
        assert sum(m["visits"] for m in record["moves"]) == record["simulations"] == 40


def test_bestmove_verbose_keeps_stdout_one_move_per_line(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{WIN_IN_ONE}\n5\n"))
    assert main(["bestmove", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "40",
                 "--verbose"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "3" and len(out.splitlines()) == 2
    assert err.startswith(f"{WIN_IN_ONE}: 3 (value +1.00")


@pytest.mark.parametrize("seconds, printed", [(0.3, True), (0.0, False)])
def test_a_slow_first_search_says_so(seconds, printed):
    stream = io.StringIO()
    with notice_if_slow("compiling", stream, after=0.05):
        time.sleep(seconds)
    assert (stream.getvalue() == "compiling\n") is printed
