"""Docs a newcomer reads: the configuration reference and `zeroplay config` (its TOML reads
back as the same settings), the licence files."""
import configparser
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from engine.cli import main
from engine.config import load_config
from engine.reference import notes, reference_table, rows

ROOT = Path(__file__).resolve().parents[1]


def test_the_config_reference_is_the_table_of_every_setting_with_its_meaning():
    assert reference_table() in (ROOT / "docs" / "config.md").read_text()
    assert all(meaning for _, _, meaning, _ in rows())
    assert len(rows()) == sum(len(section) for name, section in
                              load_config("tictactoe").to_dict().items() if name != "game")


def test_a_field_s_note_is_its_own_comment_or_the_block_above_it():
    from engine.config import PipelineConfig, SelfPlayConfig

    pipeline = notes(PipelineConfig)
    assert pipeline["threads"] == "torch threads (0 = decide by measurement)"
    assert "0 = one per core of this machine" in pipeline["workers"]  # continued below
    assert pipeline["evaluations"].startswith("stop once self-play has spent")  # block above
    assert notes(SelfPlayConfig)["carry_over"].startswith("games still running")


@pytest.mark.parametrize("game", ["tictactoe", "connect4"])
def test_config_prints_a_toml_file_that_reads_back_as_the_same_settings(game, tmp_path,
                                                                         capsys):
    assert main(["config", "--game", game, "--set", "search.simulations=77"]) == 0
    text = capsys.readouterr().out
    tomllib.loads(text)
    path = tmp_path / "printed.toml"
    path.write_text(text)
    assert load_config(game, path) == load_config(game, overrides=["search.simulations=77"])
    assert "# residual blocks; an integer in [1, 64]\nblocks = " in text


def test_config_of_a_run_with_another_config_file_is_one_line(tmp_path, capsys):
    assert main(["config", "--run-dir", str(tmp_path), "--config", "x.toml"]) == 1
    assert capsys.readouterr().err.startswith("zeroplay: error: --config goes with --game")


def test_the_licence_file_matches_the_package_metadata():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    license = setup["metadata"]["license"]
    assert (ROOT / "LICENSE").read_text().startswith(f"{license} License\n")
    assert f"license: {license}\n" in (ROOT / "CITATION.cff").read_text()
