"""The GETER instruction (arXiv 2505.15245, §3; official carryTatum/GETER).

The official instruction texts live in the release's instruction JSONs, which the snapshot does not
hold (LFS); only their last sentence is in the code: ``prompter.py`` line 42 splits every
instruction at "Please answer yes, no, or unsure then explain your decision." and sends the part up
to and including it as the system message, the rest (query and chains) as the user message
(``sft_sample_to_ids_2``, lines 37-60). `INSTRUCTION` keeps that sentence verbatim; the sentence
before it is ours [unverified].
"""

from __future__ import annotations

import re

from r1repro.components import Template
from r1repro.types import Message, ParsedResponse, Row

SPLIT_POINT = "Please answer yes, no, or unsure then explain your decision."
"""Verbatim from the release (``prompter.py`` line 42)."""
INSTRUCTION = ("Given a temporal question and the reasoning chains from the event history, decide whether "
               "the event will happen. " + SPLIT_POINT)  # fmt: skip
"""System message: our lead-in sentence [unverified] + the official last sentence."""
LABELS = ("yes", "no", "unsure")
_LABEL = re.compile(r"^\W*(yes|no|unsure)\b", re.IGNORECASE)


def parse_label(response: str) -> str | None:
    """The label the response starts with (yes / no / unsure), else None."""
    m = _LABEL.match(response) if isinstance(response, str) else None
    return m.group(1).lower() if m else None


class ETRTemplate(Template):
    """System: the instruction; user: the question and the verbalised chains. The response is the
    label, then the explanation ("Yes. Japan is likely to ...")."""

    def __init__(self, name: str = "") -> None:
        self.name = name or "geter.etr"

    def render(self, row: Row | str) -> list[Message]:
        problem = row.problem if isinstance(row, Row) else str(row)
        return [{"role": "system", "content": INSTRUCTION}, {"role": "user", "content": problem}]

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        label = parse_label(text)
        if label is not None:
            return ParsedResponse(answer=label, think=text, format_ok=True)
        head, _, rest = text.partition(". ")
        head = head.strip()
        head = head[:-1] if not rest and head.endswith(".") else head
        return ParsedResponse(answer=head.strip() or None, think=rest or None, format_ok=False)

    def format_response(self, answer: str, think: str | None = None) -> str:
        if answer.lower() in LABELS and think and think.lower().startswith(answer.lower()):
            return think
        return f"{answer.capitalize() if answer in LABELS else answer}. {think or ''}".strip()
