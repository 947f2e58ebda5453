"""A tiny TinyV for CPU scale: the paper's verifier recipe in miniature.

TinyV-1.5B (paper §4.2; official ``tinyv_model_training_sft.sh``) is Qwen2.5-1.5B-Instruct
fine-tuned (full SFT, 2 epochs) to answer "True"/"False" to the verifier prompt
(`templates.TINYV_PROMPT`) on ``TinyV_Training_Data_Balanced``: real false negatives
mined from a policy's Big-Math responses (the rule said wrong, LLM judges said right), real
true negatives, and synthetic false negatives, balanced between the two labels.

Ours, on the `tinyv.multiform` task:

1. **Mining.** The SFT-warm-started policy answers fresh problems (temperature 1). Every
   response the rule verifier rejects becomes a pair (question, ground truth, answer the
   verifier would be shown = PRIME's extraction), labelled by the oracle *on that shown
   answer* (as the paper's judges saw it): a real false negative or a real true negative.
2. **Generated variants.** For other problems: the truth in every form the rule rejects
   (synthetic false negatives) and wrong answers in every form (true negatives).
3. **Balance** the two labels, hold out the pairs of 20% of the problems (and 15% more for
   validation), and fine-tune the policy's SFT checkpoint (our stand-in for an instruct
   model; the paper starts from Qwen2.5-1.5B-Instruct) to answer with the paper's prompt,
   loss on the answer only (as LLaMA-Factory's SFT does). The answer is TinyV-1.5B-Think's
   shape, reasoning then "Answer: True/False"; the reasoning is ours (`column_reasoning`).
4. **Calibrate** the verdict rule on the validation pairs (`choose_rule`: a bias on the
   verdict margin and a confidence gate on the reasoning) within a false-positive bar.
5. **Report** held-out accuracy, false-negative recovery (recall on True) and true-negative
   preservation (specificity on False), on all held-out pairs and on the mined ones.

The verifier prompt is ~300 tokens of which the first ~230 (the instructions up to
``<question>``) are the same for every pair. `SharedPrefixJudge` and the training loop run
that shared head once per batch and attend to its cached keys/values from every row; the
result is the same as running each full prompt (``tests/test_verifier.py``), 3-4x cheaper.
The trained model is cached under ``<cache>/models/tinyv-tiny-<hash of everything that
determines it>`` with its evaluation in ``tinyv_verifier.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from r1repro.judge import TransformersJudge
from r1repro.paths import cache_dir
from r1repro_tinyv import forms, templates

log = logging.getLogger(__name__)

TRUE, FALSE = "True", "False"


# =========================================================================== inference
def common_prefix_length(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix, leaving at least one token in every sequence."""
    if not seqs:
        return 0
    limit = min(len(s) for s in seqs) - 1
    first = seqs[0]
    n = 0
    while n < limit and all(s[n] == first[n] for s in seqs):
        n += 1
    return max(0, n)


def _prefix_cache(model, prefix: list[int], batch: int, grad: bool):
    """Keys/values of ``prefix`` (computed once) repeated for ``batch`` rows."""
    import torch

    ctx = torch.enable_grad() if grad else torch.no_grad()
    with ctx:
        ids = torch.tensor([prefix], dtype=torch.long, device=next(model.parameters()).device)
        out = model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        if batch > 1:
            cache.batch_repeat_interleave(batch)
    return cache


class SharedPrefixJudge(TransformersJudge):
    """`r1repro.judge.TransformersJudge` that runs the prompts' common head once per batch.

    Greedy (or temperature) decoding, stop at EOS; each batch: one forward of the shared
    prefix, one forward of the left-padded suffixes attending to it, then one cached
    forward per new token. Same options as the transformers back-end; ``model="tinyv:tiny"``
    is the tiny TinyV of the TinyV reproduction's CPU config (`resolve_verifier_model`).
    """

    def _load(self):
        self.model_path = resolve_verifier_model(self.model_path)
        return super()._load()

    def _verdict(self, tok, margins: list | None) -> Verdict | None:
        """The verdict rule of this model: its calibrated bias and confidence gate
        (`CALIBRATION_FILE` in the model's folder, chosen on a validation split), if any;
        ``margins`` collects each reply's (margin, confidence)."""
        rule = read_calibration(self.model_path)
        if rule is None and margins is None:
            return None
        ids = verdict_word_ids(tok)
        if any(len(i) != 1 for i in ids):
            return None  # verdict words split into pieces: no single decision token to calibrate
        return Verdict(ids[0][0], ids[1][0], rule or Calibration(), margins)

    def _complete(self, prompts, max_tokens, temperature, margins: list | None = None):
        import torch

        model, tok = self._load()
        eos = {tok.eos_token_id} | ({tok.pad_token_id} if tok.pad_token_id is not None else set())
        gen = torch.Generator().manual_seed(0)
        verdict = self._verdict(tok, margins)
        out: list[str] = []
        for i in range(0, len(prompts), self.batch_size):
            ids = [self._encode(tok, p) for p in prompts[i : i + self.batch_size]]
            rows = _decode_shared(model, ids, max_tokens, eos, tok.pad_token_id, temperature, gen, verdict)
            out += [tok.decode(r, skip_special_tokens=True) for r in rows]
        return out

    def margins(self, prompts, max_tokens: int) -> list[tuple[float, float] | None]:
        """Greedy replies' (verdict margin, confidence) where the reply says True or False (None
        where it never does), with the rule this model has now (`Verdict`)."""
        found: list[tuple[float, float] | None] = []
        self._complete(prompts, max_tokens, 0.0, margins=found)
        return found


CALIBRATION_FILE = "tinyv_calibration.json"


@dataclass(frozen=True)
class Calibration:
    """A trained tiny TinyV's verdict rule, chosen on a validation split: say True iff
    logit(True) - logit(False) > ``bias`` and the reply so far was written with confidence
    above ``min_confidence`` (if set).

    The confidence of a greedy reply is the lowest log-probability of any token it wrote
    before the verdict word: a verifier unsure how to read an answer shows it in its
    reasoning (the canonical forms), not only at the verdict."""

    bias: float = 0.0
    min_confidence: float | None = None

    def says_true(self, margin: float, confidence: float) -> bool:
        return margin > self.bias and (self.min_confidence is None or confidence > self.min_confidence)


@dataclass
class Verdict:
    """The decision at the verdict word by ``rule`` (`Calibration`). Applied only where greedy
    decoding is about to write one of the two words, so the rule never inserts a verdict
    elsewhere; ``margins`` (when a list) collects each row's (margin, confidence), None if the
    row never reaches a verdict."""

    true_id: int
    false_id: int
    rule: Calibration = Calibration()
    margins: list | None = None
    first: int = 0  # index in ``margins`` of the current batch's first row

    @property
    def needs_confidence(self) -> bool:
        return self.margins is not None or self.rule.min_confidence is not None


def read_calibration(model_path: str) -> Calibration | None:
    """The verdict rule stored with a trained tiny TinyV (None for any other model)."""
    f = Path(str(model_path)) / CALIBRATION_FILE
    if not f.is_file():
        return None
    data = json.loads(f.read_text())
    gate = data.get("min_confidence")
    return Calibration(float(data["bias"]), None if gate is None else float(gate))


def _cuts(values: Sequence[float]) -> list[float]:
    """Cut points that separate every pair of neighbouring ``values``, plus both ends."""
    v = sorted(set(values))
    if not v:
        return []
    return [v[0] - 1.0] + [(a + b) / 2 for a, b in zip(v, v[1:])] + [v[-1] + 1.0]


def choose_rule(found: Sequence[tuple[float, float] | None], labels: Sequence[bool],
                max_false_positive: float, gate: bool = True) -> Calibration:  # fmt: skip
    """The verdict rule (bias, and a confidence gate if ``gate``) with the fewest errors on a
    validation split among those whose share of accepted negatives is at most
    ``max_false_positive`` (the least false positives if none is). Ties: no gate before a
    gate, a lower gate before a higher, then the bias closest to 0 (the model as trained).
    A row that never says a verdict counts as False whatever the rule."""
    import numpy as np

    has = np.array([f is not None for f in found])
    margin = np.array([f[0] if f is not None else 0.0 for f in found])
    conf = np.array([f[1] if f is not None else 0.0 for f in found])
    y = np.array([bool(x) for x in labels])
    n_neg = max(1, int((~y).sum()))
    biases = np.array([0.0] + _cuts(margin[has].tolist()))
    gates = [None] + (_cuts(conf[has].tolist()) if gate else [])
    best: tuple | None = None
    for g_i, g in enumerate(gates):
        open_ = has if g is None else has & (conf > g)
        said = open_[None, :] & (margin[None, :] > biases[:, None])  # (bias, row)
        fp = (said & ~y).sum(1) / n_neg
        err = (said != y).sum(1)
        for b_i in range(len(biases)):
            key = (fp[b_i] > max_false_positive, err[b_i] if fp[b_i] <= max_false_positive else fp[b_i],
                   g_i, abs(biases[b_i]))  # fmt: skip
            if best is None or key < best[0]:
                best = (key, float(biases[b_i]), g)
    assert best is not None
    return Calibration(best[1], best[2])


def prefill_shared(model, seqs: list[list[int]], pad: int):
    """Forward of a batch whose rows share a head: the head once, the left-padded rest on top.

    Returns (cache, last-position logits, next position ids, attention mask): the state a
    decoder continues from, equal to running every full sequence on its own."""
    import torch

    p = common_prefix_length(seqs)
    bsz = len(seqs)
    suffixes = [s[p:] for s in seqs]
    width = max(len(s) for s in suffixes)
    ids = torch.full((bsz, width), pad, dtype=torch.long)
    mask = torch.zeros((bsz, p + width), dtype=torch.long)
    mask[:, :p] = 1
    pos = torch.zeros((bsz, width), dtype=torch.long)
    for r, s in enumerate(suffixes):
        ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[r, p + width - len(s) :] = 1
        pos[r, width - len(s) :] = torch.arange(p, p + len(s))
    cache = _prefix_cache(model, seqs[0][:p], bsz, grad=False) if p else None
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True)
    return out.past_key_values, out.logits[:, -1, :], pos[:, -1:] + 1, mask


def _next_tokens(logits, temperature: float, gen):
    import torch

    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)


def _apply_verdict(tok, logits, verdict: Verdict | None, decided: list[bool], done, confidence=None):
    """``tok`` with each undecided row that is about to write True or False re-decided by the
    calibrated rule (`Verdict`); ``confidence`` (per row) is the lowest log-probability of the
    row's tokens so far; records (margin, confidence). Then lowers ``confidence`` by this
    step's tokens (rows that decided keep the value they decided with)."""
    import torch

    if verdict is None:
        return tok
    conf = confidence if confidence is not None else [0.0] * len(decided)
    for r in range(len(decided)):
        t = int(tok[r])
        if decided[r] or bool(done[r]) or t not in (verdict.true_id, verdict.false_id):
            continue
        decided[r] = True
        margin = float(logits[r, verdict.true_id] - logits[r, verdict.false_id])
        if verdict.margins is not None:
            verdict.margins[verdict.first + r] = (margin, conf[r])
        tok[r] = verdict.true_id if verdict.rule.says_true(margin, conf[r]) else verdict.false_id
    if confidence is not None:
        lp = torch.log_softmax(logits.float(), dim=-1).gather(1, tok.view(-1, 1)).squeeze(1)
        for r in range(len(decided)):
            if not decided[r] and not bool(done[r]):
                confidence[r] = min(confidence[r], float(lp[r]))
    return tok


def _decode_shared(model, seqs: list[list[int]], max_tokens: int, eos: set[int], pad: int,
                   temperature: float, gen, verdict: Verdict | None = None) -> list[list[int]]:  # fmt: skip
    import torch

    decided = [False] * len(seqs)
    confidence = [0.0] * len(seqs) if verdict is not None and verdict.needs_confidence else None
    if verdict is not None and verdict.margins is not None:
        verdict.first = len(verdict.margins)
        verdict.margins.extend([None] * len(seqs))

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            bsz = len(seqs)
            cache, logits, nxt, mask = prefill_shared(model, seqs, pad)
            done = torch.zeros(bsz, dtype=torch.bool)
            new: list[list[int]] = [[] for _ in range(bsz)]
            for t in range(max_tokens):
                tok = _next_tokens(logits, temperature, gen)
                tok = _apply_verdict(tok, logits, verdict, decided, done, confidence)
                for r in range(bsz):
                    if not done[r]:
                        if int(tok[r]) in eos:
                            done[r] = True
                        else:
                            new[r].append(int(tok[r]))
                if bool(done.all()) or t == max_tokens - 1:
                    break
                mask = torch.cat([mask, torch.ones((bsz, 1), dtype=torch.long)], dim=1)
                out = model(input_ids=tok.unsqueeze(-1), attention_mask=mask, position_ids=nxt,
                            past_key_values=cache, use_cache=True)  # fmt: skip
                cache, logits = out.past_key_values, out.logits[:, -1, :]
                nxt = nxt + 1
            return new
    finally:
        model.train(was_training)


# ============================================================================ the data
@dataclass
class Pair:
    """One verifier example: the prompt's three slots, the label, and where it came from."""

    question: str
    ground_truth: str
    answer: str
    label: bool
    origin: str  # "mined" (policy output) | "generated" | "perturbed" (a damaged generated answer)
    kind: str = ""
    problem_id: str = ""

    def messages(self, template: str = templates.TINYV_PROMPT, question_suffix: str = "") -> list[dict]:
        return templates.verifier_messages(
            self.question + question_suffix, self.ground_truth, self.answer, template
        )

    def target(self, think: bool = False, reasoning: str = "columns") -> str:
        """``True``/``False``; in the think format, first the reasoning (`REASONING`), then
        ``Answer: True``/``False``."""
        verdict = TRUE if self.label else FALSE
        if not think:
            return verdict
        return f"{REASONING[reasoning](self.kind, self.ground_truth, self.answer)}Answer: {verdict}"


GRID_WIDTH = 12
"""Characters per row of the grid reasoning: every canonical form the generator writes fits
(`tests/test_verifier.py` checks the widest one)."""


def grid_row(kind: str, answer: str | None) -> str:
    """The canonical form (`forms.canonical`) one character per token: spaces dropped, ``-``
    as ``~`` (the tokenizer merges ``>-``), ``?`` for unreadable, ``.``-padded to `GRID_WIDTH`."""
    return _cells(kind, answer).ljust(GRID_WIDTH, ".")


def _cells(kind: str, answer: str | None) -> str:
    """The canonical form as one-character cells (at most `GRID_WIDTH`), without padding."""
    c = forms.canonical(kind, answer)
    c = "?" if c == "unreadable" else c.replace(" ", "").replace("-", "~")
    return c[:GRID_WIDTH]


def grid_reasoning(kind: str, ground_truth: str, answer: str) -> str:
    """Ground truth's row, answer's row, then a row that marks each column ``=`` (same
    character) or ``#`` (different). Each row is a newline and `GRID_WIDTH` one-character
    tokens, so a column's three characters are always the same distance apart: comparing
    them is a fixed-offset look-back, and the verdict only has to notice a ``#``. (A 0.9M
    model writes both canonical forms right far more often than it compares two strings
    of varying length and position: the "forms" reasoning's failure, README.)"""
    g, a = grid_row(kind, ground_truth), grid_row(kind, answer)
    marks = "".join("=" if x == y else "#" for x, y in zip(g, a))
    return f"\n{g}\n{a}\n{marks}\n"


COLUMN_SIGNS = str.maketrans({"<": "l", ">": "g"})
"""The column reasoning writes ``<`` / ``>`` as ``l`` / ``g``: where truth and answer differ the two
signs sit side by side, and the tokenizer merges ``><`` and ``>.`` into one token."""


def column_reasoning(kind: str, ground_truth: str, answer: str) -> str:
    """One line of three-character columns, one column per character of the longer canonical form:
    the ground truth's character, the answer's (``.`` past its end), then ``=`` (same) or ``#``
    (different). The two characters a mark compares are the two tokens right before it. (Version 4's
    grid compared characters 13 tokens apart; on seed 0's pairs that look-back was its weak step: it
    wrote both rows right on ~80% of the pairs and still marked them wrongly.)"""
    g, a = (_cells(kind, x).translate(COLUMN_SIGNS) for x in (ground_truth, answer))
    n = max(len(g), len(a))
    cols = "".join(x + y + ("=" if x == y else "#") for x, y in zip(g.ljust(n, "."), a.ljust(n, ".")))
    return f"\n{cols}\n"


def forms_reasoning(kind: str, ground_truth: str, answer: str) -> str:
    """The earlier reasoning (tiny TinyV version 3): ``<truth's form> | <answer's form>. ``."""
    return f"{forms.canonical(kind, ground_truth)} | {forms.canonical(kind, answer)}. "


REASONING = {"columns": column_reasoning, "grid": grid_reasoning, "forms": forms_reasoning}
"""The tiny TinyV's reasoning before ``Answer:`` (ours: TinyV-1.5B-Think writes free text)."""


def shown_answer(boxed_content: str) -> str | None:
    """What the verifier is shown for a response boxing ``boxed_content``: PRIME's extraction."""
    from r1repro_tinyv.reward import prime_verdict

    return prime_verdict(f"The answer is \\boxed{{{boxed_content}}}.", "0")[2]


def rule_negative_pair(row, response: str, origin: str) -> Pair | None:
    """A pair from a response the rule verifier rejects (None if the rule accepts it)."""
    from r1repro_tinyv.reward import prime_verdict

    ok, _, extracted = prime_verdict(response, row.ground_truth)
    if ok or extracted is None:
        return None
    kind, truth = row.extra["kind"], row.extra["truth"]
    label = forms.equivalent(kind, extracted, truth)
    return Pair(row.problem, row.ground_truth, extracted, label, origin, kind, row.id)


def generated_pairs(rows, rng: random.Random, per_row: int = 2) -> list[Pair]:
    """Rule-rejected equivalent forms (synthetic FNs) and wrong answers (TNs) of each row."""
    out = []
    for row in rows:
        kind, truth = row.extra["kind"], row.extra["truth"]
        cands = []
        for f in forms.FORMS[kind]:
            cands.append(f.render(truth))
            cands.append(f.render(forms.corrupt(kind, truth, rng)))
        rng.shuffle(cands)
        kept = 0
        for c in cands:
            pair = rule_negative_pair(row, f"The answer is \\boxed{{{c}}}.", "generated")
            if pair is not None:
                out.append(pair)
                kept += 1
            if kept >= per_row:
                break
    return out


def perturb(text: str, rng: random.Random) -> str:
    """``text`` damaged the way a drifting tiny policy damages its answers: cut short, one
    character dropped, doubled, or padded with a piece of itself. Mined pairs show these; a
    verifier that never trained on them accepts many (issue 10: 33% of rule-negative wrong
    answers accepted; General-Reasoner's tiny verifier fell from FP 0.3 to 0.10 with them)."""
    if len(text) < 2:
        return text + text
    how = rng.choice(["cut", "drop", "double", "pad"])
    if how == "cut":
        return text[: rng.randrange(1, len(text))]
    if how == "drop":
        i = rng.randrange(len(text))
        return text[:i] + text[i + 1 :]
    if how == "double":
        return text + rng.choice(["", " ", ", "]) + text
    i = rng.randrange(len(text))
    return text + rng.choice(["", " "]) + text[i : i + rng.randrange(1, 4)]


def perturbed_pairs(rows, rng: random.Random, per_row: int = 2) -> list[Pair]:
    """Damaged renderings (`perturb`) of the truth and of wrong answers, labelled by the oracle
    on what the verifier is shown: mostly true negatives, plus the damages that keep the value
    (a dropped space, a doubled list that parses to the same set)."""
    out = []
    for row in rows:
        kind, truth = row.extra["kind"], row.extra["truth"]
        kept = 0
        for _ in range(per_row * 3):
            if kept >= per_row:
                break
            value = truth if rng.random() < 0.7 else forms.corrupt(kind, truth, rng)
            text = perturb(rng.choice(forms.FORMS[kind]).render(value), rng)
            pair = rule_negative_pair(row, f"The answer is \\boxed{{{text}}}.", "perturbed")
            if pair is not None:
                out.append(pair)
                kept += 1
    return out


def balance(pairs: list[Pair], rng: random.Random) -> list[Pair]:
    """Equal numbers of True and False pairs within each kind, so that the kind of a problem
    tells the verifier nothing. A kind whose rule-negatives are all truly wrong (no false
    negative survives PRIME's extraction) keeps as many negatives as an average kind."""
    by_kind: dict[str, tuple[list[Pair], list[Pair]]] = {}
    for p in pairs:
        by_kind.setdefault(p.kind, ([], []))[0 if p.label else 1].append(p)
    sizes = [min(len(pos), len(neg)) for pos, neg in by_kind.values() if pos and neg]
    typical = int(sum(sizes) / len(sizes)) if sizes else 0
    out: list[Pair] = []
    for kind in sorted(by_kind):
        pos, neg = by_kind[kind]
        rng.shuffle(pos)
        rng.shuffle(neg)
        n = min(len(pos), len(neg))
        out += pos[:n] + neg[:n] if n else (pos + neg)[:typical]
    rng.shuffle(out)
    return out


# ============================================================================ training
@dataclass(frozen=True)
class TinyVConfig:
    """How the tiny TinyV is made (every field is part of its cache key)."""

    mine_problems: int = 600  # problems the SFT policy answers for mining
    mine_samples: int = 4  # responses per problem (temperature 1)
    generated_problems: int = 1500  # problems whose forms / wrong answers are generated
    generated_per_problem: int = 3
    perturbed_per_problem: int = 2  # damaged answers (`perturb`) per generated problem; 0 = none
    holdout: float = 0.2  # share of problems held out for evaluation (the test split)
    validation: float = 0.15  # share of problems held out to choose the verdict bias; 0 = no bias
    # the bias is the most accurate one whose false-positive rate on the validation split is at most
    # this: below the 5% bar the test split is judged by (issue 10), to leave room for sampling error
    max_false_positive: float = 0.03
    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 20
    # loss weight of the verdict token (" True"/" False") against the think text's tokens: the
    # canonical forms are ~20 tokens and easy to copy, so unweighted their loss drowns the one
    # token that decides (1 = plain token-mean cross-entropy)
    verdict_weight: float = 1.0
    seed: int = 0
    question_suffix: str = ""  # must match the reward's question_suffix
    think: bool = True  # TinyV-1.5B-Think's format: reasoning, then "Answer: True/False"
    verdict_tokens: int = 56  # decoding budget of the verifier's reply (reasoning <= 38 tokens + verdict)
    max_new_tokens: int = 32  # policy response length while mining
    # the reasoning written before "Answer:" (`REASONING`): "columns" (version 5), "grid" (version 4) or
    # "forms" (version 3)
    reasoning: str = "columns"
    # the verdict rule may also require the reply's confidence (`Verdict`) above a validated gate
    confidence_gate: bool = True
    # 2: perturbed (damaged) answers in the training pairs; 3: calibrated verdict; 4: grid reasoning
    # and the confidence gate; 5: column reasoning
    version: int = 5


def mine_policy_pairs(policy_path: str, rows, cfg: TinyVConfig, template) -> list[Pair]:
    """Sample the policy on ``rows`` and keep its rule-rejected responses as pairs."""
    import torch

    from r1repro.engine.rollout import RolloutContext, SingleTurn
    from r1repro.models.tiny import load_policy

    model, tok = load_policy(policy_path)
    ctx = RolloutContext(model=model, tokenizer=tok, template=template, max_new_tokens=cfg.max_new_tokens,
                         temperature=1.0, max_prompt_length=128,
                         generator=torch.Generator().manual_seed(cfg.seed))  # fmt: skip
    pairs = []
    strategy = SingleTurn()
    for i in range(0, len(rows), 64):
        chunk = [_copy_row(r) for r in rows[i : i + 64]]
        for traj in strategy.rollout(ctx, chunk, cfg.mine_samples):
            pair = rule_negative_pair(traj.row, traj.response_text, "mined")
            if pair is not None:
                pairs.append(pair)
    return pairs


def _copy_row(row):
    import copy

    r = copy.copy(row)
    r.prompt = None
    return r


def build_pairs(policy_path: str, dataset, template,
                cfg: TinyVConfig) -> tuple[list[Pair], list[Pair], list[Pair]]:  # fmt: skip
    """(train, validation, held-out test) pairs: mined + generated, split by problem, balanced.
    Validation and test hold no damaged answers (those are a training aid)."""
    rng = random.Random(cfg.seed)
    mine_rows = dataset.load("verifier_mine", limit=cfg.mine_problems)
    gen_rows = dataset.load("verifier_gen", limit=cfg.generated_problems)
    pairs = mine_policy_pairs(policy_path, mine_rows, cfg, template)
    pairs += generated_pairs(gen_rows, rng, cfg.generated_per_problem)
    if cfg.perturbed_per_problem:
        pairs += perturbed_pairs(gen_rows, rng, cfg.perturbed_per_problem)
    ids = sorted({p.problem_id for p in pairs})
    rng.shuffle(ids)
    n_test, n_val = int(len(ids) * cfg.holdout), int(len(ids) * cfg.validation)
    held, val_ids = set(ids[:n_test]), set(ids[n_test : n_test + n_val])
    train = balance([p for p in pairs if p.problem_id not in held and p.problem_id not in val_ids], rng)
    # validation and test: mined and cleanly generated pairs only (what the policy is judged on)
    val = balance([p for p in pairs if p.problem_id in val_ids and p.origin != "perturbed"], rng)
    test = balance([p for p in pairs if p.problem_id in held and p.origin != "perturbed"], rng)
    return train, val, test


def _encode(tok, messages: list[dict]) -> list[int]:
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def train_verifier(base: str, pairs: list[Pair], out: Path, cfg: TinyVConfig, quiet: bool = True) -> Path:
    """SFT on (verifier prompt -> "True"/"False"), loss on the answer; shared head run once.
    On `r1repro.models.sft.SFT_THREADS` CPU threads, like every SFT here (bit-reproducible)."""
    import torch

    from r1repro.models.sft import fixed_threads
    from r1repro.models.tiny import load_policy, save_model_dir

    with fixed_threads():
        torch.manual_seed(cfg.seed)
        model, tok = load_policy(base)
        model.train()
        examples = []
        for p in pairs:
            prompt = _encode(tok, p.messages(question_suffix=cfg.question_suffix))
            target = p.target(cfg.think, cfg.reasoning)
            answer = tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            examples.append((prompt, answer))
        head = common_prefix_length([e[0] for e in examples])
        prefix = examples[0][0][:head]
        verdict_ids = [ids[-1] for ids in verdict_word_ids(tok)]
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / max(1, cfg.warmup_steps)) * max(0.1, 1 - s / max(1, cfg.steps))
        )
        rng = random.Random(cfg.seed)
        t0 = time.time()
        for step in range(cfg.steps):
            batch = [examples[rng.randrange(len(examples))] for _ in range(cfg.batch_size)]
            logits, labels = _shared_head_logits(
                model, prefix, [(q[head:], a) for q, a in batch], tok.pad_token_id
            )
            loss = _weighted_loss(logits, labels, verdict_ids, cfg.verdict_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if not quiet and (step % 50 == 0 or step == cfg.steps - 1):
                print(
                    f"[tiny TinyV] step {step} loss {loss.item():.4f} ({time.time() - t0:.0f}s)", flush=True
                )
        return save_model_dir(model, tok, out)


def verdict_word_ids(tok) -> list[list[int]]:
    """Token ids of " True" and " False", the verdict words as they follow "Answer:"."""
    return [tok(" " + w, add_special_tokens=False)["input_ids"] for w in (TRUE, FALSE)]


def _weighted_loss(logits, labels, verdict_ids: list[int], weight: float):
    """Token-mean cross-entropy over the answer tokens, the verdict tokens counted ``weight``
    times (normalised by the weighted token count, so ``weight = 1`` is the plain mean)."""
    import torch

    flat, lab = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
    per = torch.nn.functional.cross_entropy(flat, lab, ignore_index=-100, reduction="none")
    w = (lab != -100).to(per.dtype)
    if weight != 1.0:
        w = torch.where(torch.isin(lab, torch.tensor(verdict_ids)), w * weight, w)
    return (per * w).sum() / w.sum().clamp_min(1.0)


def _shared_head_logits(model, prefix: list[int], rest: list[tuple[list[int], list[int]]], pad: int):
    """Logits predicting each row's tokens after the shared ``prefix``, and the labels (the
    answer tokens; -100 elsewhere). The prefix goes through the model once for the batch
    (the core's grouped forward when the model is a plain Qwen2, else a repeated KV cache)."""
    import torch

    from r1repro.engine import qwen2_fast

    width = max(len(q) + len(a) for q, a in rest)
    bsz = len(rest)
    ids = torch.full((bsz, width), pad, dtype=torch.long)
    labels = torch.full((bsz, width), -100, dtype=torch.long)
    for r, (q, a) in enumerate(rest):
        seq = q + a
        ids[r, : len(seq)] = torch.tensor(seq)
        labels[r, len(q) : len(seq)] = torch.tensor(a)
    if qwen2_fast.supported(model):
        p = torch.tensor([prefix], dtype=torch.long)
        logits = qwen2_fast.grouped_response_logits(model, p, torch.ones_like(p), ids,
                                                    torch.zeros(bsz, dtype=torch.long))  # fmt: skip
        return logits, labels  # logits[:, t] predicts ids[:, t]
    head = len(prefix)
    mask = torch.zeros((bsz, head + width), dtype=torch.long)
    mask[:, :head] = 1
    for r, (q, a) in enumerate(rest):
        mask[r, head : head + len(q) + len(a)] = 1
    pos = torch.arange(head, head + width).unsqueeze(0).repeat(bsz, 1)
    cache = _prefix_cache(model, prefix, bsz, grad=True)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True)
    return out.logits[:, :-1], labels[:, 1:]


# ========================================================================== evaluation
def evaluate_verifier(judge, pairs: list[Pair], question_suffix: str = "", think: bool = False,
                      max_tokens: int = 8) -> dict[str, float]:  # fmt: skip
    """Accuracy, FN recovery (recall on True), TN preservation (specificity on False), the
    false-positive rate (1 - TN preservation) and ``items``: per pair, 1 if judged right
    (ids ``<problem>:<index>``; the negatives' items give the false-positive rate's error)."""
    if not pairs:
        return {}
    replies = judge.complete([p.messages(question_suffix=question_suffix) for p in pairs], max_tokens=max_tokens,
                             temperature=0.0)  # fmt: skip
    said = [templates.parse_verdict(r, think=think) == 1 for r in replies]
    pos = [s for s, p in zip(said, pairs) if p.label]
    neg = [not s for s, p in zip(said, pairs) if not p.label]
    items = {f"{p.problem_id}:{i}": float(s == p.label) for i, (s, p) in enumerate(zip(said, pairs))}
    tn = sum(neg) / len(neg) if neg else float("nan")
    return {
        "n": float(len(pairs)),
        "accuracy": sum(items.values()) / len(pairs),
        "fn_recovery": sum(pos) / len(pos) if pos else float("nan"),
        "tn_preservation": tn,
        "false_positive": 1.0 - tn,
        "items": items,
        "negative_items": [k for k, p in zip(items, pairs) if not p.label],
    }


# ============================================================================ the cache
TINY_TINYV = "tinyv:tiny"
VERIFIER_ENV = "R1REPRO_TINYV_VERIFIER"


def resolve_verifier_model(model: str) -> str:
    """``tinyv:tiny`` -> the tiny TinyV's folder: ``$R1REPRO_TINYV_VERIFIER`` if set, else the
    one the TinyV reproduction's CPU config makes (trained on first use, then cached).
    Any other model name is returned as it is."""
    import os

    if model != TINY_TINYV:
        return model
    if os.environ.get(VERIFIER_ENV):
        return os.environ[VERIFIER_ENV]
    from r1repro.engine.config import make_config
    from r1repro.models.sft import warm_start
    from r1repro.paths import repo_root
    from r1repro.registry import get_registry
    from r1repro.repro.run import as_container, compose_config

    root = repo_root()
    config_dir = root / "reproductions" / "tinyv" if root is not None else None
    if config_dir is None or not (config_dir / "config.yaml").is_file():
        raise FileNotFoundError(
            f"'{TINY_TINYV}' is made from reproductions/tinyv/config.yaml (scale=cpu); run inside an r1repro "
            f"checkout, or set {VERIFIER_ENV} to a trained verifier's folder"
        )
    cfg = compose_config(config_dir, "cpu", [])
    engine = make_config(as_container(cfg.engine))
    reg = get_registry()
    policy = warm_start(engine.model, engine.model.sft, engine.data, reg, quiet=True)
    dataset, template = reg.build("dataset", engine.data.dataset), reg.build("template", engine.data.template)
    path, _ = tiny_tinyv(
        policy, dataset, template, TinyVConfig(**(as_container(cfg.get("tiny_tinyv")) or {}))
    )
    return path


def _hash_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def tiny_tinyv(policy_path: str, dataset, template, cfg: TinyVConfig | None = None,
               quiet: bool = True) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """Path of the tiny TinyV for this SFT policy (trained once, then cached) and its report."""
    cfg = cfg or TinyVConfig()
    key = _hash_json({"policy": Path(policy_path).name, "dataset": getattr(dataset, "name", ""),
                      "kinds": getattr(dataset, "kinds", None), "cfg": asdict(cfg),
                      "prompt": templates.TINYV_PROMPT})  # fmt: skip
    out = cache_dir() / "models" / f"tinyv-tiny-{key}"
    meta = out / "tinyv_verifier.json"
    if meta.is_file() and (out / "config.json").is_file():
        return str(out), json.loads(meta.read_text())
    t0 = time.time()
    train, val, test = build_pairs(policy_path, dataset, template, cfg)
    t1 = time.time()
    train_verifier(policy_path, train, out, cfg, quiet=quiet)
    t2 = time.time()
    kw = {"question_suffix": cfg.question_suffix, "think": cfg.think, "max_tokens": cfg.verdict_tokens}
    calibration = calibrate(out, val, cfg) if val else None
    judge = SharedPrefixJudge(model=str(out), batch_size=64)
    report: dict[str, Any] = {
        "validation_pairs": len(val),
        "calibration": calibration,
        "train_pairs": len(train),
        "train_mined": sum(p.origin == "mined" for p in train),
        "test_pairs": len(test),
        "heldout": evaluate_verifier(judge, test, **kw),
        "heldout_mined": evaluate_verifier(judge, [p for p in test if p.origin == "mined"], **kw),
        "heldout_by_kind": {k: evaluate_verifier(judge, [p for p in test if p.kind == k], **kw)
                            for k in sorted({p.kind for p in test})},
        "seconds": {"pairs": t1 - t0, "train": t2 - t1, "eval": time.time() - t2},
        "config": asdict(cfg),
    }  # fmt: skip
    meta.write_text(json.dumps(report, indent=2))
    return str(out), report


def calibrate(model_dir: Path, val: list[Pair], cfg: TinyVConfig) -> dict[str, Any] | None:
    """Choose the verdict rule on the validation pairs (`choose_rule`: a bias, and a confidence
    gate if ``cfg.confidence_gate``) and store it with the model (`CALIBRATION_FILE`), so every
    later use of this verifier decides the same way. Returns the rule and the validation
    accuracy / false positives before (the model as trained) and after."""
    judge = SharedPrefixJudge(model=str(model_dir), batch_size=64)
    found = judge.margins([p.messages(question_suffix=cfg.question_suffix) for p in val], cfg.verdict_tokens)
    labels = [p.label for p in val]
    if not any(f is not None for f in found):
        return None
    rule = choose_rule(found, labels, cfg.max_false_positive, gate=cfg.confidence_gate)
    stored = {**asdict(rule), "chosen_on": "validation split"}
    (Path(model_dir) / CALIBRATION_FILE).write_text(json.dumps(stored))
    n_neg = max(1, sum(not y for y in labels))

    def stats(rule: Calibration) -> dict[str, float]:
        said = [f is not None and rule.says_true(*f) for f in found]
        return {"accuracy": sum(s == y for s, y in zip(said, labels)) / len(labels),
                "false_positive": sum(s and not y for s, y in zip(said, labels)) / n_neg}  # fmt: skip

    return {**asdict(rule), "n": len(val), "before": stats(Calibration()), "after": stats(rule)}
