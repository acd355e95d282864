"""Game registry: `games.get("connect4")`, `games.names()`. Importing registers the gymnasium ids.

Every module of this package that defines a game (see games/interface.py: `NAME`, or `GAMES`)
is registered: a new game is one new file, and no list names it.
"""
import importlib
import pkgutil

from games.interface import ONGOING, Game, GameError


def _discover() -> dict[str, Game]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_solver") or info.name in _NOT_GAMES:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "GAMES"):
            found.update((g.name, g) for g in module.GAMES)
        elif hasattr(module, "NAME"):
            found[module.NAME] = Game.from_module(module)
    return found


_NOT_GAMES = {"interface", "check", "env", "pettingzoo", "rng", "boards"}  # the package's tools
_REGISTRY = _discover()


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

for _game in _REGISTRY.values():
    if _game.gym_id not in _gym.registry:
        _gym.register(id=_game.gym_id, entry_point="games.env:GameEnv", kwargs={"game": _game.name})
