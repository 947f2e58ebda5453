"""PRIME's rule-based math verifier ("prime_math"), re-implemented for r1repro.

Why this module exists
----------------------
TinyV (Xu et al., "TinyV: Reducing False Negatives in Verification Improves RL
for LLM Reasoning", arXiv 2505.14625) measures, in its Section 3, how often the
rule verifier used for RL on Big-Math -- the math grader shipped with PRIME
(Cui et al., "Process Reinforcement through Implicit Rewards",
arXiv 2502.01456), which TinyV calls "Prime Verifier" -- rejects answers that
are in fact correct.  TinyV's reward is ``prime_math.compute_score`` first, and
the small LLM verifier only when that says "wrong".  To reproduce TinyV the
baseline has to be PRIME's grader *as it is*, false negatives included.  This
module is a clean re-implementation of its verdicts; it does not try to be
smarter.  It needs sympy and pylatexenc (PRIME converts LaTeX to text with
``pylatexenc.latex2text``), nothing from verl.

Decision procedure (``compute_score``), in order
------------------------------------------------
0. Extraction (``extract_answer``): keep the text after the last
   "answer:" / "answer is" / "answers are"; cut before the last
   "is answer" / "is the answer" / "are answers" / "are the answers"; then take
   the content of the last ``\\boxed{..}`` (or ``\\fbox{..}``) if non-empty;
   then cut at the last ". "; then keep what follows the last
   "be ", "is ", "are ", "=", ": ", "get " (and their newline variants), each
   marker applied in turn.  With no marker at all the whole response is graded.
1. ``grade_answer`` (PRM800K / Hendrycks-MATH style):
   a. Hendrycks ``strip_string`` normalisation of both sides; equal -> correct.
   b. PRM800K normalisation (``\\text{}`` unwrap, $ and % removal,
      "million" etc., a fixed list of unit words, degrees, LaTeX -> text via
      pylatexenc, mixed numbers, lower-casing, integers canonicalised);
      equal -> correct.
   c. Split both into elements when they are a single bracketed tuple or
      interval; brackets and element counts must agree.  Per element:
      two plain fractions must match as strings; an integer never matches a
      non-integer; otherwise sympy must simplify ``(gt)-(answer)`` to 0
      (refused when more than 2 distinct letters, ``^{``, ``^(`` or a
      multi-digit exponent appear).
2. ``math_equal`` (ToRA-style), run with pi = math.pi and again with pi = 3.14
   when either side contains ``\\pi`` (any exception -> wrong):
   a. "$5" -> "5", "5%" -> "5"; "x_base" -> int(x) (raises if x is not a
      number); ``\\pi`` substituted by the number and the text evaluated as
      Python arithmetic when possible;
   b. case/space-insensitive string equality;
   c. both parse as floats: equal within rel. 1e-4 to gt, gt/100 or gt*100
      (final verdict either way);
   d. brackets ``(){}`` dropped and strings compared;
   e. same-bracket tuples compared element-wise (recursively), then
      comma-separated lists element-wise in order, then ``Point(..)``;
   f. (variant="verl" only) ``\\begin{pmatrix}`` references vs ``Matrix(..)``
      or ``[..]`` predictions;
   g. (variant="prime" only) sympy ``parse_expr`` (plain Python syntax, no
      LaTeX) of both sides, ``simplify(a-b) == 0``, else ``N(a) ~ N(b)``
      within rel. 1e-4.

Variants.  ``variant="prime"`` (default) is the grader PRIME released and
TinyV trained with (verl before May 2025): stage 2g works and 2f is dead
code (its pattern was a non-raw "\\b" string).  ``variant="verl"`` is the
copy shipped in current verl (0.9.x): since verl PR #1331 (May 2025) stage 2g
silently never succeeds (a decorator is used as a context manager), and since
PR #3946 (Nov 2025) stage 2f is live.  PRIME's stage 2g also tries
``sympy.parsing.latex.parse_latex``; it needs antlr4 4.11, which neither
PRIME's, TinyV's nor verl's requirements install, so it always failed there
and is omitted here.

Known false-negative categories of this verifier
(numbering follows TinyV's taxonomy, repo file tagging/prompts/classification.md)
- FN-1 LaTeX/markup: LaTeX that differs beyond what normalisation removes
  (braced exponents keep sympy out: ``2^{1+k}`` vs ``2^{k+1}``), and ground
  truths wrapped in inline math ``$k=n+1$`` (the Hendrycks stage keeps the
  "$", the PRM800K stage then cannot parse the equation).
- FN-2 units and context: units outside the fixed word list, ``\\textcirc``,
  "N = n" style prefixes longer than 2 characters on the ground-truth side.
- FN-3 notation: intervals vs inequalities / set-builder notation,
  ``\\pm`` vs listed roots, ratios ``2:1``, vectors vs ``pmatrix``,
  decimal commas ``3,5`` (read as 35).
- FN-4 symbolic rearrangement: expressions with more than two distinct
  letters, braces in exponents or multi-digit exponents never reach sympy
  in stage 1; stage 2g only reads Python syntax, not LaTeX.
- FN-5 numbers: exact vs decimal approximations (``\\frac{600}{7}`` vs
  ``85.71``), unreduced LaTeX fractions (``\\frac{2}{4}`` vs ``\\frac{1}{2}``;
  plain ``2/4`` only passes stage 2g), evaluated powers (``10^{3}`` vs
  ``1000``: an integer ground truth demands an integer-looking answer),
  LaTeX scientific notation (``3 \\times 10^{5}``), "1.5 million" vs
  ``1500000``; pi approximations only when the ``\\pi`` side is plain
  arithmetic (``2\\pi``, not ``\\frac{\\pi}{2}``) and within 1e-4 of
  pi*k or 3.14*k (``12.57`` for ``4\\pi`` fails, ``12.56`` passes).
- FN-6 collections: order matters for tuples, sets and lists; several
  bracket groups (``(1,2),(3,4)``) are only compared element-wise in order;
  set braces ``\\{..\\}`` around a list break matching.
- FN-7 symbols: renamed variables (``f(x)`` vs ``f(z)``), subscripts vs
  superscripts, Greek vs Latin letters.
- Extraction: only the text after the last "=" / "is " / ": " inside the
  box survives, so named tuples ``a=1, b=2`` collapse to ``2`` and
  descriptions ("the answer is 5 apples") keep trailing words.

Guards (deviations from PRIME only for pathological inputs)
-----------------------------------------------------------
PRIME's grader can hang (C-level big-integer arithmetic in sympy or in its
``eval``), recurse without bound, or run arbitrary code (it calls ``eval`` and
sympy's ``parse_expr``, which also evals).  Every public function here returns
a verdict and never raises; inputs beyond these limits are refused cheaply
(treated as "wrong" / ``None``):

- ``MAX_RESPONSE_CHARS`` (2,000,000): longer responses are not graded.
- ``MAX_GRADE_CHARS`` (2,000): longer answers / ground truths are only
  compared for exact (whitespace-stripped) string equality.
- ``MAX_SYMPY_CHARS`` (1,000): longer strings are never handed to sympy.
- ``MAX_NESTING`` (100): deeper bracket nesting is never handed to
  pylatexenc or sympy (both recurse).
- ``MAX_AST_NODES`` (3,000): bigger parsed expressions are not evaluated.
- ``MAX_EXACT_DIGITS`` (5,000): sympy input is parsed to Python code first
  and screened without evaluation; exact numbers that could exceed this many
  digits (``10**10**10``, ``2^{10^{10}}``, and float literals such as
  ``1e999999999``, which sympy converts to exact rationals) are refused.
- ``MAX_SYMBOLIC_EXPONENT`` (256) / ``MAX_ATOM_EXPONENT`` (1,000): larger
  integer powers of compound symbolic bases (``(x+1)**1000``) / of a single
  symbol or function value (``x**10**6``) are refused.
- ``MAX_FACTORIAL_ARG`` (1,000): factorial/gamma/binomial of larger exact
  arguments are refused.
- ``MAX_PY_POW_BITS`` (100,000): the Python-arithmetic evaluation used after
  ``\\pi`` substitution refuses integer powers with larger results.
- Only allow-listed sympy callables are evaluated (no builtins such as
  ``open``/``eval``, no attribute access, no lambdas, no names starting with
  "_"); ``eval`` is replaced by a small arithmetic interpreter.
- Time: ``time_budget`` seconds (default ``DEFAULT_TIME_BUDGET_S`` = 10) per
  public call, checked between stages; inside sympy stages PRIME's per-stage
  limits (10 s for stage 1c, 1 s for top-level / 10 s for nested stage 2g
  steps) capped by the remaining budget are enforced with
  ``signal.setitimer`` -- only in the main thread (elsewhere the caller must
  use a killable process pool).  Running out of budget means "wrong".
- ``RecursionError``/``MemoryError`` anywhere mean "wrong".

Known false positives (kept, they are PRIME's): the numeric stage also
accepts gt*100 and gt/100 (``5000`` for ``50``; ``3,14`` for ``3.14``), and
extraction keeps only the last "= ..." part of a boxed equation.

Other deliberate differences: ``compute_score``'s second element is an
honest "the response contains \\boxed or \\fbox" flag (PRIME/TinyV return
True whenever stage 1 succeeds; verl's copy also requires "Step 2:").
"""

from __future__ import annotations

import ast
import contextlib
import decimal
import functools
import math
import re
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

__all__ = [
    "compute_score",
    "extract_answer",
    "grade_answer",
    "is_equivalent",
    "last_boxed",
    "math_equal",
    "DEFAULT_TIME_BUDGET_S",
]

# --------------------------------------------------------------------------
# Guards (see module docstring)
# --------------------------------------------------------------------------
MAX_RESPONSE_CHARS = 2_000_000
MAX_GRADE_CHARS = 2_000
MAX_SYMPY_CHARS = 1_000
MAX_NESTING = 100
MAX_AST_NODES = 3_000
MAX_EXACT_DIGITS = 5_000
MAX_SYMBOLIC_EXPONENT = 256
MAX_ATOM_EXPONENT = 1_000
MAX_FACTORIAL_ARG = 1_000
MAX_PY_POW_BITS = 100_000
DEFAULT_TIME_BUDGET_S = 10.0

# PRIME's own limits: 10 s around stage 1c (its ``timeout`` decorator), and the
# ``timeout`` argument of math_equal for stage 2g steps -- compute_score passes
# ``timeout=True`` (1 s) while the recursive calls use the default 10 s.
_STAGE1_LIMIT_S = 10.0
_TOP_LEVEL_LIMIT_S = 1.0
_NESTED_LIMIT_S = 10.0

# PRIME truncates the prediction to this many characters in math_equal.
_PRIME_PREDICTION_CUT = 1000

_VARIANTS = ("prime", "verl")


class _Abort(Exception):
    """Where PRIME's math_equal would raise; compute_score turns it into False."""


class _Refused(Exception):
    """Input refused by a guard before reaching sympy / big-int arithmetic."""


class _StageTimeout(Exception):
    """Raised by the SIGALRM handler when a sympy stage exceeds its limit."""


class _OutOfTime(BaseException):
    """The whole-call budget is spent.  BaseException so that PRIME-style
    ``except Exception`` fallbacks do not swallow it."""


# --------------------------------------------------------------------------
# Small string helpers
# --------------------------------------------------------------------------
_OPENERS = "([{"
_CLOSERS = ")]}"


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in _CLOSERS and depth:
            depth -= 1
    return deepest


def _coerce_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:
        return None


# --------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------
_BRACE_RUNS = re.compile(r"\{+|\}+")
_AFTER_MARKERS = ("answer:", "answer is", "answers are")
_BEFORE_MARKERS = ("is answer", "is the answer", "are answers", "are the answers")
_TAIL_MARKERS = ("be ", "is ", "are ", "=", ": ", "get ", "be\n", "is\n", "are\n", ":\n", "get\n")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed`` (else last ``\\fbox``), stripped.

    Same scan as PRIME: from the last "\\boxed" the braces are counted and the
    span between the first "{" and the "}" that brings the count back to 0 is
    returned.  PRIME has no brace-less form: for "\\boxed 5" the first "{"
    *anywhere later* opens the span, and with none the result is None.
    """
    try:
        if not isinstance(text, str) or len(text) > MAX_RESPONSE_CHARS:
            return None
        anchor = text.rfind("\\boxed")
        if anchor < 0:
            anchor = text.rfind("\\fbox")
            if anchor < 0:
                return None
        depth = 0
        first_open = None
        for run in _BRACE_RUNS.finditer(text, anchor):
            size = run.end() - run.start()
            if run.group()[0] == "{":
                if first_open is None:
                    first_open = run.start()
                depth += size
            else:
                # The count hits 0 at the depth-th closing brace of this run,
                # provided it was positive before the run.
                if 1 <= depth <= size:
                    if first_open is None:
                        return None
                    close_at = run.start() + depth - 1
                    return text[first_open + 1 : close_at].strip()
                depth -= size
        return None
    except Exception:
        return None


def _cut_after_last(text: str, markers: tuple[str, ...]) -> tuple[bool, str]:
    found = False
    for marker in markers:
        # PRIME searches the lower-cased text and slices the original with
        # that index; kept as is (it only matters for case-folding that
        # changes string length).
        at = text.lower().rfind(marker)
        if at != -1:
            found = True
            text = text[at + len(marker) :].strip()
    return found, text


def _prime_extract(response: str) -> tuple[bool, str]:
    matched, text = _cut_after_last(response, _AFTER_MARKERS)
    for marker in _BEFORE_MARKERS:
        at = text.lower().rfind(marker)
        if at != -1:
            matched = True
            text = text[:at].strip()
    boxed = last_boxed(text)
    if boxed:
        matched = True
        text = boxed
    if ". " in text:
        cut = text.lower().rfind(". ")
        if cut != -1:
            text = text[:cut].strip()
    tail_found, text = _cut_after_last(text, _TAIL_MARKERS)
    matched = (matched or tail_found) and any(ch.isdigit() for ch in text)
    return matched, text


def extract_answer(response: str) -> str | None:
    """The string PRIME grades for a model response (see module docstring).

    Returns None only for unusable input (not text, or longer than
    ``MAX_RESPONSE_CHARS``); otherwise PRIME's fallbacks apply, so a response
    without any marker is returned whole.
    """
    text = _coerce_text(response)
    if text is None or len(text) > MAX_RESPONSE_CHARS:
        return None
    try:
        return _prime_extract(text)[1]
    except Exception:
        return None


# --------------------------------------------------------------------------
# Stage 1a: Hendrycks-MATH normalisation
# --------------------------------------------------------------------------
_TEXT_WRAPPER = re.compile(r"^\\text\{(?P<body>.+?)\}$")


class _Unnormalisable(Exception):
    pass


_HENDRYCKS_EARLY = (
    ("\n", ""),
    ("\\!", ""),
    ("\\\\", "\\"),
    ("tfrac", "frac"),
    ("dfrac", "frac"),
    ("\\left", ""),
    ("\\right", ""),
    ("^{\\circ}", ""),
    ("^\\circ", ""),
    ("\\$", ""),
)
_HENDRYCKS_LATE = (
    ("\\\\%", ""),
    ("\\%", ""),
    (" .", " 0."),
    ("{.", "{0."),
)


def _drop_unit_suffix(s: str) -> str:
    marker = "\\text{ "
    if marker not in s:
        return s
    pieces = s.split(marker)
    if len(pieces) != 2:
        raise _Unnormalisable
    return pieces[0]


def _brace_sqrt_argument(s: str) -> str:
    if "\\sqrt" not in s:
        return s
    head, *chunks = s.split("\\sqrt")
    out = [head]
    for chunk in chunks:
        if not chunk:
            raise _Unnormalisable
        if chunk[0] == "{":
            out.append("\\sqrt" + chunk)
        else:
            out.append("\\sqrt{" + chunk[0] + "}" + chunk[1:])
    return "".join(out)


def _brace_frac_arguments(s: str) -> str:
    head, *chunks = s.split("\\frac")
    out = [head]
    for chunk in chunks:
        out.append("\\frac")
        if not chunk:
            raise _Unnormalisable
        if chunk[0] == "{":
            out.append(chunk)
            continue
        if len(chunk) < 2:
            return s
        first, second, rest = chunk[0], chunk[1], chunk[2:]
        if second == "{":
            out.append("{" + first + "}" + second + rest)
        else:
            out.append("{" + first + "}{" + second + "}" + rest)
    return "".join(out)


def _slash_to_frac(s: str) -> str:
    pieces = s.split("/")
    if len(pieces) != 2:
        return s
    try:
        top, bottom = int(pieces[0]), int(pieces[1])
    except ValueError:
        return s
    if s != f"{top}/{bottom}":
        return s
    return "\\frac{" + str(top) + "}{" + str(bottom) + "}"


def _hendrycks_canonical(s: str) -> str:
    for old, new in _HENDRYCKS_EARLY:
        s = s.replace(old, new)
    s = _drop_unit_suffix(s)
    for old, new in _HENDRYCKS_LATE:
        s = s.replace(old, new)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _brace_sqrt_argument(s)
    s = s.replace(" ", "")
    s = _brace_frac_arguments(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _slash_to_frac(s)


def _hendrycks_normalise(answer: str) -> str:
    answer = answer.strip()
    wrapped = _TEXT_WRAPPER.search(answer)
    if wrapped is not None:
        answer = wrapped.group("body").strip()
    try:
        return _hendrycks_canonical(answer)
    except Exception:
        return answer


# --------------------------------------------------------------------------
# Stage 1b: PRM800K normalisation
# --------------------------------------------------------------------------
_PRM_REPLACEMENTS = (
    ("\\%", "%"),
    ("\\$", "$"),
    ("$", ""),
    ("%", ""),
    (" or ", " , "),
    (" and ", " , "),
    ("million", "*10^6"),
    ("billion", "*10^9"),
    ("trillion", "*10^12"),
)
_UNIT_WORDS = (
    "degree",
    "cm",
    "centimeter",
    "meter",
    "mile",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
    "foot",
    "feet",
    "inch",
    "yard",
    "liter",
)
_UNIT_PATTERNS = tuple(re.compile(word + r"(es)?(s)? *(\^[0-9]+)?") for word in _UNIT_WORDS)
_DEGREE_MARK = re.compile(r"\^ *\\circ")
_THIN_SPACE_AFTER_COMMA = re.compile(r",\\! *")
_SPACES_AFTER_MINUS = re.compile(r"- *")
_MIXED_NUMBER = re.compile(r"([0-9]) +([0-9])")
_THOUSANDS_COMMA = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_LATEX_SYMBOLS = (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*"))


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except (ValueError, TypeError):
        return None


def _close_to_integer(value: float) -> bool:
    try:
        return abs(value - int(round(value))) <= 1e-7
    except Exception:
        return False


def _remove_thousands_commas(expr: str) -> str:
    while True:
        updated = _THOUSANDS_COMMA.sub(r"\1\3\4", expr)
        if updated == expr:
            return updated
        expr = updated


def _looks_integral(text: str) -> bool:
    try:
        return _close_to_integer(float(_remove_thousands_commas(text)))
    except Exception:
        return False


def _latex_to_plain(expr: str) -> str:
    if len(expr) > MAX_GRADE_CHARS or _nesting_depth(expr) > MAX_NESTING:
        return expr  # same outcome as pylatexenc failing: left unchanged
    try:
        from pylatexenc import latex2text

        source = expr.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac")
        source = source.replace("\\frac", " \\frac")
        plain = latex2text.LatexNodes2Text().latex_to_text(source)
        for old, new in _LATEX_SYMBOLS:
            plain = plain.replace(old, new)
        return plain.strip()
    except Exception:
        return expr


def _prm_normalise(expr: str) -> str:
    wrapped = _TEXT_WRAPPER.search(expr)
    if wrapped is not None:
        expr = wrapped.group("body")
    for old, new in _PRM_REPLACEMENTS:
        expr = expr.replace(old, new)
    for pattern in _UNIT_PATTERNS:
        expr = pattern.sub("", expr)
    expr = _DEGREE_MARK.sub("", expr)
    if expr and expr[0] == "{" and expr[-1] == "}":
        expr = expr[1:-1]
    expr = _THIN_SPACE_AFTER_COMMA.sub("", expr)
    as_float = _float_or_none(expr)
    if as_float is not None and _close_to_integer(as_float):
        expr = str(int(round(as_float)))
    if "\\" in expr:
        expr = _latex_to_plain(expr)
    expr = _SPACES_AFTER_MINUS.sub("-", expr)
    expr = _MIXED_NUMBER.sub(r"\1+\2", expr)
    expr = expr.lower()
    if _looks_integral(expr):
        # PRIME truncates here (int(float(..))), e.g. "4.99999999" -> "4".
        expr = str(int(float(expr.replace(",", ""))))
    return expr


def _split_single_group(expr: str) -> list[str]:
    expr = _remove_thousands_commas(expr)
    if not expr:
        return []
    brackets = "()[]"
    if (
        len(expr) > 2
        and expr[0] in brackets
        and expr[-1] in brackets
        and not any(ch in expr[1:-1] for ch in brackets)
    ):
        return [piece.strip() for piece in expr[1:-1].split(",")]
    return [expr]


_PLAIN_FRACTION = re.compile(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$")


def _is_plain_fraction(text: str) -> bool:
    return _PLAIN_FRACTION.search(text) is not None


def _distinct_letters(expr: str) -> int:
    stripped = expr.replace("sqrt", "").replace("frac", "")
    return len({ch for ch in stripped if ch.isalpha()})


_NO_SYMPY_SUBSTRINGS = ("^{", "^(")
_NO_SYMPY_PATTERNS = (re.compile(r"\^[0-9]+\^"), re.compile(r"\^[0-9][0-9]+"))


def _sympy_stage1_allowed(expr: str) -> bool:
    if _distinct_letters(expr) > 2:
        return False
    if any(bad in expr for bad in _NO_SYMPY_SUBSTRINGS):
        return False
    return not any(pattern.search(expr) for pattern in _NO_SYMPY_PATTERNS)


# --------------------------------------------------------------------------
# Guarded sympy parsing
# --------------------------------------------------------------------------
class _SympyEnv:
    """sympy, imported lazily, and parse_expr's default global namespace."""

    def __init__(self) -> None:
        import builtins
        import types

        import sympy
        from sympy.parsing import sympy_parser

        namespace: dict[str, Any] = {}
        exec("from sympy import *", namespace)  # what parse_expr itself does
        for name, obj in vars(builtins).items():
            if isinstance(obj, types.BuiltinFunctionType):
                namespace[name] = obj
        namespace["max"] = sympy.Max
        namespace["min"] = sympy.Min
        self.sympy = sympy
        self.namespace = namespace
        self.stringify = sympy_parser.stringify_expr
        self.standard = tuple(sympy_parser.standard_transformations)
        self.implicit = sympy_parser.implicit_multiplication_application
        self.xor = sympy_parser.convert_xor


@functools.lru_cache(maxsize=1)
def _sympy_env() -> _SympyEnv:
    return _SympyEnv()


class _Mag:
    """What the screen knows about a sub-expression without evaluating it.

    kind: "exact" (sympy would compute it exactly: size matters),
          "float" (inexact: cheap whatever its size), "symbolic" (free
          symbols or unknown functions), "opaque" (containers, relations,
          strings, functions...).
    digits: upper bound on decimal digits of numerator + denominator.
    value: exact value when small and known.
    """

    __slots__ = ("kind", "digits", "value", "integral", "atomic")

    def __init__(
        self,
        kind: str,
        digits: float = 1.0,
        value: Fraction | None = None,
        integral: bool = False,
        atomic: bool = False,
    ):
        self.kind = kind
        self.digits = digits
        self.value = value
        self.integral = integral
        self.atomic = atomic  # a lone symbol or function value (cheap to power)


_SMALL_VALUE_DIGITS = 40

_CONSTANT_NAMES = frozenset("pi E I oo zoo nan EulerGamma GoldenRatio Catalan TribonacciConstant".split())
_BOUNDED_FUNCS = frozenset(
    "sin cos tan cot sec csc asin acos atan acot asec acsc tanh coth sech csch atanh acoth atan2 sign arg".split()
)
_GROWTH_FUNCS = frozenset("exp sinh cosh".split())
_LOG_FUNCS = frozenset("log ln asinh acosh".split())
_SIZE_PRESERVING_FUNCS = frozenset(
    "sqrt cbrt root real_root Abs abs floor ceiling re im conjugate Max Min max min Mod gcd lcm".split()
)
_COMBINATORIAL_FUNCS = frozenset("factorial factorial2 subfactorial gamma binomial".split())
_CONTAINER_FUNCS = frozenset("Matrix Interval FiniteSet Tuple Point Union Eq Ne Lt Le Gt Ge".split())
_CALLABLE_NAMES = (
    _BOUNDED_FUNCS
    | _GROWTH_FUNCS
    | _LOG_FUNCS
    | _SIZE_PRESERVING_FUNCS
    | _COMBINATORIAL_FUNCS
    | _CONTAINER_FUNCS
)
# Emitted by parse_expr's transformations (split_symbols emits Number).
_LITERAL_CONSTRUCTORS = frozenset({"Integer", "Number", "Float", "Rational", "Symbol", "Function"})


_LONG_EXPONENT = re.compile(r"e[+-]?\d{4,}")


def _numeric_string_too_big(text: str) -> bool:
    """True when sympy would build a huge exact number from this string
    (Float/Rational/Integer literals: "1e999999999" means 10**999999999)."""
    cleaned = text.replace(" ", "").replace("_", "").lower()
    if len(cleaned) > MAX_EXACT_DIGITS:
        return True
    for part in cleaned.split("/"):
        try:
            number = decimal.Decimal(part)
        except (decimal.InvalidOperation, ValueError):
            if _LONG_EXPONENT.search(part):
                return True
            continue
        if number.is_finite():
            _, digits, exponent = number.as_tuple()
            if abs(exponent) + len(digits) > MAX_EXACT_DIGITS:
                return True
    return False


def _small_fraction(value: Fraction | None) -> Fraction | None:
    if value is None:
        return None
    if max(abs(value.numerator), value.denominator).bit_length() > 3.33 * _SMALL_VALUE_DIGITS:
        return None
    return value


def _small_combinatorial(name: str, values: list[Fraction | None]) -> Fraction | None:
    """Exact value of factorial & co. for small non-negative integers (used
    when such a value is an exponent); None when unknown or not small."""
    if not values or any(v is None or v.denominator != 1 or v < 0 or v > 30 for v in values):
        return None
    n = int(values[0])
    if name == "factorial":
        return Fraction(math.factorial(n))
    if name == "factorial2":
        return Fraction(math.prod(range(n, 0, -2)))
    if name == "gamma" and n > 0:
        return Fraction(math.factorial(n - 1))
    if name == "binomial" and len(values) == 2:
        return Fraction(math.comb(n, int(values[1])))
    return None


def _digits_of_int(number: int) -> float:
    return number.bit_length() * 0.30103 + 1


class _Screen:
    """Walks the Python code sympy would eval and refuses anything costly."""

    def __init__(self) -> None:
        self.nodes = 0

    def check(self, tree: ast.Expression) -> None:
        self.visit(tree.body, allow_str=True)

    def refuse(self, why: str = "") -> None:
        raise _Refused(why)

    def visit(self, node: ast.AST, allow_str: bool = False) -> _Mag:
        self.nodes += 1
        if self.nodes > MAX_AST_NODES:
            self.refuse("too many nodes")
        if isinstance(node, ast.Constant):
            return self.constant(node.value, allow_str)
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                self.refuse("private name")
            if node.id in _CONSTANT_NAMES:
                return _Mag("exact", 1.0)
            return _Mag("opaque")
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            inner = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                return _Mag("opaque")
            if isinstance(node.op, ast.USub) and inner.value is not None:
                return _Mag(inner.kind, inner.digits, -inner.value, inner.integral)
            return inner
        if isinstance(node, ast.Compare):
            self.visit(node.left)
            for item in node.comparators:
                self.visit(item)
            return _Mag("opaque")
        if isinstance(node, ast.BoolOp):
            for item in node.values:
                self.visit(item)
            return _Mag("opaque")
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            for item in node.elts:
                if isinstance(item, ast.Starred):
                    self.refuse("starred")
                self.visit(item)
            return _Mag("opaque")
        self.refuse(type(node).__name__)
        raise AssertionError  # unreachable

    def constant(self, value: Any, allow_str: bool) -> _Mag:
        if isinstance(value, bool):
            return _Mag("exact", 1.0, Fraction(int(value)), True)
        if isinstance(value, int):
            return _Mag("exact", _digits_of_int(value), _small_fraction(Fraction(value)), True)
        if isinstance(value, (float, complex)):
            return _Mag("float")
        if value is None:
            return _Mag("opaque")
        if isinstance(value, str) and allow_str:
            return _Mag("opaque")
        self.refuse("literal")
        raise AssertionError

    def literal_argument(self, node: ast.AST) -> _Mag:
        """Argument of Integer/Number/Rational: an int, a numeric string or another literal."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if _numeric_string_too_big(text):
                self.refuse("long literal")
            digits = float(sum(ch.isdigit() for ch in text) or 1)
            value = None
            if digits <= _SMALL_VALUE_DIGITS:
                with contextlib.suppress(ValueError, ZeroDivisionError):
                    value = Fraction(text)
            return _Mag("exact", digits, value, value is not None and value.denominator == 1)
        return self.visit(node)

    def call(self, node: ast.Call) -> _Mag:
        if node.keywords:
            self.refuse("keywords")
        func = node.func
        if isinstance(func, ast.Call):
            # Function('f')(x): an undefined function applied to arguments.
            inner = func.func
            if not (isinstance(inner, ast.Name) and inner.id in ("Function", "Symbol")):
                self.refuse("call of call")
            self.call(func)
            for arg in node.args:
                self.visit(arg)
            return _Mag("symbolic", atomic=True)
        if not isinstance(func, ast.Name):
            self.refuse("callee")
        name = func.id
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            self.refuse("starred")
        if name in _LITERAL_CONSTRUCTORS:
            return self.constructor(name, node.args)
        if name not in _CALLABLE_NAMES:
            self.refuse("callable " + name)
        args = [self.visit(arg) for arg in node.args]
        if name in _CONTAINER_FUNCS:
            return _Mag("opaque")
        if name in _COMBINATORIAL_FUNCS:
            return self.combinatorial(name, args)
        if any(arg.kind in ("symbolic", "opaque") for arg in args):
            return _Mag("symbolic")
        if any(arg.kind == "float" for arg in args):
            return _Mag("float")
        widest = max((arg.digits for arg in args), default=1.0)
        if name in _BOUNDED_FUNCS:
            return _Mag("exact", 1.0)
        if name in _LOG_FUNCS:
            return _Mag("exact", math.log10(widest * 2.31 + 1.0) + 1.0)
        if name in _GROWTH_FUNCS:
            first = args[0] if args else _Mag("exact")
            if first.value is not None:
                return _Mag("exact", abs(float(first.value)) * 0.4343 + 1.0)
            return _Mag("exact", 0.4343 * 10.0 ** min(first.digits, 400.0) + 1.0)
        return _Mag("exact", sum(arg.digits for arg in args) + 1.0)

    def constructor(self, name: str, args: list[ast.AST]) -> _Mag:
        if name in ("Symbol", "Function"):
            if len(args) != 1 or not (isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)):
                self.refuse("symbol name")
            return _Mag("symbolic", atomic=True) if name == "Symbol" else _Mag("opaque")
        if name == "Float":
            for arg in args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    self.float_literal(arg.value)
                else:
                    self.visit(arg)
            return _Mag("float")
        parts = [self.literal_argument(arg) for arg in args]
        if any(part.kind in ("float", "symbolic", "opaque") for part in parts):
            return _Mag("symbolic")
        digits = sum(part.digits for part in parts) or 1.0
        if digits > MAX_EXACT_DIGITS:
            self.refuse("long literal")
        value = None
        if all(part.value is not None for part in parts) and parts:
            with contextlib.suppress(ZeroDivisionError):
                value = parts[0].value
                for part in parts[1:]:
                    value = value / part.value
        value = _small_fraction(value)
        return _Mag("exact", digits, value, value is not None and value.denominator == 1)

    def float_literal(self, text: str) -> None:
        # sympy turns a decimal string into an exact Rational first, so
        # "1e999999999" would build a billion-digit integer.
        if _numeric_string_too_big(text):
            self.refuse("float literal exponent")

    def combinatorial(self, name: str, args: list[_Mag]) -> _Mag:
        if not args:
            return _Mag("opaque")
        size_arg = args[0]
        if any(arg.kind == "opaque" for arg in args):
            return _Mag("symbolic")
        if size_arg.kind == "exact":
            if size_arg.value is None or abs(size_arg.value) > MAX_FACTORIAL_ARG:
                self.refuse(name + " argument")
            n = abs(float(size_arg.value)) + 2.0
            value = _small_combinatorial(name, [arg.value for arg in args])
            return _Mag("exact", n * math.log10(n) + 1.0, value, value is not None)
        if any(
            arg.kind == "exact" and (arg.value is None or abs(arg.value) > MAX_FACTORIAL_ARG) for arg in args
        ):
            self.refuse(name + " argument")
        return _Mag("symbolic" if size_arg.kind == "symbolic" else "float")

    def binop(self, node: ast.BinOp) -> _Mag:
        op = node.op
        left = self.visit(node.left)
        right = self.visit(node.right)
        if isinstance(op, ast.Pow):
            return self.power(left, right)
        if not isinstance(
            op,
            (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.FloorDiv, ast.BitXor, ast.BitOr, ast.BitAnd),
        ):
            self.refuse(type(op).__name__)
        if "opaque" in (left.kind, right.kind):
            # containers/strings in arithmetic: at best useless, at worst
            # sequence repetition with a huge count.
            self.refuse("arithmetic on non-number")
        if "symbolic" in (left.kind, right.kind):
            return _Mag("symbolic")
        if "float" in (left.kind, right.kind):
            return _Mag("float")
        both_integral = left.integral and right.integral
        if isinstance(op, (ast.Add, ast.Sub)) and both_integral:
            digits = max(left.digits, right.digits) + 1.0
        else:
            digits = left.digits + right.digits + 1.0
        if digits > MAX_EXACT_DIGITS:
            self.refuse("too many digits")
        value = None
        if left.value is not None and right.value is not None:
            with contextlib.suppress(ZeroDivisionError, TypeError, ValueError):
                if isinstance(op, ast.Add):
                    value = left.value + right.value
                elif isinstance(op, ast.Sub):
                    value = left.value - right.value
                elif isinstance(op, ast.Mult):
                    value = left.value * right.value
                elif isinstance(op, ast.Div):
                    value = left.value / right.value
        value = _small_fraction(value)
        integral = both_integral and not isinstance(op, ast.Div)
        return _Mag("exact", digits, value, integral)

    def power(self, base: _Mag, exponent: _Mag) -> _Mag:
        def exponent_bound() -> float:
            if exponent.value is not None:
                return abs(float(exponent.value))
            return 10.0 ** min(exponent.digits, 400.0)

        if base.kind in ("symbolic", "opaque"):
            limit = MAX_ATOM_EXPONENT if base.atomic else MAX_SYMBOLIC_EXPONENT
            if exponent.kind == "exact" and exponent_bound() > limit:
                self.refuse("large power of a symbolic base")
            return _Mag("symbolic" if base.kind == "symbolic" else "opaque")
        if exponent.kind == "opaque":
            return _Mag("opaque")
        if exponent.kind == "symbolic":
            return _Mag("symbolic")
        if base.kind == "float" or exponent.kind == "float":
            return _Mag("float")
        if base.value is not None and base.value in (0, 1, -1):
            return _Mag("exact", 1.0, None, base.integral and exponent.integral)
        digits = max(base.digits, 1.0) * max(exponent_bound(), 1.0)
        if digits > MAX_EXACT_DIGITS:
            self.refuse("too many digits")
        value = None
        if (
            base.value is not None
            and exponent.value is not None
            and exponent.value.denominator == 1
            and digits <= _SMALL_VALUE_DIGITS
        ):
            with contextlib.suppress(ZeroDivisionError):
                value = base.value ** int(exponent.value)
        integral = base.integral and exponent.integral and exponent.value is not None and exponent.value >= 0
        return _Mag("exact", digits, _small_fraction(value), integral)


def _parse_sympy(text: str, *, implicit: bool = False, xor: bool = False) -> Any:
    """sympy's parse_expr (same transformations, same namespace) behind guards.

    Raises on refusal or on any parse/evaluation error, like parse_expr.
    """
    if not isinstance(text, str):
        raise TypeError("expected text")
    if len(text) > MAX_SYMPY_CHARS:
        raise _Refused("too long for sympy")
    if _nesting_depth(text) > MAX_NESTING:
        raise _Refused("too deeply nested for sympy")
    env = _sympy_env()
    transformations = env.standard
    if implicit:
        transformations = transformations + (env.implicit,)
    if xor:
        transformations = transformations + (env.xor,)
    local_names: dict[str, Any] = {}
    code = env.stringify(text, local_names, env.namespace, transformations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        tree = ast.parse(code.lstrip(" \t"), mode="eval")
        _Screen().check(tree)
        compiled = compile(tree, "<prime_math>", "eval")
    return eval(compiled, env.namespace, local_names)  # screened above


# --------------------------------------------------------------------------
# A tiny stand-in for Python's eval on arithmetic text (stage 2a, matrices)
# --------------------------------------------------------------------------
_NUMBER_TYPES = (int, float, complex)


def _py_binary(op: ast.operator, left: Any, right: Any) -> Any:
    if not (isinstance(left, _NUMBER_TYPES) and isinstance(right, _NUMBER_TYPES)):
        raise _Refused("non-numeric operands")
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Div):
        return left / right
    if isinstance(op, ast.FloorDiv):
        return left // right
    if isinstance(op, ast.Mod):
        return left % right
    if isinstance(op, ast.Pow):
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            if max(abs(left).bit_length(), 1) * right > MAX_PY_POW_BITS and abs(left) > 1:
                raise _Refused("integer power too large")
        return left**right
    if isinstance(op, (ast.BitXor, ast.BitAnd, ast.BitOr, ast.LShift, ast.RShift)):
        if not (isinstance(left, int) and isinstance(right, int)):
            raise TypeError("bitwise operation on non-integers")
        if isinstance(op, ast.BitXor):
            return left ^ right
        if isinstance(op, ast.BitAnd):
            return left & right
        if isinstance(op, ast.BitOr):
            return left | right
        if isinstance(op, ast.RShift):
            return left >> right
        if right > MAX_PY_POW_BITS:
            raise _Refused("shift too large")
        return left << right
    raise _Refused("operator")


_COMPARATORS = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}


def _py_checked(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_PY_POW_BITS:
        raise _Refused("integer too large")
    return value


def _py_value(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _py_value(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, complex, str)) or node.value is None:
            return node.value
        raise _Refused("literal")
    if isinstance(node, ast.Tuple):
        return tuple(_py_value(item) for item in node.elts)
    if isinstance(node, ast.List):
        return [_py_value(item) for item in node.elts]
    if isinstance(node, ast.Set):
        return {_py_value(item) for item in node.elts}
    if isinstance(node, ast.UnaryOp):
        operand = _py_value(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if not isinstance(operand, _NUMBER_TYPES):
            raise _Refused("non-numeric operand")
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        if isinstance(node.op, ast.Invert) and isinstance(operand, int):
            return ~operand
        raise TypeError("bad operand for ~")
    if isinstance(node, ast.BinOp):
        return _py_checked(_py_binary(node.op, _py_value(node.left), _py_value(node.right)))
    if isinstance(node, ast.Compare):
        left = _py_value(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = _py_value(right_node)
            if type(op) not in _COMPARATORS or not (
                isinstance(left, _NUMBER_TYPES) and isinstance(right, _NUMBER_TYPES)
            ):
                raise _Refused("comparison")
            if not _COMPARATORS[type(op)](left, right):
                return False
            left = right
        return True
    raise _Refused(type(node).__name__)


def _python_arithmetic(text: str) -> tuple[bool, Any]:
    """(True, value) where Python's eval of ``text`` would give ``value`` and
    the text is plain arithmetic on literals; (False, None) otherwise."""
    if len(text) > MAX_SYMPY_CHARS or _nesting_depth(text) > MAX_NESTING:
        return False, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text.lstrip(" \t"), mode="eval")
        return True, _py_value(tree)
    except Exception:
        return False, None


# --------------------------------------------------------------------------
# Time limits
# --------------------------------------------------------------------------
def _on_alarm(signum: int, frame: Any) -> None:
    raise _StageTimeout("sympy stage exceeded its time limit")


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """SIGALRM-based limit, only in the main thread; a no-op elsewhere.

    A timer the caller already armed is honoured (ours never outlives it)
    and is re-armed afterwards with the time it had left.
    """
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) is not None
    )
    if not usable:
        yield
        return
    # Pause the caller's timer first, so it cannot fire into our handler
    # before we are ready to restore theirs.
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, 0)
    started = time.monotonic()
    try:
        previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
    except (ValueError, OSError, TypeError):
        previous_handler = None
    try:
        if previous_handler is not None:
            delay = seconds if not outer_delay else min(seconds, outer_delay)
            signal.setitimer(signal.ITIMER_REAL, max(delay, 1e-4))
        yield
    finally:
        if previous_handler is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
        if outer_delay:
            remaining = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-4), outer_interval)


# --------------------------------------------------------------------------
# The grader proper
# --------------------------------------------------------------------------
_DOLLAR_AMOUNT = re.compile(r"\$\d+(\.\d+)?")
_PERCENT_AMOUNT = re.compile(r"^\d+(\.\d+)?%$")
_PERCENT_AMOUNT_TEX = re.compile(r"^\d+(\.\d+)?\\%$")
_INTERVAL_FORMS = (
    (re.compile(r"^Interval\((.*)\)$"), "[", "]"),
    (re.compile(r"^Interval\.Ropen\((.*)\)$"), "[", ")"),
    (re.compile(r"^Interval\.Lopen\((.*)\)$"), "(", "]"),
    (re.compile(r"^Interval\.open\((.*)\)$"), "(", ")"),
)
_PMATRIX_OPEN = "\\begin{pmatrix}"
_PMATRIX_CLOSE = "\\end{pmatrix}"


def _as_number(value: Any) -> tuple[bool, float | None]:
    try:
        text = str(value)
        if "{,}" in text:
            return True, float(text.replace("{,}", ""))
        return True, float(text.replace(",", ""))
    except ValueError:
        return False, None


def _substitute_pi(text: str, pi: float) -> Any:
    spelled = f"{pi}"
    at = text.find("\\pi")
    while at != -1:
        glue = "*" if at > 0 and text[at - 1].isdigit() else "1*"
        text = text[:at] + glue + spelled + text[at + 3 :]
        at = text.find("\\pi", at + 1)
    ok, value = _python_arithmetic(text)
    return value if ok else text


def _prime_prenormalise(answer: Any, pi: float) -> Any:
    if not isinstance(answer, str):
        return answer
    if _DOLLAR_AMOUNT.match(answer):
        return answer[1:]
    if _PERCENT_AMOUNT.match(answer) or _PERCENT_AMOUNT_TEX.match(answer):
        return answer.replace("\\%", "").replace("%", "")
    if "_" in answer:
        # PRIME reads "x_b" as x written in base b and keeps int(float(x));
        # anything else raises, which fails the whole comparison.
        try:
            return int(float(answer.split("_")[0]))
        except (ValueError, OverflowError) as err:
            raise _Abort("not a based number") from err
    if "\\pi" in answer:
        return _substitute_pi(answer, pi)
    return answer


def _interval_as_brackets(text: str) -> str:
    for pattern, left, right in _INTERVAL_FORMS:
        found = pattern.match(text)
        if found:
            return left + found.group(1) + right
    return text


_DROP_GROUPING = str.maketrans("", "", "{}()")


class _Grader:
    """One public call: its time budget and its variant."""

    def __init__(self, time_budget: float | None, variant: str) -> None:
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}")
        self.variant = variant
        self.deadline = None if time_budget is None else time.monotonic() + max(float(time_budget), 0.0)

    # -- time -------------------------------------------------------------
    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _OutOfTime

    @contextlib.contextmanager
    def stage(self, limit: float) -> Iterator[None]:
        self.check_time()
        seconds = float(limit)
        if self.deadline is not None:
            seconds = min(seconds, self.deadline - time.monotonic())
            if seconds <= 0:
                raise _OutOfTime
        with _alarm(seconds):
            yield

    # -- stage 1 ----------------------------------------------------------
    def difference_is_zero(self, truth: str, given: str) -> bool:
        combined = f"({truth})-({given})"
        if not _sympy_stage1_allowed(combined):
            return False
        try:
            with self.stage(_STAGE1_LIMIT_S):
                difference = _parse_sympy(combined.replace("^", "**"), implicit=True)
                return bool(_sympy_env().sympy.simplify(difference) == 0)
        except (_StageTimeout, Exception):
            return False

    def grade(self, given: str | None, truth: str) -> bool:
        if given is None:
            return False
        if _hendrycks_normalise(truth) == _hendrycks_normalise(given):
            return True
        truth_n = _prm_normalise(truth)
        given_n = _prm_normalise(given)
        if truth_n == given_n:
            return True
        if not given_n:
            return False
        truth_parts = _split_single_group(truth_n)
        given_parts = _split_single_group(given_n)
        if len(truth_parts) > 1 and (truth_n[0] != given_n[0] or truth_n[-1] != given_n[-1]):
            return False
        if len(truth_parts) != len(given_parts):
            return False
        for truth_part, given_part in zip(truth_parts, given_parts):
            self.check_time()
            if _is_plain_fraction(truth_part) and _is_plain_fraction(given_part):
                same = truth_part == given_part  # unreduced fractions must match verbatim
            elif _looks_integral(truth_part) != _looks_integral(given_part):
                same = False
            else:
                same = self.difference_is_zero(truth_part, given_part)
            if not same:
                return False
        return True

    # -- stage 2 ----------------------------------------------------------
    def equal(
        self,
        prediction: Any,
        reference: Any,
        include_percentage: bool,
        tolerance: float,
        pi: float,
        stage_limit: float,
    ) -> bool:
        try:
            return self._equal(prediction, reference, include_percentage, tolerance, pi, stage_limit)
        except (_Abort, _OutOfTime):
            raise
        except Exception as err:  # PRIME would have raised here
            raise _Abort(type(err).__name__) from err

    def _all_equal(self, pairs: list[tuple[Any, Any]], include_percentage: bool, tolerance: float) -> bool:
        # PRIME builds the whole list before all(): every pair is compared
        # (so an exception in any of them aborts), with default pi/timeout.
        results = [
            self.equal(p, r, include_percentage, tolerance, math.pi, _NESTED_LIMIT_S) for p, r in pairs
        ]
        return all(results)

    def _equal(
        self,
        prediction: Any,
        reference: Any,
        include_percentage: bool,
        tolerance: float,
        pi: float,
        stage_limit: float,
    ) -> bool:
        self.check_time()
        prediction = _prime_prenormalise(prediction, pi)
        reference = _prime_prenormalise(reference, pi)
        if isinstance(prediction, str) and len(prediction) > _PRIME_PREDICTION_CUT:
            prediction = prediction[:_PRIME_PREDICTION_CUT]

        if isinstance(prediction, str) and isinstance(reference, str):
            if prediction.strip().lower() == reference.strip().lower():
                return True
            if prediction.replace(" ", "") == reference.replace(" ", ""):
                return True

        numeric = self._numeric_verdict(prediction, reference, include_percentage, tolerance)
        if numeric is not None:
            return numeric

        if not prediction and prediction not in (0, False):
            return False

        reference = str(reference).strip()
        prediction = _interval_as_brackets(str(prediction).strip())

        pred_core, ref_core = prediction, reference
        bracketed = (
            prediction.startswith("[") and prediction.endswith("]") and not reference.startswith("(")
        ) or (prediction.startswith("(") and prediction.endswith(")") and not reference.startswith("["))
        if bracketed:
            pred_core = pred_core.strip("[]()")
            ref_core = ref_core.strip("[]()")
        if pred_core.translate(_DROP_GROUPING) == ref_core.translate(_DROP_GROUPING):
            return True

        if (
            prediction
            and reference
            and prediction[0] in "(["
            and prediction[-1] in ")]"
            and prediction[0] == reference[0]
            and prediction[-1] == reference[-1]
        ):
            pred_items = prediction[1:-1].split(",")
            ref_items = reference[1:-1].split(",")
            if len(pred_items) == len(ref_items) and self._all_equal(
                list(zip(pred_items, ref_items)), include_percentage, tolerance
            ):
                return True

        if "," in prediction and "," in reference:
            pred_items = [item.strip() for item in prediction.split(",")]
            ref_items = [item.strip() for item in reference.split(",")]
            if len(pred_items) == len(ref_items):
                return self._all_equal(list(zip(pred_items, ref_items)), include_percentage, tolerance)

        if prediction.startswith("Point") and reference[0] == "(" and reference[-1] == ")":
            pred_items = prediction[prediction.find("(") + 1 : -1].split(",")
            ref_items = reference[1:-1].split(",")
            if len(pred_items) == len(ref_items) and self._all_equal(
                list(zip(pred_items, ref_items)), include_percentage, tolerance
            ):
                return True

        if self.variant == "verl" and self._matrix_equal(
            prediction, reference, include_percentage, tolerance
        ):
            return True

        if self.variant == "verl":
            return False  # the sympy stage is unreachable in verl >= 0.4.1
        return self._symbolic_equal(prediction, reference, tolerance, stage_limit)

    @staticmethod
    def _numeric_verdict(
        prediction: Any, reference: Any, include_percentage: bool, tolerance: float
    ) -> bool | None:
        try:
            pred_ok, pred_value = _as_number(prediction)
            ref_ok, ref_value = _as_number(reference)
            if not (pred_ok and ref_ok):
                return None
            targets = [ref_value / 100, ref_value, ref_value * 100] if include_percentage else [ref_value]
            for target in targets:
                try:
                    if math.isclose(target, pred_value, rel_tol=tolerance):
                        return True
                except Exception:
                    continue
            return False
        except Exception:
            return None

    def _matrix_equal(
        self, prediction: str, reference: str, include_percentage: bool, tolerance: float
    ) -> bool:
        if _PMATRIX_OPEN not in reference:
            return False
        if prediction.startswith("Matrix"):
            try:
                with self.stage(_NESTED_LIMIT_S):
                    matrix = _parse_sympy(prediction)
                ref_items = reference.split()[1:-1:2]
                if len(matrix) == len(ref_items):
                    return self._all_equal(
                        [(p, r) for r, p in zip(ref_items, matrix)], include_percentage, tolerance
                    )
            except _OutOfTime:
                raise
            except Exception:
                return False
            return False
        if prediction.startswith("[") and prediction.endswith("]"):
            ok, rows = _python_arithmetic(prediction)
            if not ok:
                raise _Abort("eval of matrix prediction failed")
            if not isinstance(rows, list):
                return False
            try:
                body = reference.removeprefix("\\\\" + _PMATRIX_OPEN[1:]).removeprefix(_PMATRIX_OPEN)
                body = body.removesuffix("\\\\" + _PMATRIX_CLOSE[1:]).removesuffix(_PMATRIX_CLOSE)
                ref_rows = [row.split("&") if "&" in row else row for row in body.split("\\")]
                if len(rows) == len(ref_rows):
                    return self._all_equal(
                        [(p, r) for r, p in zip(ref_rows, rows)], include_percentage, tolerance
                    )
            except _OutOfTime:
                raise
            except Exception:
                return False
        return False

    def _parse_or_keep(self, text: str, limit: float) -> Any:
        try:
            with self.stage(limit):
                return _parse_sympy(text)
        except _OutOfTime:
            raise
        except (_StageTimeout, Exception):
            return text

    def _numeric_value(self, obj: Any) -> Any:
        sympy = _sympy_env().sympy
        if isinstance(obj, str):
            # sympy.N on a string sympifies it: parse_expr with '^' read as
            # power and newlines removed.
            obj = _parse_sympy(obj.replace("\n", ""), xor=True)
            if isinstance(obj, str):
                raise TypeError("string has no numeric value")
        return sympy.N(obj)

    def _symbolic_equal(self, prediction: str, reference: str, tolerance: float, limit: float) -> bool:
        left = self._parse_or_keep(prediction, limit)
        right = self._parse_or_keep(reference, limit)
        try:
            with self.stage(limit):
                if _sympy_env().sympy.simplify(left - right) == 0:
                    return True
        except _OutOfTime:
            raise
        except (_StageTimeout, Exception):
            pass
        try:
            with self.stage(limit):
                if math.isclose(self._numeric_value(left), self._numeric_value(right), rel_tol=tolerance):
                    return True
        except _OutOfTime:
            raise
        except (_StageTimeout, Exception):
            pass
        return False

    # -- the whole decision ----------------------------------------------
    def decide(self, answer: str, truth: str) -> bool:
        if len(answer) > MAX_GRADE_CHARS or len(truth) > MAX_GRADE_CHARS:
            return answer.strip() == truth.strip()
        try:
            if self.grade(answer, truth):
                return True
        except _OutOfTime:
            return False
        except Exception:
            pass
        try:
            if "\\pi" in answer or "\\pi" in truth:
                with_pi = self.equal(answer, truth, True, 1e-4, math.pi, _TOP_LEVEL_LIMIT_S)
                with_314 = self.equal(answer, truth, True, 1e-4, 3.14, _TOP_LEVEL_LIMIT_S)
                return with_pi or with_314
            return self.equal(answer, truth, True, 1e-4, math.pi, _TOP_LEVEL_LIMIT_S)
        except (_Abort, _OutOfTime, Exception):
            return False


def _guarded(default: Any):
    """Decorator: any escape (bug, recursion, memory, budget) -> ``default``."""

    def wrap(func):
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:
                return default

        return inner

    return wrap


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
@_guarded(False)
def grade_answer(
    given: str | None,
    ground_truth: str,
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET_S,
) -> bool:
    """PRIME's stage 1: string normalisation, then per-element sympy checks."""
    if given is None:
        return False
    given_text = _coerce_text(given)
    truth_text = _coerce_text(ground_truth)
    if given_text is None or truth_text is None:
        return False
    if len(given_text) > MAX_GRADE_CHARS or len(truth_text) > MAX_GRADE_CHARS:
        return given_text.strip() == truth_text.strip()
    return _Grader(time_budget, "prime").grade(given_text, truth_text)


@_guarded(False)
def math_equal(
    prediction: Any,
    reference: Any,
    include_percentage: bool = True,
    tolerance: float = 1e-4,
    timeout: float = 10.0,
    pi: float = math.pi,
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET_S,
    variant: str = "prime",
) -> bool:
    """PRIME's stage 2 (numeric, structural and sympy equality).

    Positional parameters follow PRIME's ``math_equal``: ``timeout`` is its
    per-sympy-step limit in seconds (compute_score passes ``True``, i.e. 1 s)
    and ``pi`` the value substituted for ``\\pi`` (compute_score also tries
    3.14).  ``time_budget`` bounds the whole call.  Returns False where
    PRIME's function would raise.
    """
    grader = _Grader(time_budget, variant)
    if isinstance(prediction, str) and len(prediction) > MAX_GRADE_CHARS:
        return False
    if isinstance(reference, str) and len(reference) > MAX_GRADE_CHARS:
        return False
    try:
        return grader.equal(prediction, reference, include_percentage, tolerance, pi, float(timeout))
    except (_Abort, _OutOfTime):
        return False


@_guarded(False)
def is_equivalent(
    answer: str,
    ground_truth: str,
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET_S,
    variant: str = "prime",
) -> bool:
    """compute_score's verdict for a bare answer (no extraction step)."""
    answer_text = _coerce_text(answer)
    truth_text = _coerce_text(ground_truth)
    if answer_text is None or truth_text is None:
        return False
    return _Grader(time_budget, variant).decide(answer_text, truth_text)


def compute_score(
    solution_str: str,
    ground_truth: str,
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET_S,
    variant: str = "prime",
) -> tuple[bool, bool, str | None]:
    """``(is_correct, has_boxed, extracted_answer)`` -- TinyV's call signature.

    ``is_correct`` is PRIME's verdict (stage 1, else stage 2 with both pi
    values); ``has_boxed`` says whether the response contains ``\\boxed`` or
    ``\\fbox``; ``extracted_answer`` is what was graded (None only when the
    response was unusable or too long).
    """
    try:
        solution = _coerce_text(solution_str)
        truth = _coerce_text(ground_truth)
        if solution is None:
            return False, False, None
        has_boxed = "\\boxed" in solution or "\\fbox" in solution
        extracted = extract_answer(solution)
        if extracted is None or truth is None:
            return False, has_boxed, extracted
        verdict = is_equivalent(extracted, truth, time_budget=time_budget, variant=variant)
        return bool(verdict), has_boxed, extracted
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        return False, False, None
