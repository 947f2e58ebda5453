"""NOVER's reward: format, reasoning perplexity (rank-based) and efficiency, no verifier.

Paper §3 (arXiv 2505.16022) and the official ``reward_functions.py`` / ``utils.py``. For a
group of G completions of one prompt with reference answer g:

* **Format** R_f (``format_reward``): 1 iff the completion is exactly
  ``<think>X</think><answer>Y</answer>`` up to whitespace, else 0.
* **Reasoning perplexity** (``reasoning_perplexity``) of a completion with reasoning t,
  under the proxy model pi_p (a lagged copy of the policy, `r1repro_nover.proxy`):

      P_r = exp( NLL(g | prompt, t) / N(|t|) ),    NLL = mean token NLL of the answer block
      N(|t|) = max(1, 1 + log10 |t|)               |t| = reasoning length in proxy tokens

  The paper writes ``log``; the official code uses ``log10`` (our default, option
  ``length_log``).
* **Reasoning reward** R_r (``rank_rewards``): the format-valid completions sorted by P_r
  ascending; the one at 0-based rank k gets (n_valid - k) / n_valid. Equal P_r share the
  mean reward of the ranks they span (option ``rank_ties``; the official code breaks ties by
  position, ``rank_ties="order"``).
* **Efficiency reward** R_e (``efficiency_rewards``): the share of the other valid
  completions that are both longer and of higher P_r: #{j != i: |t_i| < |t_j| and
  P_r,i < P_r,j} / (n_valid - 1); 0 when fewer than 2 are valid.
* **Total** (``total_reward``): R = w_f R_f + 1[R_f = 1] (w_r R_r + w_e R_e), all weights 1.0
  (official ``config.py``).

The per-sample stage (``score_batch``) parses and runs **one batched proxy forward** for all
format-valid completions; the group stage (``combine``) ranks within each group, so the same
class works in the local engine and in verl (group stage in the ``r1repro_sync`` trainer).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from r1repro.components import Reward, group_indices
from r1repro.types import RewardResult, Sample
from r1repro_nover.perplexity import answer_block, reasoning_block, target_nll
from r1repro_nover.proxy import LaggedProxy
from r1repro_nover.templates import ANSWER_TAG, THINK_TAG, first_block, is_exact_format, nover_prompt

W_FORMAT = 1.0  # official config.py: TAG_FORMAT_REWARD_WEIGHT
W_REASONING = 1.0  # official config.py: REASONING_REWARD_WEIGHT
W_EFFICIENCY = 1.0  # official config.py: EFFICIENCY_REWARD_WEIGHT
RANK_TIES = ("average", "order")  # how equal P_r are ranked (not in the paper; see rank_rewards)
TIE_TOL = 1e-6  # relative tolerance under which two P_r count as equal (not a paper constant)
MAX_REASONING_CHARS = 200_000  # bound on tokenisation work per completion (not a paper constant)


# ----------------------------------------------------------------------- formulas
def format_reward(completion: str, think_tag: str = THINK_TAG, answer_tag: str = ANSWER_TAG) -> float:
    """R_f in {0, 1} (paper §3.3 format reward; official ``tag_format_reward``)."""
    return 1.0 if is_exact_format(completion, think_tag, answer_tag) else 0.0


def length_norm(n_tokens: int, log: str = "log10") -> float:
    """N(|t|) = max(1, 1 + log|t|) (paper §3.2; ``log10`` in the official code, ``ln`` in the
    paper's formula). N(0) = 1 (log 0 = -inf)."""
    if n_tokens <= 0:
        return 1.0
    fn = {"log10": math.log10, "ln": math.log, "log": math.log}[log]
    return max(1.0, 1.0 + fn(n_tokens))


def reasoning_perplexity(mean_nll: float, n_reasoning_tokens: int, log: str = "log10") -> float:
    """P_r = exp(mean NLL of the reference / N(|t|)) (paper §3.2, Eq. for P_r)."""
    return math.exp(mean_nll / length_norm(n_reasoning_tokens, log))


def rank_rewards(ppl: Sequence[float | None], ties: str = "average", tie_tol: float = TIE_TOL) -> list[float]:
    """R_r per completion: valid ones (a finite P_r) ranked ascending by P_r; rank k (0-based)
    -> (n_valid - k) / n_valid; invalid ones get 0 (paper §3.2; official ``reasoning_reward``).

    ``ties``: the paper does not say how equal P_r are ranked. "order" is the official code
    (a stable sort: among equal P_r the earlier completion ranks higher, so identical
    completions get different rewards, spread by their position in the group); "average"
    (default) gives every member of a tie the mean of the rewards of the ranks it spans, so
    identical reasoning earns identical reward and the group's reward sum is unchanged. Values
    within a relative ``tie_tol`` are tied (batched forwards are not bit-identical).
    """
    if ties not in RANK_TIES:
        raise ValueError(f"ties must be one of {RANK_TIES}, got {ties!r}")
    valid = sorted(
        ((i, p) for i, p in enumerate(ppl) if p is not None and math.isfinite(p)), key=lambda x: x[1]
    )
    out = [0.0] * len(ppl)
    n = len(valid)
    k = 0
    while k < n:
        end = k + 1
        if ties == "average":
            while end < n and _close(valid[end][1], valid[k][1], tie_tol):
                end += 1
        reward = sum((n - r) / n for r in range(k, end)) / (end - k)
        for i, _ in valid[k:end]:
            out[i] = reward
        k = end
    return out


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def efficiency_rewards(
    lengths: Sequence[float], ppl: Sequence[float | None], tie_tol: float = TIE_TOL
) -> list[float]:
    """R_e per completion: #{valid j != i: len_i < len_j and P_r,i < P_r,j} / (n_valid - 1);
    0 for invalid completions and for everyone when fewer than 2 are valid
    (official ``efficiency_reward``; lengths are reasoning lengths in tokens)."""
    valid = [i for i, p in enumerate(ppl) if p is not None and math.isfinite(p)]
    out = [0.0] * len(ppl)
    if len(valid) < 2:
        return out
    for i in valid:
        better = sum(1 for j in valid if j != i and lengths[i] < lengths[j] and ppl[i] < ppl[j]
                     and not _close(ppl[i], ppl[j], tie_tol))  # fmt: skip
        out[i] = better / (len(valid) - 1)
    return out


def total_reward(r_format: float, r_reasoning: float, r_efficiency: float, w_format: float = W_FORMAT,
                 w_reasoning: float = W_REASONING, w_efficiency: float = W_EFFICIENCY) -> float:  # fmt: skip
    """R = w_f R_f + 1[R_f = 1] (w_r R_r + w_e R_e) (paper §3.3)."""
    gate = 1.0 if r_format == 1.0 else 0.0
    return w_format * r_format + gate * (w_reasoning * r_reasoning + w_efficiency * r_efficiency)


# ----------------------------------------------------------------------- the reward
class NoverReward(Reward):
    """NOVER's verifier-free reward (see the module docstring).

    Options:
      ``proxy``            `LaggedProxy` options (alpha, sync_every, model, sync_from, ...)
      ``w_format`` / ``w_reasoning`` / ``w_efficiency``   weights (1.0 each)
      ``length_log``       "log10" (official code, default) or "ln" (the paper's formula)
      ``rank_ties``        "average" (default: equal P_r share their ranks' mean reward) or
                           "order" (the official stable sort: ties broken by position)
      ``think_tag`` / ``answer_tag``   the template's tags
      ``use_prompt_ids``   score with the exact prompt tokens the policy saw when the engine
                           provides them (local engine); else re-render the NOVER prompt
      ``chat_template``    when re-rendering, wrap it in the proxy tokenizer's chat template
                           (verl feeds chat messages; the official TRL code used raw text)
      ``batch_size``       completions per proxy forward (0 = the whole batch at once)
      ``max_tokens``       cap on context + target tokens (default: the proxy's positions)
    """

    group_aware: ClassVar[bool] = True
    info_keys: ClassVar[tuple[str, ...]] = ("format", "ppl", "reasoning_tokens", "reasoning_reward",
                                            "efficiency_reward")  # fmt: skip
    timeout_s = 120.0

    def __init__(self, proxy: Mapping[str, Any] | LaggedProxy | None = None, w_format: float = W_FORMAT,
                 w_reasoning: float = W_REASONING, w_efficiency: float = W_EFFICIENCY, length_log: str = "log10",
                 rank_ties: str = "average", think_tag: str = THINK_TAG, answer_tag: str = ANSWER_TAG,
                 use_prompt_ids: bool = True, chat_template: bool = True, batch_size: int = 0, max_tokens: int | None = None,
                 name: str = "") -> None:  # fmt: skip
        if length_log not in ("log10", "ln", "log"):
            raise ValueError(f"length_log must be 'log10' or 'ln', got {length_log!r}")
        self.proxy = proxy if isinstance(proxy, LaggedProxy) else LaggedProxy(**dict(proxy or {}))
        self.w_format, self.w_reasoning, self.w_efficiency = w_format, w_reasoning, w_efficiency
        if rank_ties not in RANK_TIES:
            raise ValueError(f"rank_ties must be one of {RANK_TIES}, got {rank_ties!r}")
        self.rank_ties = rank_ties
        self.length_log, self.think_tag, self.answer_tag = length_log, think_tag, answer_tag
        self.use_prompt_ids, self.chat_template = use_prompt_ids, chat_template
        self.batch_size, self.max_tokens = batch_size, max_tokens
        self.name = name or "nover.reward"
        self._stats: dict[str, list[float]] = {}

    @classmethod
    def contract_example(cls) -> dict[str, Any]:
        """Options for the contract tests: a tiny random proxy, loaded by path."""
        return {"proxy": {"model": "tiny:nano"}}

    def children(self) -> list[Any]:
        return [self.proxy]

    # ------------------------------------------------------------------ stage 1
    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        fmt = [format_reward(s.response, self.think_tag, self.answer_tag) for s in samples]
        results = [RewardResult(self.w_format * f, {"format": f}) for f in fmt]
        valid = [i for i, s in enumerate(samples) if fmt[i] == 1.0 and str(s.ground_truth or "").strip()]
        if not valid:
            self._note(samples, fmt, [], 0.0)
            return results
        model, tok = self.proxy.get()
        t0 = time.perf_counter()
        pairs, n_tokens = [], []
        for i in valid:
            s = samples[i]
            reasoning = first_block(s.response, self.think_tag)[:MAX_REASONING_CHARS]
            ctx = self._prompt_ids(s, tok) + _encode(tok, reasoning_block(reasoning, self.think_tag))
            pairs.append((ctx, _encode(tok, answer_block(str(s.ground_truth).strip(), self.answer_tag))))
            n_tokens.append(len(_encode(tok, reasoning)))
        cap = self.max_tokens or getattr(model.config, "max_position_embeddings", None)
        nll = target_nll(model, pairs, _pad_id(tok), batch_size=self.batch_size, max_tokens=cap)
        for i, loss, n in zip(valid, nll, n_tokens):
            if math.isfinite(loss):
                ppl = reasoning_perplexity(loss, n, self.length_log)
                results[i].info.update({"ppl": ppl, "nll": loss, "reasoning_tokens": float(n)})
        self._note(samples, fmt, [results[i].info.get("ppl") for i in valid], time.perf_counter() - t0)
        return results

    def _prompt_ids(self, s: Sample, tok) -> list[int]:
        if self.use_prompt_ids and s.prompt_ids:
            return list(s.prompt_ids)
        if isinstance(s.prompt, list) and s.prompt:
            messages = s.prompt
        else:
            messages = [{"role": "user", "content": nover_prompt(s.problem, self.think_tag, self.answer_tag)}]
        if self.chat_template and getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n".join(str(m.get("content", "")) for m in messages)
        return _encode(tok, text)

    # ------------------------------------------------------------------ stage 2
    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        out = list(results)
        for idx in group_indices(samples).values():
            ppl = [_finite(results[i].info.get("ppl")) for i in idx]
            lengths = [float(results[i].info.get("reasoning_tokens", 0.0)) for i in idx]
            r_r, r_e = rank_rewards(ppl, self.rank_ties), efficiency_rewards(lengths, ppl)
            for k, i in enumerate(idx):
                r_f = float(results[i].info.get("format", 0.0))
                score = total_reward(r_f, r_r[k], r_e[k], self.w_format, self.w_reasoning, self.w_efficiency)
                out[i] = RewardResult(score, {**results[i].info, "reasoning_reward": r_r[k],
                                              "efficiency_reward": r_e[k]})  # fmt: skip
        return out

    # ------------------------------------------------------------------ metrics
    def _note(self, samples, fmt, ppls, seconds: float) -> None:
        st = self._stats
        st.setdefault("format_rate", []).append(sum(fmt) / max(1, len(fmt)))
        good = [p for p in ppls if p is not None]
        if good:
            st.setdefault("ppl_mean", []).append(sum(good) / len(good))
        st.setdefault("proxy_seconds", []).append(seconds)

    def consume_stats(self) -> dict[str, float]:
        out = {k: sum(v) / len(v) for k, v in self._stats.items() if v}
        out.update(self.proxy.stats())
        self._stats = {}
        return out


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _encode(tok, text: str) -> list[int]:
    return list(tok(text, add_special_tokens=False)["input_ids"]) if text else []


def _pad_id(tok) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
