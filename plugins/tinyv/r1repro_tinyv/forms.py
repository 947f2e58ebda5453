"""The CPU-scale task: short math problems whose answers have several equivalent forms.

TinyV's premise (paper §3, Table 1 / Fig. 2 taxonomy) is that a rule verifier rejects
correct answers written in a form it cannot match: an unordered solution set listed in
another order, an inequality instead of an interval, a named tuple, a percentage or a
rounded decimal for a fraction, the terms of a polynomial reordered. This
module generates problems whose correct answers come in exactly such forms, so that
PRIME's grader (`r1repro_tinyv.prime_math`) has false negatives on them *for the
paper's reasons* (checked in ``tests/test_forms.py``), and it defines the oracle:
true equivalence, decided by parsing an answer back into its value.

Five kinds of problem, each solved by a small decision a ~1M-parameter policy can learn
with RL (a sign to flip, a role to pick), not by arithmetic it cannot learn in 100 steps:

    kind      problem                                      truth          what must be decided
    --------  -------------------------------------------  -------------  ------------------------------
    roots     Solve (x - 3)(x + 5) = 0.                    {3, -5}        the sign of each root
    interval  Solve x + 4 > 0.                             (-4, ∞)        the sign of the bound, the side
    point     Reflect the point (3, 2) across the x-axis.  (3, -2)        which coordinates change sign
    fraction  Of the 8 marbles in a bag, 3 are red. ...    3/8            which number is the part
    poly      Expand -x(2x - 3).                           -2x^2 + 3x     the signs of the coefficients

For each kind `FORMS` lists the equivalent ways of writing the truth; the ground truth
string is always the first (the canonical form a dataset would store). Which forms PRIME
accepts is *measured*, not assumed (`prime_verdicts`); with the default forms the rule
rejects about half of the correct answers of a policy that picks forms uniformly.

The oracle (`equivalent`) parses a boxed answer with a small grammar per kind (no sympy, no
eval, bounded input), so it is exact, fast and cannot hang. Rounded decimals count as
correct when they carry at least two decimals (a percentage: one) and equal the value
rounded half-up to that many places; TinyV's annotators treat such approximations the
same way (paper §3.2, category "numerical approximation"; ``85.71`` for ``600/7``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

KINDS = ("roots", "interval", "point", "fraction", "poly")
MAX_ANSWER_CHARS = 200

# ------------------------------------------------------------------------------ numbers
_INT = r"[-+]?\d{1,4}"


def _factor(root: int) -> str:
    """(x - 3) for root 3, (x + 5) for root -5."""
    return f"(x - {root})" if root > 0 else f"(x + {-root})"


def _fmt_decimal(value: Fraction, places: int) -> str:
    q = Decimal(value.numerator) / Decimal(value.denominator)
    return str(q.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def decimal_form(value: Fraction) -> str:
    """The exact decimal if it terminates within 4 places, else rounded to 2 places."""
    for places in range(0, 5):
        scaled = value * 10**places
        if scaled.denominator == 1:
            return _fmt_decimal(value, max(places, 1))
    return _fmt_decimal(value, 2)


def percent_form(value: Fraction) -> str:
    """Percentage, exact if it terminates within 2 places, else rounded to 1 place."""
    pct = value * 100
    for places in range(0, 3):
        if (pct * 10**places).denominator == 1:
            text = _fmt_decimal(pct, places) if places else str(pct.numerator)
            return text + "\\%"
    return _fmt_decimal(pct, 1) + "\\%"


def _poly_text(a: int, b: int, braces: bool = True, linear_first: bool = False) -> str:
    """a x^2 + b x as LaTeX: ``2x^{2}-3x`` / ``-3x+2x^{2}``."""

    def mono(c: int, power: int, first: bool) -> str:
        mag = abs(c)
        coef = "" if mag == 1 else str(mag)
        var = ("x^{2}" if braces else "x^2") if power == 2 else "x"
        sign = ("-" if c < 0 else "") if first else (" - " if c < 0 else " + ")
        return sign + coef + var

    terms = [(b, 1), (a, 2)] if linear_first else [(a, 2), (b, 1)]
    return "".join(mono(c, p, i == 0) for i, (c, p) in enumerate(terms))


# --------------------------------------------------------------------------- the kinds
@dataclass(frozen=True)
class Form:
    """One way of writing a kind's answer: ``render(truth) -> str``."""

    name: str
    render: Callable[[dict[str, Any]], str]
    note: str = ""


def _roots_list(t: dict[str, Any], order: tuple[int, int] = (0, 1)) -> list[int]:
    r = t["roots"]
    return [r[order[0]], r[order[1]]]


def _interval(t: dict[str, Any], prefix: str = "", plus: bool = False) -> str:
    c, side, closed = t["bound"], t["side"], t["closed"]
    inf = "+\\infty" if plus else "\\infty"
    if side == "above":
        return f"{prefix}{'[' if closed else '('}{c}, {inf})"
    return f"{prefix}(-\\infty, {c}{']' if closed else ')'}"


_OPS = {("above", False): ">", ("above", True): "\\ge", ("below", False): "<", ("below", True): "\\le"}
_FLIP = {">": "<", "<": ">", "\\ge": "\\le", "\\le": "\\ge"}


def _inequality(t: dict[str, Any], bound_first: bool = False) -> str:
    op = _OPS[(t["side"], t["closed"])]
    if bound_first:
        return f"{t['bound']} {_FLIP[op]} x"
    return f"x {op} {t['bound']}"


FORMS: dict[str, list[Form]] = {
    "roots": [
        Form("list", lambda t: ", ".join(map(str, _roots_list(t)))),
        Form("list_reversed", lambda t: ", ".join(map(str, _roots_list(t, (1, 0)))), "order of a set"),
        Form("equations", lambda t: ", ".join(f"x = {v}" for v in _roots_list(t)), "named values"),
        Form("set", lambda t: "\\{" + ", ".join(map(str, _roots_list(t))) + "\\}", "set braces"),
    ],
    "interval": [
        Form("interval", lambda t: _interval(t)),
        Form("inequality", lambda t: _inequality(t), "inequality vs interval"),
        Form("inequality_flipped", lambda t: _inequality(t, bound_first=True), "inequality vs interval"),
        Form("membership", lambda t: _interval(t, prefix="x \\in "), "x \\in prefix"),
    ],
    "point": [
        Form("tuple", lambda t: f"({t['x']}, {t['y']})"),
        Form("named", lambda t: f"x = {t['x']}, y = {t['y']}", "named tuple"),
        Form("assigned", lambda t: f"(x, y) = ({t['x']}, {t['y']})"),
    ],
    "fraction": [
        Form("frac", lambda t: f"\\frac{{{t['num']}}}{{{t['den']}}}"),
        Form("slash", lambda t: f"{t['num']}/{t['den']}"),
        Form(
            "decimal", lambda t: decimal_form(Fraction(t["num"], t["den"])), "decimal (rounded if repeating)"
        ),
        Form("percent", lambda t: percent_form(Fraction(t["num"], t["den"])), "percentage"),
        Form("ratio", lambda t: f"{t['num']}:{t['den']}", "ratio notation"),
    ],
    "poly": [
        Form("expanded", lambda t: _poly_text(t["a"], t["b"])),
        Form("plain_power", lambda t: _poly_text(t["a"], t["b"], braces=False)),
        Form("reordered", lambda t: _poly_text(t["a"], t["b"], linear_first=True), "terms reordered"),
    ],
}


# --------------------------------------------------------------------------- problems
def make_problem(kind: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """(problem text, truth) for one random problem of ``kind``."""
    if kind == "roots":
        a = rng.choice([v for v in range(-9, 10) if v != 0])
        b = rng.choice([v for v in range(-9, 10) if v not in (0, a, -a)])
        return f"Solve {_factor(a)}{_factor(b)} = 0.", {"roots": [a, b]}
    if kind == "interval":
        c = rng.randint(1, 9)
        plus = rng.random() < 0.5
        op = rng.choice([">", "<"])
        bound = -c if plus else c
        text = f"Solve x {'+' if plus else '-'} {c} {op} 0."
        return text, {"bound": bound, "side": "above" if op == ">" else "below", "closed": False}
    if kind == "point":
        x, y = rng.choice([v for v in range(-9, 10) if v]), rng.choice([v for v in range(-9, 10) if v])
        axis = rng.choice(["x-axis", "y-axis", "origin"])
        tx, ty = (x, -y) if axis == "x-axis" else (-x, y) if axis == "y-axis" else (-x, -y)
        where = "the origin" if axis == "origin" else f"the {axis}"
        return f"Reflect the point ({x}, {y}) across {where}.", {"x": tx, "y": ty}
    if kind == "fraction":
        den = rng.choice([2, 3, 4, 5, 6, 8])
        num = rng.choice([k for k in range(1, den) if Fraction(k, den).denominator == den])
        thing, color = rng.choice(["marbles", "balls", "cards", "pens"]), rng.choice(["red", "blue", "green"])
        if rng.random() < 0.5:
            text = (
                f"Of the {den} {thing} in a bag, {num} are {color}. What fraction of the {thing} are {color}?"
            )
        else:
            text = (
                f"{num} of the {den} {thing} in a bag are {color}. What fraction of the {thing} are {color}?"
            )
        return text, {"num": num, "den": den}
    if kind == "poly":
        p = rng.randint(1, 5)
        q = rng.choice([v for v in range(-9, 10) if v])
        outer = rng.choice([1, -1])
        lead = "x" if outer == 1 else "-x"
        inner = f"{'' if p == 1 else p}x {'+' if q > 0 else '-'} {abs(q)}"
        return f"Expand {lead}({inner}).", {"a": outer * p, "b": outer * q}
    raise ValueError(f"unknown kind {kind!r}")


def ground_truth(kind: str, truth: dict[str, Any]) -> str:
    """The stored ground truth: the kind's first (canonical) form."""
    return FORMS[kind][0].render(truth)


def render(kind: str, form: str, truth: dict[str, Any]) -> str:
    for f in FORMS[kind]:
        if f.name == form:
            return f.render(truth)
    raise KeyError(f"kind {kind!r} has no form {form!r}")


# ------------------------------------------------------------------------ wrong answers
def corrupt(kind: str, truth: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A *wrong* truth of the same shape: the mistakes the decision of the kind allows."""
    t = dict(truth)
    if kind == "roots":
        r = list(t["roots"])
        which = rng.choice([[0], [1], [0, 1]])
        for i in which:
            r[i] = -r[i]
        t["roots"] = r
    elif kind == "interval":
        choice = rng.choice(["sign", "side", "both"])
        if choice in ("sign", "both"):
            t["bound"] = -t["bound"]
        if choice in ("side", "both"):
            t["side"] = "below" if t["side"] == "above" else "above"
    elif kind == "point":
        choice = rng.choice(["x", "y", "both", "swap"])
        if choice in ("x", "both"):
            t["x"] = -t["x"]
        if choice in ("y", "both"):
            t["y"] = -t["y"]
        if choice == "swap":
            if t["x"] == t["y"]:
                t["x"] = -t["x"]
            else:
                t["x"], t["y"] = t["y"], t["x"]
    elif kind == "fraction":
        choice = rng.choice(["invert", "complement", "off_by_one"])
        num, den = t["num"], t["den"]
        if choice == "invert":
            t["num"], t["den"] = den, num
        elif choice == "complement" and den - num != num:
            t["num"] = den - num
        else:
            t["num"] = num + 1 if num + 1 < den else num - 1
            if t["num"] == num or t["num"] == 0:
                t["num"], t["den"] = den, num
    elif kind == "poly":
        choice = rng.choice(["a", "b", "both"])
        if choice in ("a", "both"):
            t["a"] = -t["a"]
        if choice in ("b", "both"):
            t["b"] = -t["b"]
    return t


# ------------------------------------------------------------------------------ oracle
_SPACES = re.compile(r"\s+")


def _clean(answer: str) -> str:
    s = answer.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "")
    s = s.replace("$", "").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = (
        s.replace("\\geq", "\\ge")
        .replace("\\leq", "\\le")
        .replace("\\geqslant", "\\ge")
        .replace("\\leqslant", "\\le")
    )
    s = s.replace("≥", "\\ge").replace("≤", "\\le").replace("−", "-")
    return _SPACES.sub("", s).rstrip(".")


def _int(text: str) -> int | None:
    return int(text) if re.fullmatch(_INT, text) else None


def _roots_value(s: str) -> list[int] | None:
    s = s.replace("\\text{or}", ",").replace("\\text{and}", ",").replace("\\quad", ",")
    if s.startswith("x\\in"):
        s = s[len("x\\in") :]
    if s.startswith("\\{") and s.endswith("\\}"):
        s = s[2:-2]
    parts = [p for p in s.split(",")]
    out = []
    for p in parts:
        if p.startswith("x="):
            p = p[2:]
        v = _int(p)
        if v is None:
            return None
        out.append(v)
    return out


_IV = re.compile(r"^([\[(])(-\\infty|" + _INT + r"),(\+?\\infty|" + _INT + r")([\])])$")
_INEQ = re.compile(r"^(x|" + _INT + r")(>|<|\\ge|\\le)(x|" + _INT + r")$")


def _interval_value(s: str) -> tuple[int, str, bool] | None:
    if s.startswith("x\\in"):
        s = s[len("x\\in") :]
    m = _IV.match(s)
    if m:
        lo_b, lo, hi, hi_b = m.groups()
        if lo == "-\\infty" and hi not in ("\\infty", "+\\infty") and lo_b == "(":
            return int(hi), "below", hi_b == "]"
        if hi in ("\\infty", "+\\infty") and lo != "-\\infty" and hi_b == ")":
            return int(lo), "above", lo_b == "["
        return None
    m = _INEQ.match(s)
    if m:
        left, op, right = m.groups()
        if left == "x" and right != "x":
            c, op_x = int(right), op
        elif right == "x" and left != "x":
            c, op_x = int(left), _FLIP[op]
        else:
            return None
        side = "above" if op_x in (">", "\\ge") else "below"
        return c, side, op_x in ("\\ge", "\\le")
    return None


_PAIR = re.compile(r"^\(?(" + _INT + r"),(" + _INT + r")\)?$")


def _point_value(s: str) -> tuple[int, int] | None:
    if s.startswith("(x,y)="):
        s = s[len("(x,y)=") :]
    m = re.fullmatch(r"x=(" + _INT + r"),y=(" + _INT + r")", s)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _PAIR.match(s)
    if m and (s.startswith("(") == s.endswith(")")):
        return int(m.group(1)), int(m.group(2))
    return None


def _rounds_to(value: Fraction, text: str, min_places: int) -> bool:
    """``text`` (a decimal) is ``value`` exactly, or rounded half-up to >= min_places places."""
    if not re.fullmatch(r"-?\d{1,6}(\.\d{1,8})?", text):
        return False
    given = Fraction(Decimal(text))
    if given == value:
        return True
    places = len(text.split(".")[1]) if "." in text else 0
    return places >= min_places and _fmt_decimal(value, places) == text


def _fraction_ok(s: str, value: Fraction) -> bool:
    m = re.fullmatch(r"\\frac\{(" + _INT + r")\}\{(" + _INT + r")\}", s) or re.fullmatch(
        r"(" + _INT + r")[/:](" + _INT + r")", s
    )
    if m:
        den = int(m.group(2))
        return den != 0 and Fraction(int(m.group(1)), den) == value
    if s.endswith("\\%") or s.endswith("%"):
        return _rounds_to(value * 100, s.rstrip("%").rstrip("\\"), 1)
    return _rounds_to(value, s, 2)


_TERM = re.compile(r"([+-]?)(\d{0,3})(x(?:\^\{?2\}?)?)?")


def _poly_coeffs(s: str) -> dict[int, int] | None:
    """Coefficients {power: c} of a sum of monomials in x of degree <= 2."""
    if not s or len(s) > 60:
        return None
    out: dict[int, int] = {}
    pos = 0
    while pos < len(s):
        m = _TERM.match(s, pos)
        if not m or m.end() == pos or (not m.group(2) and not m.group(3)):
            return None
        if pos > 0 and not m.group(1):
            return None
        sign = -1 if m.group(1) == "-" else 1
        coef = int(m.group(2)) if m.group(2) else 1
        power = 0 if not m.group(3) else (2 if "^" in m.group(3) else 1)
        out[power] = out.get(power, 0) + sign * coef
        pos = m.end()
    return {p: c for p, c in out.items() if c}


def _poly_value(s: str) -> dict[int, int] | None:
    for prefix in ("y=", "f(x)="):
        if s.startswith(prefix):
            s = s[len(prefix) :]
    return _poly_coeffs(s)


def equivalent(kind: str, answer: str | None, truth: dict[str, Any]) -> bool:
    """The oracle: is ``answer`` (a boxed answer's content) a correct answer of this truth?"""
    if not isinstance(answer, str) or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
        return False
    s = _clean(answer)
    try:
        if kind == "roots":
            got = _roots_value(s)
            return got is not None and sorted(got) == sorted(truth["roots"])
        if kind == "interval":
            return _interval_value(s) == (truth["bound"], truth["side"], truth["closed"])
        if kind == "point":
            return _point_value(s) == (truth["x"], truth["y"])
        if kind == "fraction":
            return _fraction_ok(s, Fraction(truth["num"], truth["den"]))
        if kind == "poly":
            want = {p: c for p, c in ((2, truth["a"]), (1, truth["b"])) if c}
            return _poly_value(s) == want
    except (ValueError, ZeroDivisionError, ArithmeticError, KeyError, TypeError):
        return False
    return False


# ------------------------------------------------------------------- canonical forms
def _fraction_value(s: str) -> Fraction | None:
    m = re.fullmatch(r"\\frac\{(" + _INT + r")\}\{(" + _INT + r")\}", s) or re.fullmatch(
        r"(" + _INT + r")[/:](" + _INT + r")", s
    )
    if m:
        den = int(m.group(2))
        return Fraction(int(m.group(1)), den) if den else None
    pct = s.endswith("%")
    text = s.rstrip("%").rstrip("\\") if pct else s
    if not re.fullmatch(r"-?\d{1,6}(\.\d{1,8})?", text):
        return None
    value = Fraction(Decimal(text)) / (100 if pct else 1)
    for den in range(1, 9):  # a rounded decimal stands for the simple fraction it rounds from
        for num in range(0, 9 * den + 1):
            f = Fraction(num, den)
            if _fraction_ok(s, f):
                return f
    return value


def canonical(kind: str, answer: str | None) -> str:
    """One normal form per kind for what an answer says (its value, whatever its form):
    sorted root list, ``x > c`` / ``x < c``, ``(a, b)``, reduced ``p/q``, ``ax^2 + bx``;
    ``unreadable`` when it cannot be parsed. Two answers are equivalent iff their
    canonical forms are equal (checked against `equivalent` in the tests); the tiny
    TinyV writes them out before its verdict."""
    if not isinstance(answer, str) or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
        return "unreadable"
    s = _clean(answer)
    try:
        if kind == "roots":
            got = _roots_value(s)
            return ", ".join(map(str, sorted(got))) if got else "unreadable"
        if kind == "interval":
            iv = _interval_value(s)
            if iv is None:
                return "unreadable"
            c, side, closed = iv
            return _inequality({"bound": c, "side": side, "closed": closed})
        if kind == "point":
            pt = _point_value(s)
            return f"({pt[0]}, {pt[1]})" if pt else "unreadable"
        if kind == "fraction":
            f = _fraction_value(s)
            return "unreadable" if f is None else f"{f.numerator}/{f.denominator}"
        if kind == "poly":
            co = _poly_value(s)
            if co is None or any(p not in (1, 2) for p in co):
                return "unreadable"
            return (
                _poly_text(co.get(2, 0), co.get(1, 0), braces=False)
                if co.get(2)
                else (f"{co.get(1, 0)}x" if co.get(1) else "0")
            )
    except (ValueError, ZeroDivisionError, ArithmeticError):
        return "unreadable"
    return "unreadable"
