"""TinyV's datasets: the RL set, the verifier benchmark, and the CPU-scale multi-form task.

* `BigMathTinyV` (``tinyv.bigmath``) — the paper's RL data, ``zhangchenxu/bigmath_tinyv_filtered``
  shuffled with seed 42, 5,000 rows kept, ``problem`` / ``answer`` fields, data source
  ``bigmath_rl_tinyv`` (official ``bigmath_rl_tinyv.py``). The shuffle is the hub library's
  own (``Dataset.shuffle(seed=42).select(range(5000))``), so the rows are the paper's rows.
* `HardVerifyMath` (``tinyv.hardverify_math``) — the paper's verifier benchmark (§4,
  "HardVerify-Math"): 250 questions (125 from benchmarks, 125 from Big-Math), each with a
  ground truth, an equivalent answer the rule verifier rejects (``fn_output``) and a wrong
  one (``tn_output``). Read from ``$R1REPRO_DATA_DIR/tinyv/HardVerify-Math.json`` or
  ``../shared/data/tinyv/`` first, else from the hub id ``zhangchenxu/HardVerify-Math``.
* `MultiFormTask` (``tinyv.multiform``) — the CPU-scale task of `r1repro_tinyv.forms`; the
  SFT warm start writes each answer in a form drawn at random, so the policy starts out
  answering in several equivalent forms, some of which the rule verifier rejects.

No data is shipped: the fixtures below are written for the tests, not copied.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

from r1repro.components import Dataset, DatasetUnavailable, GeneratedDataset, Template, data_dirs
from r1repro.types import Row
from r1repro_tinyv import forms

BIGMATH_HUB_ID = "zhangchenxu/bigmath_tinyv_filtered"
BIGMATH_SIZE = 5000
BIGMATH_SEED = 42
BIGMATH_SOURCE = "bigmath_rl_tinyv"
HARDVERIFY_HUB_ID = "zhangchenxu/HardVerify-Math"
HARDVERIFY_FILE = "tinyv/HardVerify-Math.json"
MULTIFORM_SOURCE = "r1repro/multiform_tinyv"


class BigMathTinyV(Dataset):
    """The paper's 5K Big-Math RL set (hub only; ``load`` reproduces the official selection)."""

    hub_id: ClassVar[str] = BIGMATH_HUB_ID
    domain: ClassVar[str] = "math"

    def __init__(self, name: str = "") -> None:
        self.name = name or "tinyv.bigmath"

    def load(
        self, split: str = "train", limit: int | None = BIGMATH_SIZE, seed: int | None = BIGMATH_SEED
    ) -> list[Row]:
        try:
            import datasets

            ds = datasets.load_dataset(self.hub_id, split="train")
        except Exception as exc:  # noqa: BLE001
            raise DatasetUnavailable(
                f"dataset '{self.name}' needs the hub id '{self.hub_id}' ({type(exc).__name__}: {exc})"
            ) from exc
        if seed is not None:
            ds = ds.shuffle(seed=seed)
        if limit is not None:
            ds = ds.select(range(min(limit, len(ds))))
        return [self.to_row(dict(r), i, split) for i, r in enumerate(ds)]

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        extra = {k: v for k, v in record.items() if k not in ("problem", "answer") and _plain(v)}
        return Row(id=f"bigmath-{index}", problem=str(record["problem"]), ground_truth=str(record["answer"]),
                   data_source=BIGMATH_SOURCE, domain="math", extra=extra)  # fmt: skip

    def fixture(self) -> list[Row]:
        items = [("What is the sum of the interior angles of a hexagon, in degrees?", "720"),
                 ("Find all real x with x^2 = 9.", "-3, 3"),
                 ("Simplify \\frac{6}{8}.", "\\frac{3}{4}")]  # fmt: skip
        return [Row(id=f"bigmath-fixture-{i}", problem=p, ground_truth=a, data_source=BIGMATH_SOURCE, domain="math")
                for i, (p, a) in enumerate(items)]  # fmt: skip


class HardVerifyMath(Dataset):
    """HardVerify-Math: (question, ground truth, fn_output, tn_output), 250 rows, one split."""

    hub_id: ClassVar[str] = HARDVERIFY_HUB_ID
    local_files: ClassVar[dict[str, str]] = {"train": HARDVERIFY_FILE, "test": HARDVERIFY_FILE}
    domain: ClassVar[str] = "math"

    def __init__(self, name: str = "") -> None:
        self.name = name or "tinyv.hardverify_math"

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        # The file and the hub hold one split ("train"); every split name reads it.
        reasons = []
        for d in data_dirs():
            path = d / HARDVERIFY_FILE
            if path.is_file():
                from r1repro.components import _read_records

                return _read_records(path)
        reasons.append(f"no local file '{HARDVERIFY_FILE}' in " + ", ".join(str(d) for d in data_dirs()))
        try:
            import datasets

            return [dict(r) for r in datasets.load_dataset(self.hub_id, split="train")]
        except Exception as exc:  # noqa: BLE001
            reasons.append(f"hub id '{self.hub_id}' could not be loaded ({type(exc).__name__}: {exc})")
        raise DatasetUnavailable(
            f"dataset '{self.name}' is unavailable: "
            + "; ".join(reasons)
            + ". Set R1REPRO_DATA_DIR to a folder holding tinyv/HardVerify-Math.json, or allow hub access."
        )

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        extra = {
            "fn_output": str(record.get("fn_output", "")),
            "tn_output": str(record.get("tn_output", "")),
            "source": str(record.get("source", "")),
            "benchmark_split": str(record.get("split", "")),
            "index": record.get("id", index),
        }
        return Row(id=f"hardverify-{record.get('id', index)}", problem=str(record["question"]),
                   ground_truth=str(record["ground_truth"]), data_source=HARDVERIFY_HUB_ID, domain="math",
                   extra=extra)  # fmt: skip

    def fixture(self) -> list[Row]:
        items = [
            ("Solve x^2 - 5x + 6 = 0.", "$2, 3$", "3, 2", "2, 4"),
            ("For which k is k + 5 < 0?", "$(-\\infty, -5)$", "k < -5", "k > -5"),
            ("What is 600/7 to two decimal places?", "$\\frac{600}{7}$", "85.71", "85.17"),
        ]
        return [Row(id=f"hardverify-fixture-{i}", problem=q, ground_truth=gt, data_source=HARDVERIFY_HUB_ID,
                    domain="math", extra={"fn_output": fn, "tn_output": tn, "source": "fixture",
                                          "benchmark_split": "fixture", "index": i})
                for i, (q, gt, fn, tn) in enumerate(items)]  # fmt: skip


class MultiFormTask(GeneratedDataset):
    """Generated problems whose answers have several equivalent forms (see `r1repro_tinyv.forms`).

    Options: ``kinds`` (default all five), ``forms`` ({kind: [form names]} to restrict the
    forms the SFT solutions use; default every form of the kind), ``form_weights``
    ({form name: weight}, default 1 each).
    """

    sizes: ClassVar[dict[str, int]] = {"train": 4000, "test": 300, "sft": 4000}

    def __init__(self, kinds: Sequence[str] = forms.KINDS, form_names: dict[str, list[str]] | None = None,
                 form_weights: dict[str, float] | None = None, name: str = "") -> None:  # fmt: skip
        unknown = [k for k in kinds if k not in forms.KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; choose from {forms.KINDS}")
        self.kinds = list(kinds)
        self.form_names = {k: list(v) for k, v in (form_names or {}).items()}
        self.form_weights = dict(form_weights or {})
        self.name = name or "tinyv.multiform"

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            kind = self.kinds[i % len(self.kinds)] if split == "test" else rng.choice(self.kinds)
            problem, truth = forms.make_problem(kind, rng)
            rows.append(Row(id=f"multiform-{split}-{seed}-{i}", problem=problem,
                            ground_truth=forms.ground_truth(kind, truth), data_source=MULTIFORM_SOURCE,
                            domain="math", extra={"kind": kind, "truth": truth}))  # fmt: skip
        return rows

    def forms_of(self, kind: str) -> list[forms.Form]:
        names = self.form_names.get(kind)
        return [f for f in forms.FORMS[kind] if names is None or f.name in names]

    def solution(self, row: Row, template: Template) -> str:
        """A correct answer in a form drawn at random (deterministic per row)."""
        kind, truth = row.extra["kind"], row.extra["truth"]
        rng = random.Random(zlib.crc32(row.id.encode()))
        options = self.forms_of(kind)
        weights = [float(self.form_weights.get(f.name, 1.0)) for f in options]
        form = rng.choices(options, weights=weights)[0]
        return template.format_response(answer=form.render(truth))


def _plain(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


# ------------------------------------------------------------------ the official validation set
MATH_BENCHMARKS_FILE = "tinyv/math_benchmarks_aammo.parquet"
"""The fork's ``verl/data/math_eval/math_benchmarks_aammo.parquet`` (AIME 30, AMC 83, MATH 500,
Minerva 272, OlympiadBench 675 rows), validated on next to HardVerify-Math by
``run_grpo_tinyv.sh`` (``data.val_files``). Not vendored: copy it into the data folder."""

BENCHMARK_SIZES = {"AIME": 30, "AMC": 83, "MATH": 500, "MINERVA": 272, "OLYMPIAD_BENCH": 675}
"""Rows per benchmark in the official file, keyed by the fork's ``data_source`` names (the fork's
``reward_score/__init__.py`` scores these with Prime, never with TinyV)."""

BENCHMARK_HUB = {
    "AIME": ("HuggingFaceH4/aime_2024", None, "train", "problem", "answer"),
    "AMC": ("AI-MO/aimo-validation-amc", None, "train", "problem", "answer"),
    "MATH": ("HuggingFaceH4/MATH-500", None, "test", "problem", "answer"),
    "MINERVA": ("math-ai/minervamath", None, "test", "question", "answer"),
    "OLYMPIAD_BENCH": ("math-ai/olympiadbench", None, "test", "question", "final_answer"),
}
"""Hub fallbacks when the official file is absent: (hub id, config, split, question field,
answer field). [unverified]: these public copies are assumed to hold the same problems as the
fork's file (sizes are checked against `BENCHMARK_SIZES` by the loader's caller, not here)."""


def _strip_instruction(text: str) -> str:
    from r1repro_tinyv.templates import POLICY_INSTRUCTION

    return text[: -len(POLICY_INSTRUCTION)] if text.endswith(POLICY_INSTRUCTION) else text


class MathBenchmarks(Dataset):
    """TinyV's math validation benchmarks (AIME24 / AMC / MATH500 / Minerva / OlympiadBench).

    Reads the official parquet (`MATH_BENCHMARKS_FILE`) from the data folders, else each
    benchmark from its hub id (`BENCHMARK_HUB`); raises `DatasetUnavailable` naming both
    when neither works (offline). Rows keep the fork's data-source names, so a routing reward
    (``tinyv.addon`` with ``route_by_data_source``) scores them with Prime only, as officially.
    """

    domain: ClassVar[str] = "math"

    def __init__(self, benchmarks: Sequence[str] | None = None, name: str = "") -> None:
        self.benchmarks = list(benchmarks or BENCHMARK_SIZES)
        unknown = [b for b in self.benchmarks if b not in BENCHMARK_SIZES]
        if unknown:
            raise ValueError(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARK_SIZES)}")
        self.name = name or "tinyv.math_benchmarks"

    def records(self, split: str = "test") -> list[dict[str, Any]]:
        reasons = []
        for d in data_dirs():
            path = d / MATH_BENCHMARKS_FILE
            if path.is_file():
                import pandas as pd

                recs = []
                for r in pd.read_parquet(path).to_dict("records"):
                    if r["data_source"] in self.benchmarks:
                        recs.append({"data_source": r["data_source"], "question": r["prompt"][0]["content"],
                                     "answer": r["reward_model"]["ground_truth"]})  # fmt: skip
                return recs
        reasons.append(f"no local file '{MATH_BENCHMARKS_FILE}' in " + ", ".join(str(d) for d in data_dirs()))
        recs = []
        for bench in self.benchmarks:
            hub_id, config, hub_split, q_field, a_field = BENCHMARK_HUB[bench]
            try:
                import datasets

                ds = datasets.load_dataset(hub_id, config, split=hub_split)
            except Exception as exc:  # noqa: BLE001
                reasons.append(f"{bench}: hub id '{hub_id}' could not be loaded ({type(exc).__name__})")
                continue
            for r in ds:
                answer = r[a_field]
                answer = answer[0] if isinstance(answer, list) and len(answer) == 1 else answer
                recs.append({"data_source": bench, "question": str(r[q_field]), "answer": str(answer)})
        if len(reasons) > 1:
            raise DatasetUnavailable(
                f"dataset '{self.name}' is unavailable: " + "; ".join(reasons)
                + ". Copy the fork's verl/data/math_eval/math_benchmarks_aammo.parquet to "
                f"$R1REPRO_DATA_DIR/{MATH_BENCHMARKS_FILE}, or allow hub access."
            )
        return recs

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        source = str(record["data_source"])
        return Row(id=f"{source.lower()}-{index}", problem=_strip_instruction(str(record["question"])),
                   ground_truth=str(record["answer"]), data_source=source, domain="math")  # fmt: skip

    def fixture(self) -> list[Row]:
        items = [("AIME", "What is 2^10 mod 1000?", "24"), ("MATH", "Simplify \\frac{10}{4}.", "\\frac{5}{2}"),
                 ("MINERVA", "How many seconds are in an hour?", "3600")]  # fmt: skip
        return [Row(id=f"bench-fixture-{i}", problem=q, ground_truth=a, data_source=s, domain="math")
                for i, (s, q, a) in enumerate(items)]  # fmt: skip


class OfficialValidation(Dataset):
    """The official validation set: the five math benchmarks, then HardVerify-Math
    (``run_grpo_tinyv.sh``: ``data.val_files=[math_benchmarks_aammo.parquet, hardverify_math]``)."""

    domain: ClassVar[str] = "math"

    def __init__(self, name: str = "") -> None:
        self.name = name or "tinyv.official_val"
        self.parts: list[Dataset] = [MathBenchmarks(), HardVerifyMath()]

    def load(self, split: str = "test", limit: int | None = None, seed: int | None = None) -> list[Row]:
        rows = [row for part in self.parts for row in part.load(split)]
        if seed is not None:
            random.Random(seed).shuffle(rows)
        return rows[:limit] if limit is not None else rows

    def fixture(self) -> list[Row]:
        return [row for part in self.parts for row in part.fixture()]
