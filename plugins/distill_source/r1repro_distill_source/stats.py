"""Dataset statistics and quality filters of distilled reasoning data (arXiv 2505.14464).

A component any plugin can call on rows of distilled data (`DistillRow`: prompt, response,
category, teacher, verify score):

* `length_stats` / `length_report`: token-length mean, std, CV and a histogram per category
  (and teacher) (arXiv 2505.14464, data analysis: AM's math lengths are bimodal, R1's sit at 1-8k);
* `perplexity`: per-response perplexity under a reference LM, response given prompt (arXiv 2505.14464, data analysis:
  mean PPL AM 2.5, R1 2.9, Qwen3 3.0 under a 32B LM);
* `frequent_ngrams` / `ngram_redundancy`: the share of responses holding a 20-gram that occurs
  more than 20 times in the corpus (arXiv 2505.14464, QA: such responses are removed);
* `has_think_answer` / `structure_rate`: the <think>…</think><answer>…</answer> check;
* `filter_rows`: the paper's filters as options: verify score ≥ 0.9, a per-teacher perplexity
  threshold, frequent-n-gram removal, structure check.

Paper constants live here once, with their source; values the PDF gives only qualitatively are
[unverified] defaults that callers override.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

VERIFY_THRESHOLD = 0.9
"""Responses are re-sampled until verify_score ≥ 0.9 (arXiv 2505.14464, data pipeline)."""
NGRAM_N = 20
NGRAM_MAX_COUNT = 20
"""Drop responses with a 20-gram occurring more than 20 times in the corpus (arXiv 2505.14464, QA)."""
PAPER_MEAN_TOKENS = {"AM-Thinking-v1": 3757.3, "Qwen3-235B-A22B": 4196.7, "DeepSeek-R1": 3784.8}
"""Mean response tokens per teacher (arXiv 2505.14464, data analysis)."""
PAPER_MEAN_PPL = {"AM-Thinking-v1": 2.5, "DeepSeek-R1": 2.9, "Qwen3-235B-A22B": 3.0}
"""Mean perplexity per teacher under the paper's 32B reference LM (arXiv 2505.14464, data analysis)."""
PAPER_CATEGORY_MIX = {"chat": 0.418, "math": 0.295, "code": 0.171, "science": 0.084, "if": 0.031}
"""Instance mix of the 1.89M queries (arXiv 2505.14464, data analysis)."""
PAPER_LENGTH_EDGES = (0, 1024, 2048, 4096, 8192, 10240, 16384, 32768)
"""Token-length histogram bucket edges [ours: chosen to show <1k, 1-8k and ≥10k as in the paper's figure]."""

_STRUCTURE = re.compile(r"^\s*<think>(?P<think>.*?)</think>\s*<answer>(?P<answer>.*?)</answer>\s*$", re.S)


@dataclass
class DistillRow:
    """One distilled example: a query, a teacher's response and what the pipeline knows of it."""

    prompt: str
    response: str
    category: str = "general"
    teacher: str = ""
    verify_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------- lengths
def length_stats(lengths: Sequence[float]) -> dict[str, float]:
    """n, mean, population std and coefficient of variation (std / mean) of lengths."""
    n = len(lengths)
    if n == 0:
        return {"n": 0, "mean": float("nan"), "std": float("nan"), "cv": float("nan")}
    mean = sum(lengths) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in lengths) / n)
    return {"n": n, "mean": mean, "std": std, "cv": std / mean if mean else float("nan")}


def histogram(lengths: Iterable[float], edges: Sequence[float] = PAPER_LENGTH_EDGES) -> list[int]:
    """Counts per bucket [e_i, e_{i+1}); the last bucket is [e_last, ∞)."""
    counts = [0] * len(edges)
    for x in lengths:
        i = max(j for j, e in enumerate(edges) if x >= e) if x >= edges[0] else 0
        counts[i] += 1
    return counts


def whitespace_tokens(text: str) -> list[str]:
    return text.split()


def length_report(rows: Sequence[DistillRow], tokenize: Callable[[str], Sequence[Any]] = whitespace_tokens,
                  edges: Sequence[float] = PAPER_LENGTH_EDGES, by: str = "category") -> dict[str, dict[str, Any]]:  # fmt: skip
    """Per group (``by`` = "category", "teacher" or "teacher/category"): length stats + histogram."""
    groups: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        key = {"category": r.category, "teacher": r.teacher, "teacher/category": f"{r.teacher}/{r.category}"}[
            by
        ]
        groups[key].append(len(tokenize(r.response)))
    return {
        k: {**length_stats(v), "histogram": histogram(v, edges), "edges": list(edges)}
        for k, v in groups.items()
    }


def category_mix(rows: Sequence[DistillRow]) -> dict[str, float]:
    counts = Counter(r.category for r in rows)
    return {k: v / len(rows) for k, v in counts.most_common()} if rows else {}


# ----------------------------------------------------------------- structure
def has_think_answer(response: str) -> bool:
    """Exactly one non-empty <think>…</think> followed by a non-empty <answer>…</answer>."""
    m = _STRUCTURE.match(response)
    if not m or not m["think"].strip() or not m["answer"].strip():
        return False
    return response.count("<think>") == 1 and response.count("<answer>") == 1


def structure_rate(rows: Sequence[DistillRow]) -> float:
    return sum(has_think_answer(r.response) for r in rows) / len(rows) if rows else float("nan")


# ----------------------------------------------------------------- n-gram redundancy
def ngrams(tokens: Sequence[Any], n: int = NGRAM_N) -> Iterable[tuple]:
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def frequent_ngrams(token_lists: Iterable[Sequence[Any]], n: int = NGRAM_N,
                    max_count: int = NGRAM_MAX_COUNT) -> set[tuple]:  # fmt: skip
    """The n-grams occurring more than ``max_count`` times across the corpus."""
    counts: Counter = Counter()
    for tokens in token_lists:
        counts.update(ngrams(tokens, n))
    return {g for g, c in counts.items() if c > max_count}


def ngram_redundancy(rows: Sequence[DistillRow], tokenize: Callable[[str], Sequence[Any]] = whitespace_tokens,
                     n: int = NGRAM_N, max_count: int = NGRAM_MAX_COUNT) -> dict[str, Any]:  # fmt: skip
    """Share of responses containing a frequent n-gram, and the flag per row."""
    tokens = [list(tokenize(r.response)) for r in rows]
    frequent = frequent_ngrams(tokens, n, max_count)
    flags = [any(g in frequent for g in ngrams(t, n)) for t in tokens]
    return {"share": sum(flags) / len(flags) if flags else float("nan"), "flags": flags,
            "frequent_ngrams": len(frequent)}  # fmt: skip


# ----------------------------------------------------------------- perplexity
def perplexity(
    model, tok, rows: Sequence[DistillRow], batch_size: int = 16, max_length: int = 1024
) -> list[float]:
    """Per row, exp(mean NLL of the response tokens given the prompt) under ``model``."""
    import torch

    out: list[float] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            seqs = []
            for r in batch:
                p = tok(r.prompt, add_special_tokens=False)["input_ids"]
                c = tok(r.response, add_special_tokens=False)["input_ids"]
                seqs.append((p, c[: max(1, max_length - len(p))]))
            width = max(len(p) + len(c) for p, c in seqs)
            ids = torch.full((len(seqs), width), tok.pad_token_id, dtype=torch.long)
            labels = torch.full_like(ids, -100)
            attn = torch.zeros_like(ids)
            for i, (p, c) in enumerate(seqs):
                ids[i, : len(p) + len(c)] = torch.tensor(p + c)
                labels[i, len(p) : len(p) + len(c)] = torch.tensor(c)
                attn[i, : len(p) + len(c)] = 1
            logits = model(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
            target = labels[:, 1:]
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100,
                                                    reduction="none")  # fmt: skip
            mask = (target != -100).float()
            per_row = (nll * mask).sum(1) / mask.sum(1).clamp(min=1)
            out.extend(math.exp(float(x)) for x in per_row)
    return out


# ----------------------------------------------------------------- filters
@dataclass
class FilterConfig:
    """The paper's quality filters; None / False switches one off."""

    verify_threshold: float | None = VERIFY_THRESHOLD
    ppl_threshold: dict[str, float] | None = None
    """Per-teacher maximum perplexity [unverified: the paper names a per-teacher threshold, not its values]."""
    ngram_n: int | None = NGRAM_N
    ngram_max_count: int = NGRAM_MAX_COUNT
    require_structure: bool = True


def filter_rows(rows: Sequence[DistillRow], cfg: FilterConfig, ppl: Sequence[float] | None = None,
                tokenize: Callable[[str], Sequence[Any]] = whitespace_tokens
                ) -> tuple[list[DistillRow], dict[str, int]]:  # fmt: skip
    """Rows passing every enabled filter, and how many each filter removed (first failure counts)."""
    if cfg.ppl_threshold is not None and (ppl is None or len(ppl) != len(rows)):
        raise ValueError("a perplexity threshold needs one perplexity per row")
    flags = (
        ngram_redundancy(rows, tokenize, cfg.ngram_n, cfg.ngram_max_count)["flags"] if cfg.ngram_n else None
    )
    kept: list[DistillRow] = []
    removed = Counter()
    for i, r in enumerate(rows):
        if cfg.verify_threshold is not None and (
            r.verify_score is None or r.verify_score < cfg.verify_threshold
        ):
            removed["verify_score"] += 1
        elif cfg.ppl_threshold is not None and ppl[i] > cfg.ppl_threshold.get(r.teacher, math.inf):
            removed["perplexity"] += 1
        elif flags is not None and flags[i]:
            removed["frequent_ngram"] += 1
        elif cfg.require_structure and not has_think_answer(r.response):
            removed["structure"] += 1
        else:
            kept.append(r)
    return kept, dict(removed)
