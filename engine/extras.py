"""Optional dependencies, installed as the package's extras (setup.cfg: plot, pettingzoo,
export, ray, serve): a command that needs one checks it before it starts its work, and names
the pip command that installs it."""
from __future__ import annotations

import importlib.util


def require(extra: str, modules: tuple[str, ...], what: str) -> None:
    """A ValueError naming the extra to install, unless every one of `modules` is installed."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"{what} needs {', '.join(missing)}, not installed: "
                         f'pip install "zeroplay[{extra}]"')
