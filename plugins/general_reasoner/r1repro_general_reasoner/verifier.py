"""General-Reasoner's generative verifier: prompt, answer extraction and score arithmetic.

Everything here is from the official ``verifier.py`` (``RewardModelWorker``, used with
``reward_model.strategy=verifier``) of TIGER-AI-Lab/General-Reasoner (arXiv 2505.14652 §3.2):

1. the student's answer is the content of the last ``\\boxed{}`` in the last 1,024 tokens of
   prompt + response, else the last "Final Answer: ... / Answer: ... / Solution: ..." line
   (`extract_solution`);
2. the verifier (``TIGER-Lab/general-verifier``, greedy, up to 2,048 new tokens) reads
   `VERIFIER_PROMPT` as raw text and ends with "Final Decision: Yes" or "... No";
3. the score (`verifier_score`): -0.5 when nothing was extracted; +1 when the verifier's
   reply contains "Final Decision: Yes", minus 0.05 per token of length difference between
   the student's answer and the ground truth, counted up to 10 tokens. r in [-0.5, 1].

The functions here are pure (no model); `r1repro_general_reasoner.reward` wires them to a
judge from `r1repro.judge`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

VERIFIER_PROMPT = (
    "User: ### Question: {question}\n\n"
    "### Ground Truth Answer: {ground_truth}\n\n"
    "### Student Answer: {student_answer}\n\n"
    "For the above question, please verify if the student's answer is equivalent to the ground truth answer.\n"
    "Do not solve the question by yourself; just check if the student's answer is equivalent to the ground truth "
    "answer.\n"
    "If the student's answer is correct, output \"Final Decision: Yes\". If the student's answer is incorrect, "
    'output "Final Decision: No". Assistant:'
)
"""The verifier prompt, verbatim (official ``VERIFIER_PROMPT_TEMPLATE``); sent without a chat template."""

PASS_TAG = "Final Decision: Yes"  # official VERIFIER_PASS_TAG (case-sensitive substring of the reply)
FAIL_TAG = "Final Decision: No"
NO_ANSWER_PENALTY = -0.5  # nothing extracted
PASS_REWARD = 1.0  # the verifier says Yes
LENGTH_PENALTY_PER_TOKEN = 0.05
LENGTH_PENALTY_CAP_TOKENS = 10  # so the penalty is at most 0.5
EXTRACTION_WINDOW_TOKENS = 1024  # last tokens of prompt + response that extraction looks at
VERIFIER_MAX_NEW_TOKENS = 2048  # greedy decoding (temperature 0)
NO_ANSWER_TEXT = "No Answer"  # stands in for an empty answer when the length penalty is computed
VERIFIER_MODEL = "TIGER-Lab/general-verifier"  # Qwen2.5-Math-1.5B tuned on Gemini-2.0-Flash verifications

# "Final Answer:"-style markers, tried case-insensitively; the answer runs to the end of its line.
ANSWER_MARKERS = (
    "Final Answer:",
    "Final Answer is:",
    "The answer is:",
    "Answer:",
    "Solution:",
    "The solution is:",
)
STOP_WORDS = ("</s>", "<|im_end|>", "<|endoftext|>")
_BOXED_MAX_DEPTH = 2  # the official pattern accepts braces nested two levels inside \boxed{...}


def verifier_prompt(question: str, ground_truth: str, student_answer: str | None) -> str:
    """The prompt for one verification. An unextracted answer is written as "None", as the
    official code's ``str.format`` does with ``None``."""
    return VERIFIER_PROMPT.format(question=question, ground_truth=ground_truth, student_answer=student_answer)


def extract_last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` whose braces balance within two nested levels.

    Openings are matched left to right without overlap (an inner ``\\boxed`` is part of the
    outer match); an opening with deeper nesting or no closing brace is skipped.
    """
    if not isinstance(text, str) or "\\boxed{" not in text:
        return None
    last, pos, opener = None, 0, "\\boxed{"
    while True:
        start = text.find(opener, pos)
        if start < 0:
            return last
        i, depth, j = start + len(opener), 0, None
        while i < len(text):
            c = text[i]
            if c == "{":
                depth += 1
                if depth > _BOXED_MAX_DEPTH:
                    break
            elif c == "}":
                if depth == 0:
                    j = i
                    break
                depth -= 1
            i += 1
        if j is None:
            pos = start + 1
            continue
        last = text[start + len(opener) : j]
        pos = j + 1


_MARKER_RES = [re.compile(re.escape(m) + r"\s*((?:[^<]|<[^<])*?)\n", re.IGNORECASE) for m in ANSWER_MARKERS]


def extract_last_final_answer(text: str) -> str | None:
    """The answer after the marker that starts last in ``text`` (up to its newline), stop words
    trimmed off its end; None when no marker line is found."""
    best, best_pos = None, -1
    for rx in _MARKER_RES:
        for m in rx.finditer(text):
            if m.start() > best_pos:
                best_pos, best = m.start(), m.group(1).strip()
    if best:
        for w in STOP_WORDS:
            if best.endswith(w):
                best = best[: -len(w)].strip()
    return best


def extract_solution(text: str) -> str | None:
    """Last non-empty ``\\boxed{}``, else the last "Final Answer:"-style line, else None."""
    boxed = extract_last_boxed(text)
    if boxed:
        return boxed
    return extract_last_final_answer(text)


def verifier_score(solution: str | None, verification: str, ground_truth: str,
                   count_tokens: Callable[[str], int]) -> tuple[float, dict]:  # fmt: skip
    """The reward of one response from its extracted solution and the verifier's reply.

    Returns (score, parts): parts has ``extracted``, ``verifier_yes`` and ``length_penalty``.
    """
    score = 0.0
    extracted = solution is not None
    if not extracted:
        score += NO_ANSWER_PENALTY
    answer = solution if solution else NO_ANSWER_TEXT
    yes = PASS_TAG in (verification or "")
    penalty = 0.0
    if yes:
        score += PASS_REWARD
        diff = min(abs(count_tokens(answer) - count_tokens(str(ground_truth))), LENGTH_PENALTY_CAP_TOKENS)
        penalty = LENGTH_PENALTY_PER_TOKEN * diff
        score -= penalty
    return score, {"extracted": extracted, "verifier_yes": yes, "length_penalty": penalty}
