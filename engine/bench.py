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
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

import games
from games.rng import make_rng
from engine.strength import DATA_DIR
from mcts import RolloutEvaluator, Searcher, SearchConfig, UniformEvaluator, tree_bytes


@dataclass(frozen=True)
class Settings:
    """What every sub-benchmark may read; each uses the fields it needs."""
    games: tuple[str, ...] = ("tictactoe", "connect4")
    playouts: int = 10_000  # random playouts per timed batch
    python_playouts: int = 2_000  # per timed repeat of a Python-loop peer (slow; rates compare)
    repeats: int = 5  # timed repeats; the median is reported
    seed: int = 0
    search_game: str = "connect4"  # the game of the search benchmark
    search_positions: int = 64  # positions searched, all as one batch
    search_simulations: int = 800  # per position and per move, ours and OpenSpiel's
    search_batches: tuple[int, ...] = (1, 64, 256)  # batch sizes for the tree's own rate
    search_repeats: int = 7  # rounds of each search measurement (medians reported)
    long_simulations: int = 100_000  # per position in the long search (0: none)
    long_positions: int = 40  # positions of the long search, searched as one batch
    long_rounds: int = 3  # paired rounds of the long search
    net_game: str = "connect4"  # the game whose default network the network benchmarks use
    inference_batches: tuple[int, ...] = (32, 64, 128, 256)
    selfplay_games: int = 256  # games of real self-play per timed pass (one batch of B)
    selfplay_rounds: int = 5  # paired rounds of self-play and the machine's bare limit
    selfplay_simulations: int = 0  # per move in the self-play benchmark (0: the config's)
    backend: str = "processes"  # "ray": self-play also in one Ray actor per core (a local cluster)
    limit_seconds: float = 0.3  # each bare-inference setting tried for the machine's limit
    limit_confirm_seconds: float = 3.0  # the fastest setting measured again, for its rate
    train_steps: int = 30  # trainer steps timed
    loop_generations: int = 3  # generations of the whole loop (the first one warms up)
    loop_overrides: tuple[str, ...] = ()  # config overrides of the loop benchmark (tests)
    memory_batch: int = 0  # games searched together in the memory benchmark (0: the config's)
    memory_simulations: int = 0  # per move in the memory benchmark (0: the config's)
    memory_moves: int = 4  # moves played (with tree reuse) while the peak is watched


@dataclass
class Result:
    rows: list[dict]  # one dict per table row, the same keys in each
    notes: list[str] = field(default_factory=list)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `fn()` over `repeats` calls, after one untimed warm-up call."""
    fn()
    return statistics.median(_timed(fn) for _ in range(repeats))


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
            spiel_game = pyspiel.load_game(games.get(name).openspiel)
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
    for name in names:  # the search's kernels (the first game's search compiles them)
        game = games.get(name)
        start = time.perf_counter()
        searcher = Searcher(game, RolloutEvaluator(game, 1), SearchConfig(simulations=8), 2)
        searcher.set_roots(game.new_states(2))
        searcher.advance(searcher.run().action, game.new_states(2))
        seconds[f"{name} search"] = time.perf_counter() - start
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
             "warm first calls s": runs["warm"][0][name]} for name in runs["cold"][0]]
    rows.append({"game": "(whole process)", "cold first calls s": runs["cold"][1],
                 "warm first calls s": runs["warm"][1]})
    return Result(rows, ["cold: NUMBA_CACHE_DIR set to an empty temporary folder; warm: a second "
                         "process with that folder; the whole process includes Python and imports",
                         "GAME: the game's kernels; GAME search: an 8-simulation pure-MCTS search "
                         "with tree reuse (the first one compiles the search kernels)"])


# ---- search: pure MCTS simulations per second, ours vs OpenSpiel's MCTSBot -----------------------



def search_positions(game, n: int, seed: int) -> tuple[list[str], str]:
    """n unfinished positions as move strings, and where they came from: the first n of
    the game's shipped bench_moves.tsv where there is one, else positions
    after 4-19 seeded random moves."""
    bench_moves = DATA_DIR / game.name / "bench_moves.tsv"
    if bench_moves.is_file():
        lines = [line.split("\t")[0] for line in bench_moves.read_text().splitlines()
                 if line.strip()]
        if len(lines) >= n:
            return lines[:n], f"the first {n} positions of {bench_moves.name}"
    rng, positions = np.random.default_rng(seed), []
    while len(positions) < n:
        state, moves = game.initial(), []
        for _ in range(rng.integers(4, 20)):
            action = int(rng.choice(np.flatnonzero(game.legal(state))))
            after = game.apply(state, action)
            if game.outcome(after) != games.ONGOING:
                break
            state, moves = after, moves + [action]
        positions.append(game.format_moves(moves))
    return positions, f"{n} positions after 4-19 seeded random moves"


def _our_search(game, states, evaluator, config, batch: int, seed: int):
    """(pass, tree statistics, tree bytes per tree): a callable that searches every state once,
    `batch` trees at a time (len(states) a multiple of batch); one that does the same and
    returns the depths and states of every node the pass created; the tree's memory per tree."""
    searcher = Searcher(game, evaluator, config, batch, seed=seed)
    chunks = [states[i:i + batch] for i in range(0, len(states), batch)]

    def search(part=chunks):
        for chunk in part:
            searcher.set_roots(chunk)
            visits = searcher.run().visits
        return visits

    def leaves():
        depths, leaf_states = [], []
        for chunk in chunks:
            search([chunk])
            t = searcher.tree
            for b in range(len(chunk)):
                parent, depth = t.parent[b, 1:t.node_count[b]], np.zeros(t.node_count[b], int)
                while True:  # each pass settles one more level
                    deeper = np.concatenate(([0], depth[parent] + 1))
                    if (deeper == depth).all():
                        break
                    depth = deeper
                depths.append(depth[1:])
                leaf_states.append(t.states[b, 1:t.node_count[b]])
        return np.concatenate(depths), np.concatenate(leaf_states)
    total = search(chunks[:1]).sum(axis=1)  # the search counts what it claims to
    assert (total == config.simulations).all(), total
    return search, leaves, tree_bytes(searcher.tree) / batch


def playout_lengths(game, states: np.ndarray, rng) -> np.ndarray:
    """Moves of one uniform random playout from each state to the game's end."""
    lengths = np.zeros(len(states), np.int64)
    for i, state in enumerate(states):
        while game.outcome(state) == games.ONGOING:
            state = game.apply(state, int(rng.choice(np.flatnonzero(game.legal(state)))))
            lengths[i] += 1
    return lengths


def leaf_profile(leaves, game, seed: int, sample: int = 2000) -> tuple[float, float, float]:
    """(mean depth of the nodes a search pass created, mean moves of a random rollout from a
    sample of them, the game's compiled playouts' microseconds per rollout from that sample):
    where the walks end, how long their rollouts run and what one costs."""
    depths, states = leaves()
    rng = np.random.default_rng(seed)
    picked = states[rng.choice(len(states), min(sample, len(states)), replace=False)]
    kernel_rng = make_rng(seed)
    seconds = median_seconds(lambda: game.playouts(picked, kernel_rng), 21)
    return (float(depths.mean()), float(playout_lengths(game, picked, rng).mean()),
            1e6 * seconds / len(picked))


def tree_cost(sims_per_s: float, depth: float, rollout_us: float) -> float:
    """Nanoseconds per level walked: a simulation's time less its rollout's, over its depth."""
    return (1e9 / sims_per_s - 1e3 * rollout_us) / depth


PROFILED_POSITIONS = 8  # OpenSpiel's trees walked for the leaf profile
OPENSPIEL_SELECTION = {"puct": ("PUCT", 3.0), "uct": ("UCT", 2.0)}  # MCTSBot's rule, constant


def _openspiel_search(pyspiel, game, positions, simulations: int, seed: int, rule: str):
    """(pass, tree statistics): a callable that runs OpenSpiel's C++ MCTSBot (one random rollout
    per leaf, no solver; rule "uct" with its default c = 2 or "puct" with ours, c = 3, over the
    uniform priors of its rollout evaluator) once on each position, one bot.step each; and one
    that searches every position and returns the depths and move lists of its visited nodes."""
    spiel_game = pyspiel.load_game(game.openspiel)
    states = []
    for moves in positions:
        state = spiel_game.new_initial_state()
        for action in game.parse_moves(moves):  # the same action numbers in both
            state.apply_action(action)
        states.append(state)
    policy, c = OPENSPIEL_SELECTION[rule]
    bot = pyspiel.MCTSBot(spiel_game, pyspiel.RandomRolloutEvaluator(1, seed), uct_c=c,
                          max_simulations=simulations, max_memory_mb=4096, solve=False,
                          seed=seed, verbose=False,
                          child_selection_policy=getattr(pyspiel.ChildSelectionPolicy, policy))

    def leaves():  # of the first `PROFILED_POSITIONS` positions: Python walks these trees
        depths, leaf_states = [], []
        for moves, state in list(zip(positions, states))[:PROFILED_POSITIONS]:
            stack = [(child, 1, game.position(moves)) for child in bot.mcts_search(state).children]
            while stack:
                node, depth, parent_state = stack.pop()
                if node.explore_count == 0:  # created with its siblings, never walked into
                    continue
                node_state = game.apply(parent_state, node.action)
                depths.append(depth)
                leaf_states.append(node_state)
                stack.extend((child, depth + 1, node_state) for child in node.children)
        return np.array(depths), np.stack(leaf_states)
    return (lambda: [bot.step(state) for state in states]), leaves


def paired_rounds(ours: Callable[[], float], peer: Callable[[], float], rounds: int):
    """(our median rate, the peer's, the median of the per-round ratios) of two measurements
    that return rates, made back to back in each round, in alternating order."""
    our_rates, peer_rates = [], []
    for i in range(rounds):
        if i % 2:
            our_rates.append(ours())
            peer_rates.append(peer())
        else:
            peer_rates.append(peer())
            our_rates.append(ours())
    ratios = [o / p for o, p in zip(our_rates, peer_rates)]
    return (statistics.median(our_rates), statistics.median(peer_rates),
            statistics.median(ratios))


def paired_rates(ours, peer, rounds: int) -> tuple[float, float, float, int]:
    """(our median passes/s, the peer's, the median of the per-round ratios, our passes per
    timed pass): each round times both passes back to back, so that each ratio compares two
    measurements made at the same machine speed (on a shared machine it drifts by up to 2x
    within minutes); which goes first alternates, so that neither always runs in the other's
    wake (its cache, its clock); ours is repeated until its timed pass lasts about as long as
    the peer's (the warm-up's times decide how often)."""
    ours(), peer()  # warm-up
    repeat = max(1, round(_timed(peer) / _timed(ours)))

    def our_passes():
        for _ in range(repeat):
            ours()
    return (*paired_rounds(lambda: repeat / _timed(our_passes), lambda: 1.0 / _timed(peer),
                           rounds), repeat)


def bench_search(s: Settings) -> Result:
    """Pure MCTS on one game (s.search_game, Connect Four by default): simulations/s of our
    batched search and of OpenSpiel's MCTSBot (PUCT with our constant, and UCT with its own) on
    the same positions with the same simulations, where their walks end and how long their
    rollouts run; a long search; then the tree's own rate (no rollouts)."""
    game, n, sims, rounds = games.get(s.search_game), s.search_positions, \
        s.search_simulations, s.search_repeats
    long = s.long_positions if s.long_simulations else 0
    positions, source = search_positions(game, max(n, long), s.seed)
    states = np.stack([game.position(p) for p in positions])
    pyspiel = _pyspiel()
    rules = tuple(OPENSPIEL_SELECTION) if pyspiel else ()
    no_ratio = {f"vs OpenSpiel {rule.upper()}": "-" for rule in rules}
    rows, peer_rates, repeats = [], {}, []

    def config(simulations, **kw):  # c_base out of reach: the constant c = 3.0 at any depth
        return SearchConfig(simulations=simulations, c_init=3.0, c_base=1e12,
                            dirichlet_fraction=0.0, **kw)

    def compare(name, count, simulations, batch, leaves, solver, rules, rounds):
        """A row of ours against each OpenSpiel rule in `rules`, on the first count positions."""
        ours, our_leaves, size = _our_search(
            game, states[:count], RolloutEvaluator(game, 1, s.seed),
            config(simulations, leaves_per_tree=leaves, solver=solver), batch, s.seed)
        row = {"search": name, "simulations": simulations, "batch": batch,
               "leaves/tree": leaves, "solver": "on" if solver else "off", **no_ratio}
        for rule in rules:
            peer, _ = _openspiel_search(pyspiel, game, positions[:count], simulations, s.seed,
                                        rule)
            rate, peer_rate, ratio, repeat = paired_rates(ours, peer, rounds)
            row.setdefault("sims/s", rate * count * simulations)
            row[f"vs OpenSpiel {rule.upper()}"] = ratio
            peer_rates.setdefault((rule, simulations), []).append(
                peer_rate * count * simulations)
            repeats.append(repeat)
        if not rules:
            row["sims/s"] = count * simulations / median_seconds(ours, rounds)
        depth, rollout, rollout_us = leaf_profile(our_leaves, game, s.seed)
        return {**row, "leaf depth": depth, "rollout moves": rollout, "rollout us": rollout_us,
                "tree ns/level": tree_cost(row["sims/s"], depth, rollout_us),
                "KiB/tree": size / 1024}

    def peer_row(name, count, simulations, rule):
        _, peer_leaves = _openspiel_search(pyspiel, game, positions[:count], simulations,
                                           s.seed, rule)
        depth, rollout, _ = leaf_profile(peer_leaves, game, s.seed)
        return {"search": name, "simulations": simulations, "batch": 1, "leaves/tree": "-",
                "solver": "off", **no_ratio,
                "sims/s": statistics.median(peer_rates[rule, simulations]),
                "leaf depth": depth, "rollout moves": rollout, "rollout us": "-",
                "tree ns/level": "-", "KiB/tree": "-"}

    def tree_only(name, count, simulations, batch, solver, rounds):
        batch_states = states[np.arange(count) % n]  # the positions again, cycled to fill
        ours, our_leaves, size = _our_search(game, batch_states, UniformEvaluator(),
                                             config(simulations, solver=solver), batch, s.seed)
        rate, depth = count * simulations / median_seconds(ours, rounds), our_leaves()[0].mean()
        return {"search": name, "simulations": simulations, "batch": batch, "leaves/tree": 1,
                "solver": "on" if solver else "off", **no_ratio, "sims/s": rate,
                "leaf depth": float(depth), "rollout moves": 0, "rollout us": 0.0,
                "tree ns/level": tree_cost(rate, depth, 0.0), "KiB/tree": size / 1024}

    for batch, leaves, solver in ((n, 1, True), (n, 8, True), (n, 1, False), (1, 1, True)):
        rows.append(compare("ours, 1 rollout/leaf", n, sims, batch, leaves, solver, rules,
                            rounds))
    rows += [peer_row(f"OpenSpiel MCTSBot {rule.upper()}, 1 rollout/leaf", n, sims, rule)
             for rule in rules]
    if long:
        rows.append(compare("ours, long search", long, s.long_simulations, long, 1, False,
                            rules[:1], s.long_rounds))
        if rules:
            rows.append(peer_row(f"OpenSpiel MCTSBot {rules[0].upper()}, long search", long,
                                 s.long_simulations, rules[0]))
        rows.append(tree_only("ours, long search, tree only (value 0)", long,
                              s.long_simulations, long, False, s.long_rounds))
    rows += [tree_only("ours, tree only (value 0)", batch, sims, batch, True, rounds)
             for batch in s.search_batches]
    spread = "; ".join(f"{rule.upper()} at {sims:,}: {min(r):,.0f}-{max(r):,.0f}/s"
                       for (rule, sims), r in peer_rates.items())
    notes = [
        f"{source}; {sims:,} simulations per position; one core each",
        f"vs OpenSpiel: {rounds} rounds per row ({s.long_rounds} for the long search), one "
        "OpenSpiel pass over the positions and one of ours, back to back, in alternating order; "
        "ours repeated until its pass lasts about as long as OpenSpiel's (this run: "
        f"{', '.join(map(str, repeats)) or '-'} times); the median of the rounds' ratios (the "
        "machine's speed drifts by up to 2x within minutes, so only ratios measured side by "
        "side mean much); rates: medians of the rounds; OpenSpiel's rows: the median of its "
        f"rounds' rates, spread {spread or '-'}",
        "ours: PUCT Q + c P sqrt(N) / (1 + n) with c = 3.0 at every depth (c_base out of "
        "reach), uniform priors, unvisited children at the parent's value; "
        f"batch {n} = all positions searched together as one batch (the engine's mode), "
        "batch 1 = one position at a time; leaves/tree > 1 = that many walks per tree per step "
        "(virtual loss); the solver's walks that end on a proven node need no rollout",
        "OpenSpiel: pyspiel.MCTSBot(RandomRolloutEvaluator(1), solve=False), one bot.step per "
        "position; PUCT: child_selection_policy=PUCT with uct_c = 3.0, the same formula over "
        "the evaluator's uniform priors (unvisited children at 0); UCT: its default rule, "
        "uct_c = 2.0; a simulation is one walk, one expansion, one random rollout and one "
        "backup in both",
        "leaf depth: mean depth below the root of the nodes a pass created (where walks ended; "
        f"OpenSpiel's over its first {PROFILED_POSITIONS} positions); rollout moves: mean "
        "length of a random playout from a sample of 2,000 of them; rollout us: our compiled "
        "playouts' time per rollout from that sample (median of 21 timings); tree ns/level: "
        "a simulation's time less its rollout, per level walked",
        f"long search: {s.long_simulations:,} simulations on each of the first {long} "
        "positions, ours as one batch, solver off in both; its tree-only row is the same "
        "search with value 0 and no rollout (a broader, shallower tree: see its leaf depth)",
        "tree only: UniformEvaluator (value 0, no rollout), so the rate is the tree's own "
        "(selection, expansion, backup and the game's rules; pure MCTS runs its whole loop "
        f"compiled), the median of {rounds} passes; KiB/tree = the preallocated tree arrays / "
        "batch"]
    if pyspiel is None:
        notes.append("pyspiel is not installed: no OpenSpiel comparison")
    return Result(rows, notes)


# ---- network: inference limit, self-play against it, trainer --------------------------------

def _default_config(s: Settings):
    """(game, its default config) of the benchmarks' network game."""
    from engine.config import load_config

    return games.get(s.net_game), load_config(s.net_game)


def _default_net(s: Settings):
    from engine.network import build_network

    game, cfg = _default_config(s)
    return game, cfg, build_network(game, cfg.network).eval()


def _inference_rows(game, net, batches, thread_counts):
    import torch

    from engine.network import InferenceSettings, measure_inference

    rows, before = [], torch.get_num_threads()
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for batch in batches:
            for bf16 in (False, True):
                for channels_last in (False, True):
                    rate = measure_inference(net, game, batch,
                                             InferenceSettings(channels_last, bf16), 0.3)
                    rows.append({"threads": threads, "batch": batch,
                                 "precision": "bf16" if bf16 else "fp32",
                                 "layout": "channels_last" if channels_last else "contiguous",
                                 "positions/s": rate})
    torch.set_num_threads(before)
    return rows


def bench_inference(s: Settings) -> Result:
    """Bare forward passes of the default network: the limit of network-guided search."""
    game, cfg, net = _default_net(s)
    cores = len(os.sched_getaffinity(0))
    rows = _inference_rows(game, net, s.inference_batches, sorted({1, cores}))
    best = max(rows, key=lambda r: r["positions/s"])
    return Result(rows, [f"{s.net_game} default network: {cfg.network.blocks} blocks x "
                         f"{cfg.network.channels} channels, torch.inference_mode; best: "
                         f"{best['positions/s']:,.0f}/s at batch {best['batch']}, "
                         f"{best['threads']} threads, {best['precision']}, {best['layout']}"])


def core_splits(cores: int) -> list[tuple[int, int]]:
    """The ways to run bare inference on `cores` cores, as (processes, torch threads each): one
    process with one thread, and every split of all the cores (on 2: 1x1, 1x2, 2x1)."""
    return [(1, 1)] + [(p, cores // p) for p in range(1, cores + 1) if cores % p == 0
                       and (p, cores // p) != (1, 1)]


_bare: dict = {}  # a bare-inference process's network, game and barrier


def _start_bare(net_game: str, weights: dict, barrier) -> None:
    """A bare-inference pool's initializer: the default network of net_game with these weights."""
    import torch

    torch.set_num_threads(1)
    game, _, net = _default_net(Settings(net_game=net_game))
    net.load_state_dict(weights)
    _bare.update(game=game, net=net, barrier=barrier)


def _bare_rate(batch: int, settings, seconds: float) -> float:
    """Positions/s of one process's bare forward passes, started when all its peers are ready."""
    import torch

    from engine.network import measure_inference

    torch.set_num_threads(settings.threads)
    _bare["barrier"].wait(timeout=600)
    return measure_inference(_bare["net"], _bare["game"], batch, settings, seconds)


class BareInference:
    """Bare inference of the whole machine: for each process count, a pool of that many spawned
    processes that measure for the same `seconds` all at once; their rates are summed."""

    def __init__(self, net_game: str, weights: dict, process_counts):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.pools = {p: ctx.Pool(p, _start_bare, (net_game, weights, ctx.Barrier(p)))
                      for p in process_counts}

    def __call__(self, processes: int, batch: int, settings, seconds: float) -> float:
        jobs = [(batch, settings, seconds)] * processes
        return sum(self.pools[processes].starmap(_bare_rate, jobs, chunksize=1))

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
            pool.join()


def machine_limit(measure, splits, batch: int, seconds: float, confirm_seconds: float) -> dict:
    """The best bare-inference row over every split of the cores and every precision and layout
    that choose_inference tries; measure(processes, batch, settings, seconds) -> positions/s
    of all the processes together. Each setting is tried for `seconds`; the fastest is then
    measured again for confirm_seconds, and that is its rate: the largest of a dozen short
    measurements on a machine whose speed drifts would read high."""
    from engine.network import InferenceSettings

    tried = [(measure(p, batch, InferenceSettings(cl, bf16, t), seconds), p, t, bf16, cl)
             for p, t in splits for bf16 in (False, True) for cl in (False, True)]
    _, p, t, bf16, cl = max(tried)
    return {"processes": p, "threads": t, "precision": "bf16" if bf16 else "fp32",
            "layout": "channels_last" if cl else "contiguous",
            "positions/s": measure(p, batch, InferenceSettings(cl, bf16, t), confirm_seconds)}


def selfplay_row(backend, weights: dict, limit: Callable[[], float], s: Settings) -> dict:
    """One self-play backend against the machine's bare-inference limit, in s.selfplay_rounds
    paired rounds of one self-play pass (s.selfplay_games games) and one limit measurement."""
    passes = []

    def play() -> float:
        start = time.perf_counter()
        _, stats, evaluations = backend.play(weights, s.selfplay_games, s.seed)
        seconds = time.perf_counter() - start
        passes.append((evaluations / seconds, stats.moves / seconds, stats.games / seconds))
        return evaluations / seconds

    rate, limit_rate, ratio = paired_rounds(play, limit, s.selfplay_rounds)
    return {"evaluations/s": rate, "bare limit/s": limit_rate, "ratio to bare inference": ratio,
            "moves/s": statistics.median(p[1] for p in passes),
            "games/s": statistics.median(p[2] for p in passes)}


def bench_selfplay(s: Settings, measure=None) -> Result:
    """Real self-play with the default config, in one process and in one process per core:
    network evaluations/s against the whole machine's bare inference limit, the best of every
    split of the cores into processes x threads, precision and layout at self-play's batch,
    measured in the same rounds (measure: BareInference's signature, for tests)."""
    import torch

    from engine.backends import check_backend, make_selfplay
    from engine.network import choose_inference

    game, cfg, net = _default_net(s)
    if s.selfplay_simulations:
        cfg = replace(cfg, search=replace(cfg.search, simulations=s.selfplay_simulations))
    cores = len(os.sched_getaffinity(0))
    runs = [("processes", w) for w in sorted({1, cores})] + [("ray", cores)] * (s.backend == "ray")
    check_backend(replace(cfg, pipeline=replace(cfg.pipeline, backend=s.backend)))
    batch = cfg.selfplay.games_in_parallel * cfg.search.leaves_per_tree
    settings = choose_inference(net, game, batch, tuple(sorted({1, cores})))
    weights = {k: v.contiguous() for k, v in net.state_dict().items()}
    splits = core_splits(cores)
    bare = measure or BareInference(s.net_game, weights, sorted({p for p, _ in splits}))
    best = []

    def limit() -> float:  # the start-up measurement's limit counts too
        best.append(machine_limit(bare, splits, batch, s.limit_seconds,
                                  s.limit_confirm_seconds))
        return max(best[-1]["positions/s"], settings.positions_per_s)

    rows = []
    try:
        for kind, workers in runs:
            backend = make_selfplay(replace(cfg, pipeline=replace(
                cfg.pipeline, backend=kind, workers=workers)), net, settings)
            try:
                backend.play(weights, 2 * workers, s.seed)  # warm-up: compile, start processes
                threads = torch.get_num_threads() if (kind, workers) == ("processes", 1) else 1
                rows.append({"backend": kind, "processes": workers, "torch threads each": threads,
                             **selfplay_row(backend, weights, limit, s)})
            finally:
                backend.close()
    finally:
        if measure is None:
            bare.close()
    top = max(best, key=lambda r: r["positions/s"])
    return Result(rows, [
        f"{s.net_game}, default config: B={cfg.selfplay.games_in_parallel} per process, "
        f"{cfg.search.simulations} simulations/move, {s.selfplay_games} games per pass; "
        f"untrained network" + ("; ray: a local Ray cluster, one actor per core, each with "
                                 "the inference settings it measures" * (s.backend == "ray")),
        f"bare limit: the whole machine's best bare-inference rate at batch {batch} over "
        f"processes x threads {', '.join(f'{p}x{t}' for p, t in splits)} (processes measuring "
        f"all at once, rates summed), fp32/bf16 and both layouts, each tried for "
        f"{s.limit_seconds} s, the fastest measured again for {s.limit_confirm_seconds} s; "
        f"{s.selfplay_rounds} rounds per row, one self-play pass and one limit pass back to "
        f"back in alternating order; medians of the rounds (ratio: of the rounds' ratios)",
        f"best bare setting seen: {top['processes']} x {top['threads']} threads, "
        f"{top['precision']}, {top['layout']}: {top['positions/s']:,.0f}/s; start-up "
        f"measurement (counted in the limit): {settings.describe()}"])


def bench_train(s: Settings) -> Result:
    """Trainer samples/s on the default network and config (random replay data), in each memory
    format and precision (the pipeline trains in the layout its inference measurement picks, in
    the precision choose_training picks)."""
    import torch

    from engine.replay import ReplayBuffer
    from engine.selfplay import Trajectory
    from engine.trainer import _cpu_has_bf16, make_optimizer, train

    game, cfg, net = _default_net(s)
    rng = np.random.default_rng(s.seed)
    precisions = (False, True) if _cpu_has_bf16() else (False,)
    with tempfile.TemporaryDirectory() as tmp:
        replay = ReplayBuffer(game, cfg.replay, Path(tmp))
        states = np.repeat(game.new_states(1), 4096, axis=0)
        policies = np.full((4096, game.num_actions), 1 / game.num_actions, np.float32)
        replay.add([Trajectory(states, policies, rng.choice([-1.0, 1.0], 4096).astype(np.float32))])
        tcfg = replace(cfg.trainer, steps_per_generation=s.train_steps)
        warm_up = replace(tcfg, steps_per_generation=2)
        rows = []
        for bf16 in precisions:
            for channels_last in (False, True):
                net = net.to(memory_format=torch.channels_last if channels_last
                             else torch.contiguous_format)
                optimizer = make_optimizer(net, tcfg)
                train(net, optimizer, replay, warm_up, 1, rng, channels_last=channels_last,
                      bf16=bf16)
                seconds = _timed(lambda: train(net, optimizer, replay, tcfg, 1, rng,
                                               channels_last=channels_last, bf16=bf16))
                rows.append({"precision": "bf16 autocast" if bf16 else "fp32",
                             "layout": "channels_last" if channels_last else "contiguous",
                             "samples/s": s.train_steps * tcfg.batch_size / seconds,
                             "steps/s": s.train_steps / seconds})
    notes = [f"batch {tcfg.batch_size}, SGD with momentum, with replay sampling and "
             f"symmetries; {torch.get_num_threads()} torch threads"]
    if len(precisions) == 1:
        notes.append("no bf16 rows: this CPU has no bf16 instructions for oneDNN (emulated bf16 "
                     "is 10-20x slower; the pipeline trains in fp32 here)")
    return Result(rows, notes)


def bench_loop(s: Settings) -> Result:
    """The whole loop: s.loop_generations generations of the default run (self-play, training,
    gate, rating) in a temporary run directory; positions trained and games per second of each
    generation after the first (which compiles and starts processes), beside its parts."""
    from engine.config import load_config
    from engine.pipeline import Pipeline

    cfg = load_config(s.net_game, overrides=[f"pipeline.generations={s.loop_generations}",
                                             f"pipeline.seed={s.seed}", *s.loop_overrides])
    with tempfile.TemporaryDirectory() as tmp:
        Pipeline(cfg, Path(tmp), quiet=True).run()
        records = [json.loads(line) for line in
                   (Path(tmp) / "metrics.jsonl").read_text().splitlines()]
    samples = cfg.trainer.steps_per_generation * cfg.trainer.batch_size
    rows, minutes = [], [0.0] + [r["minutes"] for r in records]
    for r, before, after in zip(records, minutes, minutes[1:]):
        seconds = (after - before) * 60
        parts = r["selfplay_seconds"] + r["train_seconds"] + r["gate_seconds"]
        rows.append({"generation": r["generation"], "seconds": seconds,
                     "positions trained/s": r["positions_labelled"] / seconds,
                     "samples trained/s": samples / seconds, "games/s": r["games"] / seconds,
                     "self-play s": r["selfplay_seconds"], "train s": r["train_seconds"],
                     "gate s": r["gate_seconds"], "rest s": seconds - parts})
    timed = rows[1:] or rows
    changed = f" with {', '.join(s.loop_overrides)}" if s.loop_overrides else ""
    return Result(rows, [
        f"{s.net_game} default config{changed}: "
        f"{cfg.selfplay.games_per_generation} games, {cfg.trainer.steps_per_generation} steps "
        f"of {cfg.trainer.batch_size} per generation; the first generation compiles and starts "
        "the self-play processes",
        f"after the first: median "
        f"{statistics.median(r['positions trained/s'] for r in timed):,.0f} "
        f"positions trained/s (new positions in the replay), "
        f"{statistics.median(r['games/s'] for r in timed):.3g} games/s; rest = the rating, "
        "probe, checkpoints and metrics"])


def _memory_mib(field_name: str) -> float:
    """A memory figure of this process from /proc/self/status: VmRSS (now), VmHWM (peak)."""
    for line in _read("/proc/self/status").splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _memory_rows(s: Settings) -> tuple[list[dict], int]:
    """Resident memory around `memory_moves` moves of B-game self-play search with the default
    network (run in a fresh process, so that nothing else is counted)."""
    import torch

    from engine.network import InferenceSettings, make_evaluator

    torch.set_num_threads(1)
    game, cfg = _default_config(s)
    batch, simulations = memory_sizes(s)
    search = replace(cfg.search, simulations=simulations)
    evaluate = make_evaluator(game, cfg.network, settings=InferenceSettings(False, False, 1))
    evaluate(game.new_states(2), game.legal_masks(game.new_states(2)))  # load torch's kernels
    rows = [{"when": "before the search", "resident MiB": _memory_mib("VmRSS")}]
    searcher = Searcher(game, evaluate, search, batch, seed=s.seed)
    states = game.new_states(batch)
    searcher.set_roots(states)
    rows.append({"when": "trees allocated", "resident MiB": _memory_mib("VmRSS")})
    for move in range(1, s.memory_moves + 1):
        result = searcher.run(add_noise=True)
        game.play(states, result.action)
        searcher.advance(result.action, states)
        rows.append({"when": f"after move {move}", "resident MiB": _memory_mib("VmRSS")})
    rows.append({"when": "peak", "resident MiB": _memory_mib("VmHWM")})
    return rows, tree_bytes(searcher.tree)


def memory_sizes(s: Settings) -> tuple[int, int]:
    """(games searched together, simulations per move) of the memory benchmark: the settings',
    or where 0 the game's default config's (one self-play process's)."""
    _, cfg = _default_config(s)
    return (s.memory_batch or cfg.selfplay.games_in_parallel,
            s.memory_simulations or cfg.search.simulations)


def bench_memory(s: Settings) -> Result:
    """Resident memory of self-play search with B games (by default the game's self-play batch
    and simulations), move by move, and the trees' share: the trees are allocated once and
    recycled between moves, so they do not grow."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(1) as pool:
        rows, trees = pool.apply(_memory_rows, (s,))
    batch, simulations = memory_sizes(s)
    return Result(rows, [
        f"{s.net_game} default network, B={batch} games, {simulations} "
        f"simulations per move, tree reuse on, one torch thread, {s.memory_moves} moves",
        f"trees: {trees / 2**20:,.1f} MiB in all, {trees / batch / 2**10:,.0f} KiB "
        f"per game; growth from move 1 to move {s.memory_moves}: "
        f"{rows[-2]['resident MiB'] - rows[2]['resident MiB']:+,.1f} MiB"])


BENCHMARKS: dict[str, Callable[[Settings], Result]] = {
    "rules": bench_rules,
    "compile": bench_compile,
    "search": bench_search,
    "inference": bench_inference,
    "selfplay": bench_selfplay,
    "train": bench_train,
    "loop": bench_loop,
    "memory": bench_memory,
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
