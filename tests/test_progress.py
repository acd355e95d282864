"""Progress and budgets as a user meets them: log lines above the bar, a bar in the run's own
budget, the budget that ended a run and how to extend it, a run directory that knows its game,
and `curve`'s table."""
import json

import pytest

import games
from engine import pipeline
from engine.arena import play_pairs
from engine.cli import main
from engine.config import load_config
from engine.players import RandomPlayer
from engine.rundir import RunState

TINY = ["selfplay.games_per_generation=8", "selfplay.games_in_parallel=8",
        "search.simulations=4", "trainer.steps_per_generation=2", "trainer.batch_size=16",
        "arena.max_games=2", "arena.simulations=2", "arena.rating_games=4",
        "arena.anchor_rollouts=2", "pipeline.threads=1", "pipeline.workers=1"]
SETS = [arg for setting in TINY for arg in ("--set", setting)]


def train(capsys, *args) -> list[str]:
    assert main(["train", *args, "--quiet", *SETS]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_finished_run_says_which_budget_ended_it_and_how_to_go_on(tmp_path, capsys):
    run_dir = tmp_path / "run"
    out = train(capsys, "--game", "tictactoe", "--run-dir", str(run_dir), "--generations", "1")
    assert out[-1] == (
        "stopped: 1 generation (pipeline.generations) spent (a run stops at whichever budget "
        f"comes first); to go on, give it more: zeroplay train --run-dir {run_dir} "
        "--generations 2")
    # again, without --game: the run's own settings, its budget already spent
    out = train(capsys, "--run-dir", str(run_dir))
    assert out[0].startswith("generation 1, ")
    assert out[-1].startswith("this run had already spent its budget of 1 generation "
                              "(pipeline.generations)")
    # extended as told: one more generation
    out = train(capsys, "--run-dir", str(run_dir), "--generations", "2")
    assert out[0].startswith("generation 2, ") and "2 generations" in out[-1]
    assert RunState.load(run_dir / "state.json").generation == 2

    assert main(["curve", "--run-dir", str(run_dir), "--simulations", "0,4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["generation", "minutes", "raw", "policy", "4", "sims"]
    assert [line.split()[0] for line in lines[1:-1]] == ["0", "1", "2"]
    assert all(line.split()[2].endswith("%") for line in lines[1:-1])
    assert "Elo vs mcts2" in lines[0] and lines[-1] == (
        "Elo: 95% intervals, 4 games at 2 simulations a move against each anchor (mctsN: pure "
        "MCTS of N simulations)")
    assert main(["curve", "--run-dir", str(run_dir), "--simulations", "0", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["generation"] for r in rows] == [0, 1, 2] and 0 < rows[2]["optimal_0"] < 1


@pytest.mark.parametrize("args, message", [
    (["--run-dir", "{new}"], "holds no run yet: --game G starts one"),
    (["--game", "connect4", "--run-dir", "{old}"], "is a tictactoe run, not connect4"),
])
def test_train_without_a_game_or_with_another_one_is_one_line(tmp_path, capsys, args, message):
    old = tmp_path / "old"
    (old).mkdir()
    (old / "config.json").write_text(load_config("tictactoe").to_json())
    args = [a.format(new=tmp_path / "new", old=old) for a in args]
    assert main(["train", *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "new").exists() and sorted(p.name for p in old.iterdir()) == [
        "config.json"]


@pytest.mark.parametrize("budget, total, count", [
    (["pipeline.minutes=5", "pipeline.generations=35"], 5, 1.5),  # minutes, whichever first
    (["pipeline.generations=35"], 35, 4),
])
def test_the_bar_counts_the_run_s_own_budget(tmp_path, budget, total, count):
    run = pipeline.Pipeline(load_config("tictactoe", overrides=budget), tmp_path)
    bar = run._bar(RunState(generation=4, minutes=1.5))
    assert (bar.total, bar.n) == (total, count)
    assert run._bar_count(RunState(generation=4, minutes=1.5)) == count
    bar.close()


def test_log_lines_are_written_above_the_bar(monkeypatch):
    written = []
    monkeypatch.setattr(pipeline.tqdm, "write", lambda text, file=None: written.append(text))
    pipeline.Pipeline(load_config("tictactoe"), "unused").log("gen 1: ...")
    assert written == ["gen 1: ..."]


def test_curve_missing_matplotlib_is_one_line_before_any_scoring(tmp_path, capsys, monkeypatch):
    import importlib.util

    import engine.curve

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(load_config("tictactoe").to_json())
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else find_spec(name, *a))
    monkeypatch.setattr(engine.curve, "score_generations", lambda *a: pytest.fail("scored"))
    assert main(["curve", "--run-dir", str(run_dir), "--out", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err
    assert err == ("zeroplay: error: curve --out needs matplotlib, not installed: "
                   'pip install "zeroplay[plot]"\n')


def test_a_match_with_its_progress_bar_is_the_same_match():
    game = games.get("tictactoe")
    results = [play_pairs(game, RandomPlayer(game, 1), RandomPlayer(game, 2), 6, 1, seed=3,
                          progress=progress) for progress in (False, True)]
    assert results[0] == results[1] and results[0].games == 12
