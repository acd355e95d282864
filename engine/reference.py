"""The configuration reference: every setting with its default, meaning and domain, read from
the config dataclasses themselves (the meaning is each field's comment in the source), as
docs/config.md's table (`reference_table`) and as `zeroplay config`'s TOML (`to_toml`)."""
from __future__ import annotations

import dataclasses
import inspect
import io
import json
import re
import tokenize

from engine.config import DOMAINS, OWNER, SECTIONS, Config

FIELD = re.compile(r"^\s+(\w+)\s*:")
# the meaning of the settings whose source line has no comment (mcts/search.py's and the
# self-explanatory ones of engine/config.py)
MEANINGS = {
    "network.channels": "channels of every residual block",
    "search.simulations": "simulations per move in self-play (the arena has its own)",
    "search.virtual_loss": "the loss a walk in flight adds to its path (leaves_per_tree > 1)",
    "search.c_init": "PUCT exploration constant at the start",
    "search.c_base": "PUCT: exploration grows by log((N + c_base + 1) / c_base)",
    "search.gumbel_considered": "Gumbel: actions sampled at the root",
    "search.gumbel_c_visit": "Gumbel: sigma's visit offset",
    "search.gumbel_c_scale": "Gumbel: sigma's scale",
    "search.reuse_tree": "keep the chosen move's subtree for the next search",
    "selfplay.games_per_generation": "games played per generation",
    "trainer.batch_size": "positions per SGD step",
    "trainer.steps_per_generation": "SGD steps per generation",
    "trainer.lr_decay_generations": "step schedule: divide the rate by 10 this often (0 = never)",
    "trainer.lr_final": "cosine schedule: the last rate, as a share of learning_rate",
    "trainer.momentum": "SGD momentum",
    "trainer.weight_decay": "L2 penalty",
    "trainer.value_weight": "weight of the value loss beside the policy loss",
    "arena.max_games": "gate: games at most",
    "arena.threshold": "gate = threshold: the score that promotes",
    "arena.alpha": "SPRT: false-positive rate",
    "arena.beta": "SPRT: false-negative rate",
    "learner.temperature": "star: the raw policy's sampling temperature",
    "learner.train_value": "star: train the value head on the results",
    "learner.rationalize": "star: add the hint's move at the loser's first mistake",
    "learner.teacher_simulations": "star, hint = teacher: the teacher's simulations",
    "learner.reward_games": "proxy_critic, reward_model: random games it is trained on",
    "learner.reward_steps": "proxy_critic, reward_model: its training steps",
    "pipeline.seed": "seed of the run's games, sampling and initial weights",
}


def _comments(cls) -> tuple[dict[int, str], list[str]]:
    """(comment text by 0-based line, the lines) of cls's source; '#' in a string is none."""
    source = inspect.getsource(cls)
    comments = {tok.start[0] - 1: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    return comments, source.splitlines()


def notes(cls) -> dict[str, str]:
    """Each field's comment: the one on its line; comment lines between two fields belong to
    the second unless it has its own (then they continue the first's)."""
    comments, lines = _comments(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    fields = [(i, m.group(1)) for i, line in enumerate(lines)
              if (m := FIELD.match(line)) and m.group(1) in names]
    out = {name: comments.get(i, "") for i, name in fields}
    starts = [0] + [i + 1 for i, _ in fields]
    ends = [i for i, _ in fields] + [len(lines)]
    for k, (start, end) in enumerate(zip(starts, ends)):
        block = " ".join(comments[j] for j in range(start, end)
                         if j in comments and lines[j].lstrip().startswith("#"))
        if not block:
            continue
        if k < len(fields) and not out[fields[k][1]]:
            out[fields[k][1]] = block
        elif k:
            out[fields[k - 1][1]] += " " + block
    return out


def rows() -> list[tuple[str, object, str, str]]:
    """(setting, default, meaning, domain) of every setting, section by section."""
    out = []
    for section, make in SECTIONS.items():
        default = make()
        meaning = notes(type(default))
        for key, value in dataclasses.asdict(default).items():
            name = f"{section}.{key}"
            domain = DOMAINS.get(name)
            text = ("true or false" if isinstance(value, bool) else
                    domain.describe(isinstance(value, int)) if domain else "any")
            if section == "learner" and key in OWNER:
                text += f" ({OWNER[key]} only)"
            out.append((name, value, meaning.get(key) or MEANINGS.get(name, ""), text))
    return out


def reference_table() -> str:
    """Every setting as a markdown table (docs/config.md shows it)."""
    lines = ["| setting | default | meaning | domain |", "| --- | --- | --- | --- |"]
    lines += [f"| `{name}` | `{json.dumps(value)}` | {meaning.replace('|', '/')} | {domain} |"
              for name, value, meaning, domain in rows()]
    return "\n".join(lines)


def to_toml(config: Config) -> str:
    """config as a TOML file that --config reads back, each setting under its meaning (the
    options of other learners than config's commented out: setting them is refused)."""
    meaning = {name: (text, domain) for name, _, text, domain in rows()}
    lines = [f"# zeroplay settings for {config.game}"]
    for section, values in config.to_dict().items():
        if section == "game":
            continue
        lines += ["", f"[{section}]"]
        for key, value in values.items():
            text, domain = meaning[f"{section}.{key}"]
            lines.append(f"# {text + '; ' if text else ''}{domain}")
            other = section == "learner" and OWNER.get(key, config.learner.kind) != \
                config.learner.kind  # another learner's option: shown, not set
            lines.append(f"{'# ' if other else ''}{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"
