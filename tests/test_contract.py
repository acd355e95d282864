"""The game contract (games/interface.py): the registry, notation, and the checks that catch a
game breaking it."""
import dataclasses
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import games
from games import GameError
from games.check import check_game

TICTACTOE = games.get("tictactoe")


def test_the_registry_finds_every_game_module():
    """A file of games/ that defines NAME (one game) or GAMES (several) is registered, and
    nothing else is: no list to edit."""
    folder = Path(games.__file__).parent
    modules = [f.stem for f in folder.glob("*.py")
               if re.search(r"^(NAME|GAMES) = ", f.read_text(), re.M)]
    defined = set()
    for stem in modules:
        module = importlib.import_module(f"games.{stem}")
        defined |= ({g.name for g in module.GAMES} if hasattr(module, "GAMES")
                    else {module.NAME})
    assert {"gomoku", "gomoku9", "go9", "othello"} <= defined  # GAMES and NAME modules alike
    assert set(games.names()) == defined
    for name in games.names():
        assert games.get(name).name == name


def test_multi_character_names_are_separated_by_spaces_or_commas():
    game = dataclasses.replace(TICTACTOE, move_names=tuple(f"c{i}" for i in range(1, 10)))
    assert game.separator == " " and TICTACTOE.separator == ""
    assert game.parse_moves(" c1 C5,c9 ") == [0, 4, 8]
    assert game.format_moves([0, 4, 8]) == "c1 c5 c9"
    assert game.parse_move("C5") == 4
    try:
        game.parse_moves("c1 c10")
    except GameError as e:
        assert "bad move 'c10' at position 2" in str(e)
    else:
        raise AssertionError("c10 was read")


def test_check_reports_a_kernel_of_the_wrong_dtype():
    wrong = dataclasses.replace(TICTACTOE,
                                outcomes=lambda s: TICTACTOE.outcomes(s).astype(np.int64))
    assert any("outcomes returns int64, not int8" in p for p in check_game(wrong, n_games=5))


def test_check_reports_planes_not_from_the_movers_view():
    def encode(states, out):
        TICTACTOE.encode(states, out)
        out[:, [0, 1]] = out[:, [1, 0]]

    problems = check_game(dataclasses.replace(TICTACTOE, encode=encode), n_games=5)
    assert any("planes are not from the mover's view" in p for p in problems)


def test_check_reports_a_pass_that_changes_stones():
    """Calling a stone-placing action the pass is caught: a pass changes no stone."""
    problems = check_game(dataclasses.replace(TICTACTOE, pass_action=4), n_games=20)
    assert any("planes are not from the mover's view" in p for p in problems)


def test_check_reports_a_win_for_the_player_to_move_only_in_a_line_game():
    flipped = dataclasses.replace(TICTACTOE, outcomes=lambda s: np.where(
        TICTACTOE.outcomes(s) == -1, 1, TICTACTOE.outcomes(s)).astype(np.int8))
    assert any("already won" in p for p in check_game(flipped, n_games=20))
    scored = dataclasses.replace(flipped, scored=True)
    assert not any("already won" in p for p in check_game(scored, n_games=20))


@pytest.mark.slow
@pytest.mark.parametrize("name", games.names())
def test_every_game_trains_a_generation_with_its_default_config(name, tmp_path, capsys):
    from engine.cli import main
    from test_progress import SETS  # a tiny run: 8 games of 4 simulations, 2 steps

    run_dir = tmp_path / "run"
    assert main(["train", "--game", name, "--run-dir", str(run_dir), "--generations", "1",
                 "--quiet", *SETS]) == 0
    assert (run_dir / "best.ckpt").is_file() and "8 games" in capsys.readouterr().out
