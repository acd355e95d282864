"""The engine's commands as users run them (`python -m engine ...`): bestmove, status, train,
evaluate, strength and play, on tic-tac-toe with tiny budgets. Each process costs seconds, so
each call checks several things.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import games
from engine.checkpoint import Checkpoint
from engine.config import load_config
from engine.network import build_network
from engine.pipeline import RunState, open_run

ROOT = Path(__file__).resolve().parents[1]
GAME = games.get("tictactoe")
# ongoing positions, from the empty board to one with a single empty cell
POSITIONS = ["", "5", "51", "1234", "5192", "12346", "513264", "1235746", "12354769"]


def engine(*args, stdin: str = ""):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one torch thread: fast on a busy machine
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def one_line_error(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    config = load_config("tictactoe")
    path = tmp_path_factory.mktemp("net") / "net.ckpt"
    Checkpoint("tictactoe", 0, config.to_dict(),
               build_network(GAME, config.network).state_dict()).save(path)
    return path


def test_positions_are_ongoing():
    for text in POSITIONS:
        assert GAME.outcome(GAME.position(text)) == games.ONGOING, text


def assert_legal_moves(stdout: str, positions):
    moves = stdout.splitlines()
    assert len(moves) == len(positions), stdout
    for text, move in zip(positions, moves):
        state = GAME.position(text)
        GAME.parse_move(move, state)  # raises GameError on a bad or illegal move
    # the last position has one empty cell: its move is forced
    assert moves[-1] == next(c for c in "123456789" if c not in positions[-1])


@pytest.mark.parametrize("simulations", ["0", "8"])
def test_bestmove_writes_one_legal_move_per_line(checkpoint, simulations):
    result = engine("bestmove", "--game", "tictactoe", "--checkpoint", str(checkpoint),
                    "--simulations", simulations, stdin="\n".join(POSITIONS) + "\n")
    assert result.returncode == 0, result.stderr
    assert_legal_moves(result.stdout, POSITIONS)


def test_bestmove_bad_line_is_one_error_naming_the_line_and_no_output(checkpoint):
    lines = ["5", "12", "", "55", "3"]  # line 4 plays cell 5 twice
    result = engine("bestmove", "--game", "tictactoe", "--checkpoint", str(checkpoint),
                    "--simulations", "0", stdin="\n".join(lines) + "\n")
    assert result.returncode == 1
    assert "line 4" in one_line_error(result)
    assert result.stdout == ""


def test_status_reports_a_run_and_refuses_a_directory_without_one(tmp_path):
    run_dir = tmp_path / "run"
    open_run(run_dir, load_config("tictactoe"))
    RunState(generation=3, games=77, positions=500, best_generation=2).save(
        run_dir / "state.json")
    result = engine("status", "--run-dir", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["generation"], info["games"], info["best_generation"]) == (3, 77, 2)
    assert info["game"] == "tictactoe"

    empty = tmp_path / "empty"
    empty.mkdir()
    result = engine("status", "--run-dir", str(empty))
    assert str(empty) in one_line_error(result)
    assert result.stdout == ""
    assert list(empty.iterdir()) == []


def test_train_with_an_unknown_key_names_it_and_creates_nothing(tmp_path):
    run_dir = tmp_path / "run"
    result = engine("train", "--game", "tictactoe", "--run-dir", str(run_dir),
                    "--set", "search.simulatons=10")
    assert "search.simulatons" in one_line_error(result)
    assert result.stdout == ""
    assert not run_dir.exists()


def test_evaluate_prints_a_score():
    result = engine("evaluate", "--game", "tictactoe", "random", "random", "--games", "4")
    assert result.returncode == 0, result.stderr
    match = re.search(r"\+(\d+) =(\d+) -(\d+) \(4 games\), score (\d\.\d+)", result.stdout)
    assert match, result.stdout
    wins, draws, losses = (int(x) for x in match.groups()[:3])
    assert wins + draws + losses == 4
    assert float(match.group(4)) == pytest.approx((wins + draws / 2) / 4, abs=1e-3)


def test_strength_of_pure_mcts_prints_a_high_rate():
    result = engine("strength", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "50")
    assert result.returncode == 0, result.stderr
    assert "of 4520 positions" in result.stdout
    rate = float(result.stdout.split("%")[0].split("(")[-1])
    assert 80.0 <= rate <= 100.0  # measured: 98.1%; random play scores about 60%


def test_play_reports_bad_moves_and_goes_on():
    # 5 is legal; then 5 again (taken) and x (not a move) are refused; 1 or else 3 is played
    result = engine("play", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "8",
                    stdin="5\n5\nx\n1\n3\nq\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "illegal" in out.lower() and "'x'" in out
    assert out.count("O plays") >= 2  # the game went on after the refused moves
