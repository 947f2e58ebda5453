"""TinyV's prompts: the policy's RL prompt and the verifier's True/False prompt.

Everything here is a fact of the paper's method, kept in one place and pinned by
``tests/test_templates.py``:

* `POLICY_INSTRUCTION` — appended to each Big-Math problem (no system prompt, no
  ``<think>``); official code ``verl/examples/data_preprocess/tinyv/bigmath_rl_tinyv.py``.
  The core's ``core.boxed`` template already renders exactly this; `TinyVBoxedTemplate`
  is that template under the plugin's name.
* `VERIFIER_TEMPLATES` — the verifier prompt per verifier model, with its decoding
  settings (``verl/verl/utils/reward_score/tinyv_config.json``). TinyV-1.5B's template is
  the paper's prompt (paper Fig. 5 / Appendix); the Qwen3 variants use a shorter first
  sentence. The prompt is sent as one user message.
* `parse_verdict` — the official reading of the verifier's reply
  (``verl/verl/utils/reward_score/tinyv.py``): for "think" verifiers keep what follows
  "Answer:" (else "</think>"), and no such marker is an invalid reply (0); then 1 if
  "true" occurs in the lower-cased reply, else 0 ("false" or anything else).
"""

from __future__ import annotations

from dataclasses import dataclass

from r1repro.core_components import STEP_BY_STEP_BOXED, BoxedTemplate

# ------------------------------------------------------------------------- the policy
POLICY_INSTRUCTION = STEP_BY_STEP_BOXED
"""`` Let's think step by step and output the final answer within \\boxed{}.`` (leading space
included: the official preprocessing joins problem and instruction with one space)."""


class TinyVBoxedTemplate(BoxedTemplate):
    """TinyV's RL prompt: the problem + " Let's think step by step and output the final
    answer within \\boxed{}." as the only (user) message (bigmath_rl_tinyv.py)."""

    user_format = "{problem}" + POLICY_INSTRUCTION


# ----------------------------------------------------------------------- the verifier
QUESTION, GROUND_TRUTH, MODEL_ANSWER = "{{QUESTION}}", "{{GROUND_TRUTH_ANSWER}}", "{{MODEL_ANSWER}}"

_FN_SENTENCES = (
    "You are an AI tasked with identifying false negatives in answer verification. A false negative occurs "
    "when a model's answer is essentially correct but is marked as incorrect due to minor discrepancies or "
    "formatting issues. Your job is to analyze the given question, ground truth answer, and model answer to "
    "determine if the model's answer is actually correct despite appearing different from the ground truth."
)
_QWEN3_SENTENCE = (
    "You are an AI tasked with identifying if the model's answer is correct compared to the ground truth "
    "answer despite appearing different from the ground truth."
)
_SLOTS = (
    "\n\n<question>" + QUESTION + "</question>"
    "\n\n<ground_truth_answer>" + GROUND_TRUTH + "</ground_truth_answer>"
    "\n\n<model_answer>" + MODEL_ANSWER + "</model_answer>"
    '\n\nReturn "True" if the model\'s answer is correct, otherwise return "False".'
)

TINYV_PROMPT = _FN_SENTENCES + _SLOTS
"""The TinyV-1.5B verifier prompt (tinyv_config.json, key ``zhangchenxu/TinyV-1.5B``)."""


@dataclass(frozen=True)
class VerifierSpec:
    """A verifier model's prompt and decoding settings (tinyv_config.json)."""

    template: str
    max_tokens: int = 8
    temperature: float = 0.0
    top_p: float = 1.0
    think: bool = False


VERIFIER_TEMPLATES: dict[str, VerifierSpec] = {
    "zhangchenxu/TinyV-1.5B": VerifierSpec(TINYV_PROMPT, max_tokens=8),
    "zhangchenxu/TinyV-1.5B-Think": VerifierSpec(TINYV_PROMPT, max_tokens=512, think=True),
    "zhangchenxu/TinyV-Qwen3-1.7B": VerifierSpec(_QWEN3_SENTENCE + _SLOTS, max_tokens=8),
    "zhangchenxu/TinyV-Qwen3-1.7B-Think": VerifierSpec(_QWEN3_SENTENCE + _SLOTS, max_tokens=512, think=True),
}
DEFAULT_VERIFIER = "zhangchenxu/TinyV-1.5B"

RETRY_TEMPERATURE_BUMP = 0.3
"""On a failed verifier call the official code retries (3 times) at the configured
temperature + 0.3 (tinyv.py, ``model_infer``)."""


def verifier_spec(model: str | None) -> VerifierSpec:
    """The settings of a known verifier; any other model (a project-trained tiny TinyV, a
    local folder) uses TinyV-1.5B's prompt and settings, as it was trained on them."""
    return VERIFIER_TEMPLATES.get(str(model or ""), VERIFIER_TEMPLATES[DEFAULT_VERIFIER])


def render_verifier_prompt(
    question: str, ground_truth: str, answer: str, template: str = TINYV_PROMPT
) -> str:
    """The verifier's user message: the template with its three slots filled (in the
    official order: question, then ground truth, then model answer)."""
    return (
        template.replace(QUESTION, str(question))
        .replace(GROUND_TRUTH, str(ground_truth))
        .replace(MODEL_ANSWER, str(answer))
    )


def verifier_messages(
    question: str, ground_truth: str, answer: str, template: str = TINYV_PROMPT
) -> list[dict]:
    """One user message, as the official client sends it."""
    return [{"role": "user", "content": render_verifier_prompt(question, ground_truth, answer, template)}]


def parse_verdict(reply: str | None, think: bool = False) -> int | None:
    """1 if the verifier says the answer is correct, 0 if not; None for an invalid think reply.

    Official order: a think verifier's reply is cut after "Answer:" (Qwen2.5 style) or else
    after "</think>" (Qwen3 style); without either it is invalid (the official code scores
    it 0). Then "true" anywhere in the lower-cased text means 1, everything else 0.
    """
    text = (reply or "").strip()
    if think:
        if "Answer:" in text:
            text = text.split("Answer:")[1].strip()
        elif "</think>" in text:
            text = text.split("</think>")[1].strip()
        else:
            return None
    return 1 if "true" in text.lower() else 0
