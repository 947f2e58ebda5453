"""The symbolic oracle of the MoT task: a ProofWriter reasoner and a propositional model checker.

Two solvers, both exact on their fragment:

* **ProofWriter theories** (`solve`, `parse_theory`, `closure`): English facts and rules as
  ProofWriter writes them ("The cat is blue.", "Anne is not big.", "The bear likes the cat.",
  "The rabbit does not eat the tiger.", "If something is blue and round then it is nice.",
  "All red, big things are kind.", "Big people are rough.", "If the cow is cold then the lion sees
  the cow.", "If someone likes the cat then they chase the dog."). Facts and rule atoms are
  *signed literals* (predicate, subject, object, polarity); rules have one universally
  quantified variable (something/someone, referred to by it/they). Forward chaining runs to a
  fixed point.

  - open world (OWA, the shared data): a negated condition needs an explicit negated fact or
    conclusion; the statement is True if it is derived, False if its negation is derived,
    else Unknown (ProofWriter's OWA semantics).
  - closed world (CWA): negation as failure over a stratified theory (a negated condition holds
    when the atom is not derivable from the lower strata); unprovable statements are False.

* **Propositional / first-order formulas** (`prop_entails`, `parse_formula`, `folio_label`): a
  model-enumeration checker. Premises are formulas over atoms; the conclusion is True if it holds
  in every model of the premises, False if in none, Uncertain otherwise. FOLIO's FOL is handled by
  grounding quantifiers over the named constants plus one anonymous individual, then enumerating
  models with a DPLL search; a problem is *covered* when every formula parses and grounds within
  the atom budget. Grounding over a finite domain is a sound approximation only, so FOLIO
  agreement is reported, not assumed.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass

VAR = "?x"
_VAR_WORDS = {"something", "someone", "it", "they"}
_SPLIT = re.compile(r"(?<=\.)\s+")


class ParseError(ValueError):
    """A sentence outside the ProofWriter grammar this parser knows."""


@dataclass(frozen=True)
class Lit:
    """A signed literal: ``pred(subj)`` for attributes (obj None) or ``pred(subj, obj)``."""

    pred: str
    subj: str
    obj: str | None
    pos: bool = True

    def negate(self) -> Lit:
        return Lit(self.pred, self.subj, self.obj, not self.pos)

    def atom(self) -> tuple[str, str, str | None]:
        return (self.pred, self.subj, self.obj)

    def ground(self, value: str) -> Lit:
        return Lit(self.pred, value if self.subj == VAR else self.subj, value if self.obj == VAR else self.obj,
                   self.pos)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Lit, ...]
    conclusion: Lit


@dataclass
class Theory:
    facts: set[Lit]
    rules: list[Rule]
    entities: set[str]


# ---------------------------------------------------------------------------- ProofWriter parsing
def _entity(words: list[str]) -> str:
    """A noun phrase: a variable word, 'the X[ Y]', or a proper name (lower-cased)."""
    if len(words) == 1 and words[0] in _VAR_WORDS:
        return VAR
    if words and words[0] == "the":
        words = words[1:]
    if not words:
        raise ParseError("empty noun phrase")
    return " ".join(words)


def _verb_base(verb: str) -> str:
    """'likes' -> 'like', 'chases' -> 'chase', 'sees' -> 'see' (ProofWriter verbs only add -s)."""
    return verb[:-1] if verb.endswith("s") else verb


def parse_clause(text: str) -> Lit:
    """One atomic clause: 'the cat is (not) blue' / 'anne does not like the cat' / 'they see it'."""
    words = text.strip().lower().replace(",", " ").split()
    for i, w in enumerate(words):
        if w in ("is", "are"):
            subj = _entity(words[:i])
            rest = words[i + 1 :]
            pos = not (rest and rest[0] == "not")
            rest = rest[1:] if not pos else rest
            if len(rest) != 1:
                raise ParseError(f"cannot read attribute clause {text!r}")
            return Lit(rest[0], subj, None, pos)
    # relation: SUBJ [does not|do not] VERB OBJ ; the subject ends before the verb
    for i, w in enumerate(words):
        if w in ("does", "do") and i + 2 < len(words) and words[i + 1] == "not":
            return Lit(words[i + 2], _entity(words[:i]), _entity(words[i + 3 :]), False)
    if len(words) >= 3:
        if words[0] == "the":
            # 'the bald eagle likes the cat': the verb is the first word after the noun that is
            # followed by the object's article or a variable word
            for i in range(2, len(words) - 1):
                if words[i + 1] == "the" or words[i + 1] in _VAR_WORDS:
                    return Lit(_verb_base(words[i]), _entity(words[:i]), _entity(words[i + 1 :]), True)
        else:
            verb = words[1] if words[0] == "they" else _verb_base(words[1])
            return Lit(verb, _entity(words[:1]), _entity(words[2:]), True)
    raise ParseError(f"cannot read clause {text!r}")


_ALL_RULE = re.compile(r"^(?:all\s+)?(.+?)\s+(things|people)\s+are\s+(not\s+)?(\w+)$")


def parse_sentence(sentence: str) -> Lit | Rule:
    """A fact (ground literal) or a rule, from one ProofWriter sentence."""
    s = sentence.strip().rstrip(".").strip()
    low = s.lower()
    if low.startswith("if "):
        if " then " not in low:
            raise ParseError(f"rule without 'then': {sentence!r}")
        cond, concl = low[3:].split(" then ", 1)
        conds: list[Lit] = []
        for part in re.split(r"\s+and\s+", cond):
            words = part.replace(",", " ").split()
            if conds and len(words) <= 2 and conds[-1].obj is None and words and words[-1].isalpha():
                # 'something is big and (not) round': the subject carries over
                conds.append(Lit(words[-1], conds[-1].subj, None, words[0] != "not"))
            else:
                conds.append(parse_clause(part))
        return Rule(tuple(conds), parse_clause(concl))
    m = _ALL_RULE.match(low)
    if m and (low.startswith("all ") or " is " not in f" {low} "):
        adjs = [a for a in re.split(r"[,\s]+", m.group(1)) if a and a != "and"]
        conds = tuple(Lit(a, VAR, None, True) for a in adjs)
        return Rule(conds, Lit(m.group(4), VAR, None, m.group(3) is None))
    lit = parse_clause(low)
    if VAR in (lit.subj, lit.obj):
        raise ParseError(f"fact with a variable: {sentence!r}")
    return lit


def parse_theory(context: str) -> Theory:
    facts: set[Lit] = set()
    rules: list[Rule] = []
    entities: set[str] = set()
    for sent in _SPLIT.split(context.strip()):
        if not sent.strip():
            continue
        item = parse_sentence(sent)
        lits = [item] if isinstance(item, Lit) else [*item.conditions, item.conclusion]
        for lit in lits:
            entities.update(e for e in (lit.subj, lit.obj) if e is not None and e != VAR)
        if isinstance(item, Lit):
            facts.add(item)
        else:
            rules.append(item)
    return Theory(facts, rules, entities)


def parse_question(question: str) -> Lit:
    """The statement after '... true, false, or unknown?' (or the whole text)."""
    text = question.rsplit("?", 1)[-1].strip() or question
    lit = parse_sentence(text)
    if isinstance(lit, Rule):
        raise ParseError(f"the question is a rule, not a statement: {question!r}")
    return lit


# ---------------------------------------------------------------------------- forward chaining
def _bindings(
    rule: Rule, known: set[Lit], entities: set[str], negation_as_failure: set | None
) -> list[str | None]:
    """Values of the rule's variable that satisfy every condition (None if the rule is ground)."""
    has_var = any(VAR in (c.subj, c.obj) for c in rule.conditions) or VAR in (rule.conclusion.subj,
                                                                              rule.conclusion.obj)  # fmt: skip
    values: list[str | None] = sorted(entities) if has_var else [None]
    out = []
    for v in values:
        ok = True
        for c in rule.conditions:
            g = c.ground(v) if v is not None else c
            if negation_as_failure is not None and not g.pos:
                ok = g.negate() not in negation_as_failure
            else:
                ok = g in known
            if not ok:
                break
        if ok:
            out.append(v)
    return out


def closure(theory: Theory, rules: list[Rule] | None = None, start: set[Lit] | None = None,
            naf_model: set[Lit] | None = None) -> set[Lit]:  # fmt: skip
    """All literals derivable by forward chaining to a fixed point (semi-naive over rules)."""
    known = set(theory.facts if start is None else start)
    rules = theory.rules if rules is None else rules
    changed = True
    while changed:
        changed = False
        for rule in rules:
            for v in _bindings(rule, known, theory.entities, naf_model):
                lit = rule.conclusion.ground(v) if v is not None else rule.conclusion
                if lit not in known:
                    known.add(lit)
                    changed = True
    return known


def _strata(rules: list[Rule]) -> list[list[Rule]]:
    """Stratify by predicate: a rule whose negated condition reads predicate p runs after every
    rule concluding p. Raises ParseError when the theory is not stratified (negative cycle)."""
    level: dict[str, int] = defaultdict(int)
    for _ in range(len(rules) + 2):
        changed = False
        for r in rules:
            need = max([level[c.pred] + (0 if c.pos else 1) for c in r.conditions] + [0])
            if level[r.conclusion.pred] < need:
                level[r.conclusion.pred] = need
                changed = True
        if not changed:
            break
    else:
        raise ParseError("the theory is not stratified (negation through a cycle)")
    by: dict[int, list[Rule]] = defaultdict(list)
    for r in rules:
        by[level[r.conclusion.pred]].append(r)
    return [by[k] for k in sorted(by)]


def closed_world_model(theory: Theory) -> set[Lit]:
    """The stratified (perfect) model: positive literals true under negation as failure."""
    model = {f for f in theory.facts if f.pos}
    for stratum in _strata(theory.rules):
        prev = None
        while prev != model:
            prev = set(model)
            model = closure(theory, stratum, model, naf_model=model)
            model = {m for m in model if m.pos}
    return model


def solve(context: str, question: str, world: str = "open") -> str:
    """'True', 'False' or 'Unknown' for a ProofWriter theory and statement.

    ``world='open'`` (default; the shared MoT data is OWA): True if the statement is derived, False if
    its negation is, else Unknown. ``world='closed'``: True iff the statement holds in the
    stratified model (negation as failure), else False.
    """
    theory = parse_theory(context)
    stmt = parse_question(question)
    for e in (stmt.subj, stmt.obj):
        if e is not None:
            theory.entities.add(e)
    if world == "closed":
        model = closed_world_model(theory)
        holds = (stmt.negate() not in model) if not stmt.pos else (stmt in model)
        return "True" if holds else "False"
    if world != "open":
        raise ValueError(f"world must be 'open' or 'closed', not {world!r}")
    known = closure(theory)
    if stmt in known:
        return "True"
    if stmt.negate() in known:
        return "False"
    return "Unknown"


LETTER_OF = {"True": "A", "False": "B", "Unknown": "C", "Uncertain": "C"}
"""The MoT option letters: (A) True, (B) False, (C) Unknown / Uncertain."""


# ---------------------------------------------------------------------------- formulas
# A formula is a nested tuple: ("atom", name) | ("not", f) | (op, f, g) with op in
# and/or/imp/iff/xor | ("forall"|"exists", var, f) | ("pred", name, (args...)).
_TOKEN = re.compile(r"\s*(∀|∃|¬|∧|∨|→|↔|⊕|\(|\)|,|\w[\w'’.\-]*|\S)")
_BINARY = {"∧": "and", "∨": "or", "→": "imp", "↔": "iff", "⊕": "xor"}
_PREC = {"iff": 1, "imp": 2, "xor": 3, "or": 3, "and": 4}  # FOLIO writes ⊕ like ∨ (both bind weaker than ∧)


class _Parser:
    def __init__(self, text: str) -> None:
        text = (
            text.replace("&", "∧")
            .replace("|", "∨")
            .replace("->", "→")
            .replace("<->", "↔")
            .replace("~", "¬")
            .replace("⟷", "↔")
        )
        self.toks = [t for t in _TOKEN.findall(text) if t.strip()]
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expect: str | None = None) -> str:
        t = self.peek()
        if t is None or (expect is not None and t != expect):
            raise ParseError(f"expected {expect or 'a token'}, found {t!r}")
        self.i += 1
        return t

    def formula(self, min_prec: int = 0) -> tuple:
        left = self.unary()
        while self.peek() in _BINARY and _PREC[_BINARY[self.peek()]] > min_prec:
            op = _BINARY[self.take()]
            # → and ↔ associate to the right, the others to the left
            right = self.formula(_PREC[op] - (1 if op in ("imp", "iff") else 0))
            left = (op, left, right)
        return left

    def unary(self) -> tuple:
        t = self.peek()
        if t == "¬":
            self.take()
            return ("not", self.unary())
        if t in ("∀", "∃"):
            self.take()
            var = self.take()
            body = self.unary() if self.peek() in ("(", "¬", "∀", "∃") else self.formula()
            # a quantifier's scope is the rest of the formula when it is followed by a binary operator
            while self.peek() in _BINARY:
                op = _BINARY[self.take()]
                body = (op, body, self.formula(_PREC[op]))
            return ("forall" if t == "∀" else "exists", var, body)
        if t == "(":
            self.take()
            f = self.formula()
            self.take(")")
            return f
        name = self.take()
        if not re.match(r"\w", name):
            raise ParseError(f"unexpected token {name!r}")
        if self.peek() == "(":
            self.take()
            args = [self.take()]
            while self.peek() == ",":
                self.take()
                args.append(self.take())
            self.take(")")
            return ("pred", name, tuple(args))
        return ("atom", name)


def parse_formula(text: str) -> tuple:
    p = _Parser(text)
    f = p.formula()
    if p.peek() is not None:
        raise ParseError(f"trailing tokens in formula {text!r} at {p.peek()!r}")
    return f


def _constants(f: tuple, bound: frozenset = frozenset()) -> set[str]:
    kind = f[0]
    if kind == "pred":
        return {a for a in f[2] if a not in bound}
    if kind == "atom":
        return set()
    if kind in ("forall", "exists"):
        return _constants(f[2], bound | {f[1]})
    return set().union(*(_constants(g, bound) for g in f[1:]))


def ground(f: tuple, domain: list[str], env: dict[str, str] | None = None) -> tuple:
    """Replace quantifiers by conjunctions / disjunctions over ``domain``; predicates become atoms."""
    env = env or {}
    kind = f[0]
    if kind == "pred":
        return ("atom", f"{f[1]}({','.join(env.get(a, a) for a in f[2])})")
    if kind == "atom":
        return f
    if kind == "not":
        return ("not", ground(f[1], domain, env))
    if kind in ("forall", "exists"):
        parts = [ground(f[2], domain, {**env, f[1]: d}) for d in domain]
        op = "and" if kind == "forall" else "or"
        out = parts[0]
        for p in parts[1:]:
            out = (op, out, p)
        return out
    return (kind, ground(f[1], domain, env), ground(f[2], domain, env))


def atoms(f: tuple) -> set[str]:
    if f[0] == "atom":
        return {f[1]}
    return set().union(*(atoms(g) for g in f[1:] if isinstance(g, tuple)))


def evaluate(f: tuple, model: dict[str, bool]) -> bool:
    kind = f[0]
    if kind == "atom":
        return model[f[1]]
    if kind == "not":
        return not evaluate(f[1], model)
    a, b = evaluate(f[1], model), evaluate(f[2], model)
    return {"and": a and b, "or": a or b, "imp": (not a) or b, "iff": a == b, "xor": a != b}[kind]


def _cnf(formulas: list[tuple]) -> tuple[list[list[int]], dict[str, int]]:
    """Tseitin clauses asserting every formula (variables numbered from 1)."""
    ids: dict = {}
    clauses: list[list[int]] = []

    def var(key) -> int:
        if key not in ids:
            ids[key] = len(ids) + 1
        return ids[key]

    def enc(f: tuple) -> int:
        if f[0] == "atom":
            return var(("atom", f[1]))
        if f[0] == "not":
            return -enc(f[1])
        a, b = enc(f[1]), enc(f[2])
        v = var(("gate", len(ids)))
        op = f[0]
        if op == "and":
            clauses.extend([[-v, a], [-v, b], [v, -a, -b]])
        elif op == "or":
            clauses.extend([[-v, a, b], [v, -a], [v, -b]])
        elif op == "imp":
            clauses.extend([[-v, -a, b], [v, a], [v, -b]])
        elif op == "iff":
            clauses.extend([[-v, -a, b], [-v, a, -b], [v, a, b], [v, -a, -b]])
        else:  # xor
            clauses.extend([[-v, a, b], [-v, -a, -b], [v, -a, b], [v, a, -b]])
        return v

    for f in formulas:
        clauses.append([enc(f)])
    names = {k[1]: i for k, i in ids.items() if k[0] == "atom"}
    return clauses, names


class Budget(RuntimeError):
    """The DPLL search ran out of its decision budget (the problem counts as not covered)."""


def satisfiable(clauses: list[list[int]], max_decisions: int = 2000) -> bool:
    """DPLL with unit propagation: is there a model of the clauses? Raises `Budget` after
    ``max_decisions`` branchings (a plain-Python search; FOLIO problems that need more are
    reported as not covered rather than waited for)."""
    assign: dict[int, bool] = {}
    decisions = [0]

    def value(lit: int) -> bool | None:
        v = assign.get(abs(lit))
        return None if v is None else (v if lit > 0 else not v)

    def propagate(trail: list[int]) -> bool:
        changed = True
        while changed:
            changed = False
            for cl in clauses:
                unassigned, sat = [], False
                for lit in cl:
                    val = value(lit)
                    if val is True:
                        sat = True
                        break
                    if val is None:
                        unassigned.append(lit)
                if sat:
                    continue
                if not unassigned:
                    return False
                if len(unassigned) == 1:
                    lit = unassigned[0]
                    assign[abs(lit)] = lit > 0
                    trail.append(abs(lit))
                    changed = True
        return True

    def search() -> bool:
        trail: list[int] = []
        if not propagate(trail):
            for v in trail:
                del assign[v]
            return False
        free = next((abs(lit) for cl in clauses for lit in cl if abs(lit) not in assign), None)
        if free is None:
            return True
        decisions[0] += 1
        if decisions[0] > max_decisions:
            raise Budget(f"more than {max_decisions} decisions")
        for choice in (True, False):
            assign[free] = choice
            if search():
                return True
            del assign[free]
        for v in trail:
            del assign[v]
        return False

    return search()


def prop_entails(premises: list[tuple], conclusion: tuple, enumerate_limit: int = 12) -> str:
    """'True' if the conclusion holds in every model of the premises, 'False' if in none, else
    'Uncertain'. Up to ``enumerate_limit`` atoms the models are enumerated as a truth table (the
    MoT truth-table modality's own procedure); above it a DPLL search answers the same two
    satisfiability questions. Inconsistent premises entail everything: reported as 'True'."""
    names = sorted(set().union(*(atoms(p) for p in premises), atoms(conclusion)))
    if len(names) <= enumerate_limit:
        holds = set()
        for values in itertools.product((False, True), repeat=len(names)):
            model = dict(zip(names, values))
            if all(evaluate(p, model) for p in premises):
                holds.add(evaluate(conclusion, model))
        if holds == {True} or not holds:
            return "True"
        return "False" if holds == {False} else "Uncertain"
    can_false, _ = _cnf([*premises, ("not", conclusion)])
    if not satisfiable(can_false):
        return "True"
    can_true, _ = _cnf([*premises, conclusion])
    return "False" if not satisfiable(can_true) else "Uncertain"


def folio_label(premises_fol: list[str], conclusion_fol: str, extra_individuals: int = 1,
                max_atoms: int = 200) -> str | None:  # fmt: skip
    """FOLIO label by grounding over the named constants plus ``extra_individuals`` anonymous ones.

    None when a formula does not parse or the grounding exceeds ``max_atoms`` (not covered).
    """
    try:
        prem = [parse_formula(p) for p in premises_fol]
        concl = parse_formula(conclusion_fol)
    except (ParseError, IndexError):
        return None
    consts = sorted(set().union(*(_constants(f) for f in prem), _constants(concl)))
    domain = consts + [f"_anon{i}" for i in range(extra_individuals)]
    g_prem = [ground(f, domain) for f in prem]
    g_concl = ground(concl, domain)
    if len(set().union(*(atoms(p) for p in g_prem), atoms(g_concl))) > max_atoms:
        return None
    try:
        return prop_entails(g_prem, g_concl)
    except Budget:
        return None
