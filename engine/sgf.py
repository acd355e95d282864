"""SGF (FF[4]) records of the games whose moves are points of a square board named as GTP
vertices (Go, Gomoku): a writer that other programs open, and a reader of a file's main line.

GTP vertices (the games' notation) are a column letter without i and the row counted from 1 at
the bottom: `a1` is the lower left corner. SGF points are two letters, the column then the row,
both counted from `a` at the top left: a1 on 9x9 is `ai`, j9 is `ia`. A pass is `B[]` (FF[4];
FF[3]'s `tt` is read too). Black moves first: the first player of our games is Black.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from games import ONGOING, Game, GameError
from games.boards import GTP_COLUMNS
from games.interface import check_legal, excerpt

SGF_LETTERS = "abcdefghijklmnopqrstuvwxyz"
COLOURS = "BW"  # the first player is Black
MAX_SGF_BYTES = 1 << 20  # a file to read larger than this is refused unread


class SgfError(ValueError):
    """A game without an SGF form, or an SGF text that cannot be read as one of its games."""


@dataclass(frozen=True)
class Board:
    """What SGF needs to know of a game (games/interface.py: SGF_GAME, SGF_RULES, area_score):
    its board, game number, komi, rules and score."""

    size: int
    number: int  # GM
    rules: str  # RU ("" where SGF's default rules are meant)
    score: Callable | None  # area_score(state) -> Black's area - White's - komi, or None
    komi: float | None  # from the score: -score(initial position)
    points: tuple[str, ...]  # each action's SGF point ('' for a pass)


_BOARDS: dict[str, Board] = {}


def _point(name: str, size: int) -> str:
    """A GTP vertex's SGF point ('e5' on 9x9: 'ee'), or '' if it is none."""
    column, row = name[:1].lower(), name[1:]
    if (column not in GTP_COLUMNS[:size] or not (row.isascii() and row.isdigit())
            or not 1 <= int(row) <= size):
        return ""
    return SGF_LETTERS[GTP_COLUMNS.index(column)] + SGF_LETTERS[size - int(row)]


def board(game: Game) -> Board:
    """The game's SGF view; SgfError for a game without an SGF game number (SGF_GAME) or
    whose moves are not the GTP vertices of a square board (and a pass)."""
    if game.name in _BOARDS:
        return _BOARDS[game.name]
    _, size, width = game.planes
    cells = size * width
    points = tuple("" if a == game.pass_action else _point(name, size)
                   for a, name in enumerate(game.move_names))
    if (game.sgf_game is None or size != width or len(set(points) - {""}) != cells
            or game.num_actions != cells + (game.pass_action is not None)):
        raise SgfError(f"{game.name} has no SGF or GTP form: its moves are not the points of a "
                       f"square board (as in Go and Gomoku)")
    score = game.area_score
    komi = None if score is None else -float(score(game.initial()))
    _BOARDS[game.name] = Board(size, game.sgf_game, game.sgf_rules, score, komi, points)
    return _BOARDS[game.name]


def application() -> str:
    """This program as SGF's AP and GTP's version name it: 'zeroplay:0.1.0'."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"zeroplay:{version('zeroplay')}"
    except PackageNotFoundError:
        return "zeroplay"


# ---- points ------------------------------------------------------------------------------------

def to_point(game: Game, action: int) -> str:
    """An action's SGF point ('' for a pass)."""
    return board(game).points[action]


def from_point(game: Game, point: str) -> int:
    """The action of an SGF point ('' or, on boards up to 19x19, 'tt': a pass)."""
    b = board(game)
    point = point.strip()
    if point == "" or (point == "tt" and b.size <= 19):
        if game.pass_action is None:
            raise SgfError(f"{game.name} has no pass")
        return game.pass_action
    if point not in b.points:
        raise SgfError(f"bad {b.size}x{b.size} point {excerpt(point)}")
    return b.points.index(point)


# ---- records -----------------------------------------------------------------------------------

@dataclass
class Record:
    """A game as SGF holds it: its moves from the initial position (Black's first), the
    players' names, the result ("B+3.5", "W+R", "0"), and comments by move index."""

    moves: list[int]
    black: str = ""
    white: str = ""
    result: str = ""
    comments: dict[int, str] = field(default_factory=dict)
    comment: str = ""  # of the game (the root node)
    date: str = ""  # DT, YYYY-MM-DD (written: today where empty)


def result_text(game: Game, state: np.ndarray, resigned_by: int | None = None) -> str:
    """The SGF result of a game that ended in `state`: 'B+3.5' (Go's area score), 'W+'
    (a won line game), '0' (a draw), 'B+R' (`resigned_by` White, the player 1); '?' while
    it goes on."""
    if resigned_by is not None:
        return f"{COLOURS[1 - resigned_by]}+R"
    outcome = game.outcome(state)
    if outcome == ONGOING:
        return "?"
    score = board(game).score
    if score is not None:
        return score_text(float(score(state)))
    if outcome == 0:
        return "0"
    mover = game.player(state)  # outcome is the result for the player to move
    return f"{COLOURS[mover if outcome == 1 else 1 - mover]}+"


def opening_note(moves: int) -> str:
    """The root comment's word on a random opening: 'moves 1-2 random'."""
    return "" if not moves else "move 1 random" if moves == 1 else f"moves 1-{moves} random"


def selfplay_record(game: Game, played, generation: int) -> Record:
    """A self-play game (engine.selfplay.GameRecord) as SGF: its random opening, then each
    move with the search's value of it (for the player to move, -1 to +1)."""
    opening = [int(a) for a in played.opening]
    comments = {len(opening) + i: f"value {v:+.2f}" for i, v in enumerate(played.values)}
    loser = (0 if played.result < 0 else 1) if played.resigned else None
    name = f"zeroplay generation {generation}"
    note = "; ".join(filter(None, [f"{game.name} self-play, generation {generation}",
                                   opening_note(len(opening)),
                                   "values: the search's, for the player to move"]))
    return Record(opening + [int(a) for a in played.actions], name, name,
                  result_text(game, played.final_state, loser), comments, note)


def arena_record(game: Game, played, first: str, second: str, opening: int) -> Record:
    """A match game (engine.arena.ArenaGame) between players named `first` and `second`."""
    black, white = (first, second) if played.first_side == 0 else (second, first)
    note = "; ".join(filter(None, [f"{game.name}: {first} against {second}",
                                   opening_note(opening)]))
    return Record(list(played.moves), black, white, result_text(game, played.final_state),
                  comment=note)


def score_text(margin: float) -> str:
    """Black's margin as SGF and GTP write a score: 'B+3.5', 'W+0.5', '0'."""
    return "0" if margin == 0 else f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"


def _text(value: str) -> str:
    """An SGF text value: backslash and ] escaped."""
    return value.replace("\\", "\\\\").replace("]", "\\]")


def write(game: Game, record: Record) -> str:
    """The SGF FF[4] text of a record: one game tree, the root's properties, then a node per
    move (ten to a line)."""
    b = board(game)
    root = [("FF", "4"), ("GM", str(b.number)), ("CA", "UTF-8"), ("AP", application()),
            ("SZ", str(b.size))]
    if b.komi is not None:
        root.append(("KM", f"{b.komi:g}"))
    if b.rules:
        root.append(("RU", b.rules))
    root += [("PB", record.black), ("PW", record.white),
             ("DT", record.date or datetime.date.today().isoformat()), ("RE", record.result)]
    if record.comment:
        root.append(("C", record.comment))
    nodes = ["".join(f"{key}[{_text(value)}]" for key, value in root)]
    for i, action in enumerate(record.moves):
        node = f"{COLOURS[i % 2]}[{to_point(game, action)}]"
        if i in record.comments:
            node += f"C[{_text(record.comments[i])}]"
        nodes.append(node)
    lines = [";" + ";".join(nodes[k:k + 10]) for k in range(0, len(nodes), 10)]
    return "(" + "\n".join(lines) + ")\n"


def save(game: Game, record: Record, path: Path) -> None:
    """Write the record's SGF to path (atomically: a reader never sees half a file)."""
    from engine.checkpoint import atomic_write

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(path), write(game, record).encode())


# ---- reading -----------------------------------------------------------------------------------

TOKEN = re.compile(r"\s*(?:([();])|([A-Za-z]+)\s*((?:\[(?:[^\]\\]|\\.)*\]\s*)+))", re.S)
VALUE = re.compile(r"\[((?:[^\]\\]|\\.)*)\]", re.S)


def _unescape(value: str) -> str:
    """An SGF text value as text: soft line breaks (backslash-newline) dropped, escapes undone."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"\\\r?\n", "", value), flags=re.S)


def main_line(text: str) -> list[dict[str, list[str]]]:
    """The nodes of the first game tree's main line (the first variation at each branch), each
    as {property: [values]}; SgfError for text that is not SGF."""
    text = text.lstrip("\ufeff")
    pos = text.find("(")
    if pos < 0 or not text[pos + 1:].lstrip().startswith(";"):
        raise SgfError("not an SGF game tree: no '(;'")
    nodes, depth, closed = [], 0, False  # closed: the main line's last variation has ended
    while True:
        m = TOKEN.match(text, pos)
        if not m:
            raise SgfError(f"bad SGF at character {pos}: {excerpt(text[pos:pos + 20])}")
        pos = m.end()
        punct, key, values = m.groups()
        if punct == "(":
            depth += 1
        elif punct == ")":
            depth, closed = depth - 1, True
            if depth == 0:
                return nodes
        elif punct == ";" and not closed:
            nodes.append({})
        elif key and not closed:
            key = "".join(ch for ch in key if ch.isupper())  # FF[3]'s PlayerBlack is PB
            nodes[-1].setdefault(key, []).extend(_unescape(v) for v in VALUE.findall(values))


def read(game: Game, text: str) -> Record:
    """The record of the main line of an SGF text of this game, every move checked against its
    rules (SgfError names the first move that is not legal, or a property that does not fit:
    another game, board size or komi, setup stones, a move out of turn). Properties it does
    not use are ignored."""
    b = board(game)
    nodes = main_line(text)
    root = nodes[0]
    first = lambda key, default="": root.get(key, [default])[0].strip()  # noqa: E731
    if first("GM", "1") != str(b.number):
        raise SgfError(f"GM[{first('GM')[:20]}] is not {game.name} (GM[{b.number}])")
    size = first("SZ", "19" if b.number == 1 else str(b.size))
    if size != str(b.size):
        raise SgfError(f"SZ[{size[:20]}]: {game.name} is played on {b.size}x{b.size}")
    if b.komi is not None and "KM" in root and _number(first("KM")) != b.komi:
        raise SgfError(f"KM[{first('KM')[:20]}]: {game.name} is scored with komi {b.komi:g}")
    record = Record([], first("PB"), first("PW"), first("RE"), comment=first("C"),
                    date=first("DT"))
    state = game.initial()
    for node in nodes:
        if {"AB", "AW", "AE"} & node.keys():
            raise SgfError("setup stones (AB, AW, AE) are not read: only games of moves")
        for colour in (c for c in COLOURS if c in node):
            action = _move(game, state, node[colour][0], colour, len(record.moves))
            state = game.apply(state, action)
            if "C" in node:
                record.comments[len(record.moves)] = node["C"][0]
            record.moves.append(action)
    return record


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _move(game: Game, state: np.ndarray, point: str, colour: str, index: int) -> int:
    """The action of move `index` (0-based), checked: the right colour, a legal move."""
    if COLOURS[game.player(state)] != colour:
        raise SgfError(f"move {index + 1} is {colour}'s, but {COLOURS[game.player(state)]} is "
                       f"to play ({game.name} alternates)")
    try:
        return check_legal(game, state, from_point(game, point))
    except (GameError, SgfError) as e:
        raise SgfError(f"move {index + 1} ({colour}[{point[:10]}]): {e}") from None


def load(game: Game, path: Path) -> Record:
    """The record of an SGF file (see `read`)."""
    from engine.checkpoint import read_capped

    try:
        data = read_capped(path, MAX_SGF_BYTES, "SGF file")
    except OSError as e:
        raise SgfError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        return read(game, data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return read(game, data.decode("latin-1"))
