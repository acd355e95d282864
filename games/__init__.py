"""Game registry: `games.get("connect4")`, `games.names()`. Importing registers the gymnasium ids."""
from games import connect4, tictactoe
from games.interface import ONGOING, Game, GameError

_REGISTRY = {m.NAME: Game.from_module(m) for m in (tictactoe, connect4)}


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> Game:
    """The game called `name`; GameError naming the known games otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise GameError(f"unknown game {name!r}: known games are {', '.join(names())}") from None


def solver(name: str):
    """The perfect solver of game `name` (module `games.<name>_solver`: solve, move_scores,
    UNSOLVED, ILLEGAL), imported on first request; None when the game has none."""
    import importlib.util

    get(name)  # GameError for an unknown game
    module = f"games.{name}_solver"
    return importlib.import_module(module) if importlib.util.find_spec(module) else None


__all__ = ["ONGOING", "Game", "GameError", "get", "names", "solver"]

# gymnasium ids (the entry point is imported only by gymnasium.make)
import gymnasium as _gym  # noqa: E402

for _id, _game in (("zeroplay/TicTacToe-v0", "tictactoe"), ("zeroplay/ConnectFour-v0", "connect4")):
    if _id not in _gym.registry:
        _gym.register(id=_id, entry_point="games.env:GameEnv", kwargs={"game": _game})
