"""A run's TensorBoard log (tb/): each number of a metrics.jsonl record under a grouped tag,
cumulative counters beside the generation's, Elo with its interval (a margin chart under
Custom Scalars), and the run's settings as hparams. The step of every value is the generation;
the layout and the settings go with the first generation's record, so that a generation redone
after a kill (engine.rundir._trim_events) logs them once.
"""
from __future__ import annotations

import math

GROUPS = {
    "loss": ("loss", "policy_loss", "value_loss", "policy_entropy"),
    "train": ("learning_rate", "train_steps_total", "replay_size", "positions_labelled",
              "positions_labelled_total"),
    "selfplay": ("games", "games_total", "positions", "positions_total", "evaluations",
                 "evaluations_total", "mean_game_length", "first_player_score", "resigned",
                 "false_resign_rate", "selfplay_restarts", "distinct_openings",
                 "opening_entropy", "rare_opening_share", "repeat_rate"),
    "speed": ("minutes", "selfplay_seconds", "train_seconds", "gate_seconds", "games_per_s",
              "positions_per_s", "evaluations_per_s", "threads"),
    "strength": ("strength", "policy_entropy_probe", "tail_share", "value_brier",
                 "calibration_slope", "kl_from_start", "proxy_score"),
    "gate": ("gate_score", "gate_games"),
    "elo": ("rating_games", "rating_simulations"),
}
RENAMED = {"loss": "loss/total", "strength": "strength/optimal_moves"}
TAGS = {key: RENAMED.get(key, f"{group}/{key}") for group, keys in GROUPS.items() for key in keys}
OTHERS = "learner"  # the group of the numbers a learner adds (engine/learners)
HPARAM_METRICS = ("loss/total", "strength/optimal_moves")  # the HParams tab's columns


def tag(key: str) -> str:
    """The TensorBoard tag of a metrics.jsonl key: 'strength' -> 'strength/optimal_moves'."""
    return TAGS.get(key, f"{OTHERS}/{key}")


def elo_tags(anchor: str) -> list[str]:
    """The tags of the Elo against an anchor: the estimate, the interval's low and high end."""
    return [f"elo/{anchor}", f"elo/{anchor}_low", f"elo/{anchor}_high"]


def add_settings(writer, config, anchors: list[str], step: int) -> None:
    """The run's settings ('section.key': value) as hparams, whose metrics are the scalars of
    HPARAM_METRICS, and Custom Scalars' margin chart of each anchor's Elo with its interval."""
    from torch.utils.tensorboard.summary import custom_scalars, hparams

    settings = {f"{section}.{key}": value for section, values in config.to_dict().items()
                if isinstance(values, dict) for key, value in values.items()}
    layout = {"elo (95% interval)": {f"vs {anchor}": ["Margin", elo_tags(anchor)]
                                     for anchor in anchors}}
    for summary in (*hparams(settings, dict.fromkeys(HPARAM_METRICS, 0.0)),
                    custom_scalars(layout)):
        writer.file_writer.add_summary(summary, step)


def add_record(writer, record: dict, config, anchors: list[str]) -> None:
    """A metrics.jsonl record's numbers, and its Elo with the finite ends of its interval;
    with the first generation's, the run's settings (add_settings)."""
    gen = record["generation"]
    if gen == 1:
        add_settings(writer, config, anchors, gen)
    for key, value in record.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "generation":
            writer.add_scalar(tag(key), value, gen)
    for anchor, triple in record.get("elo", {}).items():
        for name, value in zip(elo_tags(anchor), triple):
            if math.isfinite(value):  # an unbounded end (every game won or lost) is left out
                writer.add_scalar(name, value, gen)
    writer.flush()

