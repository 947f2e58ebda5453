"""General-Reasoner's prompt (official ``data_preprocess.py``): the question, a space, then
"Please reason step by step, and put your final answer within \\boxed{}." as the user turn."""

from __future__ import annotations

from r1repro.components import Template
from r1repro.types import ParsedResponse
from r1repro_general_reasoner.verifier import extract_solution

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


class GeneralReasonerTemplate(Template):
    """User turn = question + " " + `INSTRUCTION`; the answer is read as the verifier reads it."""

    user_format = "{problem} " + INSTRUCTION

    def __init__(self, name: str = "") -> None:
        self.name = name or "general_reasoner.template"

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        answer = extract_solution(text[-20_000:] + "\n")
        return ParsedResponse(answer=answer, think=None, format_ok=answer is not None)

    def format_response(self, answer: str, think: str | None = None) -> str:
        return (f"{think} " if think else "") + f"The answer is \\boxed{{{answer}}}."
