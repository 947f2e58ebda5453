"""``r1repro new-plugin NAME``: a plugin folder that installs, registers and passes its test.

Layout (flat, so the folder reads like the paper)::

    plugins/<name>/
      pyproject.toml            distribution r1repro-<name>, entry point group "r1repro"
      README.md                 what the paper claims, where each equation lives, how to run
      r1repro_<name>/
        __init__.py
        plugin.py               the hook implementations (lazy references only)
        reward.py               the paper's reward(s)
        templates.py            the paper's prompt template(s)
        data.py                 datasets: real source + generated CPU-scale task
        reproduction.py         the experiment (arms, extra tables)
      tests/test_<name>.py      golden tests of the paper's formulas
    reproductions/<name>/       config.yaml, scale/{cpu,paper}.yaml, claims.yaml
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

FILES: dict[str, str] = {
    "pyproject.toml": """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "r1repro-{name}"
version = "0.1.0"
description = "r1repro plugin: {title}"
requires-python = ">=3.10"
dependencies = ["r1repro>=0.1"]

[project.entry-points.r1repro]
{name} = "r1repro_{name}.plugin"

[tool.setuptools.packages.find]
include = ["r1repro_{name}*"]
""",
    "README.md": """# r1repro-{name}: {title}

**Paper:** {title} (arXiv XXXX.XXXXX). **Official code:** (link). **Engine of the official code:** (verl /
TRL / OpenRLHF ...), ours: r1repro local engine (CPU) and verl (paper scale).

## What the paper claims
- (claim, with section / table) — tested in `reproductions/{name}/claims.yaml`.

## Where each equation lives
| paper | code | test |
|---|---|---|
| Eq. (1) reward | `r1repro_{name}/reward.py::{cls}Reward` | `tests/test_{name}.py` |

## Values not confirmed from the paper's text ([unverified])
Kept as config parameters with the fact sheet's value as default: (list).

## Run it
```
make reproduce PAPER={name}                       # CPU scale, quick profile (3 seeds), minutes
make reproduce PAPER={name} PROFILE=full          # 5 seeds: the run the results below come from
make results                                      # regenerate the results section below from it
make reproduce PAPER={name} SCALE=paper DRY_RUN=1 # the verl command and config
pip install plugins/{name}                        # just the components, in your own verl run
```

## How this reproduction decides
- Claims, arms, margins and seeds are fixed in `reproductions/{name}/claims.yaml` from the paper *before* a
  run (pre-registration). Changing one after a run judged it makes the report say "revised after results";
  record such a change with `revised:` in the claim.
- `compare` / `threshold` claims get a verdict from the 90% interval of the effect: held (the whole interval
  on the claimed side of the margin), did not hold (the whole interval on the other side), inconclusive.
  Anything the task generator or the reward's definition decides is a `report` claim, without a verdict.
- A seed replicates the whole pipeline (model init, SFT warm start, any trained verifier, data order);
  arms of one seed share its warm start and are compared paired. Deterministic measurements are recorded
  once (`run.record_once`), never copied into seeds. Claims use `final_*`, never `best_*`.

## Results (CPU scale, full profile)
<!-- results:begin -->
No full-profile run yet: `make reproduce PAPER={name} PROFILE=full && make results`.
<!-- results:end -->
""",
    "r1repro_{name}/__init__.py": '''"""r1repro plugin for {title}."""
''',
    "r1repro_{name}/plugin.py": '''"""Hook implementations of the {name} plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [lazy("r1repro_{name}.reward:{cls}Reward", "{name}.reward", "the paper's reward (Eq. 1)")]


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_{name}.templates:{cls}Template", "{name}.template", "the paper's prompt")]


@hookimpl
def r1repro_datasets():
    return [lazy("r1repro_{name}.data:{cls}Task", "{name}.task", "generated CPU-scale task")]


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_{name}.reproduction:{cls}Reproduction", "{name}", "{title}")]
''',
    "r1repro_{name}/reward.py": '''"""The paper's reward. Cite the equation each constant comes from."""

from r1repro.components import Reward
from r1repro.core_components import extract_answer, normalize_answer
from r1repro.types import RewardResult, Sample

CORRECT_REWARD = 1.0  # Eq. (1) of the paper (replace with the paper's constants)


class {cls}Reward(Reward):
    """1.0 for a correct final answer, else 0.0 (Eq. 1)."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def score_one(self, sample: Sample) -> RewardResult:
        answer = extract_answer(sample.response)
        ok = answer is not None and normalize_answer(answer) == normalize_answer(sample.ground_truth)
        return RewardResult(CORRECT_REWARD if ok else 0.0, {{"correct": ok}})
''',
    "r1repro_{name}/templates.py": '''"""The paper's prompt template (verbatim from the paper, with its section)."""

from r1repro.core_components import BoxedTemplate


class {cls}Template(BoxedTemplate):
    """User turn: the problem plus the paper's instruction suffix."""
''',
    "r1repro_{name}/data.py": '''"""Datasets: the paper's real data (hub id) and a generated CPU-scale task."""

import random

from r1repro.components import GeneratedDataset, Template
from r1repro.types import Row


class {cls}Task(GeneratedDataset):
    """A generated task a tiny policy can learn on CPU (replace with the paper's mechanism)."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            rows.append(Row(id=f"{name}-{{split}}-{{i}}", problem=f"Compute {{a}} + {{b}}.", ground_truth=str(a + b),
                            data_source="{name}/task", domain="math"))
        return rows

    def solution(self, row: Row, template: Template) -> str:
        return template.format_response(answer=str(row.ground_truth))
''',
    "r1repro_{name}/reproduction.py": '''"""The experiment: arms and seeds come from reproductions/{name}/config.yaml."""

from r1repro.repro.base import Reproduction


class {cls}Reproduction(Reproduction):
    title = "{title}"

    def run(self, run):
        # every arm x seed; seed s of every arm starts from seed s's own SFT warm start. Extra
        # measurements: run.record(metric, arm, seed, value, items=per_prompt_values) per seed;
        # run.record_once(metric, arm, value, items=...) for a deterministic one (never copy it into seeds)
        run.train_arms()
        run.plot("eval/correct", title="accuracy under the reward", ylabel="accuracy")
''',
    "tests/test_{name}.py": '''"""Golden tests: every constant and formula of the paper, pinned."""

from r1repro.registry import load_plugins
from r1repro.types import Sample


def test_reward_scores_correct_and_wrong_answers():
    reward = load_plugins().build("reward", "{name}.reward")
    good, bad = reward([Sample(response="\\\\boxed{{4}}", ground_truth="4"), Sample(response="\\\\boxed{{5}}", ground_truth="4")])
    assert good.score == 1.0 and bad.score == 0.0


def test_components_are_registered():
    reg = load_plugins()
    for kind, name in [("reward", "{name}.reward"), ("template", "{name}.template"), ("dataset", "{name}.task"),
                       ("reproduction", "{name}")]:
        assert name in reg.names(kind), (kind, name)
''',
}

REPRO_FILES: dict[str, str] = {
    "config.yaml": """# {title}: arms, seeds and the base engine config (scale presets in scale/)
defaults:
  - scale: cpu
  - _self_

arms:
  baseline: {{}}
""",
    "scale/cpu.yaml": """# @package _global_
# quick profile: 3 seeds (make reproduce); full profile: 5 seeds (PROFILE=full, for the README tables)
seeds: [0, 1, 2]
engine:
  model: {{path: "tiny:nano", sft: {{enabled: true, steps: 150}}}}
  data: {{dataset: {name}.task, template: {name}.template}}
  reward: {name}.reward
  rollout: {{n: 8, max_new_tokens: 24}}
  trainer: {{total_steps: 20, batch_size: 16, save_every: 10}}
  eval: {{limit: 64, every: 10}}
""",
    "scale/paper.yaml": """# @package _global_
verl:
  model: Qwen/Qwen2.5-7B
  dataset: {name}.task
  template: {name}.template
  reward: {name}.reward
  n_gpus_per_node: 8
  overrides:
    algorithm.adv_estimator: grpo
    data.train_batch_size: 128
    actor_rollout_ref.rollout.n: 8
    actor_rollout_ref.actor.ppo_mini_batch_size: 64
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu: 4
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu: 4
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu: 4
""",
    "claims.yaml": """# The paper's claims, written from the paper BEFORE the first run (pre-registration): the report
# records this file's sha256 and each claim's definition hash (metric, kind, arms, direction, margin,
# value). Changing a definition after a run judged it shows "revised after results" next to the claim;
# say what changed, when and the earlier verdict in `revised:`.
#
# kind: compare (treatment vs baseline arm) | threshold (one arm vs value) | match (a deterministic
#       number vs paper_value +- tolerance) | report (shown, no verdict: use it for anything the task
#       generator or the reward's own definition decides)
# Verdicts from the 90% interval of the effect (paired over seeds when the arms share seeds, plus
# evaluation error): held = whole interval beyond the margin on the claimed side; did not hold = whole
# interval on the other side; otherwise inconclusive. "No worse than" = direction greater, margin < 0.
# Metrics: final_<k> / initial_<k> / mean_<k> of eval/<k>, or what the reproduction records; never
# best_<k> (chosen on the test split). protocol: the evaluation set, size, decoding and samples per
# prompt (default: from engine.eval).
title: "{title}"
paper: "arXiv XXXX.XXXXX"
claims:
  - id: rl_improves_accuracy
    claim: RL raises accuracy over the SFT start
    source: "(section / table)"
    paper: "(the paper's number)"
    kind: threshold
    metric: final_correct
    arm: baseline
    direction: greater
    value: 0.0
""",
}


def create_plugin(name: str, parent: Path, title: str = "", with_reproduction: bool = True) -> Path:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ValueError(f"plugin name must be a lowercase Python identifier, got {name!r}")
    root = Path(parent) / name
    if root.exists():
        raise FileExistsError(f"{root} already exists")
    cls = "".join(part.capitalize() for part in name.split("_"))
    fmt = {"name": name, "cls": cls, "title": title or name}
    for rel, text in FILES.items():
        path = root / rel.format(**fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(**fmt))
    if with_reproduction:
        repro_root = Path(parent).resolve().parent / "reproductions" / name
        if not repro_root.exists() and (Path(parent).resolve().parent / "reproductions").is_dir():
            for rel, text in REPRO_FILES.items():
                path = repro_root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text.format(**fmt))
    return root
