"""`zeroplay serve` over HTTP (Starlette's TestClient): a full Connect Four game, moves checked
by the server, bad requests answered 4xx with the server still playing, the games held bounded,
each game's board drawn the way the game names its points (a go9 game: a1 at the lower left)."""
import json
import math
import shutil
import socket
import time
import warnings

import numpy as np
import pytest

import games
from commands import exit_status
from engine import cli
from engine.players import mcts_player, resolve_checkpoint
from engine.serve import (Match, Matches, add_serve, board, describe_game, layout, listen,
                          load_player, make_app)

pytest.importorskip("starlette")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # Starlette 1.x asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

C4 = games.get("connect4")
GO = games.get("go9")
# The moves each game draws at the board's top left, top right, bottom left and bottom right,
# by the game's own names (a game of columns: its first and last column)
CORNERS = {"connect4": ("1", "7", "1", "7"), "tictactoe": ("1", "3", "7", "9"),
           "othello": ("a1", "h1", "a8", "h8"),  # Othello's row 1 is the top one
           "go9": ("a9", "j9", "a1", "j1"),  # GTP points: a1 at the lower left
           "gomoku9": ("a9", "j9", "a1", "j1"), "gomoku": ("a15", "p15", "a1", "p1")}


@pytest.fixture(scope="module")
def player():
    return load_player(C4, "builtin")


@pytest.fixture
def client(player):
    with TestClient(make_app(C4, player, max_games=3, idle_s=60)) as c:
        yield c


def new_game(client, **body) -> dict:
    response = client.post("/api/games", json={"simulations": 50, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_full_game_each_move_answered_by_the_engine(client):
    game = new_game(client)
    assert game["moves"] == "" and game["to_move"] == "X" and game["engine"] is None
    while game["result"] is None:
        before, move = len(game["moves"]), game["legal"][0]
        response = client.post(f"/api/games/{game['id']}/move", json={"move": move})
        assert response.status_code == 200, response.text
        game = response.json()
        assert game["moves"][before] == move
        if game["result"] is None:  # the engine replied, and says how it sees it
            view = game["engine"]
            assert len(game["moves"]) == before + 2 and game["moves"][-1] == view["move"]
            assert -1 <= view["value"] <= 1
            assert sum(m["visits"] for m in view["moves"]) > 0
    assert game["result"] in ("You win!", "You lose.", "Draw.") and game["legal"] == []
    assert client.get(f"/api/games/{game['id']}").json()["moves"] == game["moves"]
    stones = sum(cell != "" for row in game["board"] for cell in row)
    assert stones == len(game["moves"])
    late = client.post(f"/api/games/{game['id']}/move", json={"move": "1"})
    assert late.status_code == 409 and "game is over" in late.json()["error"]


def test_the_engine_moves_first_when_the_person_plays_second_and_undo(client):
    game = new_game(client, side="O")
    assert len(game["moves"]) == 1 and game["to_move"] == "O" and game["engine"]
    refused = client.post(f"/api/games/{game['id']}/undo")
    assert refused.status_code == 409 and "nothing to undo" in refused.json()["error"]
    played = client.post(f"/api/games/{game['id']}/move", json={"move": "1"}).json()
    assert len(played["moves"]) == 3
    undone = client.post(f"/api/games/{game['id']}/undo").json()
    assert undone["moves"] == game["moves"] and undone["engine"] is None


def test_an_illegal_move_is_refused_and_the_game_kept(client):
    key = client.app.state.matches.add(Match(0, 50, [3, 3, 3, 3, 3, 3]))
    response = client.post(f"/api/games/{key}/move", json={"move": "4"})
    assert response.status_code == 422
    assert response.json()["error"] == "connect4: illegal move 4: column 4 is full"
    assert client.get(f"/api/games/{key}").json()["moves"] == "444444"


@pytest.mark.parametrize("path, kwargs, status, message", [
    ("KEY/move", {"json": {"move": "8"}}, 422, "bad move '8'"),
    ("KEY/move", {"json": {"move": "44"}}, 422, "bad move '44'"),
    ("KEY/move", {"json": {"move": 4}}, 400, "a move is"),
    ("KEY/move", {"json": {}}, 400, "a move is"),
    ("KEY/move", {"content": b"{not json"}, 400, "not JSON"),
    ("KEY/move", {"content": b"\xff\xfe"}, 400, "not JSON"),
    ("KEY/move", {"json": ["4"]}, 400, "not a JSON object"),
    ("KEY/move", {"content": b" " * 100_000}, 413, "larger than 4096 bytes"),
    ("nosuchgame/move", {"json": {"move": "4"}}, 404, "unknown game"),
    ("", {"json": {"game": "chess"}}, 404, "unknown game 'chess'"),
    ("", {"json": {"simulations": 7}}, 400, "simulations must be one of 0, 50, 200, 800"),
    ("", {"json": {"simulations": 50.0}}, 400, "simulations must be"),
    ("", {"json": {"side": "Z"}}, 400, "side must be one of X, O"),
])
def test_bad_requests_are_4xx_with_a_message_and_the_server_plays_on(client, path, kwargs,
                                                                     status, message):
    key = client.app.state.matches.add(Match(0, 0))
    url = "/api/games" + ("/" + path.replace("KEY", key) if path else "")
    response = client.post(url, **kwargs)
    assert response.status_code == status and message in response.json()["error"]
    assert client.post(f"/api/games/{key}/move", json={"move": "4"}).status_code == 200


def test_a_move_while_the_engine_thinks_is_refused(client):
    match = Match(0, 0, [3])
    match.busy = True
    key = client.app.state.matches.add(match)
    response = client.post(f"/api/games/{key}/move", json={"move": "4"})
    assert response.status_code == 409 and "still thinking" in response.json()["error"]


def test_the_games_held_are_bounded_in_count_and_lifetime(client):
    keys = [new_game(client, simulations=0)["id"] for _ in range(5)]
    assert len(client.app.state.matches.held) == 3
    assert [client.get(f"/api/games/{k}").status_code for k in keys] == [404, 404, 200, 200, 200]
    matches = Matches(limit=10, idle_s=0.05)
    matches.add(Match(0, 0))
    time.sleep(0.1)
    kept = matches.add(Match(0, 0))
    assert list(matches.held) == [kept]


def test_the_page_and_its_files_are_served(client):
    assert "<svg" in client.get("/").text
    assert client.get("/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/api/game").json()["layout"] == "columns"
    assert client.get("/nothing").status_code == 404


def test_boards_and_moves_come_from_the_game_interface():
    assert layout(C4) == "columns" and layout(games.get("tictactoe")) == "cells"
    rows = board(C4, C4.position("43"))
    assert rows[-1] == ["", "", "O", "X", "", "", ""] and not any(map(any, rows[:-1]))
    ttt = games.get("tictactoe")
    assert board(ttt, ttt.position("15")) == [["X", "", ""], ["", "O", ""], ["", "", ""]]


def drawn_at(info: dict, row: int, col: int) -> str:
    """The move the page draws on a cell (a column game: on the cell's column)."""
    if info["layout"] == "columns":
        return info["moves"][col]
    return info["moves"][info["cells"].index([row, col])]


@pytest.mark.parametrize("name", games.names())
def test_each_game_is_drawn_the_way_it_names_its_points(name):
    info = describe_game(games.get(name))
    bottom, right = info["rows"] - 1, info["cols"] - 1
    corners = tuple(drawn_at(info, r, c) for r, c in ((0, 0), (0, right), (bottom, 0),
                                                      (bottom, right)))
    assert corners == CORNERS.get(name), f"{name}: say in CORNERS where its corners are drawn"
    if info["layout"] == "cells":  # every cell drawn once
        assert sorted(filter(None, info["cells"])) == [[r, c] for r in range(bottom + 1)
                                                       for c in range(right + 1)]


@pytest.mark.parametrize("name", games.names())
def test_each_games_first_moves_land_where_the_page_draws_them(name):
    """A cell layout's move puts a stone on the board where the page draws that move (othello's
    flips aside), a column layout's one stone in its column."""
    game = games.get(name)
    _, rows, cols = game.planes
    drawn = describe_game(game)["cells"]
    before = board(game, game.initial())
    for action in np.flatnonzero(game.legal(game.initial()))[:cols + 1]:
        if action == getattr(game, "pass_action", None):
            continue
        placed = board(game, game.apply(game.initial(), action))
        added = [(r, c) for r in range(rows) for c in range(cols)
                 if placed[r][c] == "X" and before[r][c] == ""]
        if layout(game) == "cells":
            assert added == [tuple(drawn[action])], (name, action)
        else:
            assert layout(game) == "columns", name
            assert [c for _, c in added] == [action], (name, action)


@pytest.mark.parametrize("name, cols, rows", [
    ("go9", list("abcdefghj"), [str(n) for n in range(9, 0, -1)]),
    ("othello", list("abcdefgh"), [str(n) for n in range(1, 9)]),
    ("tictactoe", [], []), ("connect4", [], [])])
def test_the_edge_labels_are_read_off_the_names_of_the_cells(name, cols, rows):
    assert describe_game(games.get(name))["labels"] == {"cols": cols, "rows": rows}


def test_a_go9_game_is_drawn_with_a1_at_the_lower_left():
    """The top-left point played is a9; the engine's reply lands where its name says; pass is
    a move."""
    with TestClient(make_app(GO, mcts_player(GO, 50))) as client:
        info = client.get("/api/game").json()
        assert drawn_at(info, 0, 0) == "a9" and info["cells"][GO.pass_action] is None
        game = new_game(client)
        assert "pass" in game["legal"]
        game = client.post(f"/api/games/{game['id']}/move", json={"move": "a9"}).json()
        reply = game["engine"]["move"]
        assert game["moves"] == f"a9 {reply}" and game["board"][0][0] == "X"
        if reply != "pass":
            column, row = "abcdefghj".index(reply[0]), int(reply[1:])
            assert game["board"][9 - row][column] == "O"
        assert sum(cell != "" for line in game["board"] for cell in line) == 1 + (reply != "pass")


def test_the_command_needs_its_extra_and_binds_to_loopback(monkeypatch, capsys):
    monkeypatch.setattr("engine.serve.MODULES", ("starlette", "no_such_module_zp"))
    assert exit_status("serve", "--game", "connect4", "--checkpoint", "builtin") == 1
    assert 'pip install "zeroplay[serve]"' in capsys.readouterr().err
    parser = cli.Parser(prog="zeroplay")
    add_serve(parser.add_subparsers())
    args = parser.parse_args(["serve", "--checkpoint", "builtin"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert exit_status("serve", "--checkpoint", "builtin", "--port", "70000") == 2


def test_the_socket_is_tcp_by_name_so_asyncio_sets_nodelay():
    """Else every answer on a kept-alive connection waits 40 ms for a delayed ACK."""
    with listen("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP


def test_a_port_in_use_is_one_line(capsys):
    with listen("127.0.0.1", 0) as taken:
        port = str(taken.getsockname()[1])
        taken.listen()
        assert exit_status("serve", "--game", "connect4", "--checkpoint", "builtin",
                       "--port", port) == 1
    assert capsys.readouterr().err == (f"zeroplay: error: cannot listen on 127.0.0.1:{port}: "
                                       "Address already in use\n")


def run_app(run_dir):
    """The app of a two-generation tic-tac-toe run made in run_dir (the builtin network saved
    as generations 0 and 2; one metrics record)."""
    ttt = games.get("tictactoe")
    builtin = resolve_checkpoint("builtin", ttt)
    (run_dir / "checkpoints").mkdir()
    for generation in (0, 2):
        shutil.copy(builtin, run_dir / "checkpoints" / f"gen_{generation:04d}.ckpt")
    write_metrics(run_dir, [{"generation": 1, "loss": math.nan, "strength": 0.5}])
    return make_app(ttt, load_player(ttt, builtin), run_dir=run_dir)


@pytest.fixture
def run_client(tmp_path):
    with TestClient(run_app(tmp_path)) as c:
        yield c, tmp_path


def write_metrics(run_dir, records) -> None:
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.writelines(json.dumps(record) + "\n" for record in records)


def test_a_run_curves_updating_and_its_generations_to_play(run_client):
    client, run_dir = run_client
    assert client.get("/api/game").json()["run"] is True
    run = client.get("/api/run").json()
    assert run["generation"] == [1] and run["generations"] == [0, 2]
    assert run["series"]["loss"] == [None] and run["series"]["strength"] == [0.5]
    write_metrics(run_dir, [{"generation": 2, "loss": 1.5,
                             "elo": {"random": [50.0, 0.0, math.inf]}}])
    run = client.get("/api/run").json()  # read again: a run in training adds generations
    assert run["series"]["loss"] == [None, 1.5] and run["series"]["strength"] == [0.5, None]
    assert run["series"]["elo vs random"] == [None, 50.0]
    game = new_game(client, generation=2, side="O")
    assert game["generation"] == 2 and len(game["moves"]) == 1
    missing = client.post("/api/games", json={"generation": 1})
    assert missing.status_code == 404 and "no generation 1" in missing.json()["error"]


def test_a_checkpoint_server_has_no_run(client):
    assert client.get("/api/run").status_code == 404
    refused = client.post("/api/games", json={"generation": 0})
    assert refused.status_code == 400 and "no --run-dir" in refused.json()["error"]
    assert exit_status("serve", "--checkpoint", "builtin", "--run-dir", "runs/x") == 2
