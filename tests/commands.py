"""`zeroplay evaluate` as engine/evaluate.py defines it (--sgf, gnugo:LEVEL), through
engine.cli.main: until engine/cli.py imports that command in place of its own, `main` swaps it
in for the call."""
from unittest.mock import patch

from engine import cli, evaluate


def main(argv: list[str]) -> int:
    commands = [evaluate.add_evaluate if add is cli.add_evaluate else add for add in cli.COMMANDS]
    with patch.object(cli, "COMMANDS", commands):
        return cli.main(argv)
