"""The command line: `python -m engine COMMAND ...` and the console script `zeroplay`.

Each command is one `add_<command>(subparsers)` function listed in COMMANDS: it adds its parser
and sets `run`, the function that carries the command out and returns the exit status. Bad input
(GameError and other ValueErrors, files that cannot be read or written) ends with one line on
stderr and exit status 1, never a traceback; a bad option value (a type or range that argparse
checks) with one line too, exit status 2. Every number an option takes has a range here.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import games
from engine import bench
from engine.extras import require
from engine.evaluate import add_evaluate
from engine.export import add_export
from engine.gtp import add_gtp
from engine.serve import add_serve
from games.check import check_game
from engine.play import PLAYERS
from engine.thinking import TOP_MOVES, Thinker, describe, table
from games.interface import ONGOING, Game

PROG = "zeroplay"
STDIN_BATCH = 1024  # bestmove searches standard input's positions in batches of this many
MAX_LINE = 4096  # characters of a position line (a position has at most max_moves moves)
MAX_MESSAGE = 1000  # characters of an error line


class Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported in one line (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_cut(message)} (see {self.prog} --help)\n")


def _cut(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(text.splitlines())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _bounded(convert, kind: str, lo, hi, bounds: str):
    """An argparse type: text converted by `convert`, from lo to hi (nan is refused)."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, not {_cut(repr(text), 40)}")
        if not lo <= value <= hi:  # false for nan
            raise argparse.ArgumentTypeError(f"must be {bounds}, not {_cut(text, 40)}")
        return value
    return parse


def integer(lo: int, hi: int):
    """An argparse type: an integer from lo to hi."""
    return _bounded(int, "an integer", lo, hi, f"an integer from {lo:,} to {hi:,}")


def finite(lo: float, hi: float):
    """An argparse type: a finite number from lo to hi (nan and inf are refused)."""
    return _bounded(float, "a number", lo, hi, f"a finite number from {lo:,g} to {hi:,g}")


def simulation_list(text: str) -> list[int]:
    """An argparse type: comma-separated simulation counts, e.g. 0,200."""
    return [integer(0, 10**12)(part) for part in text.split(",")]


positive_int = integer(1, 1_000_000)  # games, playouts, repeats, every
seed_int = integer(0, 2**32 - 1)


def add_game_option(parser: argparse.ArgumentParser, help: str = "the game", **kwargs) -> None:
    parser.add_argument("--game", metavar="G", help=f"{help}; one of {', '.join(games.names())}",
                        **kwargs)


# ---- show ----------------------------------------------------------------------------------------

def add_show(subparsers) -> None:
    p = subparsers.add_parser(
        "show", help="print the board of a position given as moves",
        description="Print the board after a sequence of moves, the player to move, and the "
                    "result if the game is over; with --checkpoint or --mcts-rollouts, also the "
                    "move that player would make and the search's view of it.")
    add_game_option(p, required=True)
    p.add_argument("--moves", default="", metavar="M",
                   help="moves from the initial position ("
                        + "; ".join(f"{n}: {games.get(n).notation}" for n in games.names())
                        + "); empty: the initial position")
    add_player_options(p, required=False)
    add_verbose_option(p)
    p.set_defaults(run=run_show)


def run_show(args) -> int:
    game = games.get(args.game)
    state = game.position(args.moves)
    thinker = make_thinker(game, args) if args.checkpoint or args.mcts_rollouts else None
    print(game.render(state))
    print(status_line(game, state))
    if thinker and game.outcome(state) == ONGOING:
        (view,) = thinker(state[None])
        print_view(f"{PLAYERS[game.player(state)]} would play", view, args.verbose)
    return 0


def status_line(game: Game, state) -> str:
    """'X to move', 'O wins' or 'draw'."""
    outcome, mover = game.outcome(state), game.player(state)
    if outcome == ONGOING:
        return f"{PLAYERS[mover]} to move"
    if outcome == 0:
        return "draw"
    return f"{PLAYERS[mover if outcome == 1 else 1 - mover]} wins"


# ---- check-game ----------------------------------------------------------------------------------

def add_check_game(subparsers) -> None:
    p = subparsers.add_parser(
        "check-game", help="run the conformance self-test on a game",
        description="Play random games and check the game's rules, encoding, symmetries, "
                    "notation, playouts and batched kernels against the interface's invariants. "
                    "Prints OK or each problem found; exit status 1 if any.")
    add_game_option(p, action="append",
                    help="game to check (repeatable; default: every registered game)")
    p.add_argument("--games", type=positive_int, default=200, metavar="N",
                   help="random games to play (default: %(default)s)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the random games (default: %(default)s)")
    p.set_defaults(run=run_check_game)


def run_check_game(args) -> int:
    found = False
    for name in args.game or games.names():
        problems = check_game(games.get(name), n_games=args.games, seed=args.seed)
        for problem in problems or ["OK"]:
            print(f"{name}: {problem}")
        found = found or bool(problems)
    return 1 if found else 0


# ---- bench ---------------------------------------------------------------------------------------

def add_bench(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="run the performance suite",
        description="Run sub-benchmarks and print a table per sub-benchmark (or one JSON "
                    "record with --json), with the machine and library versions.")
    p.add_argument("names", nargs="*", metavar="BENCHMARK",
                   help=f"sub-benchmarks to run, of: {', '.join(bench.BENCHMARKS)} "
                        "(default: all)")
    defaults = bench.Settings()
    add_game_option(p, action="append",
                    help=f"game to measure (repeatable): the rules and compile benchmarks "
                         f"measure each (default: {' and '.join(defaults.games)}); search and "
                         f"the network benchmarks (inference, selfplay, train, loop, memory) "
                         f"the first one given (default: {defaults.search_game})")
    p.add_argument("--playouts", type=positive_int, default=defaults.playouts, metavar="N",
                   help="random playouts per timed batch (default: %(default)s)")
    p.add_argument("--repeats", type=positive_int, default=defaults.repeats, metavar="R",
                   help="timed repeats; the median is reported (default: %(default)s)")
    p.add_argument("--rounds", type=positive_int, metavar="K",
                   help=f"paired rounds of search and selfplay, each a pass of ours and one of "
                        f"the peer or limit, back to back; the median of the rounds' ratios is "
                        f"reported (default: search {defaults.search_repeats}, long search "
                        f"{defaults.long_rounds}, selfplay {defaults.selfplay_rounds})")
    p.add_argument("--memory-games", type=positive_int, metavar="B",
                   help="bench memory: games searched together (default: the game's "
                        "selfplay.games_in_parallel)")
    p.add_argument("--memory-simulations", type=positive_int, metavar="N",
                   help="bench memory: simulations per move (default: the game's "
                        "search.simulations)")
    p.add_argument("--seed", type=seed_int, default=defaults.seed, help="random seed (default: %(default)s)")
    p.add_argument("--backend", choices=("processes", "ray"), default=defaults.backend,
                   help="bench selfplay: also Ray actors, one per core, beside the processes "
                        "(needs zeroplay[ray]; default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON record instead of tables")
    p.set_defaults(run=run_bench)


def bench_settings(args) -> bench.Settings:
    """The suite's settings from the bench command's options: --game's games for the rules and
    compile benchmarks, the first of them for search and the network benchmarks."""
    settings = replace(bench.Settings(), playouts=args.playouts, repeats=args.repeats,
                       seed=args.seed, backend=args.backend,
                       memory_batch=args.memory_games or 0,
                       memory_simulations=args.memory_simulations or 0)
    if args.game:
        names = tuple(games.get(g).name for g in args.game)
        settings = replace(settings, games=names, search_game=names[0], net_game=names[0])
    if args.rounds:
        settings = replace(settings, search_repeats=args.rounds, long_rounds=args.rounds,
                           selfplay_rounds=args.rounds)
    return settings


def run_bench(args) -> int:
    record = bench.run(args.names or list(bench.BENCHMARKS), bench_settings(args))
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    m = record["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    print(f"machine: {m['cpu']}, {m['usable cores']} of {m['cores']} cores; {versions}")
    for name, result in record["benchmarks"].items():
        print(bench.format_table(name, result["rows"], result["notes"]))
    return 0


# ---- train / status ------------------------------------------------------------------------------

def add_train(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="run the self-play training loop (resumes an existing run directory)",
        description="Self-play -> replay -> train -> gate -> promote, in DIR. Running it again on "
                    "the same DIR resumes where it stopped, with the run's own settings (its "
                    "config.json) and any --minutes, --generations or --set given. A run stops "
                    "at whichever of its budgets comes first (generations, minutes, "
                    "pipeline.evaluations); 0 or unset: no limit of that kind.")
    add_game_option(p, help="the game of a new run (a run directory knows its own)")
    p.add_argument("--run-dir", required=True, metavar="DIR", help="the run directory")
    p.add_argument("--config", metavar="FILE", help="a TOML file of settings over the game's "
                   "defaults (engine/configs/GAME.toml)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set search.simulations=100 (repeatable)")
    p.add_argument("--minutes", type=finite(0, 1e8), metavar="M",
                   help="stop after M minutes in all, resumes included (0: no limit)")
    p.add_argument("--generations", type=integer(0, 10**9), metavar="N",
                   help="stop after N generations in all (0: no limit)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run_train)


def train_config(args, run_dir):
    """The settings of a new run (the game's defaults, --config, --set) or of a resumed one
    (its config.json, or --config where given, then --set)."""
    from engine.config import load_config, resume_config
    from engine.rundir import RunError, read_config

    overrides = list(args.set)
    if args.minutes is not None:
        overrides.append(f"pipeline.minutes={args.minutes}")
    if args.generations is not None:
        overrides.append(f"pipeline.generations={args.generations}")
    if not (run_dir / "config.json").exists():
        if not args.game:
            raise RunError(f"{run_dir} holds no run yet: --game G starts one")
        return load_config(games.get(args.game).name, args.config, overrides)
    saved = read_config(run_dir)
    if args.game and games.get(args.game).name != saved.game:
        raise RunError(f"{run_dir} is a {saved.game} run, not {games.get(args.game).name}")
    if args.config is None:
        return resume_config(saved, overrides)
    return load_config(saved.game, args.config, overrides)


EXTEND = {"pipeline.generations": "--generations", "pipeline.minutes": "--minutes",
          "pipeline.evaluations": "--set pipeline.evaluations="}  # the option of each budget


def budget_message(config, setting: str, played: int, run_dir) -> str:
    """Which budget ended the run, and how to give it more."""
    from engine.pipeline import budget_text

    value = getattr(config.pipeline, setting.split(".")[1])
    option = EXTEND[setting]
    more = f"{option}{'' if option.endswith('=') else ' '}{2 * value:g}"
    spent = (f"this run had already spent its budget of {budget_text(config, setting)}"
             if played == 0 else f"stopped: {budget_text(config, setting)} spent")
    return (f"{spent} (a run stops at whichever budget comes first); to go on, give it more: "
            f"zeroplay train --run-dir {run_dir} {more}")


def run_train(args) -> int:
    from pathlib import Path

    from engine.limits import check_train
    from engine.pipeline import Pipeline
    from engine.rundir import RunState

    run_dir = Path(args.run_dir)
    config = train_config(args, run_dir)
    check_train(games.get(config.game), config)  # before the run directory is touched
    state_path = run_dir / "state.json"
    before = RunState.load(state_path).generation if state_path.exists() else 0
    pipeline = Pipeline(config, run_dir, quiet=args.quiet)
    state = pipeline.run()
    print(f"generation {state.generation}, best generation {state.best_generation}, "
          f"{state.games} games, {state.positions} positions; best: {run_dir / 'best.ckpt'}")
    if pipeline.stopped_by:
        print(budget_message(config, pipeline.stopped_by, state.generation - before, run_dir))
    return 0


def add_status(subparsers) -> None:
    p = subparsers.add_parser("status", help="print where a training run stands")
    p.add_argument("--run-dir", required=True, metavar="DIR", help="the run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_status)


LAST_GENERATION = ("generation", "loss", "policy_loss", "value_loss", "games_per_s",
                   "positions_per_s", "evaluations_per_s", "strength")  # status shows these


def describe_generation(record: dict) -> str:
    """'generation 12: loss 1.234 (policy 1.000, value 0.234); self-play 3.1 games/s, 80
    positions/s, 2,600 evaluations/s; optimal moves 81.2% (raw policy, probe positions)', of
    what the record holds."""
    has = lambda *keys: all(k in record for k in keys)  # noqa: E731
    parts = []
    if has("loss", "policy_loss", "value_loss"):
        parts.append(f"loss {record['loss']:.3f} (policy {record['policy_loss']:.3f}, value "
                     f"{record['value_loss']:.3f})")
    if has("games_per_s", "positions_per_s", "evaluations_per_s"):
        parts.append(f"self-play {record['games_per_s']:.1f} games/s, "
                     f"{record['positions_per_s']:,.0f} positions/s, "
                     f"{record['evaluations_per_s']:,.0f} evaluations/s")
    if has("strength"):
        parts.append(f"optimal moves {record['strength']:.1%} (raw policy, probe positions)")
    return f"generation {record['generation']}: {'; '.join(parts) or 'no measures'}"


def run_status(args) -> int:
    from pathlib import Path

    from engine.arena import describe_elo, rating_basis
    from engine.rundir import RunError, RunLock, RunState, read_config, read_metrics

    run_dir = Path(args.run_dir)
    if not (run_dir / "config.json").exists():
        raise RunError(f"{run_dir} holds no zeroplay run (no config.json)")
    live = RunLock.held(run_dir)
    started = not (run_dir / "state.json").exists()  # no generation complete yet
    state = RunState() if started else RunState.load(run_dir / "state.json")
    config = read_config(run_dir)
    records = read_metrics(run_dir / "metrics.jsonl")
    info = {"live": live, **state.__dict__, "best_checkpoint": str(run_dir / "best.ckpt"),
            "game": config.game,
            "last_generation": {k: v for k, v in (records[-1] if records else {}).items()
                                if k in LAST_GENERATION}}
    if started:
        info["note"] = ("started, its first generation in progress" if live else
                        "started, no generation complete yet: train on this directory starts "
                        "it again from generation 0")
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{run_dir}: {'live (a train process holds its lock)' if live else 'not running'}")
    if started:
        print(f"game {info['game']}: {info['note']}")
        return 0
    print(f"game {info['game']}: generation {state.generation}, {state.games} games, "
          f"{state.positions} positions, {state.minutes:.1f} minutes")
    if records:
        print(describe_generation(records[-1]))
    print(f"best: generation {state.best_generation} ({info['best_checkpoint']})")
    for anchor, triple in state.elo.items():
        print(f"Elo vs {anchor}: {describe_elo(*triple)} (95%; generation "
              f"{state.rated_generation or state.best_generation}, "
              f"{rating_basis(config.arena)})")
    if state.last_gate:
        g = state.last_gate
        print(f"last gate (generation {g['generation']}): "
              f"{'promoted' if g['promoted'] else 'kept best'}, {g['reason']}; {g['result']}")
    return 0


# ---- bestmove / play / evaluate ------------------------------------------------------------------

def add_player_options(p, simulations_default=None, required: bool = True) -> None:
    """--checkpoint or --mcts-rollouts (one of them required unless `required` is false),
    --simulations and --seed."""
    source = p.add_mutually_exclusive_group(required=required)
    source.add_argument("--checkpoint", metavar="FILE",
                        help="a network checkpoint ('builtin': the model shipped for the game)")
    source.add_argument("--mcts-rollouts", action="store_true",
                        help="pure MCTS with random rollouts instead of a network")
    p.add_argument("--simulations", type=integer(0, 10**12), default=simulations_default,
                   metavar="N",
                   help="search simulations per move (0 with a checkpoint: the raw policy's "
                        "choice)" + ("" if simulations_default is None
                                     else "; default: %(default)s"))
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default: %(default)s)")


def add_verbose_option(p) -> None:
    p.add_argument("--verbose", action="store_true",
                   help=f"show the search's {TOP_MOVES} most searched moves: prior, visits, Q "
                        "(mean value for the mover) and proof")


def print_view(who: str, view, verbose: bool, stream=None) -> None:
    """'O plays 5 (value +0.31, 142/200 visits, proven win)', and the table when verbose."""
    print(f"{who} {describe(view)}", file=stream or sys.stdout)
    if verbose:
        print(table(view), file=stream or sys.stdout)


def make_thinker(game, args):
    """The search's view of positions for the player of --checkpoint or --mcts-rollouts."""
    return Thinker(game, make_cli_player(game, args), sys.stderr)


def make_cli_player(game, args):
    """The player of --checkpoint or --mcts-rollouts; the memory of its search is checked
    (engine.limits) before anything is allocated or read."""
    from engine.players import mcts_player, network_player

    if args.mcts_rollouts:
        if not args.simulations:
            raise ValueError("--mcts-rollouts needs --simulations N with N >= 1")
        return mcts_player(game, args.simulations, seed=args.seed, option="--simulations")
    return network_player(game, args.checkpoint, args.simulations, args.seed,
                          option="--simulations")


def add_bestmove(subparsers) -> None:
    p = subparsers.add_parser(
        "bestmove", help="the chosen move for each position read from standard input",
        description="Read positions (move sequences, one per line) from standard input and "
                    "write the chosen move for each, one per line, in the same notation. Every "
                    "line is read and checked first; then the positions are searched in "
                    f"batches of {STDIN_BATCH}. --verbose writes the search's view of each "
                    "to standard error; --json writes it instead of the move, one JSON object "
                    "per line.")
    add_game_option(p, required=True)
    add_player_options(p)
    add_verbose_option(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per position: position, move, value, simulations, "
                        "proven, and every legal move's prior, visits, q and proven")
    p.set_defaults(run=run_bestmove)


def read_positions(game, lines):
    """States of the positions given one per line; a bad line raises, naming its number."""
    import numpy as np

    states = []
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            raise games.GameError(f"line {number}: longer than {MAX_LINE} characters")
        try:
            state = game.position(line)
        except games.GameError as e:
            raise games.GameError(f"line {number}: {e}") from None
        if game.outcome(state) != ONGOING:
            raise games.GameError(f"line {number}: the game is already over in "
                                  f"{games.interface.excerpt(line.strip())}")
        states.append(state)
    return np.array(states, np.int64).reshape(-1, game.state_size)


def stdin_lines(stream):
    """The lines of a text stream, none read whole if longer than MAX_LINE (a stream of
    /dev/zero is refused at its first line, not read until memory runs out)."""
    while line := stream.readline(MAX_LINE + 2):
        yield line.rstrip("\r\n")  # a line cut at MAX_LINE + 2 stays too long: refused


def run_bestmove(args) -> int:
    game = games.get(args.game)
    if args.simulations is None:
        raise ValueError("bestmove needs --simulations N")
    thinker = make_thinker(game, args)
    lines = []  # the position texts, kept as read_positions checks them one by one

    def kept(stream):
        for line in stdin_lines(stream):
            lines.append(line)
            yield line

    try:
        states = read_positions(game, kept(sys.stdin))
    except UnicodeDecodeError as e:
        raise ValueError(f"standard input is not UTF-8 text (byte {e.start} of a line)") from None
    for start in range(0, len(states), STDIN_BATCH):  # bounded memory, whatever the input
        views = thinker(states[start:start + STDIN_BATCH])
        for line, view in zip(lines[start:], views):
            if args.json:
                print(json.dumps({"position": line.strip(), **view.to_dict()}))
                continue
            print(view.move)
            if args.verbose:
                print_view(f"{line.strip() or '(empty)'}:", view, True, sys.stderr)
        sys.stdout.flush()
    return 0


def add_play(subparsers) -> None:
    p = subparsers.add_parser(
        "play", help="play against a network or pure MCTS in the terminal",
        description="Play games in the terminal: type a move, or u to take back your last move "
                    "(and the reply), h for the engine's hint, n for a new game, q to quit. "
                    "Each engine move shows its value, visits and proof; --verbose adds its "
                    f"{TOP_MOVES} most searched moves.")
    add_game_option(p, required=True)
    add_player_options(p)
    add_verbose_option(p)
    p.add_argument("--second", action="store_true", help="let the computer move first")
    p.set_defaults(run=run_play)


def run_play(args) -> int:
    from engine.play import Session

    game = games.get(args.game)
    thinker = make_thinker(game, args)
    return Session(game, thinker, 1 if args.second else 0, args.verbose,
                   opponent_name(args)).run()


def opponent_name(args) -> str:
    """'the network runs/c4/best.ckpt, 200 simulations a move', for play's introduction."""
    source = ("pure MCTS (random rollouts)" if args.mcts_rollouts
              else f"the network {args.checkpoint}")
    sims = ("the checkpoint's own simulations" if args.simulations is None
            else "its raw policy (no search)" if args.simulations == 0
            else f"{args.simulations} simulations")
    return f"{source}, {sims} a move"


def add_strength(subparsers) -> None:
    p = subparsers.add_parser(
        "strength", help="share of positions where a player picks a perfect-play move",
        description="Tic-tac-toe: all 4,520 unfinished positions, solved exactly. Connect Four: "
                    "positions with every move scored by a perfect solver (default: the "
                    "bench_moves.tsv shipped in engine/data/connect4).")
    add_game_option(p, required=True)
    add_player_options(p)
    p.add_argument("--data", metavar="FILE", help="Connect Four *_moves.tsv file")
    p.set_defaults(run=run_strength)


def run_strength(args) -> int:
    from engine.strength import describe, measure

    game = games.get(args.game)
    if args.simulations is None:
        raise ValueError("strength needs --simulations N")
    rate, n = measure(game.name, make_cli_player(game, args), args.data)
    print(describe(game.name, rate, n))
    return 0


def add_curve(subparsers) -> None:
    p = subparsers.add_parser(
        "curve", help="learning curve of a run: strength and Elo by generation, as a table "
                      "and a PNG",
        description="Score every generation's checkpoint of a run against perfect play (as "
                    "`strength` does) and print a table of it with the promoted networks' Elo "
                    "(a game without scored positions, such as Othello: the Elo alone); "
                    "--out also plots it.")
    p.add_argument("--run-dir", required=True, metavar="DIR", help="the run directory")
    p.add_argument("--simulations", type=simulation_list, default=[0, 200], metavar="N,N",
                   help="search budgets to score (default: 0,200)")
    p.add_argument("--every", type=positive_int, default=1, metavar="K",
                   help="score every K-th generation (default: %(default)s)")
    p.add_argument("--data", metavar="FILE", help="Connect Four *_moves.tsv file")
    p.add_argument("--out", metavar="PNG", help="plot it there too (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(run=run_curve)


def run_curve(args) -> int:
    from pathlib import Path

    from engine.curve import elo_points, plot, score_generations, table
    from engine.rundir import read_config, read_metrics
    from engine.strength import has_scored_positions

    run_dir = Path(args.run_dir)
    game = read_config(run_dir).game
    read_metrics(run_dir / "metrics.jsonl")  # a damaged file is refused before any scoring
    if args.out:
        require("plot", ("matplotlib",), "curve --out")  # before minutes of scoring
    scored = args.data is not None or has_scored_positions(game)
    if not scored:
        print(f"{game} has no scored positions: its curve is its Elo against the anchors "
              f"(--simulations and --every unused)", file=sys.stderr)
    rows = score_generations(run_dir, game, args.simulations, args.every, args.data)
    if not rows:
        raise ValueError(f"{run_dir} has no generation checkpoints" if scored else
                         f"{run_dir} has no rated generation yet")
    print(json.dumps(rows) if args.json else table(rows, run_dir))
    if args.out:
        plot(rows, elo_points(run_dir), f"{game}: {run_dir.name}", Path(args.out))
    return 0


# ---- config ------------------------------------------------------------------------------------

def add_config(subparsers) -> None:
    p = subparsers.add_parser(
        "config", help="print the resolved settings of a game or a run, as TOML",
        description="Print every setting with its meaning and domain, as a TOML file that "
                    "--config reads back: the game's defaults (engine/configs/GAME.toml) with "
                    "--config and --set over them, or a run directory's own. docs/config.md "
                    "is the reference.")
    source = p.add_mutually_exclusive_group(required=True)
    add_game_option(source)
    source.add_argument("--run-dir", metavar="DIR", help="a run directory: its settings")
    p.add_argument("--config", metavar="FILE", help="a TOML file of settings over the game's")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting (repeatable)")
    p.set_defaults(run=run_config)


def run_config(args) -> int:
    from pathlib import Path

    from engine.config import load_config, resume_config
    from engine.reference import to_toml
    from engine.rundir import read_config

    if args.run_dir and args.config:
        raise ValueError("--config goes with --game; a run directory has its own settings")
    if args.run_dir:
        config = resume_config(read_config(Path(args.run_dir)), args.set)
    else:
        config = load_config(games.get(args.game).name, args.config, args.set)
    print(to_toml(config), end="")
    return 0


# ---- experiment ----------------------------------------------------------------------------------

def add_experiment(subparsers) -> None:
    p = subparsers.add_parser(
        "experiment", help="run a grid of learners x seeds at equal compute, then report",
        description="Run every arm and seed of an experiment file (TOML: game, seeds, "
                    "evaluations, [base], [arms.NAME]; see engine/experiment.py and "
                    "docs/experiments/) into DIR, each a training run with the same budget of "
                    "network evaluations, then write DIR/report.md, points.csv and plots. "
                    "Running it again resumes where it stopped.")
    p.add_argument("file", metavar="FILE.toml", help="the experiment file")
    p.add_argument("--dir", required=True, metavar="DIR", help="the experiment directory")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--report-only", action="store_true",
                      help="write the report from the runs so far, without running any")
    mode.add_argument("--status", action="store_true",
                      help="print each run's progress and the time left (with --jobs N's "
                           "runs at once), writing nothing")
    p.add_argument("--jobs", type=integer(1, 256), default=1, metavar="N",
                   help="runs at once, each in its own process (give each run "
                        "pipeline.workers = 1 in the file; default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run_experiment_command)


def run_experiment_command(args) -> int:
    from pathlib import Path

    from engine.experiment import describe_progress, load_experiment, progress, run_experiment
    from engine.limits import check_train
    from engine.report import write_report

    experiment = load_experiment(args.file)
    if args.status:
        print("\n".join(describe_progress(experiment, progress(experiment, Path(args.dir)),
                                          args.jobs)))
        return 0
    require("plot", ("matplotlib",), "experiment")  # its report's plots, after hours of runs
    game = games.get(experiment.game)
    for arm in experiment.arms:  # every arm checked before anything is written
        for seed in experiment.seeds_of(arm):
            check_train(game, experiment.config(arm, seed))
    if args.report_only:
        path = write_report(experiment, Path(args.dir), quiet=args.quiet)
    else:
        path = run_experiment(args.file, Path(args.dir), quiet=args.quiet, jobs=args.jobs)
    print(path)
    return 0


# ---- main ----------------------------------------------------------------------------------------

COMMANDS = [add_train, add_status, add_config, add_bestmove, add_play, add_evaluate, add_strength,
            add_curve, add_experiment, add_show, add_check_game, add_bench, add_export,
            add_serve, add_gtp]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG, description="zeroplay: AlphaZero-style self-play for board games.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       parser_class=Parser)
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as e:  # bad input (games.GameError is a ValueError)
        print(f"{PROG}: error: {_cut(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
