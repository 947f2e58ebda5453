"""A tiny generative verifier for the CPU reproduction (a stand-in for TIGER-Lab/general-verifier).

The paper's verifier is Qwen2.5-Math-1.5B fine-tuned on Gemini-2.0-Flash verifications: it
reads the question, the ground truth and the student's answer and writes a short judgement
that ends in "Final Decision: Yes/No". Ours is the same kind of object at CPU scale: a
``tiny:micro`` causal LM, SFT-trained (`r1repro.models.sft.train_sft`) on generated
verifications of `PetsTask` answers, prompted with the paper's prompt verbatim, and decoded
greedily. Before its decision it names, per attribute, the class the ground truth and the
student's answer use, then compares the two (a short chain of thought: comparing two adjacent
class names is far easier for a 0.9M-parameter model than comparing two synonyms buried in
a 230-token prompt, which a first version that wrote only "color: same." did not learn in 300
steps: it said Yes to 87% of wrong answers):

    "color blue/blue same. animal cat/dog differs. Final Decision: No"

What it is and is not: it learns which words are interchangeable (three per colour, three per
animal) and how answers are laid out, from examples; it is not told the rule. It does not
solve the question. Its errors are its own; the reproduction reports its held-out accuracy,
false-positive and false-negative rates, and its agreement with the oracle on the policy's
actual answers.

Training examples (balanced, `student_answer`): half equivalent answers (a fresh random
spelling of the truth, so synonyms, reorderings and the identical string all occur, or one
padded with repeated words), half not (a wrong colour, a wrong animal, both, only one of the
two, two classes of one, a broken word, unrelated words, or nothing extracted: "None").
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from r1repro_general_reasoner.data import ANIMAL_OF, ANIMALS, COLOR_OF, COLORS, PetsTask, read_answer, spell
from r1repro_general_reasoner.verifier import FAIL_TAG, PASS_TAG, verifier_prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TinyVerifierConfig:
    base: str = "tiny:micro"
    examples: int = 6000
    steps: int = 600
    batch_size: int = 32
    lr: float = 3e-3
    warmup_steps: int = 30
    seed: int = 0
    max_prompt_length: int = 384
    version: int = 3  # 2: judgements name both sides' classes; 3: padded and broken answers (student_answer)


def judgement(student: str | None, color: str, animal: str) -> str:
    """The verifier's target text: per attribute "<truth class>/<student's classes> same|differs",
    then the decision ("none" when the answer names no word of that attribute)."""
    if student is None:
        return f"no answer. {FAIL_TAG}"
    colors, animals = read_answer(student)

    def clause(name: str, found: set[str], truth: str) -> str:
        said = "+".join(sorted(found)) or "none"
        return f"{name} {truth}/{said} {'same' if found == {truth} else 'differs'}."

    ok = colors == {color} and animals == {animal}
    return (
        f"{clause('color', colors, color)} {clause('animal', animals, animal)} {PASS_TAG if ok else FAIL_TAG}"
    )


def _fragment(word: str, rng: random.Random) -> str:
    """A broken piece of ``word`` that is no colour or animal word ("green" -> "reen", "gre")."""
    for _ in range(8):
        cut = rng.randint(1, max(1, len(word) - 2))
        piece = word[cut:] if rng.random() < 0.5 else word[:cut]
        if piece not in COLOR_OF and piece not in ANIMAL_OF:
            return piece
    return "zz"


def student_answer(row, rng: random.Random) -> tuple[str | None, bool]:
    """A candidate answer for ``row`` and whether it is equivalent to the truth.

    Half are equivalent: mostly fresh spellings of the truth, some padded the way a drifting
    policy writes them ("kitty kitty (navy)", "blue cat, cat"). Half are not: a wrong colour,
    a wrong animal or both; one attribute only, possibly repeated ("kitten, kitten"); two
    classes of one attribute ("red cat (blue)"); an attribute word broken into a fragment
    ("horse (reen)"); unrelated words; nothing extracted. The padded and broken kinds (version
    3) are what the policy's own answers look like when RL pushes it off its warm start; a
    verifier trained without them said Yes to them.
    """
    c, a = row.extra["color"], row.extra["animal"]
    cw, aw = rng.choice(COLORS[c]), rng.choice(ANIMALS[a])
    if rng.random() < 0.5:
        if rng.random() < 0.8:
            return spell(c, a, rng), True
        padded = [
            f"{aw} {aw} ({cw})",
            f"{cw} {aw}, {aw}",
            f"{cw} {cw} {aw}",
            f"{aw} {rng.choice(ANIMALS[a])}, {cw}",
        ]
        return rng.choice(padded), True
    other_c = rng.choice([x for x in COLORS if x != c])
    other_a = rng.choice([x for x in ANIMALS if x != a])
    kind = rng.random()
    if kind < 0.30:
        return spell(other_c, a, rng), False
    if kind < 0.60:
        return spell(c, other_a, rng), False
    if kind < 0.68:
        return spell(other_c, other_a, rng), False
    if kind < 0.78:
        word = rng.choice([aw, cw])
        return rng.choice([word, f"{word}, {word}", f"a {word}", f"{word} {word}."]), False
    if kind < 0.86:
        if rng.random() < 0.5:
            return f"{spell(c, a, rng)} ({rng.choice(COLORS[other_c])})", False
        return f"{spell(c, a, rng)}, {rng.choice(ANIMALS[other_a])}", False
    if kind < 0.95:
        if rng.random() < 0.5:
            return rng.choice([f"{aw} ({_fragment(cw, rng)})", f"{_fragment(cw, rng)} {aw}"]), False
        return rng.choice([f"{cw} {_fragment(aw, rng)}", f"{_fragment(aw, rng)}, {cw}"]), False
    if kind < 0.98:
        return rng.choice(["unknown", "owner", "nothing", "the pet", "the answer"]), False
    return None, False


def verification_examples(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` (question, ground truth, student answer, label, target judgement) examples."""
    rows = PetsTask().load("verifier", limit=n, seed=seed)
    rng = random.Random(seed * 7919 + 1)
    out = []
    for row in rows:
        student, label = student_answer(row, rng)
        out.append({
            "question": row.problem, "ground_truth": row.ground_truth, "student": student, "label": label,
            "target": judgement(student, row.extra["color"], row.extra["animal"]),
        })  # fmt: skip
    return out


def sft_pairs(examples: list[dict[str, Any]]) -> list[tuple[list[dict], str]]:
    return [([{"role": "user", "content": verifier_prompt(e["question"], e["ground_truth"], e["student"])}],
             e["target"]) for e in examples]  # fmt: skip


def tiny_verifier_path(cfg: TinyVerifierConfig = TinyVerifierConfig()) -> Path:
    from r1repro.models.sft import SFT_VERSION
    from r1repro.paths import cache_dir

    key = hashlib.sha256(json.dumps([asdict(cfg), SFT_VERSION], sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "models" / f"gr-tiny-verifier-{key}"


def ensure_tiny_verifier(cfg: TinyVerifierConfig | None = None, quiet: bool = True, **overrides: Any) -> str:
    """Path of the tiny verifier, trained with `train_sft` on first use and cached."""
    from r1repro.models.sft import train_sft
    from r1repro.models.tiny import resolve_model

    cfg = cfg or TinyVerifierConfig(**overrides)
    out = tiny_verifier_path(cfg)
    if (out / "config.json").is_file():
        return str(out)
    log.warning("training the tiny General-Reasoner verifier once (cached in %s)", out)
    pairs = sft_pairs(verification_examples(cfg.examples, cfg.seed))
    train_sft(resolve_model(cfg.base), pairs, out, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
              warmup_steps=cfg.warmup_steps, seed=cfg.seed, max_prompt_length=cfg.max_prompt_length,
              max_response_length=40, quiet=quiet)  # fmt: skip
    (out / "r1repro_tiny_verifier.json").write_text(json.dumps(asdict(cfg), indent=2))
    return str(out)


def evaluate_verifier(judge, examples: list[dict[str, Any]], max_tokens: int = 36) -> dict[str, float]:
    """Decision accuracy of ``judge`` on labelled examples (prompt as one chat user message)."""
    prompts = [[{"role": "user", "content": verifier_prompt(e["question"], e["ground_truth"], e["student"])}]
               for e in examples]  # fmt: skip
    replies = judge.complete(prompts, max_tokens=max_tokens, temperature=0.0)
    return decision_metrics([PASS_TAG in r for r in replies], [bool(e["label"]) for e in examples], replies)


def decision_metrics(
    said_yes: list[bool], truth: list[bool], replies: list[str] | None = None
) -> dict[str, float]:
    n = max(1, len(truth))
    pos = sum(truth)
    neg = len(truth) - pos
    fp = sum(1 for y, t in zip(said_yes, truth) if y and not t)
    fn = sum(1 for y, t in zip(said_yes, truth) if not y and t)
    out = {
        "accuracy": sum(1 for y, t in zip(said_yes, truth) if y == t) / n,
        "false_positive_rate": fp / max(1, neg),
        "false_negative_rate": fn / max(1, pos),
        "n": float(len(truth)),
    }
    if replies is not None:
        out["undecided_rate"] = sum(1 for r in replies if PASS_TAG not in r and FAIL_TAG not in r) / n
    out["items"] = [float(y == t) for y, t in zip(said_yes, truth)]  # per-example correctness: the accuracy's items
    return out
