"""The three thought modalities of Mixture-of-Thought and their official prompt (arXiv 2505.15817, §3).

Everything here is the *final_v2* prompt family of the official release,
zhengkid/Truth_Table_Logical_Reasoning (commit 3ca21b6):

* `SYSTEM_PROMPT` = ``Prompts/sys_prompt_star_final_v2.txt`` (18 lines, byte-exact; its sha256 is
  pinned by a test). One instruction defines all three modes; the mode is chosen by the opening
  tag that ends the user prompt.
* `USER_TEMPLATE` = ``Prompts/example_<mode>_star_final_v2.txt`` lines 1-17: premises, conclusion,
  the question "true, false, or uncertain?", options (A) True / (B) False / (C) Uncertain, then the
  mode's opening tag (no trailing newline).
* The prompt is ``SYSTEM_PROMPT + "\\n\\n" + user`` as *one user message*
  (``utils/utils_function.py::get_prompt`` lines 145-170; ``generate_rationale.py`` line 36 takes
  this path for every model). Round-1 generation prepends the 3-shot demos
  (``Prompts/prompt_<mode>_star_final_v2.txt``); we do not ship them (the CPU task uses its own
  warm start instead, see data.py), and later rounds and SFT data are zero-shot as in the paper.
* A response is ``<content> <end_of_TAG> <answer> The final answer is (X). <end_of_answer>``
  (the demos' shape, e.g. ``prompt_code_star_final_v2.txt`` lines 137-140).

``compact=True`` drops the system prompt and the question/options boilerplate (only premises,
conclusion and the tag): the CPU-scale stand-in for a tiny model whose context is short. The
modality tags, the response format and the answer parsing are the same.
"""

from __future__ import annotations

from r1repro.components import Template
from r1repro.types import Message, ParsedResponse, Row

MODALITIES: tuple[str, ...] = ("nl_cot", "code", "truth_table")
"""The three modes (paper §3.1: natural language, code, truth table); tag names as in the prompts."""

MODE_OF_SCRIPT = {"nl": "nl_cot", "code": "code", "truth_table": "truth_table"}
"""The official scripts' mode names (``MODES=("nl" "truth_table" "code")``) -> tag names."""

END_TAG = {m: f"<end_of_{m}>" for m in MODALITIES}
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "<end_of_answer>"
OPTIONS = {"A": "True", "B": "False", "C": "Uncertain"}
"""Option letters -> labels (``utils/utils_function.py::parse_answer`` predict_mapping)."""
LETTER = {v: k for k, v in OPTIONS.items()}

_SP = "  "  # the official file ends most lines with two spaces (markdown line breaks); kept byte-exact
SYSTEM_PROMPT = (
    "You are a rigorous and logically precise AI assistant. Your task is to answer a logical reasoning "
    "problem strictly following one of three modes, as explicitly specified in the input. Only one mode "
    "will be present in the input. Follow that mode exclusively.\n"
    "\n"
    f"- Code Mode (`<code> ... <end_of_code> <answer> ... <end_of_answer>`){_SP}\n"
    f"  - If the input contains `<code>`, translate the problem into Python code.{_SP}\n"
    f"  - Execute the logic and derive the answer.{_SP}\n"
    "\n"
    f"- Natural Language Chain-of-Thought Mode (`<nl_cot> ... <end_of_nl_cot> <answer> ... <end_of_answer>`){_SP}\n"
    f"  - If the input contains `<nl_cot>`, solve the problem step by step in natural language.{_SP}\n"
    "\n"
    f"- Truth Table Mode (`<truth_table> ... <end_of_truth_table> <answer> ... <end_of_answer>`){_SP}\n"
    f"  - If the input contains `<truth_table>`, construct a truth table and derive the answer from it.{_SP}\n"
    "\n"
    f"### Rules{_SP}\n"
    f"- Only use the mode specified in the input. Do not switch modes.{_SP}\n"
    f"- Generate output strictly in the specified mode and format, with no additional text.{_SP}\n"
    f"- Enclose all reasoning strictly within the corresponding mode tags.{_SP}\n"
    f"- The final answer must be strictly enclosed in `<answer> ... <end_of_answer>`.{_SP}\n"
    f"- Do not provide any reasoning or explanations outside of the designated mode tags.{_SP}\n"
)  # fmt: skip
"""``Prompts/sys_prompt_star_final_v2.txt`` (official, byte-exact; sha256 pinned in tests)."""

USER_TEMPLATE = (
    "The following is the problem you need to solve.\n"
    "\n"
    "<premises>\n{Premises}\n</premises>\n"
    "<conclusion>\n{Conclusions}\n</conclusion>\n"
    "<question>\nIs the following statement true, false, or uncertain? {Conclusions}\n</question>\n"
    "<options>\n(A) True\n(B) False\n(C) Uncertain\n</options>\n"
    "<{tag}>"
)
"""``Prompts/example_<mode>_star_final_v2.txt`` with the mode's opening tag as ``{tag}``."""

COMPACT_TEMPLATE = "<premises>\n{Premises}\n</premises>\n<conclusion>\n{Conclusions}\n</conclusion>\n<{tag}>"
"""CPU-scale prompt (ours): the same sections and tag without the boilerplate."""


def user_prompt(premises: str, conclusion: str, modality: str, compact: bool = False) -> str:
    """The official user text of one problem in one modality (``.format`` as the release does)."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
    template = COMPACT_TEMPLATE if compact else USER_TEMPLATE
    return template.replace("{tag}", modality).format(Premises=premises, Conclusions=conclusion)


def full_prompt(premises: str, conclusion: str, modality: str) -> str:
    """System prompt + blank line + user text: the single user message the release sends."""
    return SYSTEM_PROMPT + "\n\n" + user_prompt(premises, conclusion, modality)


def response_text(content: str, modality: str, label: str) -> str:
    """A well-formed response body in ``modality`` answering ``label`` (True/False/Uncertain)."""
    return (f"{content}\n{END_TAG[modality]}\n{ANSWER_OPEN}\nThe final answer is ({LETTER[label]}).\n"
            f"{ANSWER_CLOSE}")  # fmt: skip


def problem_parts(row: Row | str) -> tuple[str, str]:
    """(premises, conclusion) of a row: ``extra`` fields, else the problem text as premises."""
    if isinstance(row, Row):
        extra = row.extra or {}
        if "premises" in extra and "conclusion" in extra:
            prem = extra["premises"]
            return ("\n".join(prem) if isinstance(prem, (list, tuple)) else str(prem)), str(
                extra["conclusion"]
            )
        return row.problem, ""
    return str(row), ""


class ModalityTemplate(Template):
    """One MoT modality: the official prompt ending in ``<modality>``; parses the answer tag.

    Options: ``modality`` (nl_cot / code / truth_table), ``compact`` (CPU prompt without the
    system prompt and boilerplate). A row may ask for another modality in ``extra["modality"]``
    (the mixed SFT/RL data carries one problem per modality).
    """

    def __init__(self, modality: str = "nl_cot", compact: bool = False, name: str = "") -> None:
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
        self.modality, self.compact = modality, bool(compact)
        self.name = name or f"mot.{modality}" + ("_compact" if compact else "")
        self.description = f"MoT <{modality}> mode (official final_v2 prompt{', compact' if compact else ''})"

    def modality_of(self, row: Row | str) -> str:
        if isinstance(row, Row) and (row.extra or {}).get("modality") in MODALITIES:
            return row.extra["modality"]
        return self.modality

    def render(self, row: Row | str) -> list[Message]:
        premises, conclusion = problem_parts(row)
        mode = self.modality_of(row)
        text = user_prompt(premises, conclusion, mode, compact=True) if self.compact else full_prompt(
            premises, conclusion, mode)  # fmt: skip
        return [{"role": "user", "content": text}]

    def parse(self, response: str) -> ParsedResponse:
        from r1repro_mot.reward import answer_text, check_validity, parse_answer

        text = response if isinstance(response, str) else ""
        pred = parse_answer(text, self.modality)
        raw = answer_text(text, self.modality)
        body = text.split(END_TAG[self.modality])[0].strip() if END_TAG[self.modality] in text else None
        # a label when the official parser reads one, else the raw answer text (non-MoT answers)
        answer = pred if pred != "Unknown" else (raw or None)
        return ParsedResponse(answer=answer, think=body or None, format_ok=check_validity(text, self.modality),
                              parts={"answer": raw})  # fmt: skip

    def format_response(self, answer: str, think: str | None = None) -> str:
        if answer in LETTER:
            return response_text(think or "", self.modality, answer)
        end = END_TAG[self.modality]
        return f"{think or ''}\n{end}\n{ANSWER_OPEN}\n{answer}\n{ANSWER_CLOSE}"
