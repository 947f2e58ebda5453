"""MoT data: the paper's ProofWriter and FOLIO sets, and the generated CPU-scale logic task.

* `ProofWriterMoT` — the 3,000 ProofWriter problems (open world, depth 5) as the MoT authors
  prepared them (``utils/train.json`` of the release; hub ``TongZheng1999/ProofWriter``), read from
  ``$R1REPRO_DATA_DIR/mot/`` or ``../shared/data/mot/``. Labels: the answer letter, A/B/C ->
  True/False/Uncertain (the release's option C reads "Unknown"). The solver reproduces every one.
* `FolioMoT` — the FOLIO validation set (204 problems), ``mot/folio-validation.jsonl``.
* `LogicTask` — the CPU stand-in (ours): small ProofWriter-style theories ("Anne is red. If someone
  is red then they are kind. ...") whose proof depth is controlled (1..``max_depth``), labelled by
  the solver (`r1repro_mot.solver.solve`, open world), plus propositional problems over atoms
  p, q, r, ... labelled by the truth-table checker. Each row carries premises, conclusion, depth
  and the proof chain; `solution` writes a worked rationale in any of the three modalities (the
  warm start's stand-in for the paper's 3-shot demos).
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from r1repro.components import Dataset, GeneratedDataset, Template
from r1repro.types import Row
from r1repro_mot.reward import normalise_label
from r1repro_mot.solver import parse_formula, prop_entails, solve
from r1repro_mot.templates import MODALITIES, response_text

QUESTION = "Based on the above information, is the following statement true, false, or unknown? "


def _premises_of(context: str) -> list[str]:
    import re

    return [s for s in re.split(r"(?<=\.)\s+", context.strip()) if s]


class ProofWriterMoT(Dataset):
    """The MoT authors' ProofWriter set (OWA, depth 5; 1000 each of True/False/Unknown)."""

    hub_id: ClassVar[str | None] = "TongZheng1999/ProofWriter"
    local_files: ClassVar[dict[str, str]] = {"train": "mot/proofwriter-owa-d5-train.json",
                                             "test": "mot/proofwriter-owa-d5-train.json"}  # fmt: skip
    domain: ClassVar[str] = "logic"

    def __init__(self, name: str = "") -> None:
        self.name = name or "mot.proofwriter"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        statement = str(record["question"]).rsplit("?", 1)[-1].strip()
        return Row(id=str(record.get("id", f"proofwriter-{split}-{index}")), problem=record["context"],
                   ground_truth=normalise_label(record["answer"]), data_source="ProofWriter", domain="logic",
                   extra={"premises": _premises_of(record["context"]), "conclusion": statement,
                          "question": record["question"], "depth": 5})  # fmt: skip

    def fixture(self) -> list[Row]:
        ctx = "The cat is blue. If something is blue then it is round."
        return [self.to_row({"id": "pw-fixture-0", "context": ctx, "question": QUESTION + "The cat is round.",
                             "answer": "A"}, 0, "fixture")]  # fmt: skip


class FolioMoT(Dataset):
    """FOLIO validation (204 first-order problems with FOL translations)."""

    hub_id: ClassVar[str | None] = "yale-nlp/FOLIO"
    local_files: ClassVar[dict[str, str]] = {"validation": "mot/folio-validation.jsonl",
                                             "test": "mot/folio-validation.jsonl"}  # fmt: skip
    domain: ClassVar[str] = "logic"

    def __init__(self, name: str = "") -> None:
        self.name = name or "mot.folio"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        prem = record["premises"]
        prem = prem if isinstance(prem, list) else str(prem).split("\n")
        return Row(id=f"folio-{split}-{index}", problem="\n".join(prem), ground_truth=normalise_label(record["label"]),
                   data_source="FOLIO", domain="logic",
                   extra={"premises": prem, "conclusion": record["conclusion"],
                          "premises_fol": record.get("premises-FOL"), "conclusion_fol": record.get("conclusion-FOL")})  # fmt: skip

    def fixture(self) -> list[Row]:
        return [self.to_row({"premises": ["All men are mortal.", "Socrates is a man."], "conclusion": "Socrates is mortal.",
                             "premises-FOL": ["∀x (Man(x) → Mortal(x))", "Man(socrates)"],
                             "conclusion-FOL": "Mortal(socrates)", "label": "True"}, 0, "fixture")]  # fmt: skip


NAMES = ("Anne", "Bob", "Carl", "Dave", "Erin", "Fiona")
ADJECTIVES = (
    "red",
    "blue",
    "kind",
    "big",
    "cold",
    "nice",
    "round",
    "green",
    "young",
    "quiet",
    "rough",
    "smart",
)
ATOMS = ("p", "q", "r", "s", "t", "u", "v", "w")


def _theory(rng: random.Random, depth: int, label: str) -> dict[str, Any]:
    """A ProofWriter-style theory whose statement needs ``depth`` rule applications.

    True: the statement is the end of the chain; False: the chain ends in a negated conclusion
    about the statement's attribute; Uncertain: the statement's attribute is reachable from no
    fact. One distractor fact and one distractor rule are added. The solver then labels it.
    """
    who, other = rng.sample(NAMES, 2)
    adjs = rng.sample(ADJECTIVES, depth + 3)
    chain, target, spare = adjs[: depth + 1], adjs[depth + 1], adjs[depth + 2]
    facts = [f"{who} is {chain[0]}.", f"{other} is {spare}."]
    rules = [f"If someone is {a} then they are {b}." for a, b in zip(chain[:-1], chain[1:])]
    steps = [f"{who} is {a}" for a in chain]
    if label == "True":
        statement = f"{who} is {chain[-1]}."
    elif label == "False":
        rules[-1] = f"If someone is {chain[-2]} then they are not {chain[-1]}."
        steps[-1] = f"{who} is not {chain[-1]}"
        statement = f"{who} is {chain[-1]}."
    else:
        statement = f"{who} is {target}."
        steps = [f"nothing implies that {who} is {target}"]
    rules.append(f"If someone is {spare} then they are {target}." if label != "Uncertain"
                 else f"If someone is {target} then they are {spare}.")  # fmt: skip
    premises = facts + rules
    rng.shuffle(premises)
    atoms = chain if label != "Uncertain" else [chain[0], target]
    return {"premises": premises, "conclusion": statement, "steps": steps, "atoms": atoms}


def _propositional(rng: random.Random, depth: int, label: str) -> dict[str, Any]:
    """A chain of implications over atoms; the conclusion's status is ``label`` at ``depth``."""
    atoms = list(rng.sample(ATOMS, depth + 2))
    chain, free = atoms[: depth + 1], atoms[depth + 1]
    premises = [chain[0]] + [f"{a} → {b}" for a, b in zip(chain[:-1], chain[1:])]
    if label == "False":
        premises[-1] = f"{chain[-2]} → ¬{chain[-1]}"
    conclusion = free if label == "Uncertain" else chain[-1]
    premises.append(f"{free} → {chain[0]}")  # a distractor that proves nothing about `free`
    rng.shuffle(premises)
    atoms = chain if label != "Uncertain" else [chain[0], free]
    steps = list(chain) if label != "Uncertain" else [f"nothing implies {free}"]
    if label == "False":
        steps[-1] = f"¬{chain[-1]}"
    return {"premises": premises, "conclusion": conclusion, "steps": steps, "atoms": atoms}


class LogicTask(GeneratedDataset):
    """Generated ProofWriter-style and propositional problems of depth 1..``max_depth`` (CPU scale).

    Options: ``max_depth`` (3), ``prop_share`` (share of propositional problems, 0.3). Labels are
    balanced over True/False/Uncertain and checked by the solver (a row the solver disagrees with
    is a generator bug and raises).
    """

    sizes: ClassVar[dict[str, int]] = {
        "train": 2997,
        "test": 270,
        "sft": 2997,
    }  # multiples of 9: label x depth balanced

    def __init__(self, max_depth: int = 3, prop_share: float = 0.3, name: str = "") -> None:
        self.max_depth, self.prop_share = int(max_depth), float(prop_share)
        self.name = name or "mot.logic_task"

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            label = ("True", "False", "Uncertain")[i % 3]
            depth = 1 + (i // 3) % self.max_depth
            kind = "prop" if rng.random() < self.prop_share else "theory"
            p = (_propositional if kind == "prop" else _theory)(rng, depth, label)
            oracle = self.oracle(kind, p["premises"], p["conclusion"])
            if oracle != label:
                raise AssertionError(f"generator bug: {kind} problem labelled {label}, solver says {oracle}")
            rows.append(Row(id=f"mot-logic-{split}-{seed}-{i}", problem="\n".join(p["premises"]),
                            ground_truth=label, data_source="r1repro/mot_logic", domain="logic",
                            extra={"premises": p["premises"], "conclusion": p["conclusion"], "depth": depth,
                                   "kind": kind, "steps": p["steps"], "atoms": p["atoms"]}))  # fmt: skip
        return rows

    @staticmethod
    def oracle(kind: str, premises: list[str], conclusion: str) -> str:
        if kind == "prop":
            return prop_entails([parse_formula(x) for x in premises], parse_formula(conclusion))
        return normalise_label(solve(" ".join(premises), QUESTION + conclusion))

    def solution(self, row: Row, template: Template) -> str:
        modality = (row.extra or {}).get("modality") or getattr(template, "modality", "nl_cot")
        return rationale(row, modality, str(row.ground_truth))


def rationale(row: Row, modality: str, label: str) -> str:
    """A worked response in ``modality`` that argues for ``label`` along the row's proof chain."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}")
    steps = list(row.extra.get("steps", []))
    atoms = [str(x) for x in row.extra.get("atoms", [])]
    if modality == "nl_cot":
        body = ". So ".join(steps) + "."
    elif modality == "code":
        # the chain as assignments: each atom from the previous one (negated at a False step)
        lines = ["def solve():", f"    {atoms[0]} = True"]
        if label == "Uncertain":
            lines.append(f"    {atoms[-1]} = None")
        else:
            for prev, cur in zip(atoms[:-1], atoms[1:]):
                neg = "not " if (label == "False" and cur == atoms[-1]) else ""
                lines.append(f"    {cur} = {neg}{prev}")
        lines.append(f"    return {atoms[-1]}")
        body = "\n".join(lines)
    else:
        # the rows of the truth table consistent with the premises, over the chain's atoms
        cols = [str(a) for a in row.extra.get("atoms", [])] or ["conclusion"]
        if label == "Uncertain":
            rows = [["T"] * (len(cols) - 1) + [v] for v in ("T", "F")]
        else:
            rows = [["T"] * (len(cols) - 1) + [label[0]]]
        body = "\n".join("| " + " | ".join(r) + " |" for r in [cols, *rows])
    return response_text(body, modality, label)
