"""The LLM reward decomposer (arXiv 2505.15922 §3-4): a frozen LLM reads a session's transcript
(text-only variant) or the transcript with the listener's nonverbal cues described in words
(multimodal variant) and the session score R_GE, and returns one reward r_LI per speaker turn.

The LLM is reached through the core judge interface (`r1repro.judge`: a local model, an
OpenAI-compatible server, or a stub), so the same prompt and the same parser serve a real LLM
and the CPU stand-in `rule_based_reply`. A reply that cannot be read (no JSON, wrong number of
turns, a non-number) is an *error on that session*: the session gets no labels and is counted,
never filled with zeros.

The paper's verbatim prompt was not retrieved (no public code for LLM-GELI): the prompt below is
ours, written from the paper's description (§3: decompose the global score into per-turn
implicit rewards; §4: listener pitch, gaze and facial affect as natural-language descriptions,
JSON output). [unverified]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from r1repro_dialogue_decomp.task import Session

SYSTEM_PROMPT = (
    "You are an expert in human conversation. You read the transcript of a conversation between a "
    "SPEAKER and a LISTENER and the LISTENER's overall rating of it (the session score). Decompose the "
    "session score into one reward per SPEAKER turn: how much that turn contributed to the LISTENER's "
    "overall impression (positive if it helped, negative if it hurt, about 0 if it did not matter). "
    "The rewards should add up to roughly the session score."
)
MULTIMODAL_NOTE = (
    "After each SPEAKER turn, the LISTENER's nonverbal reaction (voice pitch, gaze, facial affect) is "
    "described in brackets; use it as evidence of how the turn landed."
)
ANSWER_FORMAT = 'Answer with JSON only, exactly {n} numbers, one per SPEAKER turn in order: {{"turn_rewards": [r_1, ..., r_{n}]}}'
"""[unverified] ours, from the paper's §3 description (per-turn rewards returned as JSON)."""
CUE_PREFIX = "[listener reaction: "
MAX_ABS_REWARD = 1e6
"""A turn reward beyond this is treated as malformed (an LLM that writes 1e308 did not mean it)."""
RENORMALISE = ("none", "shift", "scale")
"""How turn rewards are made to add up to R_GE: "shift" adds (R - sum r) / T to every turn (an
RRD-style residual spread evenly), "scale" multiplies by R / sum r (undefined when the sum is
0: falls back to "shift"). The paper says only that the rewards are renormalised to the session
score; the mode is ours [unverified]."""


class DecompositionError(ValueError):
    """The decomposer's reply for one session cannot be used (one line, says why)."""


def build_prompt(session: Session, multimodal: bool) -> list[dict[str, str]]:
    """Chat messages asking for the decomposition of one session."""
    lines = []
    for i, t in enumerate(session.turns, 1):
        lines.append(f"Turn {i}")
        lines.append(f"LISTENER: {t.listener}")
        lines.append(f"SPEAKER: {t.speaker}")
        if multimodal:
            lines.append(f"{CUE_PREFIX}{t.cue}]")
    n = len(session.turns)
    system = SYSTEM_PROMPT + (" " + MULTIMODAL_NOTE if multimodal else "")
    user = ("Transcript:\n" + "\n".join(lines) + f"\n\nSession score: {session.score:g}\n"
            f"Number of SPEAKER turns: {n}\n" + ANSWER_FORMAT.format(n=n))  # fmt: skip
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# ----------------------------------------------------------------------------- parsing
def _json_candidates(reply: str) -> list[str]:
    """Texts that may be the JSON answer: fenced blocks, then the outermost {...} and [...]."""
    out = re.findall(r"```(?:json)?\s*(.*?)```", reply, flags=re.S)
    for open_, close in (("{", "}"), ("[", "]")):
        i, j = reply.find(open_), reply.rfind(close)
        if i != -1 and j > i:
            out.append(reply[i : j + 1])
    out.append(reply)
    return out


def _as_number(x, i: int) -> float:
    if isinstance(x, dict):  # {"turn": 3, "reward": 0.5}
        for key in ("reward", "score", "r", "value"):
            if key in x:
                return _as_number(x[key], i)
        raise DecompositionError(f"turn {i + 1}: an object without a reward field")
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise DecompositionError(f"turn {i + 1}: {str(x)[:30]!r} is not a number")
    v = float(x)
    if not math.isfinite(v) or abs(v) > MAX_ABS_REWARD:
        raise DecompositionError(f"turn {i + 1}: reward {v} is not a finite number of sensible size")
    return v


def parse_turn_rewards(reply: str, n_turns: int) -> list[float]:
    """The per-turn rewards in an LLM's reply; raises `DecompositionError` if it cannot be read.

    Accepts ``{"turn_rewards": [...]}`` (or any key holding the one list), a bare list, a list of
    ``{"turn": i, "reward": x}`` objects, with or without a code fence or surrounding prose.
    """
    if not isinstance(reply, str) or not reply.strip():
        raise DecompositionError("empty reply")
    data, found = None, False
    for cand in _json_candidates(reply):
        try:
            data, found = json.loads(cand), True
            break
        except (ValueError, RecursionError):
            continue
    if not found:
        raise DecompositionError("no JSON in the reply")
    if isinstance(data, dict):
        lists = [v for k, v in data.items() if isinstance(v, list)]
        if "turn_rewards" in data and isinstance(data["turn_rewards"], list):
            lists = [data["turn_rewards"]]
        if len(lists) != 1:
            raise DecompositionError("the JSON object holds no single list of turn rewards")
        data = lists[0]
    if not isinstance(data, list):
        raise DecompositionError(f"the JSON is a {type(data).__name__}, not a list of turn rewards")
    if len(data) != n_turns:
        raise DecompositionError(f"{len(data)} turn rewards for {n_turns} speaker turns")
    return [_as_number(x, i) for i, x in enumerate(data)]


def renormalise(rewards: Sequence[float], score: float, mode: str = "shift") -> list[float]:
    """Turn rewards made to add up to the session score (see `RENORMALISE`)."""
    if mode not in RENORMALISE:
        raise ValueError(f"renormalise must be one of {RENORMALISE}, got {mode!r}")
    r = [float(x) for x in rewards]
    if mode == "none" or not r:
        return r
    total = sum(r)
    if mode == "scale" and abs(total) > 1e-9:
        return [x * score / total for x in r]
    return [x + (score - total) / len(r) for x in r]


# ----------------------------------------------------------------------------- decomposer
@dataclass
class Decomposition:
    labels: dict[str, list[float]] = field(default_factory=dict)  # session id -> turn rewards
    errors: dict[str, str] = field(default_factory=dict)  # session id -> why it has no labels


class Decomposer:
    """Asks a judge (`r1repro.judge.build_judge` spec or Judge) to decompose sessions."""

    def __init__(self, judge, multimodal: bool, renormalise: str = "shift", max_tokens: int = 512) -> None:
        from r1repro.judge import build_judge

        if renormalise not in RENORMALISE:
            raise ValueError(f"renormalise must be one of {RENORMALISE}, got {renormalise!r}")
        self.judge = build_judge(judge)
        self.multimodal, self.mode, self.max_tokens = multimodal, renormalise, max_tokens

    def decompose(self, sessions: Sequence[Session]) -> Decomposition:
        prompts = [build_prompt(s, self.multimodal) for s in sessions]
        replies, errors = self.judge.complete_checked(prompts, max_tokens=self.max_tokens, temperature=0.0)
        out = Decomposition()
        for s, reply, err in zip(sessions, replies, errors):
            if err is not None:
                out.errors[s.id] = f"judge: {err}"
                continue
            try:
                out.labels[s.id] = renormalise(parse_turn_rewards(reply, len(s.turns)), s.score, self.mode)
            except DecompositionError as exc:
                out.errors[s.id] = f"malformed decomposition: {exc}"
        return out


# ----------------------------------------------------------------------------- CPU stand-in
TEXT_LEXICON: dict[str, float] = {
    "?": 0.8, "sorry": 0.8, "feel": 0.6, "hard": 0.3, "tell me": 0.5, "you": 0.2, "too": 0.3, "same": 0.3,
    "great": 0.6, "nice": 0.4, "amazing": 0.6, "haha": 0.4, "funny": 0.3, "should": 0.2,
    "anyway": -1.0, "whatever": -1.0, "boring": -0.8, "who cares": -1.0, "wait": -0.3, "my ": -0.3,
    "i, i": -0.6,
}  # fmt: skip
"""The stand-in's prior about conversation, as a generic LLM might hold it [ours]: questions,
sympathy and relating are good, dismissal and self-talk are bad; it also believes compliments,
jokes and advice help, which the hidden rule does not (the stand-in is imperfect on purpose)."""
CUE_LEXICON: dict[str, float] = {
    "pitch rises": 1.0, "pitch drops": -1.0, "looks at the speaker": 1.0, "looks away": -1.0,
    "smiles": 1.0, "frowns": -1.0,
}  # fmt: skip
CUE_WEIGHT = 0.5
"""Weight of each cue channel's valence in the stand-in's multimodal turn reward [ours]."""


def text_prior(utterance: str) -> float:
    u = " " + utterance.lower() + " "
    return sum(w for key, w in TEXT_LEXICON.items() if key in u)


def rule_based_reply(prompt: str) -> str:
    """The CPU stand-in for the frozen LLM: reads the same prompt a real LLM gets (the judge
    flattens the chat messages into text) and answers in the asked JSON format. Each turn's
    reward is the lexicon prior of the speaker's words plus, when the prompt carries listener
    reactions, CUE_WEIGHT per channel's valence. Deterministic."""
    rewards: list[float] = []
    for line in prompt.splitlines():
        if line.startswith("SPEAKER: "):
            rewards.append(text_prior(line[len("SPEAKER: ") :]))
        elif line.startswith(CUE_PREFIX) and rewards:
            cues = line[len(CUE_PREFIX) :].rstrip("]")
            rewards[-1] += CUE_WEIGHT * sum(CUE_LEXICON.get(c.strip(), 0.0) for c in cues.split(","))
    return json.dumps({"turn_rewards": [round(r, 4) for r in rewards]})


STAND_IN_JUDGE = {"backend": "stub", "fn": "r1repro_dialogue_decomp.decomposer:rule_based_reply"}
