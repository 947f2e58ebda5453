"""The answer LASER's official verifier compares: Qwen2.5-Math's ``extract_answer(text, "math")``
and its ``strip_string`` normalisation, reimplemented from their behaviour.

Source: hkust-nlp/Laser@c9e7c4e ``verl/utils/reward_score/qwen_math_eval_toolkit/parser.py``
(``strip_string`` lines 212-350, ``extract_answer`` lines 499-572), called by
``hf_math_verifier.py::extract_solution_with_thought``. The normalisation decides verdicts:
without it "\\boxed{5 \\text{ cm}}", "\\boxed{x=3}" or "\\boxed{\\dfrac12}" reach math-verify raw.
Golden cases: ``tests/test_laser_qwen_answer.py``. Every step is linear-time regex or string work;
nothing here raises.
"""

from __future__ import annotations

import re

UNIT_TEXTS = [
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile", "q .", "monkey",
    "prime", "ratio", "profit of rs", "rd", "o", "gm", "p . m", "lb", "tile", "per", "dm", "lt", "gain", "ab",
    "way", "west", "a .", "b .", "c .", "d .", "e .", "f .", "g .", "h .", "t", "a", "h", "no change", "men",
    "soldier", "pie", "bc", "excess", "st", "inches", "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise",
    "a . m", "th", "π r 2", "sq", "mark", "l", "toy", "coin", "sq . m", "gallon", "° f", "profit", "minw", "yr",
    "women", "feet", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are", "rupee", "rounds", "cubic", "cc",
    "mtr", "s", "ohm", "number", "kmph", "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube",
    "mt", "sq inch", "mp", "∏ cm ³", "hectare", "more", "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g",
    "month", "km", "m", "cm", "mm", "apple", "liter", "loss", "yard", "pure", "year", "increase", "decrease", "d",
    "less", "Surface", "litre", "pi sq m", "s .", "metre", "meter", "inch",
]  # fmt: skip
"""Unit words the parser strips (from MathQA), in the parser's order; each is also tried with
an "s" appended. They are used as regular expressions, as upstream does ("q ." matches "q x")."""
UNIT_TEXTS = UNIT_TEXTS + [t + "s" for t in UNIT_TEXTS]
_UNIT_RES = [re.compile(r"(^|\W)" + u + r"($|\W)") for u in UNIT_TEXTS]
_NUMBER = re.compile(r"-?\d*\.?\d+")


def _word_number(text: str) -> str:
    """The whole string as a number when it is number words ("seven" -> "7"), else unchanged."""
    try:
        from word2number import w2n

        return str(w2n.word_to_num(text))
    except Exception:  # noqa: BLE001 - w2n raises ValueError (and others) on non-numbers
        return text


def _fix_fracs(s: str) -> str:
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part[:1] == "{":
            out += part
            continue
        if len(part) < 2:
            return s
        a, b, rest = part[0], part[1], part[2:]
        out += "{" + a + "}{" + b + "}" + rest if b != "{" else "{" + a + "}" + b + rest
    return out


def _fix_a_slash_b(s: str) -> str:
    """``3/4`` -> ``\\frac{3}{4}`` (sides with "sqrt" are kept as text)."""
    pieces = s.split("/")
    if len(pieces) != 2:
        return s
    try:
        a = pieces[0] if "sqrt" in pieces[0] else int(pieces[0])
        b = pieces[1] if "sqrt" in pieces[1] else int(pieces[1])
    except ValueError:
        return s
    return f"\\frac{{{a}}}{{{b}}}" if s == f"{a}/{b}" else s


def strip_string(s: object, skip_unit: bool = False) -> str:
    """Qwen2.5-Math's answer normalisation, step for step."""
    s = str(s).strip().replace("\n", "").rstrip(".")
    s = s.replace("\\!", "")
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = re.sub(r"\\end\{array\}", r"\\end{pmatrix}", s)
    s = s.replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "").replace("\\{", "{").replace("\\}", "}")
    without_unit = re.sub(r"\\text{.*?}$", "", s).strip()
    if without_unit != "" and without_unit != s:
        s = without_unit
    if not skip_unit:
        for _ in range(2):
            for unit in _UNIT_RES:
                cut = unit.sub(r"\1\2", s)
                if cut != "":
                    s = cut
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "").replace("\\(", "").replace("\\)", "")
    s = _word_number(s)
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    for key in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
        s = s.replace(key, "")
    s = s.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
    s = s.replace("\\%", "").replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    # (upstream then unwraps {x} / (x) / [x] when the string isalnum(), which a bracketed string never is)
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("+\\inity", "\\infty")
    s = s.replace("and", "").replace("\\mathbf", "")
    s = re.sub(r"\\mbox{.*?}", "", s)
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")
    s = re.sub(r"(\d+)\.0*([^\d])", r"\1\2", s)
    s = re.sub(r"(\d+)\.0*$", r"\1", s)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    return _fix_a_slash_b(s)


def _after_last_boxed(text: str) -> str:
    ans = text.split("boxed")[-1]
    if ans[0] != "{":
        return ans.split("$")[0].strip()
    depth, out = 1, []
    for c in ans[1:]:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        out.append(c)
    return "".join(out)


def extract_answer(text: str, skip_unit: bool = False) -> str:
    """Qwen2.5-Math's ``extract_answer(text, data_name="math")``: Minerva's "final answer is $..$.
    I hope", else the last ``boxed``, else after "he answer is" / "final answer is" / "答案是",
    else the last number (commas dropped); then `strip_string`."""
    if not isinstance(text, str):
        return ""
    text = text.replace("\u043a\u0438", "")
    if "final answer is $" in text and "$. I hope" in text:
        pred = text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    elif "boxed" in text:
        if not text.split("boxed")[-1]:
            return ""
        pred = _after_last_boxed(text)
    elif "he answer is" in text:
        pred = text.split("he answer is")[-1].strip()
    elif "final answer is" in text:
        pred = text.split("final answer is")[-1].strip()
    elif "答案是" in text:
        pred = text.split("答案是")[1].strip().split("\n\n")[0].strip()
    else:
        numbers = _NUMBER.findall(text.replace(",", ""))
        pred = numbers[-1] if numbers else ""
    pred = re.sub(r"\n\s*", "", pred)
    if pred.startswith(":"):
        pred = pred[1:]
    if pred.endswith("."):
        pred = pred[:-1]
    if pred.endswith("/"):
        pred = pred[:-1]
    return strip_string(pred, skip_unit=skip_unit)
