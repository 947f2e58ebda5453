"""NOVER's prompt (official code: ``format_dataset.py`` / ``utils.py::calculate_perplexity``).

The question is wrapped in a fixed instruction that asks for a ``<think>`` block followed by
an ``<answer>`` block. The official code sends it as raw text (no chat template); the tags
are configurable (``--intermediate-tag`` / ``--final-tag``), defaults ``think`` / ``answer``.
"""

from __future__ import annotations

import re

from r1repro.components import Template
from r1repro.types import Message, ParsedResponse, Row

THINK_TAG = "think"
ANSWER_TAG = "answer"


def nover_prompt(question: str, think_tag: str = THINK_TAG, answer_tag: str = ANSWER_TAG) -> str:
    """The NOVER prompt around ``question`` (verbatim layout of the official data files)."""
    return (
        f"\nQuestion: {question}\n\n"
        "Answer the question and return in the following format:\n\n"
        f"<{think_tag}>\n...\n</{think_tag}>\n\n"
        f"<{answer_tag}>\n...\n</{answer_tag}>\n"
    )


def first_block(text: str, tag: str) -> str:
    """Content of the first ``<tag>...</tag>``, stripped; "" when there is none
    (the official ``extract_content``)."""
    m = re.search(f"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", text or "", re.DOTALL)
    return m.group(1).strip() if m else ""


def is_exact_format(completion: str, think_tag: str = THINK_TAG, answer_tag: str = ANSWER_TAG) -> bool:
    """NOVER's format test R_f (official ``tag_format_reward``): with every whitespace
    character removed, the completion must equal ``<think>X</think><answer>Y</answer>``
    rebuilt from its own first think and answer blocks. Anything before, between or after
    the two blocks (or a missing block) fails it."""
    text = completion or ""
    reasoning, answer = first_block(text, think_tag), first_block(text, answer_tag)
    expected = f"<{think_tag}>{reasoning}</{think_tag}><{answer_tag}>{answer}</{answer_tag}>"
    return re.sub(r"\s+", "", text) == re.sub(r"\s+", "", expected)


class NoverTemplate(Template):
    """``\\nQuestion: {q}\\n\\nAnswer the question and return in the following format: ...``.

    Options: ``think_tag`` / ``answer_tag`` (the official ``--intermediate-tag`` /
    ``--final-tag``). ``parse`` reads the first blocks; ``format_ok`` is NOVER's exact-format
    test (R_f = 1).
    """

    def __init__(self, think_tag: str = THINK_TAG, answer_tag: str = ANSWER_TAG, name: str = "") -> None:
        self.think_tag, self.answer_tag = think_tag, answer_tag
        self.name = name or "nover.template"

    def render(self, row: Row | str) -> list[Message]:
        problem = row.problem if isinstance(row, Row) else str(row)
        return [{"role": "user", "content": nover_prompt(problem, self.think_tag, self.answer_tag)}]

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        has_answer = f"</{self.answer_tag}>" in text
        answer = first_block(text, self.answer_tag) if has_answer else None
        think = first_block(text, self.think_tag)
        return ParsedResponse(
            answer=answer,
            think=think,
            format_ok=is_exact_format(text, self.think_tag, self.answer_tag),
        )

    def format_response(self, answer: str, think: str | None = None) -> str:
        t, a = self.think_tag, self.answer_tag
        return f"<{t}>\n{think or ''}\n</{t}>\n<{a}>\n{answer}\n</{a}>"
