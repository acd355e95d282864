"""GNU Go against zeroplay over GTP: complete 9x9 games without a protocol error, and our
Tromp-Taylor score equal to GNU Go's final_score on every finished game; `gnugo:LEVEL` in
`evaluate`, and its bad input. Debian's gnugo is installed here where it is missing (as root);
the tests that need it skip, saying why, only where it cannot be installed."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import games
from engine.cli import main
from engine import gnugo, sgf
from engine.gtp import GtpClient
from games import ONGOING

GO = games.get("go9")


@pytest.fixture(scope="session")
def gnugo_binary() -> str:
    """GNU Go's executable: `apt-get install gnugo` first where it is missing and we are root."""
    try:
        return gnugo.binary()
    except ValueError:
        pass
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("GNU Go is not installed, and apt-get cannot install it here (not root)")
    for command in (["apt-get", "install", "-y", "-q", "gnugo"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "gnugo"]):
        subprocess.run(command, capture_output=True, timeout=900,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if shutil.which("gnugo") or gnugo.DEBIAN_PATH.exists():
            return gnugo.binary()
    pytest.skip("GNU Go is not installed, and apt-get install gnugo failed")


def referee(board: GtpClient, players: dict, scorer: GtpClient, opening: int, rng) -> dict:
    """One complete game on zeroplay's board (`board`, a `zeroplay gtp` process): `opening`
    random moves, then each colour's moves from its player, {"b": (client, its genmove
    command), "w": ...}; every move is sent to every program that did not make it. GNU Go's
    command is kgs-genmove_cleanup: it captures the stones it judges dead before it passes. The
    game ends as go9's does: two passes in a row, or MAX_MOVES moves. Then the board's
    final_score and that of `scorer`, a GNU Go."""
    clients = {id(c): c for c in [board] + [c for c, _ in players.values()]}.values()
    for client in clients:
        for command in ("boardsize 9", "clear_board", "komi 7.5"):
            client.send(command)
    moves, state = [], GO.initial()
    while GO.outcome(state) == ONGOING:
        colour = "bw"[len(moves) % 2]
        mover, genmove = players[colour]
        if len(moves) < opening:
            mover = None
            vertex = GO.format_move(int(rng.choice(np.flatnonzero(GO.legal(state)[:-1]))))
        else:
            vertex = mover.send(f"{genmove} {colour}").lower()
        for client in clients:
            if client is not mover:
                client.send(f"play {colour} {vertex}")
        moves.append(GO.parse_move(vertex))
        state = GO.apply(state, moves[-1])  # every move checked against go9's rules too
    ours, theirs = board.send("final_score"), scorer.send("final_score")
    assert ours == sgf.score_text(float(sgf.board(GO).score(state)))
    return {"moves": len(moves), "ours": ours, "gnugo": theirs,
            "dead": scorer.send("final_status_list dead").split()}


def gnugo_client(binary: str, level: int, seed: int) -> GtpClient:
    return GtpClient([binary, "--mode", "gtp", "--level", str(level), "--chinese-rules",
                      "--positional-superko", "--never-resign", "--seed", str(seed)],
                     f"GNU Go {level}")


def play_games(binary: str, against: int, between: int, player: list[str],
               cleanup: str = "kgs-genmove_cleanup") -> list[dict]:
    """`against` games of `zeroplay gtp --game go9 PLAYER...` against GNU Go level 1, colours
    alternating, then `between` games of GNU Go level 1 against level 3 on zeroplay's board
    (contested to the end, as zeroplay's are not), each after 4 random moves; GNU Go's moves
    from `cleanup`."""
    ours = GtpClient([sys.executable, "-m", "engine", "gtp", "--game", "go9", *player],
                     "zeroplay")
    weak, strong = gnugo_client(binary, 1, 1), gnugo_client(binary, 3, 2)
    rng = np.random.default_rng(0)
    try:
        played = [referee(ours, {"bw"[i % 2]: (ours, "genmove"), "wb"[i % 2]: (weak, cleanup)},
                          weak, 4, rng) for i in range(against)]
        return played + [referee(ours, {"bw"[i % 2]: (weak, cleanup),
                                        "wb"[i % 2]: (strong, cleanup)}, weak, 4, rng)
                         for i in range(between)]
    finally:
        for client in (ours, weak, strong):
            client.close()


def mcts(simulations: int) -> list[str]:
    return ["--mcts-rollouts", "--simulations", str(simulations)]


def test_gtp_games_with_gnugo_are_complete_and_scored_alike(gnugo_binary):
    played = play_games(gnugo_binary, 1, 1, mcts(16))
    assert all(g["ours"] == g["gnugo"] for g in played), played
    assert all(g["ours"][2:] not in ("73.5", "88.5") for g in played[1:])  # contested boards


@pytest.mark.slow
def test_two_dozen_gtp_games_with_gnugo_are_scored_alike(gnugo_binary):
    played = play_games(gnugo_binary, 12, 12, mcts(64))
    disagreements = [g for g in played if g["ours"] != g["gnugo"]]
    print(f"{len(played) - len(disagreements)} of {len(played)} scores agree: {played}")
    assert not disagreements


def scored_alike_or_explained(game: dict) -> bool:
    """The two scores are equal; or they differ only as Tromp-Taylor and GNU Go's dead stones
    do: GNU Go calls stones dead that the network passed without capturing (Tromp-Taylor
    counts them alive), and both name the same winner."""
    return game["ours"] == game["gnugo"] or bool(game["dead"]) and \
        game["ours"][0] == game["gnugo"][0]


def test_the_shipped_go9_model_plays_gnugo_over_gtp_out_of_the_box(gnugo_binary):
    """`zeroplay gtp --game go9 --checkpoint builtin`: a game with each colour, complete, each
    move legal by go9's rules, and scored alike by both programs."""
    played = play_games(gnugo_binary, 2, 0, ["--checkpoint", "builtin"])
    assert all(scored_alike_or_explained(g) for g in played), played


@pytest.mark.slow
def test_a_dozen_games_of_the_shipped_go9_model_against_gnugo_are_scored_alike(gnugo_binary):
    played = play_games(gnugo_binary, 12, 0, ["--checkpoint", "builtin"])
    disagreements = [g for g in played if g["ours"] != g["gnugo"]]
    print(f"{len(played) - len(disagreements)} of {len(played)} scores agree: {played}")
    assert all(scored_alike_or_explained(g) for g in played), disagreements
    assert any(g["ours"][2:] not in ("73.5", "88.5") for g in played)  # some boards contested


@pytest.mark.slow
def test_with_genmove_alone_gnugo_passes_with_dead_stones_and_scores_disagree(gnugo_binary):
    """Why kgs-genmove_cleanup: GNU Go's genmove passes with dead stones on the board, which
    Tromp-Taylor counts alive and GNU Go's final_score dead."""
    played = play_games(gnugo_binary, 0, 12, mcts(1), cleanup="genmove")
    disagreements = [g for g in played if g["ours"] != g["gnugo"]]
    print(f"{len(played) - len(disagreements)} of {len(played)} scores agree: {played}")
    assert disagreements and all(g["dead"] for g in disagreements)


def test_evaluate_between_gnugo_levels_checks_every_game_s_score(gnugo_binary, tmp_path,
                                                                  capsys):
    out = tmp_path / "games"
    assert main(["evaluate", "--game", "go9", "gnugo:1", "gnugo:3", "--games", "2", "--json",
                 "--sgf", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["wins"] + result["draws"] + result["losses"] == 2
    assert [(c["games"], c["agreed"]) for c in result["gnugo_scores"]] == [(2, 2), (2, 2)]
    records = [sgf.load(GO, path) for path in sorted(out.iterdir())]
    assert {(r.black, r.white) for r in records} == {("gnugo:1", "gnugo:3"),
                                                      ("gnugo:3", "gnugo:1")}
    assert all(r.result[:2] in ("B+", "W+") for r in records)


@pytest.mark.slow
def test_a_ten_game_evaluate_match_against_gnugo_is_scored_alike(gnugo_binary, capsys):
    assert main(["evaluate", "--game", "go9", "mcts:64", "gnugo:1", "--games", "10",
                 "--opening-moves", "4", "--json"]) == 0
    (check,) = json.loads(capsys.readouterr().out)["gnugo_scores"]
    print(check)
    assert (check["games"], check["agreed"]) == (10, 10), check


def stones(state) -> dict[str, set[str]]:
    """The vertices of each colour's stones, read from go9's board text."""
    rows = GO.render(state).splitlines()[:-1]
    return {colour: {f"{'abcdefghj'[c]}{row.split()[0]}" for row in rows
                     for c, cell in enumerate(row.split()[1:]) if cell == mark}
            for colour, mark in (("black", "X"), ("white", "O"))}


def test_gnugo_opens_our_sgf_files_to_the_same_position(gnugo_binary, tmp_path):
    rng, client = np.random.default_rng(7), gnugo_client(gnugo_binary, 1, 1)
    try:
        for number in range(3):  # random games: captures, passes, some to the move cap
            state, moves = GO.initial(), []
            while GO.outcome(state) == ONGOING:
                moves.append(int(rng.choice(np.flatnonzero(GO.legal(state)))))
                state = GO.apply(state, moves[-1])
            path = tmp_path / f"game_{number}.sgf"
            sgf.save(GO, sgf.Record(moves, "a", "b", sgf.result_text(GO, state)), path)
            assert client.send(f"loadsgf {path}") == ("white" if len(moves) % 2 else "black")
            theirs = {colour: {v.lower() for v in client.send(f"list_stones {colour}").split()}
                      for colour in ("black", "white")}
            assert theirs == stones(state)
    finally:
        client.close()


@pytest.mark.parametrize("game, spec, problem", [
    ("go9", "gnugo:0", "bad player 'gnugo:0': GNU Go's LEVEL is an integer from 1 to 10"),
    ("go9", "gnugo:11", "bad player 'gnugo:11': GNU Go's LEVEL is an integer from 1 to 10"),
    ("go9", "gnugo:one", "bad player 'gnugo:one': GNU Go's LEVEL is an integer from 1 to 10"),
    ("go9", "gnugo", "bad player 'gnugo': GNU Go's LEVEL is an integer from 1 to 10"),
    ("gomoku9", "gnugo:1", "bad player 'gnugo:1': GNU Go plays Go, not gomoku9"),
    ("connect4", "gnugo:1", "bad player 'gnugo:1': GNU Go plays Go, not connect4"),
])
def test_a_bad_gnugo_player_is_one_line_and_nothing_is_written(game, spec, problem, tmp_path,
                                                                capsys):
    out = tmp_path / "games"
    assert main(["evaluate", "--game", game, "random", spec, "--games", "2"]
                + (["--sgf", str(out)] if game != "connect4" else [])) == 1
    assert capsys.readouterr().err == f"zeroplay: error: {problem}\n"
    assert not out.exists()


def test_without_gnugo_the_error_names_the_package(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(gnugo, "DEBIAN_PATH", tmp_path / "gnugo")
    assert main(["evaluate", "--game", "go9", "random", "gnugo:1", "--sgf",
                 str(tmp_path / "games")]) == 1
    assert capsys.readouterr().err == ("zeroplay: error: gnugo:LEVEL needs GNU Go, which is not "
                                       "installed: apt-get install gnugo\n")
    assert not (tmp_path / "games").exists()


def test_gnugo_s_scores_read_as_black_s_margin():
    assert [gnugo.parse_score(s) for s in ("B+3.5", "W+0.5", "0", "w+12")] == [3.5, -0.5, 0, -12]
    with pytest.raises(gnugo.GtpError, match=r"not a score: 'B\+R'"):
        gnugo.parse_score("B+R")
