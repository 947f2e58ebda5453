"""The generated dialogue world: sessions with planted turn quality and a hidden session score.

Stands in for CANDOR (1,656 licensed video conversations with a post-conversation rating,
arXiv 2505.15922 §5) at CPU scale. A session is a run of turns; in each, the LISTENER says a
line and the SPEAKER answers with one utterance of a *kind* (a follow-up question, empathy, a
monologue about oneself, ...). Every kind has a planted quality (how much that turn helps or
hurts the listener's impression); two kinds are *ambiguous*: a joke or a piece of advice lands
or not, decided per turn by the listener's hidden taste, which the words cannot show but the
listener's nonverbal reaction (pitch, gaze, facial affect, described in text as the paper's
multimodal variant does) does, with noise. The session score is the hidden rule

    R(tau) = sum_t q_t + N(0, rating_noise^2)

(one global rating per session, like R_GE in the paper). Every number here is ours [ours]:
the paper's data cannot be generated.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

# kind -> (planted quality, or None for an ambiguous kind; phrasings). [ours]
KINDS: dict[str, tuple[float | None, tuple[str, ...]]] = {
    "follow_up": (1.0, ("what was the best part?", "how did that feel?", "tell me more about that?")),
    "empathy": (1.0, ("that sounds hard, i am sorry.", "i can see why you feel that.")),
    "relate": (0.5, ("i did that too once.", "same thing happened to me.")),
    "backchannel": (0.0, ("mm hm.", "right.", "okay.")),
    "compliment": (0.0, ("nice, great job.", "you are amazing.")),
    "joke": (None, ("haha, that is a joke.", "ha, funny story.")),
    "advice": (None, ("you should try yoga.", "just sleep more.")),
    "topic_jump": (-0.5, ("wait, did you see the game?", "so, my cat is sick.")),
    "monologue": (-1.0, ("anyway, let me tell you about my car.", "i, i, i did it all myself.")),
    "dismissive": (-1.0, ("whatever, that is boring.", "who cares.")),
}
AMBIGUOUS_LAND_P = {"joke": 0.35, "advice": 0.5}
"""Chance an ambiguous turn lands (+1; else -1) [ours]: a joke is worth 0.35 - 0.65 = -0.3 on
average, advice 0 on average."""
UNKNOWN_QUALITY = -1.0
"""Planted quality of a turn that is no known utterance (incoherent text hurts) [ours]."""

LISTENER_LINES = (
    "i just got back from a trip.",
    "my week was long.",
    "i started a new job.",
    "my dog is ill.",
    "i ran my first race.",
    "we moved to a new city.",
    "i failed my exam.",
    "i baked bread today.",
)

CUE_VALUES = {
    "pitch": ("pitch rises", "pitch is flat", "pitch drops"),
    "gaze": ("looks at the speaker", "gaze wanders", "looks away"),
    "affect": ("smiles", "neutral face", "frowns"),
}
"""Listener reaction per channel: (positive, neutral, negative) descriptions, the paper's
pitch / gaze / facial-affect cues as natural language (arXiv 2505.15922 §4)."""


@dataclass
class Turn:
    listener: str
    speaker: str
    kind: str
    quality: float
    cue: str = ""


@dataclass
class Session:
    id: str
    turns: list[Turn] = field(default_factory=list)
    score: float = 0.0

    @property
    def qualities(self) -> list[float]:
        return [t.quality for t in self.turns]


@dataclass
class WorldConfig:
    turns: int = 20  # speaker turns per session [ours]
    rating_noise: float = 2.0  # std of the hidden rating's noise [ours]
    cue_reliability: float = 0.7  # chance a cue channel shows the turn's true valence [ours]
    style_concentration: float = 1.0  # Dirichlet concentration of a speaker's mix of kinds [ours]


def normalize_utterance(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip().lower())


PHRASE_KIND: dict[str, str] = {normalize_utterance(p): k for k, (_, ps) in KINDS.items() for p in ps}
ALL_PHRASES: tuple[str, ...] = tuple(p for _, ps in KINDS.values() for p in ps)


def expected_quality(kind: str) -> float:
    """The planted quality of a kind, in expectation over an ambiguous kind's outcome."""
    q, _ = KINDS[kind]
    if q is not None:
        return q
    p = AMBIGUOUS_LAND_P[kind]
    return p - (1.0 - p)


def utterance_quality(text: str) -> tuple[float, str | None]:
    """(expected planted quality, kind) of a speaker utterance; unknown text is incoherent."""
    kind = PHRASE_KIND.get(normalize_utterance(text))
    return (expected_quality(kind), kind) if kind else (UNKNOWN_QUALITY, None)


def _cue(quality: float, rng: random.Random, reliability: float) -> str:
    """The listener's reaction to a turn of this quality: each channel shows the turn's valence
    with probability ``reliability``, else a uniformly random value."""
    valence = 0 if quality > 0 else 2 if quality < 0 else 1
    parts = []
    for values in CUE_VALUES.values():
        parts.append(values[valence] if rng.random() < reliability else rng.choice(values))
    return ", ".join(parts)


def _dirichlet(rng: random.Random, k: int, alpha: float) -> list[float]:
    draws = [rng.gammavariate(alpha, 1.0) for _ in range(k)]
    total = sum(draws) or 1.0
    return [d / total for d in draws]


def make_session(sid: str, rng: random.Random, cfg: WorldConfig) -> Session:
    """One session: a speaker with their own mix of kinds, the listener's reactions, the rating."""
    kinds = list(KINDS)
    mix = _dirichlet(rng, len(kinds), cfg.style_concentration)
    turns = []
    for _ in range(cfg.turns):
        kind = rng.choices(kinds, weights=mix)[0]
        q, phrases = KINDS[kind]
        if q is None:
            q = 1.0 if rng.random() < AMBIGUOUS_LAND_P[kind] else -1.0
        turns.append(Turn(listener=rng.choice(LISTENER_LINES), speaker=rng.choice(phrases), kind=kind,
                          quality=q, cue=_cue(q, rng, cfg.cue_reliability)))  # fmt: skip
    score = sum(t.quality for t in turns) + rng.gauss(0.0, cfg.rating_noise)
    return Session(id=sid, turns=turns, score=round(score, 3))


def make_sessions(n: int, seed: int, cfg: WorldConfig | None = None, prefix: str = "s") -> list[Session]:
    cfg = cfg or WorldConfig()
    rng = random.Random(f"dialogue-{seed}-{prefix}")
    return [make_session(f"{prefix}{i}", rng, cfg) for i in range(n)]
