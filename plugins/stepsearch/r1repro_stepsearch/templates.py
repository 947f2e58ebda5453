"""StepSearch prompts: the official one (paper scale) and a short one for the tiny CPU policy.

Both parse a response the same way: the answer is the last ``<answer>...</answer>`` and the
format is the official gate (the response ends with it), see `r1repro_stepsearch.reward`.
"""

from __future__ import annotations

from r1repro.components import Template
from r1repro.types import ParsedResponse, Row
from r1repro_stepsearch.constants import PROMPT
from r1repro_stepsearch.reward import ends_with_last_answer, last_answer


def with_question_mark(question: str) -> str:
    """The official preprocessing strips the question and appends '?' when it lacks one."""
    q = question.strip()
    return q if q.endswith("?") else q + "?"


class StepSearchTemplate(Template):
    """The official user turn (musi_search.py ``make_prefix``): plan / search / observation / answer."""

    description = "StepSearch's official prompt (plan, <search>, <observation> per doc, <answer>)"
    user_format = PROMPT

    def render(self, row: Row | str) -> list[dict]:
        problem = row.problem if isinstance(row, Row) else str(row)
        return [
            {"role": "user", "content": self.user_format.replace("{problem}", with_question_mark(problem))}
        ]

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        return ParsedResponse(answer=last_answer(text), format_ok=ends_with_last_answer(text))

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"{think or ''}<answer> {answer} </answer>"


class CPUTemplate(StepSearchTemplate):
    """A short prompt for the tiny CPU policy (the official one is ~300 tokens of instructions a
    0.9M-parameter model cannot read); same tags, same parsing."""

    description = "short StepSearch prompt for CPU scale: question + the search/answer tags"
    user_format = (
        "Use <search> query </search> to search, then <answer> answer </answer>. Question: {problem}"
    )
