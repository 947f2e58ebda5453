"""LASER-DE's repetition test: is a (wrong, long) response stuck in an n-gram loop?

LASER-DE rewards exploration only for wrong responses that are long *and not repetitive*
(official: ``compute_unique_tokens.py::detect_token_ngram_repetition_optimized_reversed``).
The test scans the token ids from the end:

* sequences of at most 2n tokens (n = 4) are never repetitive;
* the n-gram size follows the length: 2 below 30 tokens, 3 below 100, else 4;
* an n-gram (other than one token repeated, for n > 2) seen ``threshold`` times (2 below
  200 tokens, else 3) with two occurrences closer than a third of the sequence marks a
  repetition starting at its first occurrence;
* otherwise, any repeated 2n-gram marks one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

DEFAULT_N = 4


def repetition_start(tokens: Sequence[int | str], n: int = DEFAULT_N) -> int:
    """Where a tight repetition starts (scanning backwards), or ``len(tokens)`` if there is none."""
    size = len(tokens)
    if size <= n * 2:
        return size
    n = 2 if size < 30 else 3 if size < 100 else min(4, n)
    threshold = 2 if size < 200 else 3
    seen: dict[tuple, list[int]] = defaultdict(list)
    for i in range(size - n, -1, -1):
        gram = tuple(tokens[i : i + n])
        if n > 2 and len(set(gram)) == 1:
            continue
        seen[gram].append(i)
        if len(seen[gram]) >= threshold:
            pos = sorted(seen[gram])
            if any(b - a < size // 3 for a, b in zip(pos, pos[1:])):
                return pos[0]
    if size >= n * 4:
        first: dict[tuple, int] = {}
        for i in range(size - 2 * n, -1, -1):
            gram = tuple(tokens[i : i + 2 * n])
            if gram in first:
                return min(i, first[gram])
            first[gram] = i
    return size


def is_repetitive(tokens: Sequence[int | str], n: int = DEFAULT_N) -> bool:
    return repetition_start(tokens, n) < len(tokens)


_WORDS = re.compile(r"\w+|[^\w\s]")


def text_tokens(text: str, limit: int = 50_000) -> list[str]:
    """A stand-in tokenisation (words and punctuation) when token ids are not at hand."""
    return _WORDS.findall(text[:limit] if isinstance(text, str) else "")
