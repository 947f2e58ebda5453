"""MoT correctness, the format filter, the RL reward and the majority vote (arXiv 2505.15817, §3).

* `parse_answer` — ``utils/utils_function.py::parse_answer`` (lines 211-249, final_v2 path): take
  the text after the last ``<TAG>``, cut at the first ``<end_of_answer>``, read what lies between
  ``<answer>`` and ``<end_of_answer>``; the first ``\\(?([A-D])\\)?`` match maps A/B/C to
  True/False/Uncertain (D or nothing usable: "Unknown"); without a letter, the keywords true,
  false, uncertain are tried in that order. Correct ⇔ prediction == label.
* `check_validity` — ``utils/mix_datasets.py::check_validity`` (lines 19-34), the filter applied
  to self-generated rationales before SFT: the modality's end tag is present, and a code
  rationale also contains ``def ``, ``class `` or ``import ``.
* `MotReward` — the RL port (no RL in the paper): ``1[prediction == label] · 1[format valid]``.
  ``execute_code=True`` runs a code rationale in the sandbox (``r1repro.safety.run_sandboxed``,
  3 s as the release's older ``<PYTHON>`` modes) and grades the printed verdict instead of the
  answer tag; the final_v2 prompts do **not** execute code, so the default is False.
* `majority_vote` — ``analysis/hard_vote.py``: the most common prediction over the modalities; the
  release breaks a three-way tie alphabetically, the paper text says at random: here a seeded
  random choice among the tied predictions (`vote_tiebreak` option "random" | "alphabetical").
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample
from r1repro_mot.templates import ANSWER_CLOSE, ANSWER_OPEN, END_TAG, MODALITIES, OPTIONS

CODE_MARKERS = ("def ", "class ", "import ")
"""A code rationale must contain one of these (``check_validity``, with the trailing space)."""
CODE_TIMEOUT_S = 3.0
"""Wall-clock limit of an executed code rationale (the release's older code modes)."""
_LETTER = re.compile(r"\(?([A-D])\)?")


def normalise_label(label: object) -> str:
    """'True'/'False'/'Uncertain' from a label or option letter ('Unknown' -> 'Uncertain')."""
    text = str(label).strip()
    if text in OPTIONS:
        return OPTIONS[text]
    low = text.lower()
    return {"true": "True", "false": "False", "uncertain": "Uncertain", "unknown": "Uncertain"}.get(low, text)


def answer_text(response: str, modality: str) -> str:
    """The text between ``<answer>`` and ``<end_of_answer>`` after the last ``<modality>`` tag."""
    if not isinstance(response, str):
        return ""
    text = response.replace("```python", "").split(f"<{modality}>")[-1]
    text = text.split(ANSWER_CLOSE)[0] + ANSWER_CLOSE
    m = re.search(re.escape(ANSWER_OPEN) + r"(.*?)" + re.escape(ANSWER_CLOSE), text, re.DOTALL)
    return m.group(1).strip() if m else ""


def parse_answer(response: str, modality: str = "nl_cot") -> str:
    """'True', 'False', 'Uncertain' or 'Unknown' (unparseable), as the official parser."""
    ans = answer_text(response, modality)
    m = _LETTER.search(ans)
    if m:
        return OPTIONS.get(m.group(1), "Unknown")
    low = ans.lower()
    for word, label in (("true", "True"), ("false", "False"), ("uncertain", "Uncertain")):
        if word in low:
            return label
    return "Unknown"


def check_validity(response: str, modality: str) -> bool:
    """The release's format filter for self-generated rationales (see module docstring)."""
    if not isinstance(response, str) or modality not in END_TAG:
        return False
    if END_TAG[modality] not in response:
        return False
    return modality != "code" or any(k in response for k in CODE_MARKERS)


def code_verdict(response: str, timeout_s: float = CODE_TIMEOUT_S) -> str:
    """Run the code of a code rationale in the sandbox; the last True/False/Uncertain it prints."""
    if not isinstance(response, str) or END_TAG["code"] not in response:
        return "Unknown"
    code = response.split("<code>")[-1].split(END_TAG["code"])[0]
    try:
        from r1repro.safety import run_sandboxed  # type: ignore[attr-defined]
    except ImportError:
        from r1repro.sandbox import run_sandboxed
    result = run_sandboxed(code, timeout_s=timeout_s)
    if not result.ok:
        return "Unknown"
    found = re.findall(r"\b(True|False|Uncertain|Unknown)\b", result.stdout)
    return normalise_label(found[-1]) if found else "Unknown"


def majority_vote(predictions: Sequence[str], rng: random.Random | None = None,
                  tiebreak: str = "random") -> str:  # fmt: skip
    """The most common prediction; ties broken by ``rng`` (seeded) or alphabetically."""
    counts = Counter(predictions)
    if not counts:
        return "Unknown"
    top = max(counts.values())
    tied = sorted(p for p, c in counts.items() if c == top)
    if len(tied) == 1 or tiebreak == "alphabetical":
        return tied[0]
    return (rng or random.Random(0)).choice(tied)


def prompt_modality(prompt: object, default: str = "nl_cot") -> str:
    """The modality a prompt asks for: the opening tag its (last) user message ends with."""
    if isinstance(prompt, list) and prompt:
        prompt = prompt[-1].get("content", "") if isinstance(prompt[-1], dict) else ""
    m = re.search(r"<(nl_cot|code|truth_table)>\s*$", prompt) if isinstance(prompt, str) else None
    return m.group(1) if m else default


class MotReward(Reward):
    """``1[parse == label] · 1[format valid]`` for one modality (the RL port of MoT).

    Options: ``modality`` (nl_cot / code / truth_table, or "auto" (default): the tag the sample's
    prompt ends with, so one reward serves the mixed-modality data), ``require_format`` (multiply
    by the format filter; default True), ``execute_code`` (code modality: grade the sandboxed
    program's printed verdict; default False as in the final_v2 prompts).
    """

    info_keys = ("correct", "format")

    def __init__(self, modality: str = "auto", require_format: bool = True, execute_code: bool = False,
                 name: str = "") -> None:  # fmt: skip
        if modality not in (*MODALITIES, "auto"):
            raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES} or 'auto'")
        self.modality = modality
        self.require_format = bool(require_format)
        self.execute_code = bool(execute_code)
        if self.execute_code:
            self.timeout_s = max(self.timeout_s, CODE_TIMEOUT_S * 4)
        self.name = name or "mot.reward"

    def score_one(self, response: str, label: object, modality: str) -> RewardResult:
        if self.execute_code and modality == "code":
            pred = code_verdict(response)
        else:
            pred = parse_answer(response, modality)
        correct = pred == normalise_label(label)
        fmt = check_validity(response, modality)
        score = float(correct and (fmt or not self.require_format))
        return RewardResult(score, {"correct": correct, "format": float(fmt)})

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        out = []
        for s in samples:
            mode = self.modality if self.modality != "auto" else prompt_modality(s.prompt)
            out.append(self.score_one(s.response, s.ground_truth, mode))
        return out
