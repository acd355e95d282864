"""SGF records (engine/sgf.py): GTP vertices to SGF points on the corners, round trips of go9
and gomoku9 games, a file of another program's kind, and the files `evaluate --sgf` and a
training run write."""
import dataclasses
import re

import numpy as np
import pytest

import games
from engine.cli import main
from engine import sgf
from engine.config import load_config
from engine.pipeline import Pipeline
from games import ONGOING

CORNERS = {  # GTP vertex -> SGF point: SGF counts rows from the top, GTP from the bottom
    "go9": {"a1": "ai", "a9": "aa", "j1": "ii", "j9": "ia", "e5": "ee", "pass": ""},
    "gomoku9": {"a1": "ai", "a9": "aa", "j1": "ii", "j9": "ia", "e5": "ee"},
    "gomoku": {"a1": "ao", "a15": "aa", "p1": "oo", "p15": "oa", "h8": "hh"},
}


def random_game(game, seed: int) -> tuple[list[int], np.ndarray]:
    """The moves and final state of a uniformly random game."""
    rng, state, moves = np.random.default_rng(seed), game.initial(), []
    while game.outcome(state) == ONGOING:
        moves.append(int(rng.choice(np.flatnonzero(game.legal(state)))))
        state = game.apply(state, moves[-1])
    return moves, state


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_corners_and_centre_convert_both_ways(name):
    game = games.get(name)
    for vertex, point in CORNERS[name].items():
        action = game.parse_move(vertex)
        assert sgf.to_point(game, action) == point
        assert sgf.from_point(game, point) == action


def test_the_sgf_form_is_the_game_s_own_declaration_not_its_module_s_name():
    """engine code names no game: SGF's GM, RU and the score come from the game's contract
    (SGF_GAME, SGF_RULES, area_score), whatever module draws its board."""
    go = games.get("go9")
    copy = dataclasses.replace(go, name="go9 copy", render=lambda state: go.render(state))
    view = sgf.board(copy)
    assert (view.number, view.rules, view.komi) == (1, "Tromp-Taylor", 7.5)
    with pytest.raises(sgf.SgfError, match="go9 plain has no SGF or GTP form"):
        sgf.board(dataclasses.replace(go, name="go9 plain", sgf_game=None))
    declared = {name: games.get(name).sgf_game for name in games.names()
                if games.get(name).sgf_game is not None}
    assert declared == {"go9": 1, "gomoku": 4, "gomoku9": 4}


def test_a_pass_is_also_read_as_ff3_tt_and_a_bad_point_is_refused():
    go = games.get("go9")
    assert sgf.from_point(go, "tt") == go.pass_action
    with pytest.raises(sgf.SgfError, match="bad 9x9 point 'jj'"):
        sgf.from_point(go, "jj")
    with pytest.raises(sgf.SgfError, match="gomoku9 has no pass"):
        sgf.from_point(games.get("gomoku9"), "")


@pytest.mark.parametrize("name, seed", [("go9", 1), ("go9", 2), ("gomoku9", 3)])
def test_a_random_game_reads_back_as_the_same_moves_names_result_and_comments(name, seed):
    game = games.get(name)
    moves, final = random_game(game, seed)
    comments = {0: "value +0.10", len(moves) - 1: "the last ] move \\ here"}
    record = sgf.Record(moves, "zeroplay [net]", "GNU Go", sgf.result_text(game, final),
                        comments, "a match", "2026-11-30")
    text = sgf.write(game, record)
    assert text.startswith(f"(;FF[4]GM[{1 if name == 'go9' else 4}]CA[UTF-8]")
    assert "SZ[9]" in text and ("KM[7.5]RU[Tromp-Taylor]" in text) == (name == "go9")
    assert sgf.read(game, text) == record
    if game.pass_action in moves:
        assert "B[]" in text or "W[]" in text


def test_results_are_written_as_sgf_writes_them():
    go, gomoku = games.get("go9"), games.get("gomoku9")
    _, final = random_game(go, 1)
    margin = float(sgf.board(go).score(final))
    assert sgf.result_text(go, final) == f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"
    assert sgf.result_text(go, go.position("e5 pass pass")) == "B+73.5"  # 81 - 7.5
    assert sgf.result_text(go, go.position("pass pass")) == "W+7.5"
    assert sgf.result_text(go, go.position("e5"), resigned_by=1) == "B+R"
    assert sgf.result_text(go, go.position("e5")) == "?"
    assert sgf.result_text(gomoku, gomoku.position("a1 b1 a2 b2 a3 b3 a4 b4 a5")) == "B+"
    assert sgf.score_text(0) == "0"


# a 9x9 game as a GUI or server writes it: FF[3] and unknown properties, a pass as tt, escapes,
# a variation after move 3 (the main line is its first branch), a second game tree after it
FOREIGN = r"""
(;GM[1]FF[3]CA[UTF-8]AP[Sabaki:0.52.2]KM[7.5]SZ[9]DT[2024-05-01]HA[0]RU[Chinese]
PlayerBlack[alice]PW[bob \] the second]GN[club game]TM[600]OT[3x30 byo-yomi]RE[W+12.5]
C[a comment spanning \
two lines]
;B[ee]BL[595.1];W[cc]WL[590]C[a reply]
;B[gc](;W[tt];B[eg]TR[ef][eh];W[ge])(;W[cg];B[gg]))
(;GM[1]SZ[9];B[aa])
"""


def test_a_file_of_another_program_reads_its_main_line():
    go = games.get("go9")
    record = sgf.read(go, FOREIGN)
    assert go.format_moves(record.moves) == "e5 c7 g7 pass e3 g5"
    assert (record.black, record.white, record.result) == ("alice", "bob ] the second", "W+12.5")
    assert record.comment == "a comment spanning two lines"
    assert record.comments == {1: "a reply"}


@pytest.mark.parametrize("text, problem", [
    ("(;GM[4]SZ[9];B[ee])", "GM[4] is not go9 (GM[1])"),
    ("(;GM[1]SZ[19];B[ee])", "SZ[19]: go9 is played on 9x9"),
    ("(;GM[1];B[ee])", "SZ[19]"),  # SGF's default size for Go
    ("(;SZ[9]KM[6.5];B[ee])", "KM[6.5]: go9 is scored with komi 7.5"),
    ("(;SZ[9]AB[ee];W[cc])", "setup stones (AB, AW, AE) are not read"),
    ("(;SZ[9];B[ee];W[ee])", "move 2 (W[ee]): go9: illegal move e5"),
    ("(;SZ[9];B[ee];B[cc])", "move 2 is B's, but W is to play"),
    ("(;SZ[9];B[zz])", "move 1 (B[zz]): bad 9x9 point 'zz'"),
    ("no tree here", "not an SGF game tree"),
    ("(;SZ[9];B[ee]", "bad SGF at character"),
])
def test_a_file_that_does_not_fit_is_one_clear_error(text, problem):
    with pytest.raises(sgf.SgfError, match=re.escape(problem)):
        sgf.read(games.get("go9"), text)


@pytest.mark.parametrize("name", ["tictactoe", "connect4", "othello"])
def test_a_game_without_board_points_has_no_sgf_form(name):
    with pytest.raises(sgf.SgfError, match=f"{name} has no SGF or GTP form"):
        sgf.board(games.get(name))


def test_evaluate_writes_one_sgf_file_per_game(tmp_path, capsys):
    out = tmp_path / "games"
    assert main(["evaluate", "--game", "gomoku9", "random", "mcts:2", "--games", "4",
                 "--sgf", str(out)]) == 0
    assert capsys.readouterr().out.startswith("random vs mcts:2: ")
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"game_{i:03d}.sgf" for i in (1, 2, 3, 4)]
    game = games.get("gomoku9")
    records = [sgf.load(game, f) for f in files]
    assert {(r.black, r.white) for r in records} == {("random", "mcts:2"), ("mcts:2", "random")}
    for record in records:
        assert record.comment == "gomoku9: random against mcts:2; moves 1-2 random"
        final = game.position(game.format_moves(record.moves))
        assert game.outcome(final) != ONGOING and record.result == sgf.result_text(game, final)
    assert records[0].moves[:2] == records[2].moves[:2]  # a pair shares its random opening


def test_evaluate_sgf_for_a_game_without_board_points_is_one_line_and_writes_nothing(
        tmp_path, capsys):
    out = tmp_path / "games"
    assert main(["evaluate", "--game", "connect4", "random", "random", "--sgf", str(out)]) == 1
    assert capsys.readouterr().err == ("zeroplay: error: connect4 has no SGF or GTP form: its "
                                       "moves are not the points of a square board (as in Go "
                                       "and Gomoku)\n")
    assert not out.exists()


def test_a_run_keeps_its_first_self_play_games_of_each_generation_as_sgf(tmp_path):
    config = load_config("gomoku9", overrides=[
        "selfplay.games_per_generation=3", "selfplay.games_in_parallel=3",
        "search.simulations=4", "network.blocks=1", "network.channels=8",
        "trainer.steps_per_generation=1", "trainer.batch_size=8", "arena.gate=none",
        "arena.rating_games=0", "pipeline.generations=2", "pipeline.threads=1",
        "pipeline.workers=1", "pipeline.precision=fp32", "pipeline.layout=contiguous"])
    Pipeline(config, tmp_path, quiet=True).run()
    game = games.get("gomoku9")
    for generation in (1, 2):
        files = sorted((tmp_path / "sgf" / f"gen_{generation:04d}").iterdir())
        assert [f.name for f in files] == ["game_000.sgf", "game_001.sgf"]
        for f in files:
            record = sgf.load(game, f)
            assert record.black == record.white == f"zeroplay generation {generation}"
            final = game.position(game.format_moves(record.moves))
            assert record.result == sgf.result_text(game, final)
            opening = len(record.moves) - len(record.comments)  # the moves without a value
            assert 0 <= opening <= 2 and set(record.comments) == set(
                range(opening, len(record.moves)))
            assert all(c.startswith("value ") for c in record.comments.values())


def test_a_run_of_a_game_without_board_points_writes_no_sgf(tmp_path):
    config = load_config("tictactoe", overrides=[
        "selfplay.games_per_generation=2", "selfplay.games_in_parallel=2",
        "search.simulations=2", "network.blocks=1", "network.channels=8",
        "trainer.steps_per_generation=1", "trainer.batch_size=8", "arena.gate=none",
        "arena.rating_games=0", "pipeline.generations=1", "pipeline.threads=1",
        "pipeline.workers=1", "pipeline.precision=fp32", "pipeline.layout=contiguous"])
    Pipeline(config, tmp_path, quiet=True).run()
    assert (tmp_path / "state.json").exists() and not (tmp_path / "sgf").exists()
