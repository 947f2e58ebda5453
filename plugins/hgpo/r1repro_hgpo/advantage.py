"""HGPO's advantage (LHRM, arXiv 2505.14631, §3.2).

    A_t = GRPO(r_intra) + α · 1[t ∈ tag tokens] · GRPO(r_inter),        α = 1

GRPO(x) is the group-normalised reward (x − mean) / (std + ε) of verl's GRPO estimator
(``compute_grpo_outcome_advantage``, called here, so the normalisation is verl's own). The
inter-group term acts **only on the mode-tag token(s)** (the first ``tag_tokens`` response
tokens, or the span the mode-forced rollout recorded); the intra-group term acts on every
response token.

The paper leaves open over which set A_intra is normalised. ``intra_norm="mode"``
(default) normalises r_intra within the responses of the same mode of the same prompt;
``"group"`` over all N responses of the prompt. Why "mode" is the default: r_intra is
defined *within* a mode ("the best response in its own mode"), and over all N a mode
whose responses all tie at its maximum (all r_intra = 1, e.g. every no-think answer wrong)
would be pushed up against the other mode's non-best responses — an inter-mode signal on
every token that the paper routes through the tag-token term only.

A response alone in its intra set gets A_intra = 0 (verl's GRPO would give it its raw
reward; with nothing to compare it with, we give it no intra signal — our choice).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from r1repro.algos import estimator
from r1repro_hgpo.modes import MODE_CODE, NO_THINK, THINK, mode_from_code

ALPHA = 1.0
"""Weight α of the inter-group term (LHRM §3.2 / §4.1: α = 1)."""

SIDE_INFO_HINT = (
    "the 'hgpo' estimator needs per-sample side information (r_inter, r_intra, mode_is_think) from the "
    "'hgpo.reward' group stage. The local engine passes it; on verl select r1repro's trainer with "
    "trainer.use_v1=true trainer.v1.trainer_mode=r1repro_sync and use reward=hgpo.reward "
    "(verl's stock trainers call estimators without it)."
)


def _column(side_info: dict, key: str, n: int) -> np.ndarray | None:
    if key not in side_info:
        return None
    col = np.asarray(side_info[key], dtype=object)
    if col.shape[0] != n:
        raise ValueError(f"hgpo: side_info[{key!r}] has {col.shape[0]} entries for {n} responses")
    return col


def _floats(col: np.ndarray, default: float = np.nan) -> np.ndarray:
    out = np.full(len(col), default, dtype=np.float64)
    for i, v in enumerate(col):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            pass
    return out


def tag_lengths(tag_tokens, modes: np.ndarray) -> np.ndarray:
    """Tag length in tokens per response: ``tag_tokens`` is one int for both tags or a mapping
    ``{"think": k1, "no_think": k2}`` (a tokenizer that splits the tags into pieces); an
    untagged response has no tag span (0)."""
    if isinstance(tag_tokens, Mapping):
        per = {m: int(tag_tokens.get(m, 1)) for m in (THINK, NO_THINK)}
    else:
        per = {THINK: int(tag_tokens), NO_THINK: int(tag_tokens)}
    return np.array([per.get(m, 0) for m in modes], dtype=np.int64)


def tag_mask(response_mask: torch.Tensor, tag_tokens, tag_start=0) -> torch.Tensor:
    """1 on each response's mode-tag token(s): positions [start, start + k) of the response
    (k, start: an int for all, or one per response), within the response mask."""
    bsz, width = response_mask.shape
    k = torch.as_tensor(np.broadcast_to(np.asarray(tag_tokens, dtype=np.int64), (bsz,)).copy())
    s = torch.as_tensor(np.broadcast_to(np.asarray(tag_start, dtype=np.int64), (bsz,)).copy())
    pos = torch.arange(width).unsqueeze(0)
    m = (pos >= s.unsqueeze(-1)) & (pos < (s + k).unsqueeze(-1))
    return m.to(response_mask.dtype) * response_mask


def group_normalised(values: np.ndarray, groups: np.ndarray, response_mask: torch.Tensor, epsilon: float,
                     norm_by_std: bool) -> torch.Tensor:  # fmt: skip
    """verl's GRPO advantage of per-response scalars ``values`` grouped by ``groups`` (bsz,)."""
    from r1repro.algos import core_algos

    rewards = torch.zeros_like(response_mask, dtype=torch.float32)
    rewards[:, 0] = torch.as_tensor(values, dtype=torch.float32)  # verl sums over tokens
    adv, _ = core_algos().compute_grpo_outcome_advantage(
        token_level_rewards=rewards, response_mask=torch.ones_like(rewards), index=groups,
        epsilon=epsilon, norm_adv_by_std_in_grpo=norm_by_std,
    )  # fmt: skip
    return adv[:, 0]


@estimator("hgpo", side_info=True)
def hgpo_advantage(token_level_rewards, response_mask, index, config=None, side_info=None, alpha: float = ALPHA,
                   tag_tokens: int | Mapping = 1, intra_norm: str = "mode", norm_adv_by_std: bool | None = None,
                   epsilon: float = 1e-6, **_):  # fmt: skip
    """HGPO: A_t = GRPO(r_intra) + α·1[t ∈ tag]·GRPO(r_inter) (LHRM §3.2); see the module doc.

    Options (``algorithm.estimator_options``): ``alpha`` (α, default 1), ``tag_tokens``
    (tag length in tokens when the rollout did not record it: an int, or a mapping per mode;
    default 1 = the project tokenizer's single-token tags), ``intra_norm`` ("mode" | "group"), ``norm_adv_by_std``
    (default: the config's ``norm_adv_by_std_in_grpo``, else True), ``epsilon``.
    ``token_level_rewards`` is not used: HGPO's rewards are r_inter / r_intra.
    """
    if side_info is None:
        raise RuntimeError(SIDE_INFO_HINT)
    if intra_norm not in ("mode", "group"):
        raise ValueError(f"hgpo: intra_norm must be 'mode' or 'group', got {intra_norm!r}")
    n = response_mask.shape[0]
    cols = {k: _column(side_info, k, n) for k in ("r_inter", "r_intra", "mode_is_think", "mode")}
    if cols["r_inter"] is None or cols["r_intra"] is None:
        raise RuntimeError("missing r_inter / r_intra in side_info: " + SIDE_INFO_HINT)
    r_inter, r_intra = _floats(cols["r_inter"]), _floats(cols["r_intra"])
    if not (np.isfinite(r_inter).all() and np.isfinite(r_intra).all()):
        raise RuntimeError(
            "r_inter / r_intra are NaN: the reward's group stage did not run. " + SIDE_INFO_HINT
        )
    if cols["mode"] is not None:
        modes = np.array([m if m in (THINK, NO_THINK) else "none" for m in cols["mode"]], dtype=object)
    elif cols["mode_is_think"] is not None:
        modes = np.array([mode_from_code(c) for c in cols["mode_is_think"]], dtype=object)
    else:
        modes = np.array(["none"] * n, dtype=object)
    if norm_adv_by_std is None:
        norm_adv_by_std = (
            bool(getattr(config, "norm_adv_by_std_in_grpo", True)) if config is not None else True
        )
    index = np.asarray(index, dtype=object)
    intra_groups = np.array([f"{g}\x1f{m}" for g, m in zip(index, modes)], dtype=object) \
        if intra_norm == "mode" else index  # fmt: skip
    a_intra = group_normalised(r_intra, intra_groups, response_mask, epsilon, norm_adv_by_std)
    sizes = {g: c for g, c in zip(*np.unique(intra_groups.astype(str), return_counts=True))}
    alone = torch.as_tensor([sizes[str(g)] == 1 for g in intra_groups])
    a_intra = torch.where(alone, torch.zeros_like(a_intra), a_intra)  # nothing to compare with in its mode
    a_inter = group_normalised(r_inter, index, response_mask, epsilon, norm_adv_by_std)
    default_k = tag_lengths(tag_tokens, modes)
    k = _column(side_info, "tag_tokens", n)
    s = _column(side_info, "tag_start", n)
    k = (
        np.where(np.isfinite(_floats(k)), _floats(k), default_k).astype(np.int64)
        if k is not None
        else default_k
    )
    s = np.where(np.isfinite(_floats(s)), _floats(s), 0).astype(np.int64) if s is not None else 0
    on_tag = tag_mask(response_mask, k, s)
    mask = response_mask.to(torch.float32)
    adv = a_intra.unsqueeze(-1) * mask + float(alpha) * a_inter.unsqueeze(-1) * on_tag.to(torch.float32)
    adv = adv.to(token_level_rewards.dtype)
    return adv, adv


__all__ = ["hgpo_advantage", "tag_mask", "group_normalised", "ALPHA", "MODE_CODE"]
