"""DISCO's official math answer rule, reimplemented: ``extract_math_answer`` and the
Hendrycks-MATH ``_strip_string`` normalisation of ``scripts/grpo/reward_func_utils.py``
(Tonyzhou98/disco_grpo@7ccdefc, lines 19-88 and 116-261).

The official math reward is ``extract_math_answer(label) == extract_math_answer(output)``
(``*_domain_reward_func.py``). The rule is quirky and the reproduction keeps the quirks,
because they decide which responses earn reward:

* a label "The answer is: 18" has no "The answer is " (the colon), no "boxed", so its last
  number is taken: "18"; a response "\\boxed{18}" extracts "18" too: reward 1;
* a label "\\frac{1}{2}" (no marker, no box) is reduced to its last number, "2", while a
  response "\\boxed{\\frac{1}{2}}" extracts "\\frac{1}{2}": reward 0;
* two texts with nothing to extract both give "" and compare equal.

Golden cases: ``tests/test_disco_mathrule.py``. The code is written from the behaviour
(our own implementation, not a copy); it is linear in the text length and never raises.
"""

from __future__ import annotations

import re

SPLIT = "The answer is "
_NUMBER = re.compile(r"-?\d*\.?\d+")


def _braced_after_boxed(text: str) -> str:
    """What follows the last "boxed": the balanced ``{...}`` group, else up to the first "$".

    Mirrors the official try/except: an empty remainder (``"...boxed"`` at the very end)
    comes back unchanged (the official ``ans[0]`` raised and the except kept ``ans``).
    """
    ans = text.split("boxed")[-1]
    if not ans:
        return ans
    if ans[0] == "{":
        depth, out = 1, []
        for c in ans[1:]:
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            out.append(c)
        inner = "".join(out)
    else:
        inner = ans.split("$")[0].strip()
    return strip_string(inner)


def extract_math_answer(text: str, split: str = SPLIT) -> str:
    """The official extraction: after the last "The answer is " (or "the answer is "), else
    the last ``boxed`` group, else the last number; trailing "." and "/" dropped; then
    `strip_string`, and a "boxed" left in the result is unwrapped once more."""
    if not isinstance(text, str):
        return ""
    if split in text:
        pred = text.split(split)[-1].strip()
    elif "the answer is " in text:
        pred = text.split("the answer is ")[-1].strip()
    elif "boxed" in text:
        pred = _braced_after_boxed(text)
    else:
        numbers = _NUMBER.findall(text)
        pred = numbers[-1] if numbers else ""
    if pred.endswith("."):
        pred = pred[:-1]
    if pred.endswith("/"):
        pred = pred[:-1]
    pred = strip_string(pred)
    if "boxed" in pred:
        pred = _braced_after_boxed(pred)
    return pred


def official_math_match(response: str, label: object) -> bool:
    """The official math base reward: the two extractions are equal (both empty counts)."""
    return extract_math_answer("" if label is None else str(label)) == extract_math_answer(response)


# ------------------------------------------------------------------- the normalisation
def _fix_fracs(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{72}`` -> ``\\frac{1}{72}``; a ``\\frac``
    followed by a single character leaves the whole string unchanged."""
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if not part:
            continue
        if part[0] == "{":
            out += part
            continue
        if len(part) < 2:
            return s
        a, b, rest = part[0], part[1], part[2:]
        out += "{" + a + "}{" + b + "}" + rest if b != "{" else "{" + a + "}" + b + rest
    return out


def _fix_a_slash_b(s: str) -> str:
    """``3/4`` -> ``\\frac{3}{4}`` when both sides are plain integers written canonically."""
    pieces = s.split("/")
    if len(pieces) != 2:
        return s
    try:
        a, b = int(pieces[0]), int(pieces[1])
    except ValueError:
        return s
    return f"\\frac{{{a}}}{{{b}}}" if s == f"{a}/{b}" else s


def _remove_right_units(s: str) -> str:
    return s.split("\\text{ ")[0] if "\\text{ " in s else s


def _fix_sqrt(s: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}``."""
    if "\\sqrt" not in s:
        return s
    parts = s.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        if not part:
            continue
        out += "\\sqrt" + ("{" + part[0] + "}" + part[1:] if part[0] != "{" else part)
    return out


def strip_string(s: str) -> str:
    """The Hendrycks-MATH normalisation, step for step as in the official file."""
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")
    s = _remove_right_units(s)
    # the official file removes "\\%" twice (two lines, "\\%" and "\%", are the same string in
    # Python): the second pass removes a "\\%" that the first one formed
    s = s.replace("\\%", "").replace("\\%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)
