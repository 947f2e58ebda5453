"""Implementations of the core's built-in components (see `r1repro.builtin`)."""

from __future__ import annotations

import ast
import operator
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1repro.components import Dataset, Environment, GeneratedDataset, Reward, Template, _read_records
from r1repro.textutil import between, last_boxed
from r1repro.types import ParsedResponse, RewardResult, Row, Sample, StepResult

# -------------------------------------------------------------------------- templates
STEP_BY_STEP_BOXED = " Let's think step by step and output the final answer within \\boxed{}."


class BoxedTemplate(Template):
    """User turn = problem + the "step by step ... \\boxed{}" suffix (TinyV, LASER, DISCO...)."""

    user_format = "{problem}" + STEP_BY_STEP_BOXED

    def format_response(self, answer: str, think: str | None = None) -> str:
        return (f"{think} " if think else "") + f"The answer is \\boxed{{{answer}}}."


class R1ZeroTemplate(Template):
    """The DeepSeek-R1-Zero template (DeepSeek-R1 paper, Table 1), answer in ``<answer>`` tags."""

    system_prompt = (
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
        "The assistant first thinks about the reasoning process in the mind and then provides the user with "
        "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
        "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
        "</answer>."
    )

    def parse(self, response: str) -> ParsedResponse:
        think = between(response, "<think>", "</think>", last=False)
        ans = between(response, "<answer>", "</answer>")
        ok = bool(re.fullmatch(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", response or "", re.S))
        if ans is not None:
            ans = (last_boxed(ans) or ans).strip()
        return ParsedResponse(answer=ans, think=think.strip() if think else None, format_ok=ok)

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"<think>{think or ''}</think><answer>{answer}</answer>"


class PlainTemplate(Template):
    """The problem as the user turn; the whole response is the answer."""

    def parse(self, response: str) -> ParsedResponse:
        text = (response or "").strip()
        return ParsedResponse(answer=text or None, format_ok=bool(text))

    def format_response(self, answer: str, think: str | None = None) -> str:
        return answer


def extract_answer(response: str) -> str | None:
    """The answer of a response whatever the template: ``<answer>``, else last ``\\boxed{}``."""
    ans = between(response, "<answer>", "</answer>")
    if ans is not None:
        return (last_boxed(ans) or ans).strip()
    return last_boxed(response)


# --------------------------------------------------------------------------- datasets
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


class ArithmeticTask(GeneratedDataset):
    """``Compute a op b.`` with integers; solutions show one line of work.

    Options: ``max_operand`` (default 20), ``ops`` (default "+-*"). Small enough that a
    ~1M-parameter model learns it partly from a short SFT, so RL has signal to work with.
    """

    def __init__(self, max_operand: int = 20, ops: str = "+-", name: str = "") -> None:
        self.max_operand, self.ops = max_operand, ops
        self.name = name or "core.arithmetic"

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            a, b = rng.randint(0, self.max_operand), rng.randint(0, self.max_operand)
            op = rng.choice(self.ops)
            rows.append(
                Row(
                    id=f"arith-{split}-{seed}-{i}",
                    problem=f"Compute {a} {op} {b}.",
                    ground_truth=str(_OPS[op](a, b)),
                    data_source="r1repro/arithmetic",
                    domain="math",
                    extra={"a": a, "b": b, "op": op},
                )
            )
        return rows

    def solution(self, row: Row, template: Template) -> str:
        e = row.extra
        return template.format_response(
            answer=row.ground_truth, think=f"{e['a']} {e['op']} {e['b']} = {row.ground_truth}."
        )


class JsonlDataset(Dataset):
    """Rows from a local file (JSONL, JSON list or parquet) with configurable field names."""

    def __init__(self, path: str, problem_key: str = "problem", answer_key: str = "answer",
                 data_source: str | None = None, domain: str = "general", name: str = "") -> None:  # fmt: skip
        self.path, self.problem_key, self.answer_key = Path(path), problem_key, answer_key
        self.source, self.row_domain = data_source or self.path.stem, domain
        self.name = name or "core.jsonl"

    @classmethod
    def contract_example(cls) -> dict[str, Any]:
        return {"path": "rows.jsonl"}

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        return _read_records(self.path)

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        extra = {k: v for k, v in record.items() if k not in (self.problem_key, self.answer_key)}
        return Row(id=str(record.get("id", index)), problem=str(record[self.problem_key]),
                   ground_truth=record[self.answer_key], data_source=self.source, domain=self.row_domain,
                   extra=extra)  # fmt: skip

    def fixture(self) -> list[Row]:
        return [
            Row(id="0", problem="1+1?", ground_truth="2", data_source=self.source, domain=self.row_domain)
        ]


# ---------------------------------------------------------------------------- rewards
def normalize_answer(text: str | None) -> str:
    if text is None:
        return ""
    t = str(text).strip()
    t = re.sub(r"\\text\{([^{}]*)\}", r"\1", t)
    t = t.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("$", "")
    t = re.sub(r"\s+", "", t)
    return t.rstrip(".").lower()


class ExactMatch(Reward):
    """1.0 if the extracted answer equals the ground truth after light normalisation."""

    def __init__(self, name: str = "") -> None:
        self.name = name or "core.exact_match"

    def score_one(self, sample: Sample) -> RewardResult:
        ans = extract_answer(sample.response)
        ok = ans is not None and normalize_answer(ans) == normalize_answer(sample.ground_truth)
        return RewardResult(float(ok), {"correct": ok, "has_answer": ans is not None})


class NumericMatch(Reward):
    """1.0 if the extracted answer and the ground truth are equal numbers (relative tolerance)."""

    def __init__(self, rel_tol: float = 1e-6, name: str = "") -> None:
        self.rel_tol, self.name = rel_tol, name or "core.numeric_match"

    def score_one(self, sample: Sample) -> RewardResult:
        ans = extract_answer(sample.response)
        a, b = _to_float(ans), _to_float(sample.ground_truth)
        ok = a is not None and b is not None and abs(a - b) <= self.rel_tol * max(1.0, abs(b))
        return RewardResult(float(ok), {"correct": ok, "has_answer": ans is not None})


class MathVerify(Reward):
    """1.0 if ``math-verify`` finds the response's answer equivalent to the ground truth.

    math-verify's documented use, ``verify(parse(gold), parse(answer))``; a ground truth without
    ``$`` or ``\\boxed`` is read as LaTeX (``$gt$``). An optional dependency, imported on first
    use; plugins whose paper grades with math-verify register this class under their own name
    (``ppe.math_verify``, ``tapo.math_verify``). Isolated in the killable worker pool: sympy can
    hang on adversarial input.
    """

    isolate = True
    timeout_s = 5.0

    def __init__(self, name: str = "") -> None:
        self.name = name  # empty: the registry names it after the entry that built it

    def score_one(self, sample: Sample) -> RewardResult:
        from math_verify import parse, verify

        gt = str(sample.ground_truth)
        if "$" not in gt and "\\boxed" not in gt:
            gt = f"${gt}$"
        gold, pred = parse(gt, parsing_timeout=None), parse(sample.response, parsing_timeout=None)
        ok = bool(gold) and bool(pred) and bool(verify(gold, pred, timeout_seconds=None))
        return RewardResult(float(ok), {"correct": ok})


def _to_float(x: Any) -> float | None:
    if x is None:
        return None
    s = normalize_answer(str(x)).replace(",", "")
    if len(s) > 40:
        return None
    m = re.fullmatch(r"(-?\d+)/(\d+)", s) or re.fullmatch(r"\\frac\{(-?\d+)\}\{(\d+)\}", s)
    try:
        if m:
            return int(m.group(1)) / int(m.group(2))
        return float(s)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


class WeightedSum(Reward):
    """Σ w_i · r_i over sub-rewards; every component's info is kept under its name.

    ``terms: [{reward: <spec>, weight: <float>}]``. Group-aware if any term is.
    """

    @classmethod
    def contract_example(cls) -> dict[str, Any]:
        return {"terms": [{"reward": "core.exact_match", "weight": 0.5}, {"reward": "core.numeric_match"}]}

    def __init__(self, terms: Sequence[dict[str, Any]], name: str = "") -> None:
        from r1repro.registry import build

        self.name = name or "core.weighted_sum"
        self.terms = [(build("reward", t["reward"]), float(t.get("weight", 1.0))) for t in terms]

    def children(self) -> list[Reward]:
        return [r for r, _ in self.terms]

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        total = [0.0] * len(samples)
        info: list[dict[str, Any]] = [{} for _ in samples]
        for reward, w in self.terms:
            for i, res in enumerate(reward(samples)):
                total[i] += w * res.score
                tag = reward.name or type(reward).__name__
                info[i][tag] = res.score
                if "correct" in res.info and "correct" not in info[i]:
                    info[i]["correct"] = res.info["correct"]
        return [RewardResult(t, inf) for t, inf in zip(total, info)]


# ------------------------------------------------------------------------ environment
class CalculatorEnv(Environment):
    """A toy tool: the policy writes ``<tool_call>3*(4+5)</tool_call>``; the environment
    answers ``<tool_response>27</tool_response>``. Arithmetic only, evaluated by a tiny AST
    walker (no ``eval``); a bad expression is a failed tool call."""

    stop_strings = ("</tool_call>",)

    def __init__(self, max_turns: int = 3, name: str = "") -> None:
        self.max_turns, self.name = max_turns, name or "core.calculator"

    def step(self, state: Any, action: str) -> StepResult:
        expr = between(action, "<tool_call>", "</tool_call>")
        if expr is None:
            return StepResult(done=True)
        value = safe_arith(expr)
        if value is None:
            return StepResult(
                observation="<tool_response>error</tool_response>", tool_call=True, tool_failed=True
            )
        return StepResult(observation=f"<tool_response>{value}</tool_response>", tool_call=True)


_AST_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
            ast.Mod: operator.mod}  # fmt: skip


def safe_arith(expr: str, max_len: int = 64, max_abs: int = 10**12) -> int | None:
    """Integer arithmetic on + - * // % and parentheses; None on anything else."""
    if not isinstance(expr, str) or len(expr) > max_len:
        return None
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
            v = _AST_OPS[type(node.op)](ev(node.left), ev(node.right))
            if abs(v) > max_abs:
                raise ValueError("too large")
            return v
        raise ValueError("unsupported")

    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError, RecursionError, TypeError):
        return None
