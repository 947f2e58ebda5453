"""Small text helpers shared by templates and rewards (no heavy imports)."""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


def last_boxed(text: str, max_len: int = 20_000) -> str | None:
    """Content of the last ``\\boxed{...}`` (brace-balanced), or None.

    Scans backwards from the last opening so nested boxes and braces work; gives up on
    unbalanced input instead of raising.
    """
    if not isinstance(text, str) or "box" not in text:
        return None
    starts = [m.end() for m in _BOX_RE.finditer(text[-max_len * 5 :])]
    offset = max(0, len(text) - max_len * 5)
    for start in reversed(starts):
        depth, i = 1, offset + start
        while i < len(text) and depth:
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            i += 1
            if i - start - offset > max_len:
                break
        if depth == 0:
            return text[offset + start : i - 1].strip()
    return None


def between(text: str, open_tag: str, close_tag: str, last: bool = True) -> str | None:
    """Text between the last (or first) ``open_tag ... close_tag`` pair, or None."""
    if not isinstance(text, str):
        return None
    if last:
        j = text.rfind(close_tag)
        if j < 0:
            return None
        i = text.rfind(open_tag, 0, j)
    else:
        i = text.find(open_tag)
        if i < 0:
            return None
        j = text.find(close_tag, i + len(open_tag))
    if i < 0 or j < 0:
        return None
    return text[i + len(open_tag) : j]


def clean_text(text: object, limit: int = 1_000_000) -> str:
    """A str that is safe to tokenise and print: surrogates replaced, NULs dropped, capped."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > limit:
        text = text[:limit]
    return text.encode("utf-8", "replace").decode("utf-8", "replace").replace("\x00", "")
