"""A tiny experiment end to end on tic-tac-toe: every arm produces data, the report's tables
and plots exist, the CSV loads, a second run resumes without redoing anything; bad experiment
files are refused before anything is written; each run records the code that ran it; a
finished run's records alone write the report again."""
import csv
import json
import shutil
import subprocess
import sys

import pytest

from commands import exit_status

ARMS = {"alphazero": 'kind = "alphazero"',
        "star": 'kind = "star"\nrationalize = true',
        "no_critic": 'kind = "no_critic"',
        "noisy": 'kind = "noisy_critic"\nflip_probability = 0.2',
        "proxy": 'kind = "proxy_critic"'}

TINY = """game = "tictactoe"
seeds = [0]
evaluations = 800
round_robin_generations = 3
round_robin_games = 4
[base.selfplay]
games_per_generation = 16
games_in_parallel = 16
random_opening_moves = 0
[base.search]
simulations = 8
[base.trainer]
steps_per_generation = 5
batch_size = 32
[base.replay]
window_min = 200
[base.arena]
rating_every = 1000
[base.pipeline]
workers = 1
threads = 1
"""


def experiment_file(tmp_path, arms=ARMS, head=TINY):
    text = head + "".join(f"[arms.{name}.learner]\n{body}\n" for name, body in arms.items())
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def zeroplay(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True,
                          text=True, timeout=900)


def test_a_tiny_experiment_reports_every_arm(tmp_path, capsys):
    path, root = experiment_file(tmp_path), tmp_path / "exp"
    assert exit_status("experiment", str(path), "--dir", str(root), "--status") == 0
    status = capsys.readouterr().out
    assert "0 of 5 runs done, 0 in part" in status and "nothing run yet" in status
    assert not root.exists()  # --status writes nothing
    done = zeroplay("experiment", str(path), "--dir", str(root), "--quiet")
    assert done.returncode == 0, done.stderr
    from engine.rundir import code_version, read_metrics

    for arm in ARMS:
        state = json.loads((root / "runs" / arm / "seed_0" / "state.json").read_text())
        assert state["generation"] >= 1 and state["evaluations"] >= 800
        records = read_metrics(root / "runs" / arm / "seed_0" / "metrics.jsonl")
        assert {r.get("commit") for r in records} == {code_version()}  # None: not a checkout
    report = (root / "report.md").read_text()
    for arm in ARMS:
        assert f"| {arm} | 1 |" in report
    for title in ("Final strength", "Strength at equal compute", "Strength at equal games",
                  "Strength at equal gradient steps", "Non-transitivity"):
        assert title in report
    for png in ("curves_by_evaluations.png", "strength_by_games.png", "strength_by_steps.png",
                "proxy_vs_kl.png"):
        assert (root / png).read_bytes()[:4] == b"\x89PNG"
    with open(root / "points.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["arm"] for r in rows} == set(ARMS)
    assert all(0.0 <= float(r["strength"]) <= 1.0 for r in rows)
    assert all(float(r["evaluations_total"]) > 0 for r in rows)
    last = {r["arm"]: r for r in sorted(rows, key=lambda r: int(r["generation"]))}
    assert f"| star | 1 | {float(last['star']['strength']):.3f} |" in report
    # the predictions are judged on the runs' numbers: noisy_critic's on its calibration slope
    assert (f"- noisy (p = 0.2): calibration slope at the end of each run "
            f"{float(last['noisy']['calibration_slope']):.3f} (1 run)") in report
    # a finished run's records (metrics.jsonl, round_robin.json) alone write the same report
    # again, and a grid resumed on them plays nothing
    records = tmp_path / "records"
    shutil.copy(root / "experiment.toml", records.mkdir() or records / "experiment.toml")
    for arm in ARMS:
        kept = records / "runs" / arm / "seed_0"
        kept.mkdir(parents=True)
        for name in ("metrics.jsonl", "round_robin.json"):  # no round-robin: < 3 generations
            if (root / "runs" / arm / "seed_0" / name).exists():
                shutil.copy(root / "runs" / arm / "seed_0" / name, kept / name)
    redone = zeroplay("experiment", str(path), "--dir", str(records), "--quiet")
    assert redone.returncode == 0, redone.stderr
    assert not list(records.rglob("state.json")) and not list(records.rglob("*.ckpt"))
    assert (records / "round_robin.csv").read_text() == (root / "round_robin.csv").read_text()
    played = len(list(records.rglob("round_robin.json")))
    assert played and len((root / "round_robin.csv").read_text().splitlines()) == 1 + played
    assert (records / "report.md").read_text() == report
    # a second call resumes: every run's budget is spent, nothing is played again; an
    # experiment may gain an arm (only its runs are played), not change one
    before = {p: p.stat().st_mtime_ns for p in (root / "runs").rglob("state.json")}
    grown = experiment_file(tmp_path, {**ARMS, "blind": 'kind = "alphazero"\n'
                                                        'search_critic = "none"'})
    assert exit_status("experiment", str(grown), "--dir", str(root), "--status",
                       "--jobs", "2") == 0
    status = capsys.readouterr().out
    assert "5 of 6 runs done, 0 in part" in status and "blind" in status
    assert "to come" in status and "of runs left: " in status and "with --jobs 2" in status
    again = zeroplay("experiment", str(grown), "--dir", str(root), "--quiet")
    assert again.returncode == 0, again.stderr
    after = {p: p.stat().st_mtime_ns for p in (root / "runs").rglob("state.json")}
    assert {p: t for p, t in after.items() if "blind" not in str(p)} == before
    assert (root / "runs" / "blind" / "seed_0" / "state.json") in after
    changed = experiment_file(tmp_path, {**ARMS, "noisy": 'kind = "noisy_critic"\n'
                                                          'flip_probability = 0.3'})
    refused = zeroplay("experiment", str(changed), "--dir", str(root))
    assert refused.returncode != 0 and "arms.noisy" in refused.stderr


@pytest.mark.parametrize("arms, head, message", [
    ({"x": 'kind = "bogus"'}, TINY, "learner.kind"),
    ({"x": 'kind = "alphazero"\nflip_probability = 0.1'}, TINY, "flip_probability"),
    ({"x": 'kind = "noisy_critic"\nflip_probability = 1.5'}, TINY, "flip_probability"),
    ({"x": 'kind = "alphazero"'}, TINY.replace("seeds = [0]", "seeds = [0, 0]"), "seeds"),
    ({"x": 'kind = "alphazero"'}, TINY + "[base.pipeline.x]\n", "pipeline"),
    ({"x": 'kind = "alphazero"'}, TINY.replace("seeds = [0]\n", "seeds = [0]\n"
                                               "more_seeds = {y = [1]}\n"), "'y', which is no arm"),
    ({"x": 'kind = "alphazero"'}, TINY.replace("seeds = [0]\n", "seeds = [0]\n"
                                               "more_seeds = {x = [1, 0]}\n"), "more_seeds.x"),
    ({"x": 'kind = "alphazero"'}, TINY.replace("seeds = [0]\n", "seeds = [0]\n"
                                               "more_seeds = {x = [2, 2]}\n"), "more_seeds.x"),
    ({"x": 'kind = "alphazero"'}, TINY.replace("seeds = [0]\n", "seeds = [0]\n"
                                               "more_seeds = [2]\n"), "more_seeds must be a table"),
    ({"x": 'kind = "star"\nrationalize = true'},  # a hint source the game lacks
     TINY.replace('game = "tictactoe"', 'game = "othello"'), "learner.hint = 'solver': othello"),
])
def test_bad_experiments_are_refused_with_one_line_and_nothing_written(tmp_path, arms, head,
                                                                        message):
    root = tmp_path / "exp"
    done = zeroplay("experiment", str(experiment_file(tmp_path, arms, head)), "--dir", str(root))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr
    assert not root.exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_code_version_is_the_checkouts_commit_marked_dirty_or_none(tmp_path, monkeypatch):
    from engine.rundir import check_metric, code_version

    repo = tmp_path / "repo"
    (repo / "engine").mkdir(parents=True)
    (repo / "engine" / "a.py").write_text("x = 1\n")

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                               "user.email=t@t", "-c", "commit.gpgsign=false", *args],
                              capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "first")
    head = git("rev-parse", "HEAD")
    (repo / "notes.txt").write_text("")  # an untracked file is not the code
    assert code_version(repo) == head
    (repo / "engine" / "a.py").write_text("x = 2\n")
    assert code_version(repo) == f"{head}-dirty"
    assert code_version(repo / "engine") is None  # a copy inside another checkout
    assert code_version(tmp_path) is None  # not a checkout
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert code_version(repo) is None  # no git
    with pytest.raises(ValueError, match="commit must be text"):  # as metrics.jsonl holds it
        check_metric({"generation": 1, "commit": 7})


def test_the_time_left_is_each_arms_pace_times_its_evaluations_to_come(tmp_path):
    from engine.experiment import describe_progress, load_experiment

    arms = {name: ARMS[name] for name in ("alphazero", "star", "no_critic")}
    experiment = load_experiment(experiment_file(tmp_path, arms))
    rows = [{"arm": "alphazero", "seed": 0, "evaluations": 800, "minutes": 40.0},
            {"arm": "star", "seed": 0, "evaluations": 400, "minutes": 10.0},
            {"arm": "no_critic", "seed": 0, "evaluations": 0, "minutes": 0.0}]
    lines = describe_progress(experiment, rows, jobs=2)
    # star: 400 evaluations to come at 10/400 min each = 10; no_critic at every arm's pace so
    # far (50 minutes / 1,200 evaluations) for 800 = 33.3; alphazero none: 43 minutes in all
    assert lines[-2] == "1 of 3 runs done, 1 in part"
    assert lines[-1].startswith("about 43 minutes of runs left: 22 minutes with --jobs 2")
    assert "50%" in lines[2] and "to come" in lines[3]


def test_more_seeds_of_some_arms_run_after_every_arms_seeds_and_may_only_grow(tmp_path):
    from engine.config import ConfigError
    from engine.experiment import _check_growth, load_experiment

    arms = {"a": 'kind = "alphazero"', "b": 'kind = "star"'}
    (tmp_path / "old").mkdir()
    old = load_experiment(experiment_file(tmp_path / "old", arms, TINY.replace(
        "seeds = [0]\n", "seeds = [0, 1]\nmore_seeds = {b = [7, 5]}\n")))
    assert old.seeds_of("a") == (0, 1) and old.seeds_of("b") == (0, 1, 5, 7)
    assert old.grid() == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("b", 5), ("b", 7)]
    grown = load_experiment(experiment_file(tmp_path, arms, TINY.replace(
        "seeds = [0]\n", "seeds = [0, 1]\nmore_seeds = {a = [5], b = [7, 5, 9]}\n")))
    _check_growth(old, grown, tmp_path, "grown.toml")  # more seeds: accepted
    shrunk = load_experiment(experiment_file(tmp_path, arms, TINY.replace(
        "seeds = [0]\n", "seeds = [0, 1]\nmore_seeds = {b = [5]}\n")))
    with pytest.raises(ConfigError, match="seed 7 of b"):
        _check_growth(old, shrunk, tmp_path, "shrunk.toml")


def test_the_report_reads_the_runs_of_an_arms_more_seeds(tmp_path):
    from engine.experiment import load_experiment
    from engine.report import load_points

    e = load_experiment(experiment_file(tmp_path, {"a": 'kind = "alphazero"', "b": 'kind = "star"'},
                                        TINY.replace("seeds = [0]\n",
                                                     "seeds = [0]\nmore_seeds = {b = [3]}\n")))
    for arm, seed, spent in (("a", 0, 800), ("b", 0, 800), ("b", 3, 900), ("a", 3, 900)):
        run = e.run_dir(tmp_path, arm, seed)  # ("a", 3): not a run of the experiment
        run.mkdir(parents=True)
        (run / "metrics.jsonl").write_text(json.dumps({"generation": 1,
                                                       "evaluations_total": spent}) + "\n")
    points = load_points(e, tmp_path)
    assert sorted(points["a"]) == [0] and sorted(points["b"]) == [0, 3]


def test_a_warm_start_begins_from_the_checkpoint_and_measures_kl_from_it(tmp_path):
    import numpy as np
    import torch

    import games
    from engine.checkpoint import load_checkpoint
    from engine.config import load_config
    from engine.pipeline import Pipeline
    from engine.players import resolve_checkpoint

    game = games.get("tictactoe")
    builtin = load_checkpoint(resolve_checkpoint("builtin", game), "tictactoe").weights
    tiny = ["pipeline.generations=1", "pipeline.workers=1", "pipeline.threads=1",
            "selfplay.games_per_generation=16", "selfplay.games_in_parallel=16",
            "search.simulations=8", "trainer.steps_per_generation=2", "replay.window_min=50",
            "arena.rating_every=1000", "pipeline.init_checkpoint='builtin'"]
    run = tmp_path / "warm"
    Pipeline(load_config("tictactoe", overrides=tiny), run, quiet=True).run()
    start = load_checkpoint(run / "checkpoints" / "gen_0000.ckpt", "tictactoe").weights
    assert all(torch.equal(start[k], builtin[k]) for k in builtin)
    from engine.network import NetworkEvaluator, build_network
    from engine.strength import probe

    net = build_network(game, load_config("tictactoe").network)
    net.load_state_dict(builtin)
    expected, _ = NetworkEvaluator(net, game)(probe("tictactoe").states, probe("tictactoe").masks)
    # the KL is measured from the warm start's policy
    np.testing.assert_allclose(np.load(run / "probe_reference.npy"), expected, atol=1e-4)
    refused = zeroplay("train", "--game", "tictactoe", "--run-dir", str(tmp_path / "bad"),
                       *[f"--set={o}" for o in tiny], "--set=network.blocks=3")
    assert refused.returncode != 0 and "network of another shape" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
