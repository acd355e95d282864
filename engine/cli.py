"""The command line: `python -m engine COMMAND ...` and the console script `zeroplay`.

Each command is one `add_<command>(subparsers)` function listed in COMMANDS: it adds its parser
and sets `run`, the function that carries the command out and returns the exit status. Bad input
(GameError and other ValueErrors, files that cannot be read) ends with one line on stderr and
exit status 1, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import games
from engine import bench
from games.check import check_game
from games.interface import ONGOING, Game

PROG = "zeroplay"
PLAYERS = "XO"  # the first player is X, as render draws it


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_game_option(parser: argparse.ArgumentParser, help: str = "the game", **kwargs) -> None:
    parser.add_argument("--game", metavar="G", help=f"{help}; one of {', '.join(games.names())}",
                        **kwargs)


# ---- show ----------------------------------------------------------------------------------------

def add_show(subparsers) -> None:
    p = subparsers.add_parser(
        "show", help="print the board of a position given as moves",
        description="Print the board after a sequence of moves, the player to move, and the "
                    "result if the game is over.")
    add_game_option(p, required=True)
    p.add_argument("--moves", default="", metavar="M",
                   help="moves from the initial position: connect4 columns 1-7 (e.g. 4453), "
                        "tictactoe cells 1-9 row-major from the top left; empty: the initial position")
    p.set_defaults(run=run_show)


def run_show(args) -> int:
    game = games.get(args.game)
    state = game.position(args.moves)
    print(game.render(state))
    print(status_line(game, state))
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
    p.add_argument("--seed", type=int, default=0, help="seed of the random games (default: %(default)s)")
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
    add_game_option(p, action="append", help="game to measure (repeatable; default: all)")
    defaults = bench.Settings()
    p.add_argument("--playouts", type=positive_int, default=defaults.playouts, metavar="N",
                   help="random playouts per timed batch (default: %(default)s)")
    p.add_argument("--repeats", type=positive_int, default=defaults.repeats, metavar="R",
                   help="timed repeats; the median is reported (default: %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON record instead of tables")
    p.set_defaults(run=run_bench)


def run_bench(args) -> int:
    settings = replace(bench.Settings(), playouts=args.playouts, repeats=args.repeats,
                       seed=args.seed)
    if args.game:
        settings = replace(settings, games=tuple(games.get(g).name for g in args.game))
    record = bench.run(args.names or list(bench.BENCHMARKS), settings)
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    m = record["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    print(f"machine: {m['cpu']}, {m['usable cores']} of {m['cores']} cores; {versions}")
    for name, result in record["benchmarks"].items():
        print(bench.format_table(name, result["rows"], result["notes"]))
    return 0


# ---- main ----------------------------------------------------------------------------------------

COMMANDS = [add_show, add_check_game, add_bench]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="zeroplay: AlphaZero-style self-play for board games.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as e:  # bad input (games.GameError is a ValueError)
        print(f"{PROG}: error: {' '.join(str(e).splitlines())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
