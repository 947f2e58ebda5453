"""The five prior prompts of pPE (Taveekitworachai et al., arXiv 2505.14157, §3 and Appendix).

A *prior prompt* is the instruction placed before every query during reinforcement fine-tuning.
The paper translates five inference-time prompting strategies (iPE) into prior prompts (pPE),
each R1-Zero-style: the response first holds the strategy's content inside its own tag, then
the final answer (``\\boxed{}``) inside ``<answer> </answer>``:

    tag           iPE strategy it comes from            the Assistant first ...
    ------------  ------------------------------------  ----------------------------------
    <think>       reasoning, Chain-of-Thought           thinks about the reasoning process
    <plan>        planning, Plan-and-Solve              makes a plan
    <code>        code-based reasoning, Program-of-Thought  writes code
    <knowledge>   knowledge recall, Generated Knowledge recalls relevant knowledge
    <examples>    null-example utilisation, Null-shot   generates examples

The paper prints the verbatim texts in its appendix. We could not read that appendix
(no official code; the public pages we could search show only the abstract and reviews),
so the texts below are **our paraphrases of the R1-Zero skeleton the fact sheet gives**
("A conversation between User and Assistant... The Assistant first {activity} and then provides
the answer... within <TAG> </TAG> and <answer> </answer> tags"). They are marked
[unverified] and all live in `PRIOR_PROMPTS` / `SKELETON` (one table); pass
``system_prompt=...`` to a template to use the verbatim text once it is confirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from r1repro.components import Template
from r1repro.textutil import between, last_boxed
from r1repro.types import Message, ParsedResponse, Row

TAGS: tuple[str, ...] = ("think", "plan", "code", "knowledge", "examples")
"""The five pPE tags, in the paper's order (§3.2)."""

NO_PRIOR_PROMPT = "none"
"""The value of ``row.extra["prior_prompt"]`` that asks for no prior prompt (the "No PP" arm)."""


@dataclass(frozen=True)
class PriorPrompt:
    tag: str
    ipe_strategy: str  # the inference-time strategy it is translated from (paper §3.2)
    activity: str  # "The Assistant first <activity> and then ..." [unverified wording]
    content: str  # what goes inside the tag, in the "i.e." example [unverified wording]

    @property
    def system_prompt(self) -> str:
        return SKELETON.format(activity=self.activity, tag=self.tag, content=self.content)


SKELETON = (
    "A conversation between User and Assistant. The User asks a question and the Assistant solves it. "
    "The Assistant first {activity} and then provides the User with the answer. These are enclosed "
    "within <{tag}> </{tag}> and <answer> </answer> tags, respectively, i.e., <{tag}> {content} "
    "</{tag}> <answer> answer here </answer>. The final answer is written inside \\boxed{{}}."
)
"""R1-Zero-style skeleton of every prior prompt. [unverified]: our paraphrase of the fact sheet's
skeleton, not the paper's appendix text."""

PRIOR_PROMPTS: dict[str, PriorPrompt] = {
    "think": PriorPrompt("think", "reasoning (Chain-of-Thought)",
                         "thinks about the reasoning process in the mind", "reasoning process here"),
    "plan": PriorPrompt("plan", "planning (Plan-and-Solve)",
                        "makes a plan to solve the problem", "plan here"),
    "code": PriorPrompt("code", "code-based reasoning (Program-of-Thought)",
                        "writes code that solves the problem", "code here"),
    "knowledge": PriorPrompt("knowledge", "knowledge recall (Generated Knowledge)",
                             "recalls knowledge relevant to the problem", "relevant knowledge here"),
    "examples": PriorPrompt("examples", "null-example utilisation (Null-shot)",
                            "generates examples related to the problem", "examples here"),
}  # fmt: skip
"""The five prior prompts (paper §3.2, texts in its appendix). Wording [unverified], see module doc."""


def system_prompt_for(choice: str | None) -> str | None:
    """The system prompt of a tag, or None for `NO_PRIOR_PROMPT` / None."""
    if choice in (None, "", NO_PRIOR_PROMPT):
        return None
    return PRIOR_PROMPTS[choice].system_prompt


class PriorPromptTemplate(Template):
    """One pPE prior prompt as the system message; the response is ``<TAG>…</TAG><answer>…</answer>``.

    Options: ``tag`` (one of `TAGS`), ``system_prompt`` (replace the [unverified] paraphrase with
    another text). A row may carry its own prior prompt in ``row.extra["prior_prompt"]`` (a tag
    or ``"none"``): the CPU reproduction's shared SFT start is built from rows that mix all five,
    so that every arm starts from the very same checkpoint.
    """

    def __init__(self, tag: str = "think", system_prompt: str | None = None, name: str = "") -> None:
        if tag not in PRIOR_PROMPTS:
            raise ValueError(f"unknown prior prompt tag {tag!r}; choose one of {TAGS}")
        self.tag = tag
        self.name = name or f"ppe.{tag}"
        self.system_prompt = system_prompt or PRIOR_PROMPTS[tag].system_prompt
        self.description = f"pPE <{tag}> prior prompt ({PRIOR_PROMPTS[tag].ipe_strategy})"

    def render(self, row: Row | str) -> list[Message]:
        return _render(row, self.system_prompt)

    def parse(self, response: str) -> ParsedResponse:
        from r1repro_ppe.reward import answer_block, format_ok

        text = response if isinstance(response, str) else ""
        content = between(text, f"<{self.tag}>", f"</{self.tag}>", last=False)
        block = answer_block(text)
        answer = None
        if block is not None:
            answer = (last_boxed(block) or block).strip()
        parts = {self.tag: content} if content is not None else {}
        if block is not None:
            parts["answer"] = block
        return ParsedResponse(answer=answer, think=content if content else None,
                              format_ok=format_ok(text, self.tag), parts=parts)  # fmt: skip

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"<{self.tag}>{think or ''}</{self.tag}><answer>\\boxed{{{answer}}}</answer>"


class NoPriorPromptTemplate(Template):
    """The "No PP" baseline (paper §4): the bare question, no prior prompt; answer in ``\\boxed{}``."""

    def __init__(self, name: str = "") -> None:
        self.name = name or "ppe.no_pp"

    def render(self, row: Row | str) -> list[Message]:
        return _render(row, None)

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        answer = last_boxed(text)
        think = None
        if answer is not None:
            cut = text.rfind("\\boxed{")
            think = re.sub(r"\s*The answer is\s*$", "", text[:cut]).strip() or None
        return ParsedResponse(answer=answer, think=think, format_ok=answer is not None)

    def format_response(self, answer: str, think: str | None = None) -> str:
        return (f"{think}\n" if think else "") + f"The answer is \\boxed{{{answer}}}"


def _render(row: Row | str, default_system: str | None) -> list[Message]:
    problem = row.problem if isinstance(row, Row) else str(row)
    system = default_system
    if isinstance(row, Row) and "prior_prompt" in (row.extra or {}):
        system = system_prompt_for(row.extra["prior_prompt"])
    messages: list[Message] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": problem})
    return messages
