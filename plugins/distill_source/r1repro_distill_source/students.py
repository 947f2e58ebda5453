"""SFT students of each teacher and their evaluation on held-out problems of graded difficulty.

The paper fine-tunes one base model on each teacher's data for the same queries (loss on the
final turn) and evaluates with sampling; here each student is `tiny:<size>` SFT'd
(`r1repro.models.sft.train_sft`, loss on the response) on one teacher's traces of the same
problems, evaluated greedily: accuracy (the <answer> equals the sum) and response length in
tokens, per difficulty.
"""

from __future__ import annotations

import re
from pathlib import Path

from r1repro_distill_source.teachers import Problem

_ANSWER = re.compile(r"<answer>\s*(-?\d+)\s*</answer>")


def pairs(problems: list[Problem], responses: list[str]) -> list[tuple[list[dict], str]]:
    return [([{"role": "user", "content": p.prompt}], r) for p, r in zip(problems, responses)]


def train_student(start: str, problems: list[Problem], responses: list[str], out: Path, steps: int,
                  lr: float, batch_size: int, seed: int, threads: int = 1) -> str:  # fmt: skip
    from r1repro.models.sft import train_sft

    if (out / "config.json").is_file():
        return str(out)
    train_sft(start, pairs(problems, responses), out, steps=steps, batch_size=batch_size, lr=lr,
              warmup_steps=max(1, steps // 50), seed=seed, max_prompt_length=64, max_response_length=160,
              quiet=True, threads=threads)  # fmt: skip
    return str(out)


def is_correct(response: str, answer: int) -> bool:
    """The last <answer> holds the sum (a response without one is wrong, never an error)."""
    found = _ANSWER.findall(response)
    return bool(found) and int(found[-1]) == answer


def generate(
    model, tok, problems: list[Problem], max_new_tokens: int = 160, batch_size: int = 64
) -> list[list[int]]:
    """Greedy responses (token ids, EOS excluded)."""
    import torch

    tok.padding_side = "left"
    out: list[list[int]] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(problems), batch_size):
            batch = problems[start : start + batch_size]
            texts = [tok.apply_chat_template([{"role": "user", "content": p.prompt}], tokenize=False,
                                             add_generation_prompt=True) for p in batch]  # fmt: skip
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)  # fmt: skip
            for row in gen[:, enc["input_ids"].shape[1] :].tolist():
                ids = []
                for t in row:
                    if t == tok.eos_token_id:
                        break
                    ids.append(t)
                out.append(ids)
    return out


def evaluate(model, tok, problems: list[Problem], max_new_tokens: int = 160) -> dict[str, dict[str, float]]:
    """Per problem id: correct (0/1) and length (tokens)."""
    ids = generate(model, tok, problems, max_new_tokens)
    correct, length = {}, {}
    for p, r in zip(problems, ids):
        correct[p.id] = 1.0 if is_correct(tok.decode(r), p.answer) else 0.0
        length[p.id] = float(len(r))
    return {"correct": correct, "length": length}


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys on xs (tokens per difficulty level); 0 for constant xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
