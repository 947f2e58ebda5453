"""The CPU-scale models of the reproduction: base → aligned → three fine-tunes, and their scores.

Every stage is a plain SFT run (`r1repro.models.sft.train_sft`, loss on the response) whose
data and seed depend on the reproduction seed, so a seed replicates the whole pipeline: the
random initialisation, the base and aligned models, and each fine-tune. The paper fine-tunes
with full-parameter SFT too (official ``finetune.py``).

Scoring is greedy and teacher-forced: a greedy decoder writes exactly the target response
(then EOS) iff the argmax at every target position is the target token, so one batched forward
pass scores a whole evaluation set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from r1repro_safety_subspaces.task import Example, as_pairs, stage_data

if TYPE_CHECKING:
    import torch

FINETUNES = ("useful", "harmful", "contaminated")


@dataclass
class StageConfig:
    steps: int
    examples: int
    lr: float
    batch_size: int = 32


def train_stage(
    start: str, stage: str, splits, cfg: StageConfig, seed: int, out: Path, threads: int = 1
) -> str:
    """SFT ``start`` on the stage's data; returns the saved model folder (reused if present).
    ``threads``: CPU threads of the SFT (pinned, so a seed's models are the same bits on reruns;
    one thread is also far faster than two on a busy machine for a model this small)."""
    from r1repro.models.sft import train_sft

    if (out / "config.json").is_file():
        return str(out)
    data = stage_data(stage, splits, cfg.examples, seed)
    train_sft(start, as_pairs(data), out, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
              warmup_steps=max(1, cfg.steps // 50), seed=seed, max_prompt_length=64, max_response_length=16,
              quiet=True, threads=threads)  # fmt: skip
    return str(out)


def _encode(tok, example: Example) -> tuple[list[int], list[int]]:
    prompt = tok.apply_chat_template([{"role": "user", "content": example.prompt}], tokenize=False,
                                     add_generation_prompt=True)  # fmt: skip
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tok(example.response, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    return p_ids, r_ids


def greedy_matches(model, tok, examples: list[Example], batch_size: int = 128) -> dict[str, float]:
    """Per example, 1.0 if greedy decoding writes exactly ``example.response`` then EOS."""
    import torch

    out: dict[str, float] = {}
    model.eval()
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = examples[start : start + batch_size]
            encoded = [_encode(tok, e) for e in batch]
            width = max(len(p) + len(r) for p, r in encoded)
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            attn = torch.zeros_like(ids)
            for i, (p, r) in enumerate(encoded):
                ids[i, : len(p) + len(r)] = torch.tensor(p + r)
                attn[i, : len(p) + len(r)] = 1
            pred = model(input_ids=ids, attention_mask=attn).logits.argmax(-1)
            for (p, r), e, row in zip(encoded, batch, pred):
                hit = torch.equal(row[len(p) - 1 : len(p) + len(r) - 1], torch.tensor(r))
                out[e.id] = 1.0 if hit else 0.0
    return out


def score(model, tok, evals: dict[str, list[Example]]) -> dict[str, dict[str, float]]:
    """{"utility": per-item exact match on held-out useful prompts, "harm": per-item compliance}."""
    return {metric: greedy_matches(model, tok, examples) for metric, examples in evals.items()}


def load_with_weights(path: str, weights: dict[str, torch.Tensor]):
    """The model at ``path`` with its parameters replaced by ``weights`` (a projected checkpoint)."""
    from r1repro.models.tiny import load_policy

    model, tok = load_policy(path)
    missing = model.load_state_dict(weights, strict=False)
    if missing.unexpected_keys:
        raise ValueError(f"projected weights have unexpected keys: {missing.unexpected_keys[:5]}")
    return model, tok
