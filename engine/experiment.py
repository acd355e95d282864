"""Experiments: a grid of learners x options x seeds, each a training run at an equal budget of
network evaluations, in one directory; resumable after a kill like `train`; then a report.

Experiment file (TOML):

    game = "connect4"
    seeds = [0, 1, 2, 3, 4]
    evaluations = 2_000_000        # each run's budget of self-play network evaluations
    round_robin_generations = 5     # saved generations per run in the non-transitivity check
    more_seeds = {star = [5, 6]}    # optional: seeds of some arms only (where intervals overlap)
    [base.selfplay]                 # settings of every arm (config tables, as in --config)
    games_per_generation = 128
    [arms.alphazero.learner]        # one table per arm: its own settings over the base
    kind = "alphazero"
    [arms.noisy_p20.learner]
    kind = "noisy_critic"
    flip_probability = 0.2

Directory: experiment.toml (the file as run), runs/ARM/seed_N/ (a run directory each),
report.md, points.csv, round_robin.csv, *.png.

A finished run's records, its metrics.jsonl and round_robin.json (written with the report),
are all the report reads of it: a directory that holds just those (a committed experiment, a
grid's finished part copied off a machine) writes the report again with --report-only, and a
grid resumed there skips those runs and plays the others.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import games
from engine.checkpoint import atomic_write
from engine.config import BIG, Config, ConfigError, load_config

EXPERIMENT_KEYS = {"game", "seeds", "more_seeds", "evaluations", "round_robin_generations",
                   "round_robin_games", "base", "arms"}


@dataclass(frozen=True)
class Experiment:
    """A parsed experiment file: the grid and each arm's resolved config (seed 0's)."""

    game: str
    seeds: tuple[int, ...]
    evaluations: int
    arms: dict = field(default_factory=dict)  # arm name -> its config tables (over the base)
    base: dict = field(default_factory=dict)
    round_robin_generations: int = 5
    round_robin_games: int = 16  # games per pair of generations (both colours, random openings)
    more_seeds: dict = field(default_factory=dict)  # arm name -> its seeds beyond `seeds`

    def seeds_of(self, arm: str) -> tuple[int, ...]:
        """Every seed of one arm: the experiment's, then the arm's own more_seeds."""
        return self.seeds + tuple(sorted(self.more_seeds.get(arm, ())))

    def grid(self) -> list[tuple[str, int]]:
        """Every (arm, seed), seed by seed (a grid cut short has every arm at its first seeds),
        the arms' own more_seeds after the experiment's."""
        extra = sorted({s for seeds in self.more_seeds.values() for s in seeds})
        return [(arm, seed) for seed in (*self.seeds, *extra) for arm in self.arms
                if seed in self.seeds_of(arm)]

    def config(self, arm: str, seed: int) -> Config:
        """The resolved config of one run: game defaults, base, the arm, then seed and budget."""
        budget = {"pipeline": {"seed": seed, "evaluations": self.evaluations,
                               "generations": 0, "minutes": 0.0}}  # one budget for every arm
        return load_config(self.game, layers=[(self.base, "experiment [base]"),
                                              (self.arms[arm], f"experiment [arms.{arm}]"),
                                              (budget, "experiment seed and budget")])

    def run_dir(self, root: Path, arm: str, seed: int) -> Path:
        return root / "runs" / arm / f"seed_{seed}"


def load_experiment(path: str | Path) -> Experiment:
    """Parse and check an experiment file; every arm's config is checked (one line naming
    what is wrong) before anything is written."""
    from engine.checkpoint import read_capped
    from engine.config import MAX_CONFIG_BYTES
    from engine.learners import check_learner

    try:
        data = tomllib.loads(read_capped(Path(path), MAX_CONFIG_BYTES).decode())
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read experiment {path}: "
                          f"{getattr(e, 'strerror', None) or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"experiment {path} is not valid TOML: {e}") from None
    unknown = sorted(set(data) - EXPERIMENT_KEYS)
    if unknown:
        raise ConfigError(f"experiment {path}: unknown key {unknown[0]!r} "
                          f"(keys: {', '.join(sorted(EXPERIMENT_KEYS))})")
    game = data.get("game")
    if game not in games.names():
        raise ConfigError(f"experiment {path}: game must be one of {', '.join(games.names())}, "
                          f"not {game!r}")
    seeds = data.get("seeds", [0])
    if not _seed_list(seeds):
        raise ConfigError(f"experiment {path}: seeds must be a list of distinct integers in "
                          f"[0, 2^31), not {seeds!r}"[:200])
    numbers = {}
    for key, lo, hi, default in (("evaluations", 1, BIG * 1000, None),
                                 ("round_robin_generations", 0, 50, 5),
                                 ("round_robin_games", 2, 10_000, 16)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(f"experiment {path}: {key} must be an integer in [{lo}, {hi}], "
                              f"not {value!r}"[:200])
        numbers[key] = value
    arms, base = data.get("arms"), data.get("base", {})
    if not isinstance(arms, dict) or not arms or not all(isinstance(a, dict)
                                                         for a in arms.values()):
        raise ConfigError(f"experiment {path}: [arms.NAME] tables expected, one per arm")
    if not isinstance(base, dict):
        raise ConfigError(f"experiment {path}: [base] must be a table of config sections")
    for arm in arms:
        if not arm.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"experiment {path}: arm name {arm!r} must be letters, digits, "
                              "'_' or '-'")
        for table in (base, arms[arm]):
            budget = {"seed", "evaluations", "generations", "minutes"}
            if isinstance(table.get("pipeline"), dict) and budget & set(table["pipeline"]):
                raise ConfigError(f"experiment {path}: pipeline.seed, evaluations, generations "
                                  "and minutes come from the experiment's seeds and evaluations "
                                  "(every arm has the same budget), not from a table")
    more_seeds = data.get("more_seeds", {})
    if not isinstance(more_seeds, dict):
        raise ConfigError(f"experiment {path}: more_seeds must be a table of arm = [seeds]")
    for arm, extra in more_seeds.items():
        if arm not in arms:
            raise ConfigError(f"experiment {path}: more_seeds names {arm!r}, which is no arm "
                              f"(arms: {', '.join(arms)})"[:300])
        if not _seed_list(extra) or set(extra) & set(seeds):
            raise ConfigError(f"experiment {path}: more_seeds.{arm} must be a list of distinct "
                              f"integers in [0, 2^31) that `seeds` does not hold, not "
                              f"{extra!r}"[:300])
    experiment = Experiment(game, tuple(seeds), numbers["evaluations"], arms, base,
                            numbers["round_robin_generations"], numbers["round_robin_games"],
                            {arm: tuple(extra) for arm, extra in more_seeds.items()})
    for arm in arms:
        config = experiment.config(arm, seeds[0])
        check_learner(games.get(game), config)
    return experiment


def run_experiment(path: str | Path, root: str | Path, quiet: bool = False,
                   jobs: int = 1) -> Path:
    """Run every (arm, seed) of the experiment into root, `jobs` runs at a time (seed by seed,
    so that a grid cut short has every arm at its first seeds), resuming runs a kill left, then
    write the report. Returns the report's path."""
    from engine.rundir import RunLock

    experiment = load_experiment(path)
    root = Path(root)
    saved = root / "experiment.toml"
    text = Path(path).read_bytes()
    if saved.exists() and saved.read_bytes() != text:
        _check_growth(load_experiment(saved), experiment, root, path)
    if root.exists() and not saved.exists() and any(root.iterdir()):
        raise ConfigError(f"{root} is not empty and holds no experiment")
    root.mkdir(parents=True, exist_ok=True)
    with RunLock(root):
        atomic_write(saved, text)
        grid = experiment.grid()
        if jobs <= 1:
            for i, (arm, seed) in enumerate(grid, 1):
                _say(quiet, f"[{i}/{len(grid)}] {arm} seed {seed}")
                _run_one(saved, root, arm, seed)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"),
                                     initializer=_exit_with_parent,
                                     initargs=(os.getpid(),)) as pool:
                running = {pool.submit(_run_one, saved, root, arm, seed): (arm, seed)
                           for arm, seed in grid}
                for i, done in enumerate(as_completed(running), 1):
                    done.result()  # a failed run stops the experiment with its error
                    arm, seed = running[done]
                    _say(quiet, f"[{i}/{len(grid)}] {arm} seed {seed} done")
        from engine.report import write_report
        return write_report(experiment, root, quiet=quiet)


def _spent(experiment: Experiment, run_dir: Path) -> bool:
    """Whether a run's metrics.jsonl shows its budget spent."""
    from engine.rundir import read_metrics

    records = read_metrics(run_dir / "metrics.jsonl")
    return bool(records) and records[-1].get("evaluations_total", 0) >= experiment.evaluations


def progress(experiment: Experiment, root: Path) -> list[dict]:
    """Every run of the grid in its order: arm, seed, evaluations spent (of the budget) and
    minutes so far, read from the runs' records (nothing is written)."""
    from engine.rundir import read_metrics

    rows = []
    for arm, seed in experiment.grid():
        records = read_metrics(experiment.run_dir(Path(root), arm, seed) / "metrics.jsonl")
        last = records[-1] if records else {}
        rows.append({"arm": arm, "seed": seed,
                     "evaluations": int(last.get("evaluations_total", 0)),
                     "minutes": float(last.get("minutes", 0.0))})
    return rows


def describe_progress(experiment: Experiment, rows: list[dict], jobs: int) -> list[str]:
    """Lines for `experiment --status`: runs done, in part and to come, and the time left,
    from each arm's minutes per evaluation so far (every arm's when it has none yet)."""
    budget = experiment.evaluations
    lines = [f"{'arm':<28} {'seed':>4}  {'evaluations':>11}  {'minutes':>7}  state"]
    for r in rows:
        state = ("done" if r["evaluations"] >= budget else
                 f"{r['evaluations'] / budget:.0%}" if r["evaluations"] else "to come")
        lines.append(f"{r['arm']:<28} {r['seed']:>4}  {r['evaluations']:>11,}  "
                     f"{r['minutes']:>7.1f}  {state}")
    started = [r for r in rows if r["evaluations"]]
    done = sum(r["evaluations"] >= budget for r in rows)
    lines.append(f"{done} of {len(rows)} runs done, {len(started) - done} in part")
    if not started:
        return lines + ["nothing run yet: no time estimate"]
    pace = {}  # arm -> minutes per evaluation
    for arm in experiment.arms:
        own = [r for r in started if r["arm"] == arm]
        if own:
            pace[arm] = sum(r["minutes"] for r in own) / sum(r["evaluations"] for r in own)
    overall = sum(r["minutes"] for r in started) / sum(r["evaluations"] for r in started)
    left = sum((budget - min(r["evaluations"], budget)) * pace.get(r["arm"], overall)
               for r in rows)
    lines.append(f"about {_duration(left)} of runs left: {_duration(left / jobs)} with "
                 f"--jobs {jobs} (each arm's pace so far, as busy as the machine was then)")
    return lines


def _duration(minutes: float) -> str:
    if minutes < 1:
        return "under a minute"
    return f"{minutes:.0f} minutes" if minutes < 90 else f"{minutes / 60:.1f} hours"


def _check_growth(old: Experiment, new: Experiment, root: Path, path) -> None:
    """An experiment may grow (new arms, new seeds) but not change what its runs so far did:
    the same game, budget and base, and every old arm's settings as they were."""
    changed = [name for name, a, b in (("game", old.game, new.game),
                                       ("evaluations", old.evaluations, new.evaluations),
                                       ("base", old.base, new.base)) if a != b]
    changed += [f"arms.{arm}" for arm in old.arms if old.arms[arm] != new.arms.get(arm)]
    changed += [f"seed {s}" for s in old.seeds if s not in new.seeds]
    changed += [f"seed {s} of {arm}" for arm in old.arms for s in old.seeds_of(arm)
                if s not in old.seeds and s not in new.seeds_of(arm)]
    if changed:
        raise ConfigError(f"{root} holds another experiment: {path} changes "
                          f"{', '.join(changed)} (an experiment may only gain arms and seeds; "
                          "use a new directory)")


def _seed_list(seeds) -> bool:
    """Whether seeds is a nonempty list of distinct integers in [0, 2^31)."""
    return (isinstance(seeds, list) and bool(seeds) and len(set(seeds)) == len(seeds)
            and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31
                    for s in seeds))


def _run_one(path: Path, root: Path, arm: str, seed: int) -> None:
    """One run of the grid (in this process or a pool's): train to the budget, or resume."""
    from engine.pipeline import Pipeline
    from engine.rundir import RunState

    experiment = load_experiment(path)
    run_dir = experiment.run_dir(root, arm, seed)
    state = run_dir / "state.json"
    if state.exists():
        if RunState.load(state).evaluations >= experiment.evaluations:
            return  # spent: nothing to set up
    elif _spent(experiment, run_dir):
        return  # a finished run's records alone (see the module's docstring)
    Pipeline(experiment.config(arm, seed), run_dir, quiet=True).run()


def _exit_with_parent(parent: int) -> None:
    """A pool worker's watch: when the experiment's process dies (a kill), the worker exits
    too, instead of training on alone beside the next call's workers."""
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)
