"""The command line as users run it (`python -m engine`), and its errors on bad input.

A few cases start a real process; the many bad-input cases call `main()` in this process.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]


def engine(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def board_rows(text):
    return ["".join(line.split()) for line in text.splitlines()]


def test_help_lists_the_commands():
    result = engine("--help")
    assert result.returncode == 0
    for command in ("show", "check-game", "bench"):
        assert command in result.stdout


def test_show_prints_the_board():
    result = engine("show", "--game", "connect4", "--moves", "4453")
    assert result.returncode == 0, result.stderr
    rows = board_rows(result.stdout)
    assert rows[:6] == ["......."] * 4 + ["...O...", "..OXX.."]
    assert rows[-1] == "Xtomove"


def test_bad_input_in_a_process_is_one_line_without_traceback():
    result = engine("show", "--game", "connect4", "--moves", "4444444")
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "zeroplay: error: connect4: illegal move 4: column 4 is full (move 7 of '4444444')"]


def test_check_game_passes():
    result = engine("check-game", "--game", "tictactoe")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["tictactoe: OK"]


@pytest.mark.parametrize("game, moves, problem", [
    ("connect4", "4444444", "column 4 is full"),
    ("connect4", "48", "bad move '8'"),
    ("connect4", "a", "bad move 'a'"),
    ("tictactoe", "142536", "the game is over"),  # X took the top row with move 5
    ("chess", "", "unknown game 'chess'"),
])
def test_bad_input_exits_with_one_clear_line(capsys, game, moves, problem):
    assert main(["show", "--game", game, "--moves", moves]) != 0
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("zeroplay: error: ") and problem in err


@pytest.mark.parametrize("game, moves, status", [
    ("tictactoe", "", "X to move"),
    ("tictactoe", "1425", "X to move"),
    ("tictactoe", "14253", "X wins"),  # X took the top row with move 5
    ("tictactoe", "142596", "O wins"),  # O took the middle row with move 6
    ("tictactoe", "123546879", "draw"),
])
def test_show_states_the_result(capsys, game, moves, status):
    assert main(["show", "--game", game, "--moves", moves]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == status


@pytest.mark.parametrize("command", ["show", "check-game", "bench"])
def test_each_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: zeroplay {command}" in capsys.readouterr().out


def test_bench_rules_json_record(capsys):
    assert main(["bench", "rules", "--game", "tictactoe", "--playouts", "500", "--repeats", "1",
                 "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["machine"]["cores"] >= 1 and record["machine"]["versions"]["numba"]
    (row,) = record["benchmarks"]["rules"]["rows"]
    assert row["game"] == "tictactoe" and row["ours playouts/s"] > 0


def test_bench_rejects_an_unknown_benchmark(capsys):
    assert main(["bench", "nonsense"]) == 1
    assert "unknown benchmark 'nonsense'" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_compile_cold_and_warm(capsys):
    assert main(["bench", "compile", "--game", "tictactoe", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["benchmarks"]["compile"]["rows"]
    assert all(row["cold first calls s"] > 0 and row["warm first calls s"] > 0 for row in rows)


def test_status_shows_an_all_won_rating_as_a_floor_with_its_games(capsys, tmp_path):
    from engine.arena import MatchResult
    from engine.config import load_config
    from engine.pipeline import RunState, open_run

    run_dir = tmp_path / "run"
    open_run(run_dir, load_config("tictactoe"))
    elo = {"random": [round(x, 1) for x in MatchResult(64, 0, 0).elo()]}
    RunState(generation=3, best_generation=3, rated_generation=3, elo=elo).save(
        run_dir / "state.json")
    assert main(["status", "--run-dir", str(run_dir)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Elo vs random"))
    # 64 of 64 won: the exact lower end 0.025^(1/64) = 0.944028 is Elo +490.8; no upper end
    assert line == ("Elo vs random: >= +491 (95%; generation 3, 64 games at "
                    f"{load_config('tictactoe').arena.simulations} simulations a move)")
