"""`zeroplay evaluate`: a match between two players, with its score and Elo difference; the games
as SGF files (--sgf DIR, for games with an SGF form), and against GNU Go (`gnugo:LEVEL`) our
Tromp-Taylor scores checked against GNU Go's final_score."""
from __future__ import annotations

import json
import math
from contextlib import ExitStack
from pathlib import Path

import games


def add_evaluate(subparsers) -> None:
    from engine.cli import add_game_option, integer, positive_int, seed_int

    p = subparsers.add_parser(
        "evaluate", help="a match between two players, with score and Elo difference",
        description="Play colour-swapped pairs of games from random openings. Players: random, "
                    "mcts:SIMS, net:CHECKPOINT[:SIMS] (CHECKPOINT may be 'builtin'), and for "
                    "Go gnugo:LEVEL (GNU Go at level 1-10, over GTP; apt-get install gnugo): "
                    "its games' Tromp-Taylor scores are checked against GNU Go's final_score.")
    add_game_option(p, required=True)
    p.add_argument("first", metavar="PLAYER", help="the player whose score is reported")
    p.add_argument("second", metavar="OPPONENT", help="its opponent")
    p.add_argument("--games", type=positive_int, default=100, metavar="N",
                   help="games, in colour-swapped pairs (default: %(default)s)")
    p.add_argument("--opening-moves", type=integer(0, 10_000), default=2, metavar="K",
                   help="random moves before each pair of games (default: %(default)s)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--sgf", metavar="DIR",
                   help="write each game to DIR/game_NNN.sgf (games whose moves are board "
                        "points: Go, Gomoku)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args) -> int:
    from engine.arena import play_pairs
    from engine.gnugo import GnuGoPlayer, check_scores
    from engine.players import parse_player
    from engine.sgf import board

    game = games.get(args.game)
    if args.sgf:
        board(game)  # a game without an SGF form is refused before a move is played
    with ExitStack() as stack:
        players = []
        for spec, seed in ((args.first, args.seed), (args.second, (args.seed + 1) % 2**32)):
            players.append(parse_player(game, spec, seed))
            if hasattr(players[-1], "close"):
                stack.callback(players[-1].close)
        result = play_pairs(game, *players, (args.games + 1) // 2, args.opening_moves,
                            args.seed, progress=True)
        checks = [check_scores(p, result.played) for p in players if isinstance(p, GnuGoPlayer)]
    if args.sgf:
        write_games(game, result.played, args)
    elo, lo, hi = (x if math.isfinite(x) else None for x in result.elo())  # None: unbounded
    if args.json:
        print(json.dumps({"first": args.first, "second": args.second, "wins": result.wins,
                          "draws": result.draws, "losses": result.losses,
                          "score": result.score, "elo": elo, "elo_95": [lo, hi],
                          **({"gnugo_scores": [c.to_dict() for c in checks]} if checks else {})}))
    else:
        print(f"{args.first} vs {args.second}: {result.describe()}")
        for check in checks:
            print(check.describe())
    return 0


def write_games(game, played, args) -> None:
    """Each game of the match as DIR/game_NNN.sgf, numbered from 1 as the match played them."""
    from engine.sgf import arena_record, save

    for number, g in enumerate(played, 1):
        save(game, arena_record(game, g, args.first, args.second, args.opening_moves),
             Path(args.sgf) / f"game_{number:03d}.sgf")
