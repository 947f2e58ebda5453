"""Hybrid Accuracy (HAcc), LHRM's metric of mode choice (arXiv 2505.14631, §4.1).

For each held-out prompt: sample k responses forced into each mode and score them; the
prompt's *ideal* mode is the one with the better mean score, and when the two means lie
within the margin, the cheaper one (the shorter mode: no-thinking in practice). HAcc is
the share of prompts where the mode the model chooses by itself (a free, greedy response)
equals the ideal mode. The ideal mode is the evaluated model's own: it says whether the
model thinks exactly when thinking pays off *for it*.

`evaluate_hybrid` runs the whole protocol on a policy and also reports accuracy,
think-rate and response length per difficulty, and each mode's forced accuracy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from r1repro_hgpo.modes import NO_THINK, NONE, THINK
from r1repro_hgpo.reward import DELTA, TIE_TOLERANCE

HACC_MARGIN = DELTA
"""Margin within which the two modes count as equally good for HAcc. The fact sheet says
"within the margin" without a number; we use HGPO's δ = 0.2 ([unverified], option)."""


def ideal_mode(mean_think: float, mean_no_think: float, margin: float = HACC_MARGIN,
               len_think: float | None = None, len_no_think: float | None = None,
               prefer: str = "shorter") -> str:  # fmt: skip
    """The better mode of one prompt: the higher mean score, unless the two are within
    ``margin``; then the shorter one by mean length (``prefer="shorter"``, the fact sheet's
    wording; no-think if lengths are unknown or equal) or always no-think (``"no_think"``)."""
    if prefer not in ("shorter", "no_think"):
        raise ValueError(f"prefer must be 'shorter' or 'no_think', got {prefer!r}")
    diff = float(mean_think) - float(mean_no_think)
    if abs(diff) <= margin + TIE_TOLERANCE:
        if (
            prefer == "shorter"
            and len_think is not None
            and len_no_think is not None
            and len_think < len_no_think
        ):
            return THINK
        return NO_THINK
    return THINK if diff > 0 else NO_THINK


def hybrid_accuracy(chosen: Sequence[str], ideal: Sequence[str]) -> float:
    """HAcc: the share of prompts whose self-chosen mode equals the ideal mode."""
    if len(chosen) != len(ideal):
        raise ValueError("chosen and ideal differ in length")
    if not chosen:
        return float("nan")
    return float(np.mean([c == i for c, i in zip(chosen, ideal)]))


class Policy:
    """A policy checkpoint with what `evaluate_hybrid` needs (``rollout_context``), without an engine.

    A set-up `LocalEngine` offers the same method, so either can be evaluated.
    """

    def __init__(self, path: str, template, max_new_tokens: int = 32, max_prompt_length: int = 256,
                 device: str = "cpu") -> None:  # fmt: skip
        from r1repro.models.tiny import load_policy

        self.model, self.tokenizer = load_policy(path, device=device)
        self.model.eval()
        self.template, self.max_new_tokens, self.max_prompt_length = (
            template,
            max_new_tokens,
            max_prompt_length,
        )

    def rollout_context(self, step: int, temperature: float | None = None, max_new_tokens: int | None = None,
                        evaluation: bool = False):  # fmt: skip
        import torch

        from r1repro.engine.rollout import RolloutContext

        return RolloutContext(model=self.model, tokenizer=self.tokenizer, template=self.template,
                              max_new_tokens=max_new_tokens or self.max_new_tokens,
                              temperature=1.0 if temperature is None else temperature,
                              max_prompt_length=self.max_prompt_length,
                              generator=torch.Generator(device="cpu").manual_seed(step), evaluation=evaluation)  # fmt: skip


def difficulty_of(row) -> str:
    return str((row.extra or {}).get("difficulty", row.domain))


def evaluate_hybrid(engine_like, rows: Sequence[Any], verifier, k: int = 8, temperature: float = 1.0,
                    max_new_tokens: int | None = None, seed: int = 0, margin: float = HACC_MARGIN,
                    prefer: str = "shorter", choose: str = "tags",
                    ) -> tuple[dict[str, float], list[dict[str, Any]]]:  # fmt: skip
    """HAcc and friends for the policy of ``engine_like`` (a `Policy` or a set-up `LocalEngine`) on ``rows``.

    Forced samples: k per mode per prompt at ``temperature``. The self-chosen response is
    greedy, its mode read as ``choose`` says (see `r1repro_hgpo.rollout`); with
    ``choose="tags"`` a plain greedy decode is run as well and its share of responses
    that open with no mode tag is reported (``untagged_free``) with its accuracy
    (``correct_free``). Returns (metrics, per-prompt records).
    """
    import copy

    import torch

    from r1repro.components import is_correct
    from r1repro_hgpo.rollout import ModeForced

    strategy = ModeForced(choose=choose)
    rows = [copy.copy(r) for r in rows]
    ctx = engine_like.rollout_context(10**8 + seed, temperature=temperature, max_new_tokens=max_new_tokens)
    ctx.generator = torch.Generator(device="cpu").manual_seed(1_000_003 * seed + 17)
    modes = ([THINK] * k + [NO_THINK] * k) * len(rows)
    forced = strategy.rollout(ctx, rows, 2 * k, modes=modes)
    f_res = verifier([t.to_sample() for t in forced])
    free_ctx = engine_like.rollout_context(10**8 + seed, temperature=0.0, max_new_tokens=max_new_tokens,
                                           evaluation=True)  # fmt: skip
    free = strategy.rollout(free_ctx, rows, 1)
    free_res = verifier([t.to_sample() for t in free])
    plain = plain_res = None
    if choose != "free":
        plain = ModeForced(choose="free").rollout(free_ctx, rows, 1)
        plain_res = verifier([t.to_sample() for t in plain])

    records = []
    for i, row in enumerate(rows):
        block = range(2 * k * i, 2 * k * (i + 1))
        score = {THINK: [], NO_THINK: []}
        length = {THINK: [], NO_THINK: []}
        for j in block:
            m = forced[j].meta["mode"]
            score[m].append(float(is_correct(f_res[j])))
            length[m].append(len(forced[j].response_ids))
        mt, mn = float(np.mean(score[THINK])), float(np.mean(score[NO_THINK]))
        ideal = ideal_mode(
            mt, mn, margin, float(np.mean(length[THINK])), float(np.mean(length[NO_THINK])), prefer
        )
        chosen = free[i].meta.get("mode", NONE)
        records.append({
            "id": row.id, "difficulty": difficulty_of(row), "acc_think": mt, "acc_no_think": mn,
            "len_think": float(np.mean(length[THINK])), "len_no_think": float(np.mean(length[NO_THINK])),
            "ideal": ideal, "chosen": chosen, "match": chosen == ideal,
            "correct": float(is_correct(free_res[i])), "length": len(free[i].response_ids),
            "response": free[i].response_text[:200],
        })  # fmt: skip
        if plain is not None:
            free_mode = plain[i].meta.get("mode", NONE)
            records[-1]["untagged_free"] = float(free_mode not in (THINK, NO_THINK))
            records[-1]["correct_free"] = float(is_correct(plain_res[i]))
            # HAcc under free decoding: the mode the plain greedy decode opens with (no tag: no match)
            records[-1]["hacc_free"] = float(free_mode == ideal)
    return summarize(records), records


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Metrics over prompt records: overall and per difficulty (``<metric>_<difficulty>``)."""
    out: dict[str, float] = {}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[""].append(r)
        groups[r["difficulty"]].append(r)
    for name, rs in groups.items():
        sfx = f"_{name}" if name else ""
        out[f"hacc{sfx}"] = hybrid_accuracy([r["chosen"] for r in rs], [r["ideal"] for r in rs])
        out[f"correct{sfx}"] = float(np.mean([r["correct"] for r in rs]))
        out[f"think_rate{sfx}"] = float(np.mean([r["chosen"] == THINK for r in rs]))
        out[f"untagged{sfx}"] = float(np.mean([r["chosen"] == NONE for r in rs]))
        out[f"length{sfx}"] = float(np.mean([r["length"] for r in rs]))
        out[f"ideal_think{sfx}"] = float(np.mean([r["ideal"] == THINK for r in rs]))
        out[f"acc_forced_think{sfx}"] = float(np.mean([r["acc_think"] for r in rs]))
        out[f"acc_forced_no_think{sfx}"] = float(np.mean([r["acc_no_think"] for r in rs]))
        for key in FREE_KEYS:
            if all(key in r for r in rs):
                out[f"{key}{sfx}"] = float(np.mean([r[key] for r in rs]))
    return out


FREE_KEYS = ("untagged_free", "correct_free", "hacc_free")
"""Per-prompt values of the plain greedy decode (no choice between the tags), when it was run."""


def record_items(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per-prompt values behind each prompt-averaged metric of `summarize` (``metric -> {prompt id:
    value}``, overall and ``_<difficulty>``): the items that carry the evaluation error of a
    checkpoint's HAcc, accuracy, think-rate and length."""
    per_record = {
        "hacc": lambda r: float(r["chosen"] == r["ideal"]),
        "correct": lambda r: float(r["correct"]),
        "think_rate": lambda r: float(r["chosen"] == THINK),
        "length": lambda r: float(r["length"]),
        "acc_forced_think": lambda r: float(r["acc_think"]),
        "acc_forced_no_think": lambda r: float(r["acc_no_think"]),
        "ideal_think": lambda r: float(r["ideal"] == THINK),
        **{key: (lambda r, key=key: float(r[key])) for key in FREE_KEYS},
    }
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for r in records:
        for metric, value in per_record.items():
            if metric in FREE_KEYS and metric not in r:
                continue
            for sfx in ("", f"_{r['difficulty']}"):
                out[metric + sfx][str(r["id"])] = value(r)
    return dict(out)
