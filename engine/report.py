"""An experiment's report: per-arm statistics over seeds (mean, interquartile mean, bootstrap
95% intervals: Agarwal et al. 2021's way, with one game a bootstrap over seeds), curves against
compute, a round-robin non-transitivity check, the literature's predictions checked against
the data, and the raw points as CSV."""
from __future__ import annotations

import csv
import io
import math
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

import games
from engine.checkpoint import atomic_write
from engine.rundir import read_metrics

# (metric, what it is): the scalar per-generation metrics the report follows
CURVES = (("strength", "optimal-move rate of the raw policy"),
          ("policy_entropy_probe", "policy entropy on the probe positions (nats)"),
          ("tail_share", "share of legal moves with probability < 0.01"),
          ("kl_from_start", "KL(policy || start policy) on the probe positions"),
          ("distinct_openings", "distinct openings (first 4 moves) per self-play game"),
          ("rare_opening_share", "share of games whose opening no other game played"),
          ("repeat_rate", "repeated whole games"),
          ("calibration_slope", "slope of the value head on exact values"),
          ("value_brier", "Brier score of the value head on exact values"),
          ("mean_game_length", "mean self-play game length (moves)"),
          ("proxy_score", "proxy's rating of the policy's moves on the probe positions"),
          ("proxy_agreement", "share of decisive games the proxy rates as the result does"))
AXES = (("evaluations_total", "network evaluations"), ("games_total", "self-play games"),
        ("train_steps_total", "gradient steps"))


def iqm(x) -> float:
    """Interquartile mean: the mean of the middle 50% (scipy's trim_mean at 25%)."""
    return float(stats.trim_mean(np.asarray(x, float), 0.25))


def interval(x, statistic=np.mean, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of statistic over the runs x (nan with < 2 runs)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if len(x) < 2 or np.all(x == x[0]):
        return (float(x[0]), float(x[0])) if len(x) else (math.nan, math.nan)
    result = stats.bootstrap((x,), statistic, n_resamples=10_000, method="percentile",
                             confidence_level=0.95, random_state=seed)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def value_at(points: list[dict], axis: str, metric: str, x: float) -> float:
    """metric linearly interpolated at axis = x along one run's records (nan outside it)."""
    xs = np.array([p[axis] for p in points if metric in p and axis in p], float)
    ys = np.array([p[metric] for p in points if metric in p and axis in p], float)
    if not len(xs) or x < xs[0] - 1e-9 or x > xs[-1] + 1e-9:
        return math.nan
    return float(np.interp(x, xs, ys))


def load_points(experiment, root: Path) -> dict:
    """arm -> seed -> the run's metric records, of the runs that have spent their budget (a
    report written while the grid runs leaves the others out)."""
    out = {}
    for arm in experiment.arms:
        for seed in experiment.seeds:
            records = read_metrics(experiment.run_dir(root, arm, seed) / "metrics.jsonl")
            if records and records[-1].get("evaluations_total", 0) >= experiment.evaluations:
                out.setdefault(arm, {})[seed] = records
    return out


def write_csv(points: dict, root: Path) -> Path:
    keys = sorted({k for runs in points.values() for recs in runs.values() for r in recs
                   for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["arm", "seed", *keys])
    for arm, runs in points.items():
        for seed, records in runs.items():
            for r in records:
                writer.writerow([arm, seed, *[r.get(k, "") for k in keys]])
    path = root / "points.csv"
    atomic_write(path, buf.getvalue().encode())
    return path


def summary_rows(points: dict, metric: str, axis: str | None) -> list[dict]:
    """Per arm, the metric at the end of each run (axis None) or at equal `axis` (the largest
    value every run of every arm reached): mean, IQM and the bootstrap interval of the mean."""
    at = None
    if axis is not None:
        ends = [recs[-1].get(axis, 0) for runs in points.values() for recs in runs.values()]
        at = min(ends) if ends else 0
    rows = []
    for arm, runs in points.items():
        values = [value_at(recs, axis, metric, at) if axis else
                  next((r[metric] for r in reversed(recs) if metric in r), math.nan)
                  for recs in runs.values()]
        values = np.array(values, float)
        finite = values[np.isfinite(values)]
        if not len(finite):
            continue
        low, high = interval(finite)
        rows.append({"arm": arm, "runs": len(finite), "mean": float(finite.mean()),
                     "iqm": iqm(finite), "low": low, "high": high, "at": at,
                     "values": finite})
    return rows


def curve(records_by_seed: dict, axis: str, metric: str, grid: np.ndarray) -> np.ndarray:
    """[seeds, len(grid)] the metric of each run interpolated on grid."""
    return np.array([[value_at(recs, axis, metric, x) for x in grid]
                     for recs in records_by_seed.values()])


def plot_curves(points: dict, root: Path, metrics, axis: str, name: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if any(m[0] in r for runs in points.values()
                                         for recs in runs.values() for r in recs)]
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    end = max(recs[-1].get(axis, 0) for runs in points.values() for recs in runs.values())
    grid = np.linspace(0, end, 60)
    for ax, (metric, label) in zip(axes.flat, metrics):
        for arm, runs in points.items():
            ys = curve(runs, axis, metric, grid)
            if not np.isfinite(ys).any():
                continue
            with warnings.catch_warnings():  # all-nan columns: no run reached that far
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(ys, axis=0)
                low, high = np.nanpercentile(ys, 25, axis=0), np.nanpercentile(ys, 75, axis=0)
            color = f"C{list(points).index(arm)}"
            ax.plot(grid, mean, label=arm, color=color)
            ax.fill_between(grid, low, high, alpha=0.2, color=color)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(dict(AXES).get(axis, axis), fontsize=8)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("mean over seeds, band: interquartile range of the seeds", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path = root / name
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path


def plot_proxy_against_kl(points: dict, root: Path) -> Path | None:
    """Proxy score and true strength against sqrt(KL from the start policy): Gao et al.'s axes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [a for a, runs in points.items()
            if any("proxy_score" in r and "kl_from_start" in r
                   for recs in runs.values() for r in recs)]
    if not arms:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for arm in arms:
        for i, recs in enumerate(points[arm].values()):
            d = [math.sqrt(max(r["kl_from_start"], 0)) for r in recs if "proxy_score" in r]
            axes[0].plot(d, [r["proxy_score"] for r in recs if "proxy_score" in r],
                         color=f"C{arms.index(arm)}", alpha=0.6, label=arm if i == 0 else None)
            axes[1].plot(d, [r["strength"] for r in recs if "proxy_score" in r],
                         color=f"C{arms.index(arm)}", alpha=0.6, label=arm if i == 0 else None)
    axes[0].set_title("proxy score of the policy's moves", fontsize=9)
    axes[1].set_title("true strength (optimal-move rate)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("d = sqrt(KL(policy || start policy))", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    path = root / "proxy_vs_kl.png"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path


# ---- non-transitivity -----------------------------------------------------------------------

def cyclic_triples(scores: np.ndarray) -> int:
    """Rock-paper-scissors triples of a round-robin: i beats j, j beats k, k beats i (each a
    score above 0.5; scores[i, j] is i's score against j)."""
    n, count = len(scores), 0
    beats = scores > 0.5
    for i in range(n):
        for j in range(i + 1, n):
            for k in range(j + 1, n):
                if (beats[i, j] and beats[j, k] and beats[k, i]) or (
                        beats[j, i] and beats[k, j] and beats[i, k]):
                    count += 1
    return count


def cyclic_share(scores: np.ndarray) -> float:
    """The cyclic part of a round-robin's logit matrix Y (HodgeRank, Balduzzi et al. 2018):
    ||Y - (s_i - s_j)||^2 / ||Y||^2 with s the row means of Y; 0 for a transitive ranking."""
    p = np.clip(scores, 0.02, 0.98)
    y = np.log(p / (1 - p))
    np.fill_diagonal(y, 0.0)
    s = y.mean(axis=1)
    residual = y - (s[:, None] - s[None, :])
    total = float((y ** 2).sum())
    return float((residual ** 2).sum() / total) if total > 0 else 0.0


def round_robin(experiment, run_dir: Path, seed: int) -> tuple[list[int], np.ndarray] | None:
    """(generations, scores [k, k]) of a round-robin of k evenly spaced saved generations of a
    run, raw policies (argmax) from random openings, both colours; None with fewer than 3."""
    from engine.arena import play_pairs
    from engine.players import network_player
    from engine.rundir import kept_checkpoint

    saved = sorted(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("gen_*.ckpt"))
    saved = [g for g in saved if g > 0]
    k = min(experiment.round_robin_generations, len(saved))
    if k < 3:
        return None
    chosen = [saved[int(round(i))] for i in np.linspace(0, len(saved) - 1, k)]
    game = games.get(experiment.game)
    players = [network_player(game, kept_checkpoint(run_dir, g), 0, seed) for g in chosen]
    scores = np.full((k, k), 0.5)
    opening = 2 if game.max_moves > 9 else 1
    for i in range(k):
        for j in range(i + 1, k):
            result = play_pairs(game, players[i], players[j],
                                experiment.round_robin_games // 2, opening, seed + 31 * i + j)
            scores[i, j], scores[j, i] = result.score, 1 - result.score
    return chosen, scores


# ---- the report -----------------------------------------------------------------------------

def _fmt(row) -> str:
    f = ".1f" if abs(row["mean"]) >= 10 else ".3f"  # Elo and lengths: no false precision
    return (f"| {row['arm']} | {row['runs']} | {row['mean']:{f}} | {row['iqm']:{f}} | "
            f"[{row['low']:{f}}, {row['high']:{f}}] |")


def _table(points, metric, axis, title) -> list[str]:
    rows = summary_rows(points, metric, axis)
    if not rows:
        return []
    at = f" at {rows[0]['at']:,.0f} {dict(AXES)[axis]}" if axis else " at the end of each run"
    return [f"**{title}**{at}", "", "| arm | runs | mean | IQM | 95% CI of the mean |",
            "| --- | --- | --- | --- | --- |", *[_fmt(r) for r in rows], ""]


def _spearman_share(points, arm, metric) -> tuple[int, int, float]:
    """(runs whose metric falls over the generations (Spearman rho < 0), runs, median rho)."""
    rhos = []
    for recs in points.get(arm, {}).values():
        ys = [r[metric] for r in recs if metric in r]
        if len(ys) >= 3 and np.ptp(ys) > 0:
            rhos.append(stats.spearmanr(np.arange(len(ys)), ys).statistic)
    return sum(r < 0 for r in rhos), len(rhos), float(np.median(rhos)) if rhos else math.nan


def _arms_of(experiment, kind: str) -> list[str]:
    return [a for a in experiment.arms
            if experiment.config(a, experiment.seeds[0]).learner.kind == kind]


def predictions(experiment, points, transitivity) -> list[str]:
    """The literature's predictions (../shared/research/literature.md, section 6) against the
    data: each with the numbers and a verdict from the intervals."""
    lines = ["## The literature's predictions against these data", ""]

    def final(arm, metric):
        rows = [r for r in summary_rows(points, metric, None) if r["arm"] == arm]
        return rows[0] if rows else None

    for arm in _arms_of(experiment, "no_critic"):
        for metric in ("policy_entropy_probe", "distinct_openings", "rare_opening_share"):
            falls, runs, rho = _spearman_share(points, arm, metric)
            if runs:
                lines.append(f"- {arm}: {metric} falls over the generations in {falls} of "
                             f"{runs} runs (median Spearman rho {rho:+.2f}): "
                             f"{'supported' if falls > runs / 2 else 'not supported'}.")
    for arm in _arms_of(experiment, "noisy_critic"):
        p = experiment.config(arm, experiment.seeds[0]).learner.flip_probability
        row = final(arm, "calibration_slope")
        if row:
            inside = row["low"] <= 1 - 2 * p <= row["high"]
            lines.append(f"- {arm} (p = {p}): final calibration slope {row['mean']:.3f} "
                         f"[{row['low']:.3f}, {row['high']:.3f}] against 1 - 2p = {1 - 2 * p:.2f}"
                         f": {'supported' if inside else 'refuted'} (interval "
                         f"{'contains' if inside else 'excludes'} it).")
    for arm in _arms_of(experiment, "proxy_critic"):
        peaks, rises, runs = 0, 0, 0
        for recs in points.get(arm, {}).values():
            strength = [r["strength"] for r in recs if "strength" in r]
            proxy = [r["proxy_score"] for r in recs if "proxy_score" in r]
            if len(strength) < 3 or len(proxy) < 3:
                continue
            runs += 1
            top = int(np.argmax(strength))
            peaks += 0 < top < len(strength) - 1 and strength[-1] < strength[top] - 0.01
            rises += stats.spearmanr(np.arange(len(proxy)), proxy).statistic > 0
        if runs:
            lines.append(f"- {arm}: the proxy's score rises over the generations in {rises} of "
                         f"{runs} runs; true strength peaks before the end and falls (by > 1 "
                         f"point) in {peaks} of {runs}: "
                         f"{'supported' if rises > runs / 2 and peaks > runs / 2 else 'not supported'}.")
    alphazero, no_critic = _arms_of(experiment, "alphazero"), _arms_of(experiment, "no_critic")
    for star in _arms_of(experiment, "star"):
        s = final(star, "strength")
        a = final(alphazero[0], "strength") if alphazero else None
        n = final(no_critic[0], "strength") if no_critic else None
        if s and a and n:
            below = s["high"] < a["low"]
            above = s["low"] > n["high"]
            lines.append(f"- {star}: final strength {s['mean']:.3f} [{s['low']:.3f}, "
                         f"{s['high']:.3f}] against {alphazero[0]} {a['mean']:.3f} and "
                         f"{no_critic[0]} {n['mean']:.3f} at equal evaluations: below alphazero "
                         f"{'yes' if below else 'not shown'}, above no_critic "
                         f"{'yes' if above else 'not shown'} (intervals).")
        falls, runs, rho = _spearman_share(points, star, "distinct_openings")
        if runs:
            others = {a2: _spearman_share(points, a2, "distinct_openings")[2]
                      for a2 in points if a2 != star}
            fastest = all(rho <= r for r in others.values() if not math.isnan(r))
            lines.append(f"- {star}: opening diversity's median Spearman rho {rho:+.2f} "
                         f"(others: {', '.join(f'{k} {v:+.2f}' for k, v in others.items())}): "
                         f"loses diversity fastest {'yes' if fastest else 'no'}.")
    if transitivity:
        shares = {arm: np.mean([t["cyclic_share"] for t in ts]) for arm, ts in transitivity.items()}
        lines.append("- cyclic share of the generations' round-robin (0 = transitive): "
                     + ", ".join(f"{arm} {v:.3f}" for arm, v in shares.items())
                     + (f"; alphazero below no_critic and proxy_critic: "
                        + ("supported" if alphazero and all(
                            shares.get(alphazero[0], 1) < shares.get(x, -1)
                            for x in _arms_of(experiment, "no_critic")
                            + _arms_of(experiment, "proxy_critic")) else "not supported")))
    lines.append("")
    return lines


def write_report(experiment, root: Path, quiet: bool = False) -> Path:
    """report.md, points.csv, round_robin.csv and the plots of an experiment directory."""
    points = load_points(experiment, root)
    if not points:
        raise ValueError(f"{root}: no run has spent its budget yet")
    write_csv(points, root)
    plot_curves(points, root, CURVES, "evaluations_total", "curves_by_evaluations.png")
    plot_curves(points, root, CURVES[:1], "games_total", "strength_by_games.png")
    plot_curves(points, root, CURVES[:1], "train_steps_total", "strength_by_steps.png")
    plot_proxy_against_kl(points, root)
    transitivity, rr_rows = {}, []
    for arm, runs in points.items():
        for seed in runs:
            found = round_robin(experiment, experiment.run_dir(root, arm, seed), seed)
            if found is None:
                continue
            chosen, scores = found
            transitivity.setdefault(arm, []).append(
                {"cyclic_share": cyclic_share(scores), "triples": cyclic_triples(scores)})
            rr_rows.append([arm, seed, " ".join(map(str, chosen)),
                            transitivity[arm][-1]["triples"],
                            f"{transitivity[arm][-1]['cyclic_share']:.4f}"])
    buf = io.StringIO()
    csv.writer(buf).writerows([["arm", "seed", "generations", "cyclic_triples", "cyclic_share"],
                               *rr_rows])
    atomic_write(root / "round_robin.csv", buf.getvalue().encode())
    lines = [f"# Experiment report: {experiment.game}", "",
             f"Arms: {', '.join(experiment.arms)}; seeds: "
             f"{', '.join(map(str, experiment.seeds))}; budget: {experiment.evaluations:,} "
             "self-play network evaluations per run. Runs reported (those that have spent "
             "their budget): "
             + ", ".join(f"{arm} {len(runs)}" for arm, runs in points.items()) + ".", "",
             "Intervals: 95% percentile bootstrap of the mean over seeds (10,000 resamples); "
             "IQM: interquartile mean (Agarwal et al. 2021). With one game, the stratified "
             "bootstrap is a bootstrap over seeds.", "",
             "## Strength (optimal-move rate of the raw policy on the probe positions)", ""]
    lines += _table(points, "strength", None, "Final strength")
    lines += _table(points, "strength", "evaluations_total", "Strength at equal compute")
    lines += _table(points, "strength", "games_total", "Strength at equal games")
    lines += _table(points, "strength", "train_steps_total", "Strength at equal gradient steps")
    anchors = sorted({a for runs in points.values() for recs in runs.values() for r in recs
                      for a in r.get("elo", {})})
    for anchor in anchors:  # Elo against a fixed anchor: rated at the end of each run
        for runs in points.values():
            for recs in runs.values():
                for r in recs:
                    if anchor in r.get("elo", {}):
                        r[f"elo_{anchor}"] = r["elo"][anchor][0]
        lines += _table(points, f"elo_{anchor}", None, f"Elo against the anchor {anchor}")
    lines += ["## Collapse, diversity and calibration (end of each run)", ""]
    for metric, label in CURVES[1:]:
        lines += _table(points, metric, None, label)
    spend = summary_rows(points, "evaluations_total", None)
    lines += ["## Spend", "", "| arm | evaluations (mean) | games (mean) | gradient steps (mean) |",
              "| --- | --- | --- | --- |"]
    for row in spend:
        games_row = next(r for r in summary_rows(points, "games_total", None)
                         if r["arm"] == row["arm"])
        steps_row = next(r for r in summary_rows(points, "train_steps_total", None)
                         if r["arm"] == row["arm"])
        lines.append(f"| {row['arm']} | {row['mean']:,.0f} | {games_row['mean']:,.0f} | "
                     f"{steps_row['mean']:,.0f} |")
    lines += ["", "## Non-transitivity (round-robin of saved generations)", "",
              "| arm | runs | cyclic triples (mean) | cyclic share (mean) |",
              "| --- | --- | --- | --- |"]
    for arm, ts in transitivity.items():
        lines.append(f"| {arm} | {len(ts)} | {np.mean([t['triples'] for t in ts]):.2f} | "
                     f"{np.mean([t['cyclic_share'] for t in ts]):.3f} |")
    lines += ["", *predictions(experiment, points, transitivity),
              "Files: points.csv (every generation of every run), round_robin.csv, "
              "curves_by_evaluations.png, strength_by_games.png, strength_by_steps.png"
              + (", proxy_vs_kl.png" if (root / "proxy_vs_kl.png").exists() else "") + ".", ""]
    path = root / "report.md"
    atomic_write(path, "\n".join(lines).encode())
    if not quiet:
        print(f"report: {path}", file=sys.stderr)
    return path
