"""The command line in this test's process."""
from engine.cli import main


def exit_status(*args: str) -> int:
    """`zeroplay ARGS`'s exit status, argparse's exits for bad options included."""
    try:
        return main(list(args))
    except SystemExit as e:
        return e.code
