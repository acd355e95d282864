"""`zeroplay serve`: play a network in the browser, on a local web page (Starlette, uvicorn);
with --run-dir, also a run's learning curves, and any of its saved generations to play.

The page (engine/web/) draws the board as SVG from the game's interface: its planes' rows and
columns, the first two planes of `encode` as the mover's and the opponent's stones, and its
moves as cells (A = rows x columns) or columns (A = columns); other moves (a pass) are buttons.
The server places the rows: the planes' row 0 at the top, or at the bottom for games whose
moves are GTP points counted from a1 at the lower left (Go).
The server holds each game's moves and checks every move itself; the page only shows what it is
sent. The engine's searches of all waiting games run together, one batch at a time, in one
thread. At most `max_games` games are held, each dropped after `idle_s` without a request (the
least recently used first when a new one needs room).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import secrets
import socket
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import games
from engine import sgf
from engine.extras import require
from engine.play import PLAYERS
from engine.thinking import View, think
from games import ONGOING, Game, GameError

WEB = Path(__file__).parent / "web"
FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
         "/style.css": ("style.css", "text/css")}
SIMULATIONS = (0, 50, 200, 800)  # the page's choices; 0: the network's raw policy
DEFAULT_SIMULATIONS = 200
MAX_BODY = 4096  # bytes of a request's body
MAX_BATCH, PAD = 256, 32  # positions searched at once; batch sizes, see Engine
MAX_GAMES, IDLE_S = 1000, 1800.0
MAX_PLAYERS = 8  # (simulations, generation) players kept, the least recently used dropped
CURVES = ("strength", "loss", "policy_loss", "value_loss", "games_per_s")  # of metrics.jsonl
MODULES = ("starlette", "uvicorn")


class RequestError(Exception):
    """A request refused: its HTTP status and one line that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def add_serve(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="play a network in the browser: a local web page",
        description="Serve a page where you play the network by clicking on the board; each "
                    "engine move shows its value and the search's visits as a heat map. "
                    f"Binds to 127.0.0.1 unless --host says otherwise. Needs pip install "
                    f'"zeroplay[serve]".')
    p.add_argument("--game", metavar="G", help=f"the game, for builtin (else it must match the "
                   f"checkpoint's); one of {', '.join(games.names())}")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", metavar="FILE",
                        help="a checkpoint ('builtin' with --game: the model shipped for the game)")
    source.add_argument("--run-dir", metavar="DIR",
                        help="a run: its learning curves (updating while it trains) and any "
                             "saved generation to play (default: its best.ckpt)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="the port (default: %(default)s)")
    p.set_defaults(run=run_serve)


def _port(text: str) -> int:
    from engine.cli import integer

    return integer(1, 65535)(text)


def run_serve(args) -> int:
    from engine.export import read_checkpoint

    require("serve", MODULES, "serve")
    import uvicorn

    sock = listen(args.host, args.port)
    run_dir = Path(args.run_dir) if args.run_dir else None
    checkpoint = str(run_dir / "best.ckpt") if run_dir else args.checkpoint
    game, _ = read_checkpoint(checkpoint, args.game)
    app = make_app(game, load_player(game, checkpoint), run_dir=run_dir)
    print(f"zeroplay: {game.name} at http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    config = uvicorn.Config(app, log_level="warning", limit_concurrency=MAX_GAMES)  # then 503
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: a free one); an OSError that says why not. Its
    protocol is named: asyncio sets TCP_NODELAY on the connections of a socket of protocol TCP
    only (with 0, each answer on a kept-alive connection waits 40 ms for a delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def load_player(game: Game, checkpoint: str | Path, simulations: int = DEFAULT_SIMULATIONS):
    """The checkpoint's search player: its own search settings with `simulations`, no noise."""
    from engine.players import network_player

    return network_player(game, checkpoint, simulations)


# ---- the engine: searches of many games, batched ---------------------------------------------

class Engine:
    """`await engine.think(state, simulations, generation)`: the search's View, by `player`
    or (a generation given) that generation's network in `run_dir`; waiting positions with the
    same player and simulations are searched together, in batches padded to a power of two
    up to PAD, a multiple of PAD above (so that few searchers of each size are ever built)."""

    def __init__(self, game: Game, player, run_dir: Path | None = None):
        self.game, self.base, self.run_dir = game, player, run_dir
        self.players: OrderedDict[tuple, object] = OrderedDict()  # the search thread's own
        self.pending: list[tuple[int, np.ndarray, asyncio.Future]] = []
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="zeroplay-search")
        self.running = False

    def player(self, key: tuple[int, int | None]):
        """The player of (simulations, generation), the last MAX_PLAYERS kept."""
        from engine.players import SearchPlayer
        from engine.rundir import kept_checkpoint

        if key not in self.players:
            simulations, generation = key
            if generation is None:
                base = self.base
                search = dataclasses.replace(base.search, simulations=simulations)
                player = SearchPlayer(self.game, base.evaluate, search, base.name, base.seed)
            else:
                player = load_player(self.game, kept_checkpoint(self.run_dir, generation),
                                     simulations)
            self.players[key] = player
            while len(self.players) > MAX_PLAYERS:
                self.players.popitem(last=False)
        self.players.move_to_end(key)
        return self.players[key]

    async def think(self, state: np.ndarray, simulations: int,
                    generation: int | None = None) -> View:
        future = asyncio.get_running_loop().create_future()
        self.pending.append(((simulations, generation), state, future))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                key = self.pending[0][0]
                batch = [p for p in self.pending if p[0] == key][:MAX_BATCH]
                taken = {id(future) for _, _, future in batch}
                self.pending = [p for p in self.pending if id(p[2]) not in taken]
                states = np.stack([state for _, state, _ in batch])
                try:
                    views = await loop.run_in_executor(self.pool, self._search, key, states)
                except Exception as e:  # every waiting request hears of it
                    views = [e] * len(batch)
                for (_, _, future), view in zip(batch, views):
                    if not future.done():
                        (future.set_exception if isinstance(view, Exception)
                         else future.set_result)(view)
        finally:
            self.running = False

    def _search(self, key: tuple, states: np.ndarray) -> list[View]:
        n = len(states)
        size = 1 << (n - 1).bit_length() if n <= PAD else -(-n // PAD) * PAD
        padded = np.concatenate([states, np.repeat(states[:1], size - len(states), 0)])
        return think(self.game, self.player(key), padded)[:len(states)]


# ---- the games held ------------------------------------------------------------------------------

@dataclasses.dataclass
class Match:
    """One game: the moves so far, the person's side, the engine's simulations and generation
    (None: the server's network), its last view."""

    human: int
    simulations: int
    moves: list[int] = dataclasses.field(default_factory=list)
    view: View | None = None
    busy: bool = False  # the engine is searching its reply
    seen: float = dataclasses.field(default_factory=time.monotonic)
    generation: int | None = None


class Matches:
    """The games held: at most `limit`, each dropped after `idle_s` without a request."""

    def __init__(self, limit: int = MAX_GAMES, idle_s: float = IDLE_S):
        self.limit, self.idle_s = limit, idle_s
        self.held: OrderedDict[str, Match] = OrderedDict()  # least recently used first

    def add(self, match: Match) -> str:
        self.expire()
        while len(self.held) >= self.limit:
            self.held.popitem(last=False)
        key = secrets.token_urlsafe(12)
        self.held[key] = match
        return key

    def get(self, key: str) -> Match:
        self.expire()
        match = self.held.get(key)
        if match is None:
            raise RequestError(404, "unknown game (it may have expired): start a new game")
        self.held.move_to_end(key)
        match.seen = time.monotonic()
        return match

    def expire(self) -> None:
        limit = time.monotonic() - self.idle_s
        while self.held and next(iter(self.held.values())).seen < limit:
            self.held.popitem(last=False)


# ---- what the page is sent -----------------------------------------------------------------

def layout(game: Game) -> str:
    """How a move shows on the board: 'cells' (a move per cell), 'columns' or 'buttons'. A
    pass (the last action, where the rules have one) is a button in any layout."""
    _, rows, cols = game.planes
    placed = game.num_actions - (getattr(game, "pass_action", None) is not None)
    return "cells" if placed == rows * cols else "columns" if placed == cols else "buttons"


def rows_up(game: Game) -> bool:
    """Whether the planes' row 0 is drawn at the bottom: so where the game's moves are GTP points
    (engine.sgf's boards, a1 at the lower left) and its action 0 is off the top row, as Go's a1
    (Gomoku's action 0 is a15; Othello's a1 and tic-tac-toe's 1 are named from the top)."""
    try:
        return sgf.board(game).points[0][1] != sgf.SGF_LETTERS[0]  # SGF: the row from the top
    except sgf.SgfError:
        return False


def cells(game: Game) -> list[list[int] | None]:
    """Each move's cell on the page, [row, column] from the top left; None for a move that is
    not a cell (a column, a pass)."""
    _, rows, cols = game.planes
    up, placed = rows_up(game), layout(game) == "cells"
    return [[rows - 1 - a // cols if up else a // cols, a % cols]
            if placed and a < rows * cols else None for a in range(game.num_actions)]


def coordinates(moves: list[str], drawn: list[list[int] | None]) -> dict[str, list[str]]:
    """The board's edge labels from the cells' names (letters then digits, as "a1"): each screen
    column's letters and each screen row's number, left to right and top to bottom; a list is
    empty where its names disagree or are not of that kind (tic-tac-toe's 1-9)."""
    parts: dict[str, dict[int, set[str]]] = {"cols": {}, "rows": {}}
    for name, cell in zip(moves, drawn):
        if cell is None:
            continue
        point = re.fullmatch(r"([a-z]+)(\d+)", name, re.IGNORECASE)
        if point is None:
            return {"cols": [], "rows": []}
        parts["cols"].setdefault(cell[1], set()).add(point[1])
        parts["rows"].setdefault(cell[0], set()).add(point[2])
    return {axis: [found[i].pop() for i in sorted(found)]
            if all(len(names) == 1 for names in found.values()) else []
            for axis, found in parts.items()}


def describe_game(game: Game) -> dict:
    _, rows, cols = game.planes
    moves, drawn = [game.format_move(a) for a in range(game.num_actions)], cells(game)
    return {"game": game.name, "rows": rows, "cols": cols, "layout": layout(game),
            "moves": moves, "cells": drawn, "labels": coordinates(moves, drawn),
            "players": list(PLAYERS),
            "simulations": list(SIMULATIONS), "default_simulations": DEFAULT_SIMULATIONS}


def board(game: Game, state: np.ndarray) -> list[list[str]]:
    """Rows of 'X', 'O' or '' from the first two planes (the mover's and the opponent's), as
    drawn: the top row first."""
    planes = np.zeros((1, *game.planes), np.float32)
    game.encode(state[None], planes)
    mover = game.player(state)
    stones = {0: PLAYERS[mover], 1: PLAYERS[1 - mover]}
    rows = [["".join(stones[p] for p in (0, 1) if planes[0, p, r, c] > 0)
             for c in range(game.planes[2])] for r in range(game.planes[1])]
    return rows[::-1] if rows_up(game) else rows


def result(game: Game, state: np.ndarray, human: int) -> str | None:
    outcome = game.outcome(state)
    if outcome == ONGOING:
        return None
    if outcome == 0:
        return "Draw."
    winner = game.player(state) if outcome == 1 else 1 - game.player(state)
    return "You win!" if winner == human else "You lose."


def position(game: Game, match: Match) -> np.ndarray:
    state = game.initial()
    for action in match.moves:
        state = game.apply(state, action)
    return state


def report(game: Game, key: str, match: Match) -> dict:
    state = position(game, match)
    legal = game.legal(state) if game.outcome(state) == ONGOING else np.zeros(0, bool)
    return {"id": key, "game": game.name, "moves": game.format_moves(match.moves),
            "board": board(game, state), "human": PLAYERS[match.human],
            "to_move": PLAYERS[game.player(state)], "simulations": match.simulations,
            "legal": [game.format_move(a) for a in np.flatnonzero(legal)],
            "result": result(game, state, match.human), "generation": match.generation,
            "engine": match.view.to_dict() if match.view else None}


# ---- the app -------------------------------------------------------------------------------

def make_app(game: Game, player, max_games: int = MAX_GAMES, idle_s: float = IDLE_S,
             run_dir: Path | None = None):
    """The Starlette app that plays `player` (a SearchPlayer) at `game`; with `run_dir`, also
    the run's curves and its generations."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route

    engine, matches = Engine(game, player, run_dir), Matches(max_games, idle_s)

    async def engine_moves(match: Match) -> None:
        state = position(game, match)
        if game.outcome(state) != ONGOING or game.player(state) == match.human:
            return
        match.busy = True
        try:
            match.view = await engine.think(state, match.simulations, match.generation)
        finally:
            match.busy = False
        match.moves.append(game.parse_move(match.view.move))

    async def new(request):
        body = await read_json(request)
        if body.get("game", game.name) != game.name:
            raise RequestError(404, f"unknown game {games.interface.excerpt(body['game'])}: "
                                    f"this server plays {game.name}")
        match = Match(choice(body, "side", PLAYERS, PLAYERS[0]) == PLAYERS[1],
                      choice(body, "simulations", SIMULATIONS, DEFAULT_SIMULATIONS),
                      generation=generation(body))
        key = matches.add(match)
        await engine_moves(match)
        return JSONResponse(report(game, key, match), 201)

    async def show(request):
        key = request.path_params["key"]
        return JSONResponse(report(game, key, matches.get(key)))

    async def move(request):
        body = await read_json(request)
        key = request.path_params["key"]
        match = idle(matches.get(key))
        text = body.get("move")
        if not isinstance(text, str):
            raise RequestError(400, 'a move is {"move": "TEXT"}, the move as text')
        state = position(game, match)
        if game.outcome(state) != ONGOING:
            raise RequestError(409, "the game is over: start a new game or undo")
        try:
            action = game.parse_move(text, state)
        except GameError as e:
            raise RequestError(422, str(e)) from None
        match.moves.append(action)
        match.view = None
        await engine_moves(match)
        return JSONResponse(report(game, key, match))

    async def undo(request):
        key = request.path_params["key"]
        match = idle(matches.get(key))
        mine = [i for i in range(len(match.moves)) if i % 2 == match.human]
        if not mine:
            raise RequestError(409, "nothing to undo: you have not moved yet")
        match.moves, match.view = match.moves[:mine[-1]], None
        return JSONResponse(report(game, key, match))

    def generation(body: dict) -> int | None:
        """body's generation: None (the server's network) or one the run has saved."""
        value = body.get("generation")
        if value is None:
            return None
        if run_dir is None:
            raise RequestError(400, "generation: this server plays one checkpoint (no --run-dir)")
        saved = generations(run_dir)
        if type(value) is not int or value not in saved:
            raise RequestError(404, f"no generation {games.interface.excerpt(value)} saved in "
                                    f"the run (it has {len(saved)})")
        return value

    async def info(request):
        return JSONResponse({**describe_game(game), "run": run_dir is not None})

    async def run(request):
        if run_dir is None:
            raise RequestError(404, "no run: start the server with --run-dir DIR")
        return JSONResponse({**curves(run_dir), "generations": generations(run_dir)})

    def page(path: str):
        name, media = FILES[path]
        return Route(path, lambda request: FileResponse(WEB / name, media_type=media))

    routes = [*(page(path) for path in FILES), Route("/api/game", info), Route("/api/run", run),
              Route("/api/games", new, methods=["POST"]),
              Route("/api/games/{key}", show),
              Route("/api/games/{key}/move", move, methods=["POST"]),
              Route("/api/games/{key}/undo", undo, methods=["POST"])]

    async def refused(request, error: RequestError):
        return JSONResponse({"error": str(error)}, error.status)

    async def http_error(request, error):
        return JSONResponse({"error": error.detail}, error.status_code)

    from starlette.exceptions import HTTPException

    app = Starlette(routes=routes, exception_handlers={RequestError: refused,
                                                        HTTPException: http_error})
    app.state.matches, app.state.engine = matches, engine
    return app


def curves(run_dir: Path) -> dict:
    """The run's learning curves by generation, read from metrics.jsonl again each time (the
    run may be training): CURVES and Elo against each anchor (None where not measured)."""
    from engine.rundir import read_metrics

    records = read_metrics(run_dir / "metrics.jsonl")
    series = {name: [finite(r.get(name)) for r in records] for name in CURVES}
    for anchor in sorted({a for r in records for a in r.get("elo", {})}):
        series[f"elo vs {anchor}"] = [finite(r.get("elo", {}).get(anchor, [None])[0])
                                      for r in records]
    return {"generation": [r["generation"] for r in records], "series": series}


def finite(value) -> float | None:
    """value if it is a finite number, else None (JSON has no infinity)."""
    return value if isinstance(value, (int, float)) and np.isfinite(value) else None


def generations(run_dir: Path) -> list[int]:
    """The generations whose networks the run has saved (checkpoints/gen_NNNN.ckpt)."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    found = (re.fullmatch(r"gen_(\d+)\.ckpt", path.name) for path in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def idle(match: Match) -> Match:
    """match, unless the engine is still searching its reply (a 409)."""
    if match.busy:
        raise RequestError(409, "the engine is still thinking: wait for its move")
    return match


def choice(body: dict, name: str, allowed, default):
    """body[name] if it is one of `allowed` (default if absent); a 400 otherwise."""
    value = body.get(name, default)
    if type(value) is not type(default) or value not in allowed:
        raise RequestError(400, f"{name} must be one of {', '.join(map(str, allowed))}, not "
                                f"{games.interface.excerpt(value)}")
    return value


async def read_json(request) -> dict:
    """The request's JSON object (empty body: {}); 413 over MAX_BODY bytes, 400 if not one."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise RequestError(413, f"the request is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(data) if data.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "the request's body is not JSON") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request's body is not a JSON object")
    return body
