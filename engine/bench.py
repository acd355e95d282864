"""The performance suite: sub-benchmarks registered in BENCHMARKS, each one function.

A sub-benchmark takes the shared `Settings` and returns a `Result` (table rows and notes);
`run` adds the machine and the versions, and `format_table` prints it for a person. Timings are
medians over repeats after a warm-up call, and comparisons with peers are ratios from one run.
"""
from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Callable

import numpy as np

import games
from games.rng import make_rng

OPENSPIEL_NAMES = {"tictactoe": "tic_tac_toe", "connect4": "connect_four"}


@dataclass(frozen=True)
class Settings:
    """What every sub-benchmark may read; each uses the fields it needs."""
    games: tuple[str, ...] = ("tictactoe", "connect4")
    playouts: int = 10_000  # random playouts per timed batch
    python_playouts: int = 2_000  # per timed repeat of a Python-loop peer (slow; rates compare)
    repeats: int = 5  # timed repeats; the median is reported
    seed: int = 0


@dataclass
class Result:
    rows: list[dict]  # one dict per table row, the same keys in each
    notes: list[str] = field(default_factory=list)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `fn()` over `repeats` calls, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pyspiel():
    try:
        import pyspiel
    except ImportError:
        return None
    return pyspiel


# ---- rules: random playouts per second ----------------------------------------------------------

def bench_rules(s: Settings) -> Result:
    """Random playouts/s from the initial position: ours (compiled, batched) vs OpenSpiel's C++."""
    pyspiel = _pyspiel()
    rows = []
    for name in s.games:
        game = games.get(name)
        states, rng = game.new_states(s.playouts), make_rng(s.seed)
        ours = s.playouts / median_seconds(lambda: game.playouts(states, rng), s.repeats)
        row = {"game": name, "ours playouts/s": ours}
        if pyspiel is not None:
            spiel_game = pyspiel.load_game(OPENSPIEL_NAMES[name])
            half = s.playouts // 2
            cpp = 2 * half / median_seconds(
                lambda: _openspiel_cpp_rollouts(pyspiel, spiel_game, half, s.seed), s.repeats)
            py = s.python_playouts / median_seconds(
                lambda: _openspiel_python_rollouts(spiel_game, s.python_playouts, s.seed), s.repeats)
            row.update({"openspiel C++ loop/s": cpp, "ours / C++": ours / cpp,
                        "openspiel Python loop/s": py, "ours / Python loop": ours / py})
        rows.append(row)
    notes = [f"ours: game.playouts on a batch of {s.playouts:,} initial states, one thread"]
    if pyspiel is None:
        notes.append("pyspiel is not installed: no OpenSpiel comparison")
    else:
        notes += [
            "OpenSpiel C++ loop: pyspiel has no batched playout call; its C++ RandomRolloutEvaluator "
            "is driven through MCTSBot with 2 simulations (half the rollouts from the initial "
            "position, half after one move: slightly shorter games, in OpenSpiel's favour)",
            f"OpenSpiel Python loop: legal_actions / random.choice / apply_action per move, "
            f"{s.python_playouts:,} playouts per repeat"]
    return Result(rows, notes)


def _openspiel_cpp_rollouts(pyspiel, spiel_game, half: int, seed: int) -> None:
    """2 * half random rollouts in OpenSpiel's C++ loop (two MCTS leaf evaluations)."""
    evaluator = pyspiel.RandomRolloutEvaluator(half, seed)
    bot = pyspiel.MCTSBot(spiel_game, evaluator, 2.0, 2, 1000, False, seed, False)
    bot.step(spiel_game.new_initial_state())


def _openspiel_python_rollouts(spiel_game, n: int, seed: int) -> None:
    choice = random.Random(seed).choice
    for _ in range(n):
        state = spiel_game.new_initial_state()
        while not state.is_terminal():
            state.apply_action(choice(state.legal_actions()))


# ---- compile: numba's first-call time, cold cache vs warm cache ---------------------------------

def first_call_seconds(names: list[str]) -> dict[str, float]:
    """Seconds of the first call of every kernel of each game (compile or cache load)."""
    seconds = {}
    for name in names:
        game = games.get(name)
        start = time.perf_counter()
        states = game.new_states(2)
        game.play(states, np.zeros(2, np.int64))
        for kernel in (game.legal_masks, game.outcomes, game.to_play):
            kernel(states)
        game.encode(states, np.zeros((2, *game.planes), np.float32))
        game.playouts(states, make_rng(0))
        seconds[name] = time.perf_counter() - start
    return seconds


def bench_compile(s: Settings) -> Result:
    """First-call time of the game kernels in a fresh process: empty numba cache, then warm."""
    code = ("import json, sys; from engine.bench import first_call_seconds; "
            "print(json.dumps(first_call_seconds(sys.argv[1:])))")
    runs = {}
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        for label in ("cold", "warm"):
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code, *s.games], env=env, check=True,
                                 capture_output=True, text=True).stdout
            runs[label] = (json.loads(out), time.perf_counter() - start)
    rows = [{"game": name, "cold first calls s": runs["cold"][0][name],
             "warm first calls s": runs["warm"][0][name]} for name in s.games]
    rows.append({"game": "(whole process)", "cold first calls s": runs["cold"][1],
                 "warm first calls s": runs["warm"][1]})
    return Result(rows, ["cold: NUMBA_CACHE_DIR set to an empty temporary folder; warm: a second "
                         "process with that folder; the whole process includes Python and imports"])


BENCHMARKS: dict[str, Callable[[Settings], Result]] = {
    "rules": bench_rules,
    "compile": bench_compile,
}


# ---- running and reporting ---------------------------------------------------------------------

def machine() -> dict:
    """CPU model, core counts and library versions, for the JSON record."""
    model = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                  if line.startswith("model name")), platform.processor())
    versions = {"python": platform.python_version()}
    for dist in ("numpy", "numba", "open-spiel"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"cpu": model, "cores": os.cpu_count(), "usable cores": len(os.sched_getaffinity(0)),
            "platform": platform.platform(), "versions": versions}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def run(names: list[str], settings: Settings) -> dict:
    """Run the named sub-benchmarks; a JSON-ready record with the machine and the results."""
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}: known are {', '.join(BENCHMARKS)}")
    results = {n: BENCHMARKS[n](settings) for n in names}
    return {"machine": machine(), "settings": asdict(settings),
            "benchmarks": {n: {"rows": r.rows, "notes": r.notes} for n, r in results.items()}}


def format_table(name: str, rows: list[dict], notes: list[str]) -> str:
    """One sub-benchmark's rows as an aligned text table, then its notes."""
    def cell(v):
        return v if isinstance(v, str) else f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    header = list(rows[0])
    table = [header] + [[cell(row[k]) for k in header] for row in rows]
    widths = [max(len(r[j]) for r in table) for j in range(len(header))]
    lines = [f"== {name} =="]
    lines += ["  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths)))
              for r in table]
    return "\n".join(lines + [f"  * {note}" for note in notes])
