"""An experiment's report: per-arm statistics over seeds (mean, interquartile mean, bootstrap
95% intervals: Agarwal et al. 2021's way, with one game a bootstrap over seeds), curves against
compute, a round-robin non-transitivity check, the literature's predictions judged by one
stated rule, the critic's gain split by where it enters (search, labels), where more seeds
would settle a verdict, and the raw points as CSV."""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
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
          ("kl_from_start", "KL(policy || generation 0's policy) on the probe positions"),
          ("distinct_openings", "distinct openings (first 4 moves) per self-play game"),
          ("rare_opening_share", "share of games whose opening no other game played"),
          ("repeat_rate", "repeated whole games"),
          ("calibration_slope", "slope of the value head's prediction on the exact result"),
          ("value_brier", "Brier score of the value head on the exact results"),
          ("mean_game_length", "mean self-play game length (moves)"),
          ("proxy_score", "proxy's rating of the policy's moves on the probe positions (each "
                          "arm's proxy)"),
          ("proxy_agreement", "share of decisive games the proxy rates as the result does"))
AXES = (("evaluations_total", "network evaluations"), ("games_total", "self-play games"),
        ("train_steps_total", "gradient steps"))
MIN_RUNS = 3  # fewest runs of an arm for a verdict: 2 runs' interval is their range
OPENING_METRICS = ("distinct_openings", "rare_opening_share", "repeat_rate")
RHO = (-1.0, 1.0)  # the range of Spearman's rho, and of a mean of rhos
ROUND_ROBIN_FILE = "round_robin.json"  # a run's round-robin, beside its metrics.jsonl
RELIABILITY_BINS = 10  # the bins a reliability plot pools runs' curves into (metrics' own)

RULE = ("Intervals: 95% percentile bootstrap of the mean over seeds (scipy.stats.bootstrap, "
        "10,000 resamples), each arm's seeds resampled on their own: rliable's stratified "
        "bootstrap, which with one game is a bootstrap over seeds. With few seeds it is too "
        "narrow: simulated on normal data, it covers the mean about 49% of the time with 2 "
        "seeds, 74% with 3, 84% with 5. No interval with 1 run (—). IQM: interquartile mean "
        "(scipy's trim_mean at 25%, as rliable); with fewer than 4 runs nothing is trimmed and "
        "it equals the mean. The predictions' verdicts (last section) use t intervals instead.")
VERDICTS = ("Rule for every verdict: a predicted direction is *supported* when the interval "
            "of its statistic excludes 0 on the predicted side, *refuted* when it excludes 0 on "
            "the other side, else *not settled*; a predicted value is *consistent* when the "
            "interval contains it, *refuted* when it excludes it; a prediction of several "
            "parts is refuted when one is, supported when all are. An arm with fewer than "
            f"{MIN_RUNS} runs gives no verdict; its numbers are printed all the same. The "
            "intervals here are 95% t intervals over seeds: Student's of one arm's mean, "
            "Welch's of the difference of two arms' means, Fieller's of the ratio of two "
            "(unbounded, so no verdict, when the divisor's mean is not clear of 0). With few "
            "seeds the bootstrap's percentile interval above is too narrow to judge by (of 3 "
            "runs it is their range, and it excludes a true difference of 0 about one time in "
            "five); t's intervals hold 95% of the time for seeds whose results scatter "
            "normally.")


# ---- statistics over seeds ----------------------------------------------------------------

def iqm(x) -> float:
    """Interquartile mean: the mean of the middle 50% (scipy's trim_mean at 25%)."""
    return float(stats.trim_mean(np.asarray(x, float), 0.25))


def mean(x, axis=-1):
    return np.mean(x, axis=axis)


def difference(a, b, axis=-1):
    """mean(a) - mean(b): two arms compared (their seeds are not paired)."""
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def improvement(a, b, axis=-1):
    """The probability of improvement (Agarwal et al. 2021): the share of pairs of runs, one
    of each arm, where a's run is above b's (ties half)."""
    a, b = np.asarray(a)[..., :, None], np.asarray(b)[..., None, :]
    return np.mean((a > b) + 0.5 * (a == b), axis=(-2, -1))


def ratio(a, b, axis=-1):
    return np.mean(a, axis=axis) / np.mean(b, axis=axis)


def gap_share(a, b, c, axis=-1):
    """(mean(a) - mean(b)) / (mean(a) - mean(c)): the share of the gap from c up to a that
    lies between b and a (arm b between the two)."""
    return difference(a, b, axis) / difference(a, c, axis)


def interval(*samples, statistic=mean, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of statistic over the runs of one or more arms, each
    arm's runs resampled on their own (rliable's stratified bootstrap); nan when an arm has
    fewer than 2 runs."""
    samples = [_finite(x) for x in samples]
    if any(len(x) < 2 for x in samples):
        return math.nan, math.nan
    if all(np.ptp(x) == 0 for x in samples):
        value = float(statistic(*samples))
        return value, value
    result = stats.bootstrap(samples, statistic, n_resamples=10_000, method="percentile",
                             confidence_level=0.95, vectorized=True, random_state=seed)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def t_interval(*samples, statistic=mean) -> tuple[float, float]:
    """95% t interval of statistic (mean, difference, ratio or gap_share) over the runs of
    one to three arms: Student's for one mean, Welch's for a difference, Fieller's (with the
    smallest arm's degrees of freedom) for a ratio or a gap's share, (-inf, inf) when the
    divisor is not clear of 0; nan when an arm has fewer than 2 runs."""
    samples = [_finite(x) for x in samples]
    if any(len(x) < 2 for x in samples):
        return math.nan, math.nan
    if statistic in (ratio, gap_share):
        return fieller(*samples)
    with warnings.catch_warnings():  # near-equal runs: scipy warns of precision, needlessly
        warnings.simplefilter("ignore", RuntimeWarning)
        if statistic is mean:
            ci = stats.ttest_1samp(samples[0], 0.0).confidence_interval(0.95)
        elif statistic is difference:
            ci = stats.ttest_ind(*samples, equal_var=False).confidence_interval(0.95)
        else:
            raise ValueError(f"no t interval for {statistic}")
    low, high = float(ci.low), float(ci.high)
    if not np.isfinite(low):  # no spread at all: the value itself
        low = high = float(statistic(*samples))
    return low, high


def fieller(a, b, c=None, confidence: float = 0.95) -> tuple[float, float]:
    """Fieller's interval of mean(a) / mean(b), or with c of gap_share(a, b, c), for
    independent samples: the r for which numerator - r denominator is within t standard
    errors of 0 (df: the smallest sample's), counting the covariance of a gap's two
    differences through a."""
    samples = [np.asarray(x, float) for x in (a, b, c) if x is not None]
    m = [x.mean() for x in samples]
    v = [x.var(ddof=1) / len(x) for x in samples]
    if c is None:
        num, den, v_num, v_den, cov = m[0], m[1], v[0], v[1], 0.0
    else:
        num, den, v_num, v_den, cov = m[0] - m[1], m[0] - m[2], v[0] + v[1], v[0] + v[2], v[0]
    t2 = stats.t.ppf(0.5 + confidence / 2, min(len(x) for x in samples) - 1) ** 2
    qa, qb, qc = den ** 2 - t2 * v_den, num * den - t2 * cov, num ** 2 - t2 * v_num
    if qa <= 0:  # the divisor's interval holds 0: every ratio (or all but a gap) fits
        return -math.inf, math.inf
    root = math.sqrt(max(qb ** 2 - qa * qc, 0.0))
    return float((qb - root) / qa), float((qb + root) / qa)


def verdict(low: float, high: float, runs: int, side: int = 0,
            value: float | None = None) -> str:
    """The report's one rule (VERDICTS) for an interval [low, high] whose arms have at least
    `runs` runs: side +1 (-1) predicts the statistic above (below) 0; value predicts it."""
    if runs < MIN_RUNS:
        return f"{_runs(runs)}: no verdict"
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no verdict (an unbounded interval)"
    if value is not None:
        return "consistent" if low <= value <= high else "refuted"
    lo, hi = sorted((side * low, side * high))
    return "supported" if lo > 0 else "refuted" if hi < 0 else "not settled"


def combined(verdicts: list[str]) -> str:
    """One verdict of a prediction of several parts: refuted when one is (whatever the others);
    else no verdict (the fewest runs named) when a part has none; supported when all are."""
    if not verdicts:
        return "no verdict"
    if "refuted" in verdicts:
        return "refuted"
    none = [v for v in verdicts if "no verdict" in v]
    few = [v for v in none if v[0].isdigit()]  # "2 runs: no verdict"
    if few:
        return min(few, key=lambda v: int(v.split()[0]))
    if none:
        return none[0]
    if len(set(verdicts)) == 1:
        return verdicts[0]
    return "not settled"


def _finite(x) -> np.ndarray:
    x = np.asarray(x, float)
    return x[np.isfinite(x)]


def _runs(n: int) -> str:
    return f"{n} run" + ("s" if n != 1 else "")


def _ci(low: float, high: float, f: str = ".3f") -> str:
    if np.isinf(low) and np.isinf(high):
        return "[-inf, inf]"
    return f"[{low:{f}}, {high:{f}}]" if np.isfinite(low) else "—"


def estimate(*samples, statistic=mean, signed: bool = False,
             within: tuple[float, float] = (-math.inf, math.inf)
             ) -> tuple[str, float, float, int]:
    """(text 'value [low, high] (n runs)', low, high, fewest runs of an arm) of statistic, with
    the t interval that verdicts use, cut to the statistic's range `within` (a mean of
    Spearman's rhos: [-1, 1])."""
    samples = [_finite(x) for x in samples]
    runs = min(len(x) for x in samples)
    if not runs:
        return "not measured", math.nan, math.nan, 0
    low, high = t_interval(*samples, statistic=statistic)
    low, high = max(low, within[0]), min(high, within[1])
    value = float(statistic(*samples))
    ci = f" {_ci(low, high)}" if not np.isnan(low) else ""
    return f"{value:{'+' if signed else ''}.3f}{ci} ({_runs(runs)})", low, high, runs


# ---- the points of each run ---------------------------------------------------------------

def value_at(points: list[dict], axis: str, metric: str, x: float) -> float:
    """metric linearly interpolated at axis = x along one run's records (nan outside it)."""
    xs = np.array([p[axis] for p in points if metric in p and axis in p], float)
    ys = np.array([p[metric] for p in points if metric in p and axis in p], float)
    if not len(xs) or x < xs[0] - 1e-9 or x > xs[-1] + 1e-9:
        return math.nan
    return float(np.interp(x, xs, ys))


def reach(records: list[dict], axis: str, metric: str) -> float:
    """How far along axis one run measured metric (0 when never)."""
    return max((r[axis] for r in records if metric in r and axis in r), default=0.0)


def equal_point(points: dict, axis: str, metric: str) -> float:
    """The largest value of axis that every run measuring metric reached (0 when none does)."""
    reached = [reach(recs, axis, metric) for runs in points.values() for recs in runs.values()]
    return min((x for x in reached if x > 0), default=0.0)


def end_values(points: dict, arm: str, metric: str, first: bool = False) -> np.ndarray:
    """[runs] metric's last (first) value in each run of arm (nan where never measured)."""
    return np.array([next((r[metric] for r in (recs if first else reversed(recs))
                           if metric in r), math.nan)
                     for recs in points.get(arm, {}).values()], float)


def values_at(points: dict, arm: str, metric: str, axis: str, at: float) -> np.ndarray:
    return np.array([value_at(recs, axis, metric, at) for recs in points.get(arm, {}).values()])


def trend(records: list[dict], metric: str, second_half: bool = False) -> float:
    """Spearman's rho of metric against the generation along one run (of its second half):
    -1 falls every generation, +1 rises every one, 0 for a constant; nan with < 3 points.
    Generations where the metric is not a number are left out (not the run)."""
    ys = np.array([r[metric] for r in records if metric in r], float)
    if second_half:
        ys = ys[len(ys) // 2:]
    at = np.flatnonzero(np.isfinite(ys))
    if len(at) < 3:
        return math.nan
    if np.ptp(ys[at]) == 0:
        return 0.0
    return float(stats.spearmanr(at, ys[at]).statistic)


def peak_and_fall(records: list[dict], metric: str, width: int = 5) -> tuple[float, float]:
    """(where along the run the metric's `width`-generation mean peaked, as a share of the
    run; how far the last such mean stands below that peak), nan for a run of fewer than
    2 * width points. Noise alone makes the fall above 0: compare arms, not with 0."""
    ys = _finite([r[metric] for r in records if metric in r])
    if len(ys) < 2 * width:
        return math.nan, math.nan
    means = np.convolve(ys, np.ones(width) / width, mode="valid")
    peak = int(np.argmax(means))
    return (peak + width / 2) / len(ys), float(means[peak] - means[-1])


def trends(points: dict, arm: str, metric: str, second_half: bool = False) -> np.ndarray:
    return np.array([trend(recs, metric, second_half) for recs in points.get(arm, {}).values()])


def prediction_spread(bins: list) -> float:
    """Standard deviation of a value head's predictions from its recorded reliability curve
    ([mean prediction, mean exact result, count] per bin). The spread within a bin is left
    out: bins 0.2 wide lower the variance by up to about 0.2^2 / 12 = 0.0033, 1.5% of the sd
    of a head whose sd is 0.35."""
    bins = np.asarray(bins, float)
    if not len(bins):
        return math.nan
    return float(np.sqrt(np.cov(bins[:, 0], aweights=bins[:, 2], bias=True)))


def load_points(experiment, root: Path) -> dict:
    """arm -> seed -> the run's metric records, of the runs that have spent their budget (a
    report written while the grid runs leaves the others out)."""
    out = {}
    for arm in experiment.arms:
        for seed in experiment.seeds_of(arm):
            records = read_metrics(experiment.run_dir(root, arm, seed) / "metrics.jsonl")
            if records and records[-1].get("evaluations_total", 0) >= experiment.evaluations:
                out.setdefault(arm, {})[seed] = records
    return out


def code_line(points: dict) -> str:
    """Which code made the runs: the commits their records carry (engine.rundir.code_version),
    with the number of runs each; runs with no commit recorded (made before commits were, or
    outside a git checkout, or without git) are counted apart."""
    runs = Counter()
    for arm_runs in points.values():
        for records in arm_runs.values():
            for commit in dict.fromkeys(r.get("commit") for r in records):
                runs[commit] += 1
    made = [f"{commit} ({n} {'run' if n == 1 else 'runs'})"
            for commit, n in runs.most_common() if commit]
    unknown = runs.get(None, 0)
    return ("Code: " + ("; ".join(made) if made else "no commit recorded")
            + (f"; no commit recorded for {unknown} {'run' if unknown == 1 else 'runs'} (in "
               "part)" if unknown and made else "") + ".")


def flatten_elo(points: dict) -> list[str]:
    """The anchors rated anywhere; each record's Elo against each anchor copied to elo_ANCHOR
    (a column of points.csv), and elo_ANCHOR_bound set to +1 (-1) where every game was won
    (lost): the Elo is then the interval's end, a floor (ceiling), not an estimate."""
    anchors = sorted({a for runs in points.values() for recs in runs.values() for r in recs
                      for a in r.get("elo", {})})
    for r in (r for runs in points.values() for recs in runs.values() for r in recs):
        for anchor, (elo, low, high) in r.get("elo", {}).items():
            r[f"elo_{anchor}"] = elo
            r[f"elo_{anchor}_bound"] = 1 if math.isinf(high) else -1 if math.isinf(low) else 0
    return anchors


def _censored_note(points: dict, anchor: str) -> str:
    """Which arms' final ratings against anchor are bounds, not estimates."""
    key = f"elo_{anchor}_bound"
    counts = {arm: [int(v) for v in end_values(points, arm, key) if np.isfinite(v) and v]
              for arm in points}
    parts = [f"{arm} {len(b)} ({'all won' if b[0] > 0 else 'all lost'}"
             + (", or the other" if len(set(b)) > 1 else "") + ")"
             for arm, b in counts.items() if b]
    if not parts:
        return ""
    return ("Runs whose every rating game was won or lost (their Elo is the interval's end, a "
            "floor or a ceiling, and their arm's mean is one too): " + ", ".join(parts) + ".")


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


def summary_rows(points: dict, metric: str, axis: str | None) -> tuple[list[dict], list[str]]:
    """(rows, runs left out): per arm, the metric at the end of each run (axis None) or at
    equal `axis` (the largest value at which every run measured it, interpolated between
    generations): mean, IQM and the bootstrap interval of the mean; the runs that could not
    be read there named, never silently dropped."""
    at = equal_point(points, axis, metric) if axis else None
    rows, missing = [], []
    for arm, runs in points.items():
        values = (values_at(points, arm, metric, axis, at) if axis
                  else end_values(points, arm, metric))
        missing += [f"{arm} seed {s}" for (s, recs), v in zip(runs.items(), values)
                    if axis and not np.isfinite(v) and reach(recs, axis, metric) > 0]
        finite = _finite(values)
        if len(finite):
            low, high = interval(finite)
            rows.append({"arm": arm, "runs": len(finite), "mean": float(finite.mean()),
                         "iqm": iqm(finite), "low": low, "high": high, "at": at})
    return rows, missing


def games_per_generation(points: dict) -> dict:
    """arm -> the self-play games of its generations (one number where they agree)."""
    return {arm: sorted({r["games"] for recs in runs.values() for r in recs if "games" in r})
            for arm, runs in points.items()}


# ---- plots --------------------------------------------------------------------------------

def _grid(runs: dict, axis: str, log: bool) -> np.ndarray:
    """60 points over the range every run of one arm covers on axis (log-spaced on a log
    axis): the mean is over the same runs all along."""
    lo = max(recs[0].get(axis, 0) for recs in runs.values())
    hi = min(recs[-1].get(axis, 0) for recs in runs.values())
    return np.geomspace(max(lo, 1), hi, 60) if log else np.linspace(lo, hi, 60)


def plot_curves(points: dict, root: Path, metrics, axis: str, name: str) -> Path:
    """One panel per metric against axis: each arm's mean over seeds on its own range, a band
    between the seeds' lowest and highest; a log axis where arms' ranges differ tenfold."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if any(m[0] in r for runs in points.values()
                                         for recs in runs.values() for r in recs)]
    ends = [max(recs[-1].get(axis, 0) for recs in runs.values()) for runs in points.values()]
    log = max(ends) > 10 * max(min(ends), 1)
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    width = 5 * cols + 2.4  # the legend on the right
    fig, axes = plt.subplots(rows, cols, figsize=(width, 3.6 * rows), squeeze=False)
    for ax, (metric, label) in zip(axes.flat, metrics):
        for i, (arm, runs) in enumerate(points.items()):
            grid = _grid(runs, axis, log)
            ys = np.array([[value_at(recs, axis, metric, x) for x in grid]
                           for recs in runs.values()])
            if not np.isfinite(ys).any():
                continue
            with warnings.catch_warnings():  # all-nan columns: no run reached that far
                warnings.simplefilter("ignore", RuntimeWarning)
                center = np.nanmean(ys, axis=0)
                low, high = np.nanmin(ys, axis=0), np.nanmax(ys, axis=0)
            ax.plot(grid, center, label=f"{arm} ({_runs(len(runs))})", color=f"C{i}")
            ax.fill_between(grid, low, high, alpha=0.2, color=f"C{i}")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(dict(AXES).get(axis, axis) + (" (log scale)" if log else ""), fontsize=8)
        if log:
            ax.set_xscale("log")
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.legend(*axes.flat[0].get_legend_handles_labels(), fontsize=7, loc="center right")
    fig.suptitle("line: mean over seeds; band: the seeds' lowest to highest (none with 1 run)",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 1 - 2.4 / width, 0.97))
    return _save(fig, root / name)


def plot_proxy_against_kl(points: dict, root: Path, proxies: dict) -> Path | None:
    """Proxy score and true strength against sqrt(KL from generation 0's policy): Gao et al.'s
    axes; proxies: arm -> the proxy its score is (not one scale across arms)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [a for a, runs in points.items()
            if any("proxy_score" in r and "kl_from_start" in r
                   for recs in runs.values() for r in recs)]
    if not arms:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, arm in enumerate(arms):
        for j, recs in enumerate(points[arm].values()):
            recs = [r for r in recs if "proxy_score" in r and "kl_from_start" in r]
            d = [math.sqrt(max(r["kl_from_start"], 0)) for r in recs]
            label = f"{arm} ({proxies.get(arm, 'proxy')})" if j == 0 else None
            axes[0].plot(d, [r["proxy_score"] for r in recs], color=f"C{i}", alpha=0.6,
                         label=label)
            axes[1].plot(d, [r["strength"] for r in recs], color=f"C{i}", alpha=0.6)
    axes[0].set_title("proxy score of the policy's moves (each arm's proxy: see legend)",
                      fontsize=9)
    axes[1].set_title("true strength (optimal-move rate)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("d = sqrt(KL(policy || generation 0's policy)), one line per run",
                      fontsize=8)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return _save(fig, root / "proxy_vs_kl.png")


def pooled_reliability(curves: list, bins: int = RELIABILITY_BINS) -> np.ndarray:
    """[bins that hold any, 3] recorded reliability curves ([mean prediction, mean exact
    result, count] per bin) pooled, count-weighted, into `bins` equal-width bins of the
    prediction over [-1, 1]."""
    rows = np.concatenate([np.reshape(c, (-1, 3)) for c in curves])
    which = np.clip(((rows[:, 0] + 1) / 2 * bins).astype(int), 0, bins - 1)
    count = np.bincount(which, rows[:, 2], bins)
    held = count > 0
    return np.stack([np.bincount(which, rows[:, 2] * rows[:, 0], bins)[held] / count[held],
                     np.bincount(which, rows[:, 2] * rows[:, 1], bins)[held] / count[held],
                     count[held]], axis=1)


def plot_reliability(points: dict, root: Path) -> Path | None:
    """Each arm's value calibration at the end of its runs: the mean exact result against the
    mean prediction, its runs' last reliability curves pooled; the diagonal is calibrated."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {arm: [c for c in (next((r["reliability"] for r in reversed(recs)
                                      if r.get("reliability")), None)
                                for recs in runs.values()) if c is not None]
              for arm, runs in points.items()}
    if not any(curves.values()):
        return None
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.plot([-1, 1], [-1, 1], color="0.6", linestyle="--", label="calibrated")
    for i, (arm, arm_curves) in enumerate(curves.items()):
        if arm_curves:
            pooled = pooled_reliability(arm_curves)
            ax.plot(pooled[:, 0], pooled[:, 1], marker="o", markersize=3, color=f"C{i}",
                    label=f"{arm} ({_runs(len(arm_curves))})")
    ax.set_xlabel("value head's prediction (the mover's view), bin mean", fontsize=8)
    ax.set_ylabel("exact result (solver), bin mean", fontsize=8)
    ax.set_title("value calibration at the end of each run, runs pooled", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return _save(fig, root / "reliability.png")


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path


# ---- non-transitivity -----------------------------------------------------------------------

def cyclic_triples(scores: np.ndarray):
    """Rock-paper-scissors triples of a round-robin (or of a stack of them, [..., k, k]): i
    beats j, j beats k and k beats i, each a score above 0.5 (scores[i, j]: i's against j)."""
    beats = np.asarray(scores) > 0.5
    count = 0
    for i, j, k in itertools.combinations(range(beats.shape[-1]), 3):
        count = count + ((beats[..., i, j] & beats[..., j, k] & beats[..., k, i])
                         | (beats[..., j, i] & beats[..., k, j] & beats[..., i, k]))
    return count


def _logits(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, float), 0.02, 0.98)
    y = np.log(p / (1 - p))
    y[..., np.arange(y.shape[-1]), np.arange(y.shape[-1])] = 0.0
    return y


def cyclic_share(scores: np.ndarray):
    """The cyclic part of a round-robin's logit matrix Y (HodgeRank, Balduzzi et al. 2018):
    ||Y - (s_i - s_j)||^2 / ||Y||^2 with s the row means of Y; 0 when the logit margins add up
    (a beats c by a-over-b plus b-over-c). Also [..., k, k] stacks."""
    y = _logits(scores)
    s = y.mean(axis=-1)
    residual = y - (s[..., :, None] - s[..., None, :])
    total = (y ** 2).sum(axis=(-2, -1))
    return np.divide((residual ** 2).sum(axis=(-2, -1)), total,
                     out=np.zeros_like(total), where=total > 0)


def bradley_terry(means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[k, k] P(i beats j) = logistic(t_i - t_j) fitted to a round-robin's mean scores (means[i,
    j]: i's against j, from counts[i, j] trials) by quasi-likelihood (the binomial's estimating
    equations, right for any variance proportional to p(1 - p)); a weak pull of the strengths
    towards 0 keeps them finite when one generation wins every game."""
    from scipy.optimize import minimize

    k = len(means)
    upper = np.triu(np.ones((k, k), bool), 1) & (counts > 0)

    def loss(t):
        p = 1 / (1 + np.exp(-(t[:, None] - t[None, :])))
        p = np.clip(p, 1e-9, 1 - 1e-9)
        ll = counts * (means * np.log(p) + (1 - means) * np.log(1 - p))
        return -ll[upper].sum() + 1e-3 * (t ** 2).sum()

    t = minimize(loss, np.zeros(k), method="L-BFGS-B").x
    return 1 / (1 + np.exp(-(t[:, None] - t[None, :])))


def lack_of_fit(units: dict) -> tuple[float, int, int]:
    """(F, df1, df2): how far a round-robin's mean scores stray from the additive (transitive)
    model, in units of the scatter of repeated trials of the same pairing. units[(i, j)]: i's
    score against j in each independent trial (a pair of colour-swapped games). F = (X^2 /
    df1) / phi, X^2 = sum over pairings of n (mean - p)^2 / (p (1 - p)) with p the model's,
    phi the trials' pooled variance over p (1 - p) within pairings (df2 = sum of n - 1),
    df1 = C(k, 2) - (k - 1). About 1 when the generations are transitive (F(df1, df2)),
    whatever their spread and however likely draws; above 1 when margins do not add up."""
    k = 1 + max(max(pair) for pair in units)
    counts = np.zeros((k, k))
    for (i, j), u in units.items():
        counts[i, j] = counts[j, i] = len(u)
    p = np.clip(bradley_terry(score_matrix(units, k), counts), 0.01, 0.99)
    within = sum(((np.asarray(u) - np.mean(u)) ** 2).sum() / (p[i, j] * (1 - p[i, j]))
                 for (i, j), u in units.items())
    df2 = int(sum(len(u) - 1 for u in units.values()))
    df1 = len(units) - (k - 1)
    if df1 < 1 or df2 < 1 or within <= 0:
        return math.nan, df1, df2
    chi2 = sum(len(u) * (np.mean(u) - p[i, j]) ** 2 / (p[i, j] * (1 - p[i, j]))
               for (i, j), u in units.items())
    return float((chi2 / df1) / (within / df2)), df1, df2


def pair_scores(result) -> np.ndarray:
    """[pairs] the first player's mean score in each colour-swapped pair of a play_pairs
    match (its games i and i + pairs share an opening)."""
    scores = (1 + np.array([g.first_result for g in result.played], float)) / 2
    half = len(scores) // 2
    return (scores[:half] + scores[half:]) / 2


def round_robin(experiment, run_dir: Path, seed: int) -> tuple[list[int], dict] | None:
    """(generations, {(i, j): i's score against j in each pair of games}) of a round-robin of
    k evenly spaced saved generations of a run, raw policies (argmax) from random openings,
    both colours; None with fewer than 3. Kept in the run's round_robin.json, so that a run's
    records (that file and metrics.jsonl) write its part of a report again without its
    checkpoints."""
    from engine.arena import play_pairs
    from engine.players import network_player
    from engine.rundir import kept_checkpoint

    kept = read_round_robin(run_dir / ROUND_ROBIN_FILE, experiment)
    if kept is not None:
        return kept
    saved = sorted(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("gen_*.ckpt"))
    saved = [g for g in saved if g > 0]
    k = min(experiment.round_robin_generations, len(saved))
    if k < 3:
        return None
    chosen = [saved[int(round(i))] for i in np.linspace(0, len(saved) - 1, k)]
    game = games.get(experiment.game)
    players = [network_player(game, kept_checkpoint(run_dir, g), 0, seed) for g in chosen]
    opening = 2 if game.max_moves > 9 else 1
    units = {}
    for i, j in itertools.combinations(range(k), 2):
        result = play_pairs(game, players[i], players[j], experiment.round_robin_games // 2,
                            opening, seed + 31 * i + j)
        units[(i, j)] = pair_scores(result)
    record = {"generations_asked": experiment.round_robin_generations,
              "games": experiment.round_robin_games, "generations": chosen,
              "pairs": {f"{i}-{j}": u.tolist() for (i, j), u in units.items()}}
    atomic_write(run_dir / ROUND_ROBIN_FILE, json.dumps(record).encode())
    return chosen, units


def read_round_robin(path: Path, experiment) -> tuple[list[int], dict] | None:
    """A run's kept round-robin, when it was played with the experiment's settings (else
    None: played again where the checkpoints are, left out where they are not)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (record.get("generations_asked"), record.get("games")) != (
            experiment.round_robin_generations, experiment.round_robin_games):
        return None
    units = {tuple(map(int, pair.split("-"))): np.array(u, float)
             for pair, u in record["pairs"].items()}
    return list(record["generations"]), units


def score_matrix(units: dict, k: int) -> np.ndarray:
    """[k, k] mean scores of a round-robin's pairings (0.5 on the diagonal)."""
    scores = np.full((k, k), 0.5)
    for (i, j), u in units.items():
        scores[i, j], scores[j, i] = np.mean(u), 1 - np.mean(u)
    return scores


def transitivity_of(experiment, root: Path, points: dict) -> tuple[dict, list[list]]:
    """arm -> [per run: cyclic triples and share, lack of fit of the transitive model], and
    round_robin.csv's rows. The players are deterministic, so each pair of games (one random
    opening, both colours) is one independent trial."""
    out, rows = {}, []
    for arm, runs in points.items():
        for seed in runs:
            found = round_robin(experiment, experiment.run_dir(root, arm, seed), seed)
            if found is None:
                continue
            chosen, units = found
            scores = score_matrix(units, len(chosen))
            share, triples = float(cyclic_share(scores)), int(cyclic_triples(scores))
            f, df1, df2 = lack_of_fit(units)
            out.setdefault(arm, []).append(
                {"triples": triples, "share": share, "lack_of_fit": f,
                 "p": float(stats.f.sf(f, df1, df2)) if np.isfinite(f) else math.nan,
                 "k": len(chosen), "df2": df2})
            rows.append([arm, seed, " ".join(map(str, chosen)), triples, f"{share:.4f}",
                         f"{f:.4f}", df1, df2,
                         ";".join(" ".join(f"{v:.4f}" for v in row) for row in scores),
                         ";".join(f"{i}-{j}:" + " ".join(f"{v:g}" for v in u)
                                  for (i, j), u in units.items())])
    return out, rows


# ---- the report -----------------------------------------------------------------------------

def _fmt(row) -> str:
    f = ".1f" if abs(row["mean"]) >= 10 else ".3f"  # Elo and lengths: no false precision
    return (f"| {row['arm']} | {row['runs']} | {row['mean']:{f}} | {row['iqm']:{f}} | "
            f"{_ci(row['low'], row['high'], f)} |")


def _table(points, metric, axis, title, note: str = "") -> list[str]:
    rows, missing = summary_rows(points, metric, axis)
    if not rows:
        return []
    at = (f" at {rows[0]['at']:,.0f} {dict(AXES)[axis]} (the most every run reached)" if axis
          else " at the end of each run")
    return [f"**{title}**{at}", "", *([note, ""] if note else []),
            "| arm | runs | mean | IQM | 95% CI of the mean |",
            "| --- | --- | --- | --- | --- |", *[_fmt(r) for r in rows],
            *(["", f"Not measured there: {', '.join(missing)}."] if missing else []), ""]


def _arms_of(experiment, kind: str) -> list[str]:
    return [a for a in experiment.arms
            if experiment.config(a, experiment.seeds[0]).learner.kind == kind]


def _alphazero_arms(experiment, present) -> list[str]:
    """The alphazero arms among `present` whose search sees the critic (no blind-search
    control)."""
    controls = _clean_controls(experiment)
    return [a for a in _arms_of(experiment, "alphazero") if a in present and a not in controls]


def _strength_at_equal_compute(points) -> tuple[float, dict]:
    """(the most network evaluations every run reached, arm -> [runs] its strength there)."""
    axis = "evaluations_total"
    at = equal_point(points, axis, "strength")
    return at, {arm: values_at(points, arm, "strength", axis, at) for arm in points}


@dataclass(frozen=True)
class Judged:
    """A line of the report with a verdict, which keeps what it judged (subject) and whether
    more seeds could still change the answer (open): for the list of where they would."""
    line: str
    subject: str
    open: bool

    def __str__(self) -> str:
        return self.line


def _line(text: str, verdict_text: str, subject: str, open_: bool | None = None) -> Judged:
    """One verdict's bullet; open by default unless supported, refuted or consistent."""
    if open_ is None:
        open_ = verdict_text not in ("supported", "refuted", "consistent")
    return Judged(f"- {text}: **{verdict_text}**.", subject, open_)


def _holds(low: float, high: float, marks: dict) -> list[str]:
    """The marks (value -> what it would mean) that the interval [low, high] holds."""
    return [f"{value:g} ({what})" for value, what in marks.items() if low <= value <= high]


def _too_wide(verdict_text: str, low: float, high: float, marks: dict, predicted: str) -> str:
    """Words saying that a consistent verdict's interval also holds marks (value -> what it
    would mean), so more seeds could still change it; '' when it holds none or is not
    consistent."""
    held = _holds(low, high, marks) if verdict_text == "consistent" else []
    return (f", an interval that holds {' and '.join(held)} as well as {predicted}: too wide "
            "to tell them apart" if held else "")


def _no_critic_lines(experiment, points) -> list[str | Judged]:
    """no_critic's entropy and opening diversity fall, rare openings first; an accumulating
    replay keeps them."""
    arms = [a for a in _arms_of(experiment, "no_critic") if a in points]
    window = {a: experiment.config(a, experiment.seeds[0]).replay.window_max for a in arms}
    widest = max(window.values(), default=0)
    accumulating = [a for a in arms if window[a] == widest and len(set(window.values())) > 1]
    lines = []
    for arm in arms:
        for metric in ("policy_entropy_probe", "distinct_openings", "rare_opening_share"):
            text, low, high, runs = estimate(trends(points, arm, metric), signed=True,
                                             within=RHO)
            if not runs:
                continue
            if arm in accumulating:
                lines.append(f"- {arm} (replay of {window[arm]:,} positions: accumulates): "
                             f"{metric}'s Spearman rho over the generations {text}.")
            else:
                lines.append(_line(f"{arm} (replay of {window[arm]:,} positions): {metric} "
                                   f"falls over the generations? Spearman rho {text}, "
                                   "predicted < 0", verdict(low, high, runs, -1),
                                   f"{arm}'s {metric} falls"))
    for arm in (a for a in arms if a not in accumulating):
        lines += _rare_first_line(points, arm)
        text, low, high, runs = estimate(trends(points, arm, "strength"), signed=True,
                                         within=RHO)
        if runs:
            lines.append(_line(f"{arm}: strength (the solver's optimal-move rate) does not "
                               f"rise over the generations? Spearman rho {text}, predicted "
                               "<= 0", verdict(low, high, runs, -1),
                               f"{arm}'s strength does not rise"))
    for acc in accumulating:
        for arm in (a for a in arms if a not in accumulating):
            for metric in ("policy_entropy_probe", "distinct_openings", "rare_opening_share"):
                at = equal_point(points, "evaluations_total", metric)
                text, low, high, runs = estimate(
                    values_at(points, acc, metric, "evaluations_total", at),
                    values_at(points, arm, metric, "evaluations_total", at),
                    statistic=difference, signed=True)
                lines.append(_line(f"{acc} keeps {metric} above {arm}'s: difference at "
                                   f"{at:,.0f} evaluations {text}, predicted > 0",
                                   verdict(low, high, runs, +1),
                                   f"{acc} keeps {metric} above {arm}'s"))
    return lines


def _rare_first_line(points, arm) -> list[Judged]:
    """Rare openings go first (Shumailov et al. 2024: the tails vanish first): by a quarter of
    the compute, the rare openings' share has lost more of its first generation's value than
    the policy's entropy has of its own (each run's relative falls, paired). Not against the
    distinct openings: singletons are at most the distinct openings, so where generation 1's
    openings are all distinct, rare's relative fall is at least theirs by arithmetic."""
    axis, rare, entropy = "evaluations_total", "rare_opening_share", "policy_entropy_probe"
    at = equal_point(points, axis, rare) / 4

    def relative_fall(metric):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1 - (values_at(points, arm, metric, axis, at)
                        / end_values(points, arm, metric, first=True))

    text, _, _, runs = estimate(relative_fall(rare))
    if not runs:
        return []
    e_text, low, high, runs = estimate(relative_fall(rare) - relative_fall(entropy),
                                       signed=True)
    return [_line(f"{arm}: rare openings fall first? From the first generation to {at:,.0f} "
                  f"evaluations (a quarter of the run), the share of its first value that "
                  f"{rare} lost {text}, minus {entropy}'s {e_text} (each run's relative "
                  "falls, paired; predicted > 0)",
                  verdict(low, high, runs, +1), f"{arm}'s rare openings fall first")]


def _clean_controls(experiment) -> list[str]:
    """Arms whose value labels are the exact results and whose search is blind to them, as
    noisy_critic's is: noisy_critic at p = 0."""
    from engine.learners import blind_search

    out = []
    for arm in experiment.arms:
        config = experiment.config(arm, experiment.seeds[0])
        kind = config.learner.kind
        if blind_search(config) and (kind == "alphazero" or (
                kind == "noisy_critic" and config.learner.flip_probability == 0)):
            out.append(arm)
    return out


def _noisy_lines(experiment, points) -> list[str | Judged]:
    """noisy_critic's calibration slope is about 1 - 2p: as a ratio to a clean arm's."""
    controls = [a for a in _clean_controls(experiment) if a in points]
    alphazero = _alphazero_arms(experiment, points)
    lines = []
    for arm in _arms_of(experiment, "noisy_critic"):
        p = experiment.config(arm, experiment.seeds[0]).learner.flip_probability
        if arm not in points or p == 0:
            continue
        slope = end_values(points, arm, "calibration_slope")
        text, *_ = estimate(slope)
        parts = [f"{arm} (p = {p}): calibration slope at the end of each run {text}"]
        verdicts, wide = [], False
        for ref in controls + alphazero:
            how = ("its search as blind, its labels exact: p = 0" if ref in controls
                   else "its search sees the results: not matched")
            ref_text, *_ = estimate(end_values(points, ref, "calibration_slope"))
            r_text, low, high, runs = estimate(slope, end_values(points, ref,
                                                                 "calibration_slope"),
                                               statistic=ratio)
            parts.append(f"{ref} ({how}) {ref_text}, ratio {r_text}")
            if ref in controls:
                verdicts.append(verdict(low, high, runs, value=1 - 2 * p))
                too_wide = _too_wide(verdicts[-1], low, high,
                                     {1.0: "no effect of the noise",
                                      0.0: "a slope of 0, nothing learned"}, "1 - 2p")
                parts[-1] += too_wide
                wide = wide or bool(too_wide)
                spread = [np.array([prediction_spread(recs[-1].get("reliability", []))
                                    for recs in points[a].values()]) for a in (arm, ref)]
                s_text, *_ = estimate(*spread, statistic=ratio)
                parts.append(f"the spread (sd) of its predictions over {ref}'s {s_text}")
        judged = (f"against 1 - 2p = {1 - 2 * p:.2f} on the ratio to "
                  f"{', '.join(controls)}" if controls else
                  "no arm with exact labels and a blind search to compare with")
        lines.append(_line("; ".join(parts) + f"; {judged}", combined(verdicts),
                           f"{arm}'s calibration slope is 1 - 2p of a clean arm's",
                           wide or None))
    return lines + _noise_order_line(experiment, points, controls)


def _noise_order_line(experiment, points, controls) -> list[str | Judged]:
    """noisy_critic's strength falls monotonically in p (the clean blind-search control at
    p = 0): each step up in p, strength at equal compute lower."""
    by_p = sorted((experiment.config(a, experiment.seeds[0]).learner.flip_probability, a)
                  for a in _arms_of(experiment, "noisy_critic") if a in points)
    ladder = [(0.0, a) for a in controls[:1]] + [(p, a) for p, a in by_p if p > 0]
    if len(ladder) < 2:
        return []
    axis = "evaluations_total"
    at = equal_point(points, axis, "strength")
    parts, verdicts = [], []
    for (p, lower), (q, higher) in zip(ladder, ladder[1:]):
        text, low, high, runs = estimate(values_at(points, lower, "strength", axis, at),
                                         values_at(points, higher, "strength", axis, at),
                                         statistic=difference, signed=True)
        verdicts.append(verdict(low, high, runs, +1))
        parts.append(f"p = {p} ({lower}) minus p = {q} ({higher}) {text} ({verdicts[-1]})")
    return [_line(f"strength at {at:,.0f} evaluations falls as p rises: " + ", ".join(parts)
                  + " (predicted > 0 at each step)", combined(verdicts),
                  "strength falls step by step as the noise p rises")]


def _proxy_lines(experiment, points) -> list[str | Judged]:
    """The proxy's score keeps rising while true strength peaks and falls: over the second
    half of each run, the proxy's trend above 0 and strength's below."""
    lines = []
    clean = _alphazero_arms(experiment, points)[:1]  # noise's own fall from a peak
    for arm in (a for a in _arms_of(experiment, "proxy_critic") if a in points):
        p_text, p_low, p_high, p_runs = estimate(trends(points, arm, "proxy_score", True),
                                                 signed=True, within=RHO)
        s_text, s_low, s_high, s_runs = estimate(trends(points, arm, "strength", True),
                                                 signed=True, within=RHO)
        both = [verdict(p_low, p_high, p_runs, +1), verdict(s_low, s_high, s_runs, -1)]
        lines.append(_line(f"{arm}: over the second half of each run, Spearman rho of the "
                           f"proxy's score over the generations {p_text} (predicted > 0: "
                           f"{both[0]}), of true strength {s_text} (predicted < 0: {both[1]})",
                           combined(both), f"{arm}'s proxy rises while strength falls"))
        lines.append(f"  - and wherever the peak came (not judged): {_peak_text(points, arm)}"
                     + "".join(f"; {a}'s {_peak_text(points, a)}" for a in clean) + ".")
    return lines


def _peak_text(points: dict, arm: str) -> str:
    """Where an arm's strength peaked along its runs and how far it fell from there."""
    peaks = [peak_and_fall(recs, "strength") for recs in points[arm].values()]
    where = _finite([w for w, _ in peaks])
    if not len(where):
        return "runs too short to say"
    return (f"strength's 5-generation mean peaked at {', '.join(f'{w:.0%}' for w in where)} "
            f"of the runs and ended {estimate([f for _, f in peaks])[0]} below the peak")


def _star_lines(experiment, points) -> list[str | Judged]:
    """star ends below alphazero and above no_critic at equal compute, and loses diversity
    fastest."""
    stars = [a for a in _arms_of(experiment, "star") if a in points]
    alphazero = _alphazero_arms(experiment, points)
    no_critic = [a for a in _arms_of(experiment, "no_critic") if a in points][:1]
    axis, lines = "evaluations_total", []
    at, strength = _strength_at_equal_compute(points)
    entropy_at = equal_point(points, axis, "policy_entropy_probe")

    def entropy_fall(arm):
        return (end_values(points, arm, "policy_entropy_probe", first=True)
                - values_at(points, arm, "policy_entropy_probe", axis, entropy_at))

    lines += _rationalization_lines(experiment, points, stars)
    for star in stars:
        parts, verdicts = [f"{star}: strength at {at:,.0f} evaluations "
                           f"{estimate(strength[star])[0]}"], []
        for other, side in [(a, -1) for a in alphazero] + [(a, +1) for a in no_critic]:
            text, low, high, runs = estimate(strength[star], strength[other],
                                             statistic=difference, signed=True)
            verdicts.append(verdict(low, high, runs, side))
            parts.append(f"minus {other}'s {text} (predicted {'<' if side < 0 else '>'} 0: "
                         f"{verdicts[-1]})")
        for other in alphazero:  # rliable's other summary of two arms, not judged
            share = improvement(_finite(strength[star]), _finite(strength[other]))
            low, high = interval(strength[star], strength[other], statistic=improvement)
            parts.append(f"probability that one of its runs ends above one of {other}'s "
                         f"{share:.2f} {_ci(low, high, '.2f')} (bootstrap)")
        lines.append(_line(", ".join(parts), combined(verdicts),
                           f"{star} ends " + " and ".join([f"below {a}" for a in alphazero]
                                                          + [f"above {a}" for a in no_critic])))
        parts, verdicts = [f"{star}: fall of policy entropy on the probe positions (the same "
                           "for every arm, unlike the openings of generations of different "
                           f"sizes) from the first generation to {entropy_at:,.0f} evaluations "
                           f"{estimate(entropy_fall(star))[0]}"], []
        for other in (a for a in points if a not in stars):
            text, low, high, runs = estimate(entropy_fall(star), entropy_fall(other),
                                             statistic=difference, signed=True)
            verdicts.append(verdict(low, high, runs, +1))
            parts.append(f"minus {other}'s {text}")
        lines.append(_line(", ".join(parts) + " (predicted > 0 against every arm but STaR's; "
                           "loses diversity fastest)", combined(verdicts),
                           f"{star} loses policy entropy fastest"))
    return lines


def _rationalization_lines(experiment, points, stars) -> list[str | Judged]:
    """Rationalization helps most early: its lead over plain STaR larger at a quarter of the
    compute than at the end. Each run's strength at a quarter minus at the end, rationalized
    arm's minus plain arm's (the difference of the two leads)."""
    def rationalizes(arm):
        return experiment.config(arm, experiment.seeds[0]).learner.rationalize

    axis = "evaluations_total"
    end = equal_point(points, axis, "strength")
    lines = []
    for hinted in (a for a in stars if rationalizes(a)):
        for plain in (a for a in stars if not rationalizes(a)):
            early = {a: values_at(points, a, "strength", axis, end / 4) for a in (hinted, plain)}
            late = {a: values_at(points, a, "strength", axis, end) for a in (hinted, plain)}
            lead_early, *_ = estimate(early[hinted], early[plain], statistic=difference,
                                      signed=True)
            lead_late, *_ = estimate(late[hinted], late[plain], statistic=difference,
                                     signed=True)
            text, low, high, runs = estimate(early[hinted] - late[hinted],
                                             early[plain] - late[plain], statistic=difference,
                                             signed=True)
            lines.append(_line(f"{hinted} over {plain}: lead at {end / 4:,.0f} evaluations "
                               f"{lead_early}, at {end:,.0f} {lead_late}; the early lead "
                               f"minus the late {text}, predicted > 0 (helps most early)",
                               verdict(low, high, runs, +1),
                               f"{hinted}'s lead over {plain} is largest early"))
    return lines


def _transitivity_lines(experiment, transitivity) -> list[str | Judged]:
    """alphazero's generations are near-transitive; no_critic's and proxy_critic's less so:
    on the lack of fit of the transitive model (1 when transitive, whatever the spread)."""
    alphazero = _alphazero_arms(experiment, transitivity)[:1]
    others = [a for kind in ("no_critic", "proxy_critic") for a in _arms_of(experiment, kind)
              if a in transitivity]
    if not alphazero:
        return []
    lines = [_near_transitive_line(alphazero[0], transitivity[alphazero[0]])]
    fit = {a: [t["lack_of_fit"] for t in ts] for a, ts in transitivity.items()}
    parts, verdicts = [f"lack of fit of the transitive model: {alphazero[0]} "
                       f"{estimate(fit[alphazero[0]])[0]}"], []
    for arm in others:
        text, low, high, runs = estimate(fit[arm], fit[alphazero[0]], statistic=difference,
                                         signed=True)
        verdicts.append(verdict(low, high, runs, +1))
        parts.append(f"{arm} minus it {text} ({verdicts[-1]})")
    if others:
        lines.append(_line(", ".join(parts) + " (predicted > 0)", combined(verdicts),
                           f"{', '.join(others)} less transitive than {alphazero[0]}"))
    return lines


def _near_transitive_line(arm: str, runs: list[dict]) -> Judged:
    """An arm's generations are near-transitive: its runs' mean lack of fit F about the mean
    of F(df1, df2) when the model fits, df2 / (df2 - 2) (t interval), and the share of its
    runs with p < 0.05 about 0.05 (Clopper-Pearson). Left open when consistent with an
    interval that also holds a plain departure (F = 1.5, a share of 0.2)."""
    measured = [t for t in runs if np.isfinite(t["lack_of_fit"])]
    null = np.mean([_f_null_mean(t["df2"]) for t in measured]) if measured else math.nan
    text, low, high, n = estimate([t["lack_of_fit"] for t in measured])
    verdicts = [verdict(low, high, n, value=null)]
    wide = [_too_wide(verdicts[0], low, high, {1.5: "margins that do not add up"},
                      f"{null:.2f}")]
    parts = [f"{arm}'s generations are near-transitive (the additive model fits them)? Lack "
             f"of fit F {text}, about {null:.2f} if so, F's mean when the model fits "
             f"({verdicts[0]}{wide[0]})"]
    p = _finite([t["p"] for t in runs])
    if len(p):
        hits = int((p < 0.05).sum())
        ci = stats.binomtest(hits, len(p), 0.05).proportion_ci(0.95)
        verdicts.append(verdict(ci.low, ci.high, len(p), value=0.05))
        wide.append(_too_wide(verdicts[1], ci.low, ci.high, {0.2: "four times the chance "
                                                                  "rate"}, "0.05"))
        parts.append(f"runs with p < 0.05: {hits} of {len(p)}, a share of {hits / len(p):.2f} "
                     f"{_ci(ci.low, ci.high, '.2f')} (Clopper-Pearson), about 0.05 if so "
                     f"({verdicts[1]}{wide[1]})")
    if low > null:
        parts.append(_not_additive(runs, null))
    verdict_text = combined(verdicts)
    return _line("; ".join(parts), verdict_text, f"{arm}'s generations near-transitive",
                 True if verdict_text == "consistent" and any(wide) else None)


def _f_null_mean(df2: int) -> float:
    """The mean of F(df1, df2): df2 / (df2 - 2), infinite for df2 <= 2."""
    return df2 / (df2 - 2) if df2 > 2 else math.inf


def _not_additive(runs: list[dict], null: float) -> str:
    """What a lack of fit clear of its null mean says, by the runs' rock-paper-scissors
    triples: with none, ordered generations whose margins do not add up."""
    triples = np.mean([t["triples"] for t in runs])
    text = (f"F's interval lies above {null:.2f}, the mean of F(df1, df2) when the model fits "
            "(df2 / (df2 - 2), not 1): the margins do not add up")
    if triples == 0:
        return text + (", yet no run has a rock-paper-scissors triple: the generations are "
                       "ordered, transitive but not additive")
    return text + (f", and its runs have {triples:.2f} rock-paper-scissors triples (of "
                   f"{math.comb(runs[0]['k'], 3)}) on average: some of it is cycles")


def predictions(experiment, points, transitivity) -> list[str | Judged]:
    """The literature's predictions (../shared/research/literature.md, section 6) against the
    data, each with the numbers it rests on and a verdict by the one rule."""
    return ["## The literature's predictions against these data", "", VERDICTS, "",
            *_no_critic_lines(experiment, points), *_noisy_lines(experiment, points),
            *_proxy_lines(experiment, points), *_star_lines(experiment, points),
            *_transitivity_lines(experiment, transitivity), ""]


def critic_split(experiment, points) -> list[str | Judged]:
    """The research question's numbers: how much of alphazero's strength over no_critic's at
    equal compute the exact critic brings in the search and how much in the labels, with an
    alphazero arm whose search is blind (labels exact) between them; arms by learner, each
    part left out where its arms are."""
    full = _alphazero_arms(experiment, points)[:1]
    blind = [a for a in _clean_controls(experiment) if a in points][:1]
    none = [a for a in _arms_of(experiment, "no_critic") if a in points]
    at, strength = _strength_at_equal_compute(points)

    def part(name, upper, lower):
        text, low, high, runs = estimate(strength[upper], strength[lower],
                                         statistic=difference, signed=True)
        return _line(f"{name}: {upper} minus {lower} {text}, > 0 where it adds strength",
                     verdict(low, high, runs, +1), f"{name}, {upper} minus {lower}")

    lines = [part("the critic in the search", f, b) for f in full for b in blind]
    for n in none:
        lines += [part("the whole critic", f, n) for f in full]
        lines += [part("the critic in the labels", b, n) for b in blind]
        lines += [_search_share(f, b, n, strength[f], strength[b], strength[n])
                  for f in full for b in blind]
    if not lines:
        return []
    window = {a: experiment.config(a, experiment.seeds[0]).replay.window_max
              for a in full + blind + none}
    replay = ("" if len(set(window.values())) < 2 else
              " The arms' replays differ too (the most positions kept: "
              + ", ".join(f"{a} {w:,}" for a, w in window.items())
              + "): a part with a no_critic arm holds that difference as well.")
    return ["## How much of the gain comes from the critic", "",
            "The exact critic (the game's result and the solver's proofs) enters alphazero in "
            "two places: the search (finished games' results and proofs in the tree) and the "
            "labels (the value targets). An alphazero arm with a blind search keeps the labels "
            "only; no_critic has neither. Strength at "
            f"{at:,.0f} network evaluations (equal compute: the end of the budget): the whole "
            "critic's gain (alphazero minus no_critic) is the part in the search (alphazero "
            "minus the blind-search arm) plus the part in the labels (the blind-search arm "
            "minus no_critic). Welch's 95% t intervals, judged by the rule above for > 0; the "
            "search's share of the gain by Fieller's interval (its two differences share "
            "alphazero's runs, their covariance counted). The part in the search is one; the "
            "others are given for each no_critic arm." + replay, "", *lines, ""]


def _search_share(full, blind, none, *strengths) -> Judged:
    """The share of the critic's gain that lies in the search, with Fieller's interval."""
    text, low, high, runs = estimate(*strengths, statistic=gap_share)
    held = _holds(low, high, {0.0: "none of it in the search", 1.0: "all of it"})
    where = ("" if runs < MIN_RUNS else
             f"; the interval holds {' and '.join(held)}" if held else
             "; the interval is within 0 and 1: each place carries part" if 0 <= low <= high <= 1
             else "; the interval is outside 0 to 1: one part is below 0")
    return Judged(f"- the search's share of the whole critic's gain ({full} - {blind}) / "
                  f"({full} - {none}): {text} (not judged){where}.",
                  f"the search's share of the gain over {none}", bool(held) or runs < MIN_RUNS)


def _open_questions(lines: list[str | Judged]) -> list[str]:
    """One paragraph: the verdicts more seeds would settle."""
    open_ = [line.subject for line in lines if isinstance(line, Judged) and line.open]
    return ["**Where more seeds would settle it.** "
            + ("Verdicts not settled, short of runs, or whose interval holds the answer of no "
               "effect, or a stated alternative, as well as the predicted one: "
               + "; ".join(open_) + ". A t "
               "interval narrows about as 1 / sqrt(seeds): four times the seeds, half the width."
               if open_ else "None: every verdict above is settled by its interval."), ""]


def _notes(experiment, points) -> dict:
    """metric -> what to know before comparing arms on it."""
    per_gen = games_per_generation(points)
    sizes = {arm: g[-1] for arm, g in per_gen.items() if g}
    notes = {"calibration_slope": (
        "Least-squares slope of the value head's prediction (the mover's view) on the exact "
        "result (solver, -1/0/1) of the probe's unfinished positions: never on the training "
        "labels. A head trained on results flipped with probability p learns 1 - 2p times "
        "what a clean head learns on the same games, so the prediction is judged on the "
        "ratio to an arm with exact labels and the same search (below); a head that predicts "
        "0 everywhere (no_critic's) has slope 0."),
        "kl_from_start": _kl_note(experiment, points),
        "proxy_score": "Each arm's proxy: the game's feature proxy, except a reward_model "
                       "proxy arm's own frozen network: not one scale across arms."}
    if len(set(sizes.values())) > 1:
        text = ("Shares of one generation's games: the more games a generation plays, the "
                "more of them repeat an opening, whatever the policy. Games a generation: "
                + ", ".join(f"{a} {n:,}" for a, n in sizes.items())
                + ". Compare arms that play the same number only.")
        notes.update({m: text for m in OPENING_METRICS})
    return notes


def _kl_note(experiment, points) -> str:
    """Where the KL is measured from, and what that makes of it from scratch."""
    scratch = [a for a in points
               if not experiment.config(a, experiment.seeds[0]).pipeline.init_checkpoint]
    text = ("Measured from generation 0's network: the untrained start from scratch, a warm "
            "start's checkpoint otherwise.")
    if scratch:
        text += (f" {'Every arm here' if len(scratch) == len(points) else ', '.join(scratch)} "
                 "starts from scratch: an untrained network's policy is close to flat, and from "
                 "a flat policy q the KL is H(q) minus the policy's entropy exactly, so it "
                 + _kl_entropy_fit(points, scratch) + ". Gao et al. (2022) measure it from "
                 "the SFT policy, a trained start: read these curves beside theirs with that "
                 "in mind.")
    return text


def _kl_entropy_fit(points, arms) -> str:
    """How far the KL repeats the entropy's fall, by the Pearson r of the runs' final KL on
    their entropy's fall from the first generation: largely from r = 0.8 on."""
    entropy = "policy_entropy_probe"
    kl = np.concatenate([end_values(points, a, "kl_from_start") for a in arms])
    fall = np.concatenate([end_values(points, a, entropy, first=True)
                           - end_values(points, a, entropy) for a in arms])
    both = np.isfinite(kl) & np.isfinite(fall)
    if both.sum() < 3 or np.ptp(kl[both]) == 0 or np.ptp(fall[both]) == 0:
        return ("should largely repeat the entropy's fall (not checked here: fewer than 3 runs "
                "measured both, or one of them is the same in every run)")
    r = stats.pearsonr(fall[both], kl[both]).statistic
    fit = (f"over {both.sum()} runs, the final KL against the entropy's fall from the first "
           f"generation: Pearson's r = {r:.2f}")
    if r >= 0.8:
        return f"largely repeats the entropy's fall (here, {fit})"
    if r <= 0:
        return f"would repeat the entropy's fall, but here it does not ({fit})"
    return (f"would repeat the entropy's fall; here it does so in part only ({fit}, so "
            f"r² = {r * r:.2f} of the KL's variance across runs)")


def _star_table(experiment, points) -> list[str]:
    """STaR's filter and hints per star arm: the share of the moves kept as targets, the lost
    games rationalized, and the teacher's simulations spent on hints."""
    stars = [a for a in _arms_of(experiment, "star") if a in points]
    if not stars:
        return []
    lines = ["## STaR's filter and hints", "",
             "Per generation, averaged over each run's generations, then over runs: the share "
             "of the self-play moves kept as policy targets (the winners'), and the lost games "
             "whose first mistake a hint replaced (rationalized); in all: rationalized "
             "positions and a teacher's simulations (0 with the solver's hints). Positions "
             "labelled (every target, the value's too): the spend table.", "",
             "| arm | runs | kept share of moves | rationalized a generation | rationalized "
             "in all | teacher simulations in all |", "| --- | --- | --- | --- | --- | --- |"]
    for arm in stars:
        cells = [_per_run(points, arm, metric, how)
                 for metric, how in (("kept_share", np.mean), ("rationalized", np.mean),
                                     ("rationalized", np.sum), ("hint_evaluations", np.sum))]
        lines.append(f"| {arm} | {len(points[arm])} | "
                     + " | ".join("—" if not len(c) else f"{np.mean(c):{f}}"
                                  for c, f in zip(cells, (".3f", ",.1f", ",.0f", ",.0f")))
                     + " |")
    return lines + [""]


def _per_run(points, arm, metric, how) -> np.ndarray:
    """[runs that recorded metric] how(metric over the run's generations)."""
    values = [_finite([r[metric] for r in recs if metric in r])
              for recs in points[arm].values()]
    return np.array([how(v) for v in values if len(v)])


def _transitivity_table(transitivity) -> list[str]:
    lines = ["## Non-transitivity (round-robin of saved generations)", "",
             "Each run's k saved generations (evenly spaced) play each other: raw policies, "
             "random openings, both colours; each pair of games (one opening, both colours) is "
             "one trial. *Cyclic triples*: rock-paper-scissors triples (i beats j, j beats k, k "
             "beats i, each a score above 0.5) among the C(k, 3). *Cyclic share*: HodgeRank's "
             "(Balduzzi et al. 2018) ||Y - (s_i - s_j)||² / ||Y||² of the logit matrix Y; it "
             "counts margins that do not add up, from the noise of a few games a pairing too, so "
             "it is above 0 without a single cycle (a strict order of 5 generations with every "
             "game won: 0.20). *Lack of fit*: F, the mean scores' squared distance from the "
             "additive (transitive) model fitted to them, over the scatter of repeated trials "
             "of the same pairing: about 1 when the generations are transitive, whatever their "
             "spread (simulated, 5 generations, 8 trials a pairing: mean 0.93-1.06 over spreads "
             "of 0-5 logits and draw rates of 0-0.3, 1.24 at 5 logits with draws at 0.3; a "
             "rock-paper-scissors set: about 10). *p < 0.05*: runs whose F is beyond the 95% "
             "point of F(df1, df2).", "",
             "| arm | runs | k | cyclic triples | cyclic share | lack of fit F (95% CI) | "
             "p < 0.05 |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for arm, ts in transitivity.items():
        fit = [t["lack_of_fit"] for t in ts]
        lines.append(f"| {arm} | {len(ts)} | {ts[0]['k']} | "
                     f"{np.mean([t['triples'] for t in ts]):.2f} | "
                     f"{np.mean([t['share'] for t in ts]):.3f} | "
                     f"{np.nanmean(fit):.2f} {_ci(*interval(fit), '.2f')} | "
                     f"{sum(t['p'] < 0.05 for t in ts)} of {len(ts)} |")
    return lines + [""]


def write_report(experiment, root: Path, quiet: bool = False) -> Path:
    """report.md, points.csv, round_robin.csv and the plots of an experiment directory."""
    points = load_points(experiment, root)
    if not points:
        raise ValueError(f"{root}: no run has spent its budget yet")
    anchors = flatten_elo(points)
    write_csv(points, root)
    plot_curves(points, root, CURVES, "evaluations_total", "curves_by_evaluations.png")
    plot_curves(points, root, CURVES[:1], "games_total", "strength_by_games.png")
    plot_curves(points, root, CURVES[:1], "train_steps_total", "strength_by_steps.png")
    proxies = {a: (experiment.config(a, experiment.seeds[0]).learner.proxy
                   if a in _arms_of(experiment, "proxy_critic") else "feature")
               for a in points}
    plot_proxy_against_kl(points, root, proxies)
    plot_reliability(points, root)
    transitivity, rr_rows = transitivity_of(experiment, root, points)
    buf = io.StringIO()
    csv.writer(buf).writerows([["arm", "seed", "generations", "cyclic_triples",
                                "cyclic_share", "lack_of_fit", "df1", "df2", "scores",
                                "pair_scores"], *rr_rows])
    atomic_write(root / "round_robin.csv", buf.getvalue().encode())
    notes = _notes(experiment, points)
    lines = [f"# Experiment report: {experiment.game}", "",
             f"Arms: {', '.join(experiment.arms)}; seeds: "
             f"{', '.join(map(str, experiment.seeds))}"
             + (" (and " + "; ".join(f"{', '.join(map(str, extra))} for {arm}"
                                      for arm, extra in experiment.more_seeds.items()) + ")"
                if experiment.more_seeds else "")
             + f"; budget: {experiment.evaluations:,} "
             "self-play network evaluations per run. Runs reported (those that have spent "
             "their budget): "
             + ", ".join(f"{arm} {len(runs)}" for arm, runs in points.items()) + ".", "",
             code_line(points), "", RULE, "",
             "## Strength (optimal-move rate of the raw policy on the probe positions)", ""]
    lines += _table(points, "strength", None, "Final strength")
    lines += _table(points, "strength", "evaluations_total", "Strength at equal compute")
    lines += _table(points, "strength", "games_total", "Strength at equal games")
    lines += _table(points, "strength", "train_steps_total", "Strength at equal gradient steps")
    for anchor in anchors:  # Elo against a fixed anchor: rated at the end of each run
        lines += _table(points, f"elo_{anchor}", None, f"Elo against the anchor {anchor}",
                        _censored_note(points, anchor))
    lines += ["## Collapse, diversity and calibration (end of each run)", ""]
    for metric, label in CURVES[1:]:
        lines += _table(points, metric, None, label, notes.get(metric, ""))
    lines += ["## Spend", "", "The budget counts self-play's network evaluations; a "
              "rationalizing arm's hints (a solver's or a deeper pure-MCTS teacher's moves) are "
              "other work, seen in the minutes only (wall-clock, as busy as the machine was).",
              "",
              "| arm | evaluations (mean) | games (mean) | games a generation "
              "| positions labelled (mean) | gradient steps (mean) | minutes (mean) |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    per_gen = games_per_generation(points)
    for arm in points:
        spend = [np.mean(end_values(points, arm, k)) for k in
                 ("evaluations_total", "games_total", "positions_labelled_total",
                  "train_steps_total", "minutes")]
        lines.append(f"| {arm} | {spend[0]:,.0f} | {spend[1]:,.0f} | "
                     f"{', '.join(f'{g:,}' for g in per_gen[arm])} | {spend[2]:,.0f} | "
                     f"{spend[3]:,.0f} | {spend[4]:,.1f} |")
    judged = [*predictions(experiment, points, transitivity),
              *critic_split(experiment, points)]
    lines += ["", *_star_table(experiment, points), *_transitivity_table(transitivity),
              *map(str, judged), *_open_questions(judged),
              "Files: points.csv (every generation of every run), round_robin.csv (with each "
              "run's score matrix and every pairing's trials), curves_by_evaluations.png, "
              "strength_by_games.png, strength_by_steps.png"
              + "".join(f", {name}" for name in ("proxy_vs_kl.png", "reliability.png")
                        if (root / name).exists()) + ".", ""]
    path = root / "report.md"
    atomic_write(path, "\n".join(lines).encode())
    if not quiet:
        print(f"report: {path}", file=sys.stderr)
    return path
