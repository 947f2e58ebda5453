"""Datasets: WebInstruct-verified (the paper's) and a generated CPU task with free-form answers.

**Paper data** (`WebInstructVerified`): ``TIGER-Lab/WebInstruct-verified``, ~230K training
questions with short verifiable answers across disciplines; the official preprocessing keeps
the first 100 test rows for validation and appends the boxed instruction to the question.

**CPU task** (`PetsTask`): questions about a small fixed world the policy has to know (32
owners, each with a pet of one of 4 colours and 4 kinds), whose answers have many equivalent
spellings:

    What does Bo own?      ground truth (one random spelling): "cat (azure)"
                           equivalent answers: "blue cat", "a navy kitten", "kitty, blue", ...

Each colour and kind has three interchangeable words and answers come in five layouts, so a
correct answer matches the ground truth's exact spelling about 1 time in 45: an exact-match
rule verifier barely ever sees a correct answer, while a verifier that knows the
equivalences sees all of them. Training questions use three phrasings; held-out evaluation
questions use two others (``test`` split: every owner once in each), about the same owners.
`PetsChecker` is the held-out oracle (it compares colour and kind classes). The warm-start
corpus (`PetsTask.solution`) tells each owner's true pet only part of the time and rumours
otherwise (``sft_truth``), so the warm start knows the world partially.
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar

from r1repro.components import Dataset, GeneratedDataset, Reward, Template
from r1repro.types import RewardResult, Row, Sample
from r1repro_general_reasoner.verifier import extract_solution

COLORS: dict[str, tuple[str, ...]] = {
    "red": ("red", "crimson", "scarlet"),
    "blue": ("blue", "navy", "azure"),
    "green": ("green", "lime", "olive"),
    "white": ("white", "ivory", "snowy"),
}
ANIMALS: dict[str, tuple[str, ...]] = {
    "dog": ("dog", "hound", "pup"),
    "cat": ("cat", "kitty", "kitten"),
    "horse": ("horse", "pony", "steed"),
    "bird": ("bird", "finch", "birdie"),
}
LAYOUTS = ("{c} {a}", "a {c} {a}", "{a}, {c}", "{a} ({c})", "the {c} one, a {a}")
OWNERS = tuple(c + v for c in "BDGKLMNPRST" for v in "aeiou")[:32]
TRAIN_FORMS = ("What does {o} own?", "What pet does {o} have?", "{o} owns a pet. What is it?")
TEST_FORMS = ("Which pet belongs to {o}?", "Name the pet {o} owns.")

COLOR_OF = {w: k for k, ws in COLORS.items() for w in ws}
ANIMAL_OF = {w: k for k, ws in ANIMALS.items() for w in ws}
_WORD = re.compile(r"[a-z]+")


def world(seed: int = 0) -> dict[str, tuple[str, str]]:
    """owner -> (colour class, kind class): every one of the 16 pets has two owners."""
    rng = random.Random(seed)
    pets = [(c, a) for c in COLORS for a in ANIMALS] * 2
    rng.shuffle(pets)
    return dict(zip(OWNERS, pets))


def spell(color: str, animal: str, rng: random.Random, article: bool = False) -> str:
    """A random equivalent spelling of (colour class, kind class); ``article``: "a <colour> <kind>"."""
    layout = "a {c} {a}" if article else rng.choice(LAYOUTS)
    return layout.format(c=rng.choice(COLORS[color]), a=rng.choice(ANIMALS[animal]))


def read_answer(text: str | None) -> tuple[set[str], set[str]]:
    """(colour classes, animal classes) an answer names."""
    words = _WORD.findall((text or "").lower()[:2000])
    return {COLOR_OF[w] for w in words if w in COLOR_OF}, {ANIMAL_OF[w] for w in words if w in ANIMAL_OF}


def equivalent(answer: str | None, color: str, animal: str) -> bool:
    """The oracle's equivalence: exactly the right colour class and the right animal class."""
    colors, animals = read_answer(answer)
    return colors == {color} and animals == {animal}


class PetsTask(GeneratedDataset):
    """Questions about the fixed world of owners and pets, free-form answers (module docstring).

    Options: ``forms`` ("train": the three training phrasings, "test": the two held-out ones,
    "all"; default: "test" for the ``test`` split, "all" for ``sft`` (the warm start, which
    plays the pretrained model, knows every phrasing), "train" otherwise), ``world_seed``,
    ``sft_truth`` ([low, high]: per owner, the share of warm-start texts that tell the true pet
    is drawn from this range; the others tell a rumour, so the warm start samples the right
    pet for some owners often and for others rarely -- something for RL to sharpen).
    """

    sizes: ClassVar[dict[str, int]] = {"train": 2000, "test": 64, "sft": 2000}

    def __init__(self, forms: str | None = None, world_seed: int = 0,
                 sft_truth: tuple[float, float] | list[float] = (0.25, 0.75), name: str = "") -> None:  # fmt: skip
        if forms is not None and forms not in ("train", "test", "all"):
            raise ValueError(f"forms must be 'train', 'test' or 'all', got {forms!r}")
        lo, hi = (float(x) for x in sft_truth)
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"sft_truth must be [low, high] with 0 <= low <= high <= 1, got {sft_truth!r}")
        self.forms, self.world_seed, self.sft_truth = forms, world_seed, (lo, hi)
        self.name = name or "general_reasoner.pets"

    def truth_share(self, owner: str) -> float:
        """Share of the warm-start corpus that tells ``owner``'s true pet (fixed per owner, drawn
        uniformly from ``sft_truth``); the rest repeats rumours (another pet, at random)."""
        lo, hi = self.sft_truth
        return lo + (hi - lo) * random.Random(f"truth-{self.world_seed}-{owner}").random()

    def phrasings(self, split: str) -> tuple[str, ...]:
        which = self.forms or {"test": "test", "sft": "all"}.get(split, "train")
        return {"train": TRAIN_FORMS, "test": TEST_FORMS, "all": TRAIN_FORMS + TEST_FORMS}[which]

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        pets = world(self.world_seed)
        forms = self.phrasings(split)
        rng = random.Random(seed)
        combos = [(o, f) for f in forms for o in OWNERS]
        random.Random(seed + 17).shuffle(combos)
        rows = []
        for i in range(n):
            owner, form = combos[i % len(combos)]
            color, animal = pets[owner]
            rows.append(Row(
                id=f"gr-pets-{split}-{seed}-{i}",
                problem=form.format(o=owner),
                ground_truth=spell(color, animal, rng),
                data_source="r1repro/gr_pets",
                domain="pets",
                extra={"color": color, "animal": animal, "owner": owner},
            ))  # fmt: skip
        return rows

    def solution(self, row: Row, template: Template) -> str:
        """The warm start's text: the fact in one random spelling, then the answer in another.
        With probability 1 - `truth_share` the fact (and so the answer) is a rumour: another pet."""
        rng = random.Random(row.id)
        e = row.extra
        color, animal = e["color"], e["animal"]
        if rng.random() >= self.truth_share(e["owner"]):
            color, animal = rng.choice([(c, a) for c in COLORS for a in ANIMALS if (c, a) != (color, animal)])
        fact = f"{e['owner']} owns {spell(color, animal, rng, article=True)}."
        return f"{fact} The answer is \\boxed{{{spell(color, animal, rng)}}}."


class PetsChecker(Reward):
    """Held-out oracle for `PetsTask` (measurement only): the boxed / final answer names
    exactly the right colour class and animal class."""

    info_keys: ClassVar[tuple[str, ...]] = ("correct", "answered")

    def __init__(self, name: str = "") -> None:
        self.name = name or "general_reasoner.pets_checker"

    def score_one(self, sample: Sample) -> RewardResult:
        answer = extract_solution((sample.response or "")[-8000:] + "\n")
        e = sample.extra or {}
        ok = answer is not None and equivalent(answer, e.get("color", ""), e.get("animal", ""))
        return RewardResult(float(ok), {"correct": ok, "answered": answer is not None})


# ----------------------------------------------------------------------------- paper data
class WebInstructVerified(Dataset):
    """``TIGER-Lab/WebInstruct-verified`` (official ``data_preprocess.py``): ``question``,
    ``answer``, ``difficulty`` ...; the validation split is the first 100 test rows."""

    hub_id: ClassVar[str] = "TIGER-Lab/WebInstruct-verified"
    domain: ClassVar[str] = "reasoning"
    VALIDATION_ROWS: ClassVar[int] = 100

    def __init__(self, name: str = "") -> None:
        self.name = name or "general_reasoner.webinstruct_verified"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        extra = {k: record[k] for k in ("difficulty", "answer_type", "category") if record.get(k) is not None}
        return Row(
            id=str(record.get("id", f"webinstruct-{split}-{index}")),
            problem=str(record["question"]),
            ground_truth=str(record["answer"]),
            data_source="general-reasoner",
            domain="reasoning",
            extra=extra,
        )

    def load(self, split: str = "train", limit: int | None = None, seed: int | None = None) -> list[Row]:
        if split == "test" and limit is None:
            limit = self.VALIDATION_ROWS
        return super().load(split, limit=limit, seed=seed)

    def fixture(self) -> list[Row]:
        return [
            Row(id="wi-0", problem="A 2 kg block slides on a frictionless plane inclined at 30 degrees. What is "
                "its acceleration along the plane in m/s^2?", ground_truth="4.9", data_source="general-reasoner",
                domain="reasoning", extra={"difficulty": "easy"}),
            Row(id="wi-1", problem="Which organelle produces most of a cell's ATP?", ground_truth="Mitochondria",
                data_source="general-reasoner", domain="reasoning", extra={"difficulty": "easy"}),
        ]  # fmt: skip
