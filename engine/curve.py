"""Learning curve of a run: each generation's checkpoint scored against perfect play, and the
Elo of the promoted networks, against minutes of training."""
from __future__ import annotations

import math
import re
from pathlib import Path

import games
from tqdm import tqdm

from engine import rundir
from engine.arena import describe_elo, rating_basis
from engine.players import network_player
from engine.strength import has_scored_positions, measure

GEN = re.compile(r"^gen_(\d{4})\.ckpt$")


def read_metrics(run_dir: Path) -> list[dict]:
    """The checked records of metrics.jsonl, without a line torn by a kill (a resume drops it
    too); a damaged file is a RunError naming it (engine.rundir.read_metrics)."""
    return rundir.read_metrics(run_dir / "metrics.jsonl")


def score_generations(run_dir: Path, game: str, simulations: list[int], every: int = 1,
                      data_file: str | None = None) -> list[dict]:
    """Optimal-move rates of every `every`-th generation checkpoint and the last one, with
    their minutes; for a game without scored positions (and no data_file), the rated
    generations with their minutes only: its curve is its Elo."""
    if data_file is None and not has_scored_positions(game):
        return [{"generation": r["generation"], "minutes": r.get("minutes")}
                for r in read_metrics(run_dir) if "elo" in r]
    minutes = {r["generation"]: r.get("minutes") for r in read_metrics(run_dir)}
    folder = run_dir / "checkpoints"
    checkpoints = {int(m.group(1)): path for path in (folder.iterdir() if folder.is_dir() else ())
                   if (m := GEN.match(path.name))}
    last = max(checkpoints, default=None)
    chosen = [(g, path) for g, path in sorted(checkpoints.items()) if g % every == 0 or g == last]
    rows = []
    for gen, path in tqdm(chosen, unit="checkpoint", leave=False, disable=None):
        row = {"generation": gen, "minutes": 0.0 if gen == 0 else minutes.get(gen)}
        for sims in simulations:
            rate, _ = measure(game, network_player(games.get(game), path, sims), data_file)
            row[f"optimal_{sims}"] = rate
        rows.append(row)
    return rows


def table(rows: list[dict], run_dir: Path) -> str:
    """The scored generations, one a line: minutes, optimal-move rates and, where the
    generation was rated, its Elo against each anchor (95%), with the games and simulations
    behind it."""
    elo = {r["generation"]: r["elo"] for r in read_metrics(run_dir) if "elo" in r}
    anchors = sorted({a for ratings in elo.values() for a in ratings})
    rates = [k for k in rows[0] if k.startswith("optimal_")]  # none: Elo only
    names = ["raw policy" if k == "optimal_0" else f"{k.split('_')[1]} sims" for k in rates]
    header = ["generation", "minutes", *names, *(f"Elo vs {a}" for a in anchors)]
    lines = [header]
    for row in rows:
        minutes = "" if row["minutes"] is None else f"{row['minutes']:.1f}"
        ratings = elo.get(row["generation"], {})
        lines.append([str(row["generation"]), minutes, *(f"{row[k]:.1%}" for k in rates),
                      *(describe_elo(*ratings[a]) if a in ratings else "" for a in anchors)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths)).rstrip()
                     for line in lines)
    if not anchors:
        return text
    basis = rating_basis(rundir.read_config(run_dir).arena)
    return (f"{text}\nElo: 95% intervals, {basis} against each anchor (mctsN: pure MCTS "
            f"of N simulations)")


def elo_points(run_dir: Path) -> list[tuple[float, str, float, float, float]]:
    """(minutes, anchor, elo, low, high) of every promotion in metrics.jsonl."""
    points = []
    for record in read_metrics(run_dir):
        for anchor, (elo, lo, hi) in record.get("elo", {}).items():
            if "minutes" in record:
                points.append((record["minutes"], anchor, elo, lo, hi))
    return points


def plot(rows: list[dict], elo: list, title: str, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [k for k in rows[0] if k.startswith("optimal_")]
    if rates:
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    else:  # a game without scored positions: its Elo only
        fig, bottom = plt.subplots(figsize=(7, 4))
        bottom.set_title(title)
    for key in rates:
        sims = key.split("_")[1]
        label = "raw policy" if sims == "0" else f"{sims} simulations"
        top.plot([r["minutes"] for r in rows], [100 * r[key] for r in rows], "o-", label=label)
    if rates:
        top.set_ylabel("optimal moves (%)")
        top.legend()
        top.grid(alpha=0.3)
        top.set_title(title)
    draw_elo(bottom, elo)
    bottom.set_xlabel("minutes of training")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def draw_elo(axes, elo: list) -> None:
    """Each anchor's Elo points on `axes`, joined by a line: a measured point as a dot with its
    interval; a match won (lost) in every game has no upper (lower) end, and its point, the
    interval's finite end, is a floor (ceiling): a hollow triangle pointing up (down)."""
    shown = set()
    for anchor in sorted({p[1] for p in elo}):
        pts = [p for p in elo if p[1] == anchor]
        line, = axes.plot([p[0] for p in pts], [p[2] for p in pts], "-")
        colour = line.get_color()
        measured = [p for p in pts if math.isfinite(p[3]) and math.isfinite(p[4])]
        axes.errorbar([p[0] for p in measured], [p[2] for p in measured],
                      yerr=[[p[2] - p[3] for p in measured], [p[4] - p[2] for p in measured]],
                      fmt="o", color=colour, capsize=2, label=f"vs {anchor}")
        for marker, end in (("^", 4), ("v", 3)):  # no upper end, no lower end
            bounded = [p for p in pts if math.isinf(p[end])]
            if bounded:
                axes.plot([p[0] for p in bounded], [p[2] for p in bounded], marker,
                          color=colour, markersize=10, markerfacecolor="white")
                shown.add(marker)
    for marker, text in (("^", "every game won: at least this"),
                         ("v", "every game lost: at most this")):
        if marker in shown:  # one grey legend entry for each kind of bound
            axes.plot([], [], marker, color="grey", markerfacecolor="white", label=text)
    axes.set_ylabel("Elo of the promoted network")
    axes.legend()
    axes.grid(alpha=0.3)
