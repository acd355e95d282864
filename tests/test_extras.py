"""Optional dependencies as the package's extras: a command that needs a missing one says, in
one line and before any work, which pip command installs it; `dev` (the tests' install) holds
them all."""
import configparser
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def without(monkeypatch):
    """without(module): make importlib find no such module."""
    def hide(module):
        find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == module else find_spec(name, *a))
    return hide


def test_experiment_without_matplotlib_is_one_line_before_any_run(tmp_path, capsys, without):
    without("matplotlib")
    experiment = tmp_path / "grid.toml"
    experiment.write_text('game = "tictactoe"\nseeds = [0]\nevaluations = 1000\n'
                          '[arms.a.learner]\nkind = "alphazero"\n')
    assert main(["experiment", str(experiment), "--dir", str(tmp_path / "exp")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == ('zeroplay: error: experiment needs matplotlib, not installed: '
                                 'pip install "zeroplay[plot]"\n')
    assert not (tmp_path / "exp").exists()


def test_the_pettingzoo_env_without_pettingzoo_names_its_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pettingzoo", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "games.pettingzoo", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "zeroplay\[pettingzoo\]"'):
        importlib.import_module("games.pettingzoo")


def test_the_dev_extra_holds_every_other_extra():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extras = {name: set(value.split()) for name, value in setup["options.extras_require"].items()}
    assert {"plot", "pettingzoo", "export", "ray", "serve"} <= extras.keys()
    assert "matplotlib>=3.6" not in setup["options"]["install_requires"]
    for name, requirements in extras.items():
        assert requirements <= extras["dev"], name
