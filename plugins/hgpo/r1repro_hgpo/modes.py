"""The two thinking modes of a Large Hybrid-Reasoning Model and how to read them back.

LHRM (arXiv 2505.14631, §3) writes a response in one of two formats: thinking,
``<think> reasoning </think> answer``, and no-thinking, ``<no_think> answer </no_think>``.
The opening tag is the first token(s) of the *response*: HGPO forces it during training
rollouts and the model picks it itself at test time, so the mode of a response is read
from the tag it starts with.
"""

from __future__ import annotations

THINK = "think"
NO_THINK = "no_think"
NONE = "none"
MODES = (THINK, NO_THINK)

THINK_TAG, THINK_END = "<think>", "</think>"
NO_THINK_TAG, NO_THINK_END = "<no_think>", "</no_think>"
TAGS = {THINK: THINK_TAG, NO_THINK: NO_THINK_TAG}

MODE_CODE = {THINK: 1.0, NO_THINK: 0.0, NONE: -1.0}
"""Numeric code of a mode, as rewards put it in ``info["mode_is_think"]`` (verl exports numbers only)."""


def mode_of(response: object) -> str:
    """The mode a response opened with: ``think``, ``no_think`` or ``none`` (no leading tag)."""
    if not isinstance(response, str):
        return NONE
    head = response.lstrip()[:32]
    # "<no_think>" does not start with "<think>", so the order of the checks does not matter.
    if head.startswith(THINK_TAG):
        return THINK
    if head.startswith(NO_THINK_TAG):
        return NO_THINK
    return NONE


def mode_from_code(code: object) -> str:
    """Inverse of `MODE_CODE` (anything unreadable is ``none``)."""
    try:
        c = float(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NONE
    if c == 1.0:
        return THINK
    if c == 0.0:
        return NO_THINK
    return NONE
