"""Self-evolving Mixture-of-Thought training (arXiv 2505.15817, §3.2; ``scripts/mix_training_*.sh``).

Each round r = 1..R, starting from the previous round's model ("OP", on-policy):

1. for every modality m of the arm and every seed problem, sample k candidates from the *current*
   model (T=1.0, top-p 0.9 in the release) with the prompt ending in ``<m>``;
2. keep the **first** candidate whose answer is correct and that passes the format filter
   (`reward.check_validity`);
3. SFT the current model on the union of the kept rationales of all modalities ("direct" mix);
   the result is the next round's model.

A single-modality arm runs the same loop with one modality; at *equal data* it gets
``len(all modalities)`` times as many seed problems, so it can keep as many rationales.

Inference (`evaluate`): one sample per modality and problem (the release: T=0.7; greedy by
default here, `eval_temperature`), then a majority vote over the modalities with a seeded
random tie-break (`reward.majority_vote`).

`generate_fn` is injectable: tests drive the loop with a stub generator (no model at all).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1repro.types import Row
from r1repro_mot.reward import check_validity, majority_vote, parse_answer
from r1repro_mot.templates import MODALITIES, ModalityTemplate

GenerateFn = Callable[[str, list[list[dict]], int, float, int], list[list[str]]]
"""(model path, prompts as chat messages, k, temperature, seed) -> k responses per prompt."""
SftFn = Callable[[str, list[tuple[list[dict], str]], int], str]
"""(base model path, (messages, response) pairs, round seed) -> path of the fine-tuned model."""


@dataclass
class RoundStats:
    round: int
    kept: dict[str, int] = field(default_factory=dict)  # modality -> rationales kept
    tried: dict[str, int] = field(default_factory=dict)  # modality -> seed problems sampled
    model: str = ""


def with_modality(row: Row, modality: str) -> Row:
    return Row(id=f"{row.id}#{modality}", problem=row.problem, ground_truth=row.ground_truth,
               data_source=row.data_source, domain=row.domain, extra={**(row.extra or {}), "modality": modality})  # fmt: skip


def first_correct(candidates: Sequence[str], label: str, modality: str) -> str | None:
    """The first candidate that is correct and passes the format filter (the release's rule)."""
    for text in candidates:
        if parse_answer(text, modality) == label and check_validity(text, modality):
            return text
    return None


def collect(model: str, rows: Sequence[Row], modalities: Sequence[str], k: int, temperature: float, seed: int,
            generate_fn: GenerateFn, compact: bool = True) -> tuple[list[tuple[list[dict], str]], dict[str, int]]:  # fmt: skip
    """Sample k candidates per problem and modality; the kept (prompt, rationale) pairs."""
    pairs: list[tuple[list[dict], str]] = []
    kept: dict[str, int] = {}
    for j, m in enumerate(modalities):
        tpl = ModalityTemplate(m, compact=compact)
        prompts = [tpl.render(with_modality(r, m)) for r in rows]
        outs = generate_fn(model, prompts, k, temperature, seed * 1000 + j)
        kept[m] = 0
        for row, prompt, cands in zip(rows, prompts, outs):
            best = first_correct(cands, str(row.ground_truth), m)
            if best is not None:
                pairs.append((prompt, best))
                kept[m] += 1
    return pairs, kept


def self_evolve(start_model: str, rows: Sequence[Row], modalities: Sequence[str], rounds: int, k: int,
                temperature: float, seed: int, generate_fn: GenerateFn, sft_fn: SftFn,
                compact: bool = True, log: Callable[[str], None] = lambda _: None) -> tuple[str, list[RoundStats]]:  # fmt: skip
    """Run ``rounds`` rounds of sample -> filter -> SFT from ``start_model``; (final model, stats)."""
    model = start_model
    history = []
    for r in range(1, rounds + 1):
        pairs, kept = collect(model, rows, modalities, k, temperature, seed * 100 + r, generate_fn, compact)
        stats = RoundStats(r, kept, {m: len(rows) for m in modalities})
        if pairs:
            random.Random(seed * 100 + r).shuffle(pairs)
            model = sft_fn(model, pairs, seed * 100 + r)
        stats.model = model
        history.append(stats)
        log(f"round {r}: kept {kept} of {len(rows)} problems per modality")
    return model, history


def evaluate(model: str, rows: Sequence[Row], generate_fn: GenerateFn, seed: int, temperature: float = 0.0,
             modalities: Sequence[str] = MODALITIES, compact: bool = True, tiebreak: str = "random") -> dict[str, Any]:  # fmt: skip
    """Per-item correctness of each modality and of the vote: {modality|'vote': {row id: 0/1}}."""
    preds: dict[str, dict[str, str]] = {}
    for j, m in enumerate(modalities):
        tpl = ModalityTemplate(m, compact=compact)
        outs = generate_fn(
            model, [tpl.render(with_modality(r, m)) for r in rows], 1, temperature, seed * 7 + j
        )
        preds[m] = {r.id: parse_answer(o[0], m) for r, o in zip(rows, outs)}
    rng = random.Random(seed)
    preds["vote"] = {r.id: majority_vote([preds[m][r.id] for m in modalities], rng, tiebreak) for r in rows}
    return {key: {r.id: float(p[r.id] == str(r.ground_truth)) for r in rows} for key, p in preds.items()}


# ---------------------------------------------------------------------------- the tiny-model backends
def make_generate_fn(max_new_tokens: int, top_p: float = 0.9, max_prompt_length: int = 384,
                     batch_size: int = 128) -> GenerateFn:  # fmt: skip
    """Sampling with the project's generation loop (loads the model once per path)."""
    cache: dict[str, Any] = {}

    def fn(
        model_path: str, prompts: list[list[dict]], k: int, temperature: float, seed: int
    ) -> list[list[str]]:
        import torch

        from r1repro.engine.generation import generate
        from r1repro.models.tiny import load_policy

        if model_path not in cache:
            cache.clear()
            model, tok = load_policy(model_path)
            model.eval()
            cache[model_path] = (model, tok)
        model, tok = cache[model_path]
        ids = [tok(tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True),
                   add_special_tokens=False)["input_ids"][-max_prompt_length:] for p in prompts]  # fmt: skip
        flat = [x for x in ids for _ in range(k)]
        gen_ = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            out = generate(model, flat, max_new_tokens=max_new_tokens, eos_ids=[tok.eos_token_id],
                           pad_id=tok.pad_token_id, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                           generator=gen_, batch_size=batch_size, fast=True)  # fmt: skip
        texts = [tok.decode(t, skip_special_tokens=True) for t in out.tokens]
        return [texts[i * k : (i + 1) * k] for i in range(len(prompts))]

    return fn


def make_sft_fn(steps: int, lr: float, batch_size: int, max_prompt_length: int = 384,
                max_response_length: int = 256, tag: str = "", threads: int | None = None) -> SftFn:  # fmt: skip
    """Continue-from-previous SFT (the release: full SFT, lr 5e-6 cosine, 2 epochs); cached by content.
    ``threads``: torch threads of the SFT (None: the project's `SFT_THREADS` pin); in the key, with the SFT procedure's version."""

    def fn(base: str, pairs: list[tuple[list[dict], str]], seed: int) -> str:
        from r1repro.models.sft import SFT_THREADS, SFT_VERSION, train_sft
        from r1repro.paths import cache_dir

        n = SFT_THREADS if threads is None else threads
        key = hashlib.sha256(json.dumps([tag, Path(base).name, pairs, steps, lr, batch_size, seed]
                                        + ([n] if n != SFT_THREADS else []) + [SFT_VERSION],
                                        sort_keys=True, default=str).encode()).hexdigest()[:16]  # fmt: skip
        out = cache_dir() / "models" / f"mot-sft-{key}"
        if not (out / "config.json").is_file():
            train_sft(base, pairs, out, steps=steps, batch_size=batch_size, lr=lr, warmup_steps=max(1, steps // 10),
                      seed=seed, max_prompt_length=max_prompt_length, max_response_length=max_response_length,
                      quiet=True, threads=n)  # fmt: skip
        return str(out)

    return fn
