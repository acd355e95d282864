"""Crashes and failed writes in a real `train`: SIGKILL at random moments in every phase, and
writes that fail with a full disk or without permission.

Each kill trial starts `python tests/faults.py SPEC train ...` (engine.cli.main with a fault) on
one run directory, lets it kill itself in its phase (or kills it from outside), checks what it
left, and starts the next trial on the same directory, so every trial is also a resume.
"""
import errno
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from engine.checkpoint import load_checkpoint
from engine.cli import main
from engine.pipeline import RunState
from faults import PHASES, WriteFault, check_run_dir, last_mark
from test_pipeline import ROOT, TINY, read_metrics

GAMES_PER_GENERATION = 16  # TINY's
# sprt with a bar below even: the candidate is promoted after most generations, so that the
# promotion and rating phases really run
CONFIG = TINY + ["arena.gate=sprt", "arena.elo0=-100", "arena.elo1=-50"]
WRITES = {"config": r"config\.json", "shard": r"shard_\d{6}\.npz",
          "checkpoint": r"gen_\d{4}\.ckpt|candidate\.ckpt", "promotion": r"best\.ckpt",
          "state": r"state\.json"}
DELAYS = {"selfplay": 0.4, "train": 0.05, "checkpoint": 0.01, "gate": 0.05, "rating": 0.05}


def train_args(run_dir: Path, generations: int = 10000) -> list[str]:
    sets = [arg for s in CONFIG for arg in ("--set", s)]
    return ["train", "--game", "tictactoe", "--run-dir", str(run_dir),
            "--generations", str(generations), *sets]


def start(spec: dict, args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, str(ROOT / "tests" / "faults.py"),
                                 json.dumps(spec), *args], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)


def fault_spec(target: str, rng: np.random.Generator, marker: Path) -> dict:
    """A kill in `target` (a phase, "config", or "outside" for a kill at a random wall time):
    a mid-write kill for file writes (alternating with a timer for checkpoints), else a timer
    of random delay after the phase's first or second entry."""
    nth = int(rng.integers(1, 3))
    if target in WRITES and (target != "checkpoint" or rng.random() < 0.5):
        return {"write": WRITES[target], "nth": 1 if target == "config" else nth,
                "cut": float(rng.random()), "marker": str(marker)}
    if target == "outside":
        return {"marker": str(marker)}
    return {"phase": target, "nth": nth, "delay": float(rng.uniform(0, DELAYS[target])),
            "marker": str(marker)}


def printed_generations(log: Path) -> list[int]:
    return [int(g) for g in re.findall(r"^gen (\d+):", log.read_text(), re.M)]


def check_resumed(before: RunState, after: RunState, log: Path) -> None:
    """The start logged in `log` went on from `before`'s generation, and kept the counts."""
    printed = printed_generations(log)
    assert printed == list(range(before.generation + 1, before.generation + 1 + len(printed)))
    assert after.generation in (before.generation + len(printed),
                                before.generation + len(printed) + 1)
    for key in ("generation", "games", "positions", "best_generation"):
        assert getattr(after, key) >= getattr(before, key), key
    assert after.games == GAMES_PER_GENERATION * after.generation


def ahead_of_state(run_dir: Path, state: RunState) -> bool:
    """Whether best.ckpt or candidate.ckpt holds a network of a generation that is not
    complete: written before a kill that came before the generation's state.json."""
    best, candidate = (run_dir / "best.ckpt", run_dir / "candidate.ckpt")
    return ((best.exists() and load_checkpoint(best).generation > state.best_generation)
            or (candidate.exists() and load_checkpoint(candidate).generation > state.generation))


def kill_trials(run_dir: Path, targets: list[str], seed: int) -> list[dict]:
    """Kill a `train` on run_dir once per target, in order, checking the directory after each;
    then run it to completion. Returns one row per trial."""
    rng = np.random.default_rng(seed)
    before, rows = RunState(), []
    for i, target in enumerate(targets):
        marker, log = run_dir.parent / f"marker{i}", run_dir.parent / f"log{i}"
        process = start(fault_spec(target, rng, marker), train_args(run_dir), log)
        try:
            # an outside kill lands at a random time from startup (about 5 s) to a few gens in
            process.wait(timeout=float(rng.uniform(1, 12)) if target == "outside" else 180)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert process.returncode == -signal.SIGKILL, (target, log.read_text()[-3000:])
        after = check_run_dir(run_dir)
        check_resumed(before, after, log)
        rows.append({"target": target, "landed": last_mark(marker),
                     "generations": f"{before.generation}->{after.generation}",
                     "ahead": ahead_of_state(run_dir, after)})
        before = after
    generations = before.generation + 2
    final = subprocess.run([sys.executable, "-m", "engine", *train_args(run_dir, generations)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert final.returncode == 0, final.stderr[-3000:]
    (run_dir.parent / "final").write_text(final.stderr)
    state = check_run_dir(run_dir)
    check_resumed(before, state, run_dir.parent / "final")
    assert state.generation == generations
    assert [r["generation"] for r in read_metrics(run_dir)] == list(range(1, generations + 1))
    return rows


def report(rows: list[dict]) -> str:
    by_target = {}
    for row in rows:
        by_target.setdefault(row["target"], []).append(row)
    lines = ["| target | trials | landed in (last phase entered) | outcome "
             "| best/candidate ahead of state |", "| --- | --- | --- | --- | --- |"]
    for target, trials in by_target.items():
        landed = Counter(re.sub(r"_\d+", "_N", row["landed"]) for row in trials)
        where = ", ".join(f"{k} x{n}" for k, n in landed.most_common())
        ahead = sum(row["ahead"] for row in trials)
        lines.append(f"| {target} | {len(trials)} | {where} | loadable, resumed | {ahead} |")
    return "\n".join(lines)


def test_a_few_kills_leave_a_run_that_resumes(tmp_path):
    rows = kill_trials(tmp_path / "run", ["config", "shard", "rating"], seed=1)
    print(report(rows))


@pytest.mark.slow
def test_kills_in_every_phase_leave_a_run_that_resumes(tmp_path):
    """36 SIGKILLs: the first while the new run's config is written, then 35 over PHASES and
    from outside; see docs/reliability.md for a measured table."""
    targets = ["config"] + [t for _ in range(4) for t in (*PHASES, "outside")][:35]
    rows = kill_trials(tmp_path / "run", targets, seed=0)
    for row in rows:
        print(row)
    print(report(rows))


# ---- failed writes -------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES], ids=["disk_full", "no_permission"])
@pytest.mark.parametrize("target, failing", [("shard", "replay/shard_000001.npz"),
                                             ("checkpoint", "checkpoints/gen_0002.ckpt")])
def test_a_failed_write_stops_the_run_in_one_line_and_keeps_the_last_generation(
        tmp_path, monkeypatch, capsys, code, target, failing):
    run_dir = tmp_path / "run"
    WriteFault(WRITES[target], nth={"shard": 2, "checkpoint": 4}[target],
               errno=code).install(monkeypatch.setattr)
    assert main(train_args(run_dir, generations=3) + ["--quiet"]) == 1
    out, err = capsys.readouterr()
    assert err == f"zeroplay: error: cannot write {run_dir / failing}: {os.strerror(code)}\n"
    before = check_run_dir(run_dir)
    assert before.generation == 1
    assert not list(run_dir.rglob("*.tmp"))  # the failed write cleaned up after itself

    monkeypatch.undo()  # the disk has room again
    assert main(train_args(run_dir, generations=2) + ["--quiet"]) == 0
    after = check_run_dir(run_dir)
    assert after.generation == 2 and after.games > before.games
    assert [r["generation"] for r in read_metrics(run_dir)] == [1, 2]


def test_a_failed_write_in_a_train_process_is_one_line_and_exit_status_1(tmp_path):
    run_dir, log = tmp_path / "run", tmp_path / "log"
    spec = {"write": WRITES["state"], "nth": 2, "errno": errno.ENOSPC}
    process = start(spec, train_args(run_dir) + ["--quiet"], log)
    assert process.wait(timeout=180) == 1
    assert log.read_text() == (f"zeroplay: error: cannot write {run_dir / 'state.json'}: "
                               f"{os.strerror(errno.ENOSPC)}\n")
    assert check_run_dir(run_dir).generation == 1
