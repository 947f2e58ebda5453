"""DISCO's prompts are complete instructions written into the data (official ``moe_eval.py``
and the ``MoeReward/*_main`` sets: "Below is a math problem. ...", "... multiple-choice
answers ...", "Below is a movie review. ...", "... concise and accurate answer ..."); the
template passes them through as the user turn and reads the whole response as the answer.

The official runs feed the raw prompt to the model (OpenRLHF without ``--apply_chat_template``);
verl applies the model's chat template, a difference the README lists.
"""

from __future__ import annotations

from r1repro.components import Template
from r1repro.core_components import extract_answer
from r1repro.types import ParsedResponse


class DiscoTemplate(Template):
    """The problem as the user turn; the answer is the last ``\\boxed{}`` / ``<answer>``, else the text."""

    def parse(self, response: str) -> ParsedResponse:
        text = (response or "").strip() if isinstance(response, str) else ""
        answer = extract_answer(text)
        if answer is None:
            answer = text or None
        return ParsedResponse(answer=answer, format_ok=bool(text))

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"{think}\nThe answer is \\boxed{{{answer}}}" if think else f"\\boxed{{{answer}}}"
