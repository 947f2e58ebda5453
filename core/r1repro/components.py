"""Base classes of the components a plugin contributes (see `r1repro.hookspecs`).

They are deliberately small. A reward overrides `score_one` (or `score_batch` to batch
LLM calls, and `combine` to look at a whole group); a template overrides `render` /
`parse`; a dataset overrides `to_row` and names its real source; an environment
overrides `reset` / `step`. Importing this module imports no torch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from r1repro.types import Message, ParsedResponse, RewardResult, Row, Sample, StepResult, Trajectory

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- rewards
class Reward:
    """Scores a batch of samples; never raises on model output, never hangs.

    Override one of:
      * ``score_one(sample) -> RewardResult | float | dict`` for per-sample rewards;
      * ``score_batch(samples) -> list[...]`` to batch work (LLM verifiers);
    and, for group-aware rewards (``group_aware = True``), ``combine(samples, results)``,
    which sees every rollout of the same prompt at once (grouped by ``Sample.group_id``).

    Call the reward (``reward(samples)``) to get guarded results: an exception, a
    non-finite value or a per-sample timeout becomes ``failure_score`` with the reason in
    ``info["error"]``. Per-sample work whose worst case cannot be bounded by the code
    itself (sympy, big integers, executing model code) should set ``isolate = True``: it
    then runs in the killable process pool of `r1repro.safety` with ``timeout_s`` each.

    A reward that cannot be built without options defines a classmethod
    ``contract_example() -> dict`` of options for the contract tests (`r1repro.testing`).

    Why two stages: in verl 0.9.1 rewards are computed per sample as rollouts finish, so
    `score_*` runs in verl's reward workers and `combine` (cheap arithmetic over a group)
    runs in r1repro's trainer extension; see `r1repro.verl_bridge.trainer`.
    """

    name: str = ""
    description: ClassVar[str] = ""
    group_aware: ClassVar[bool] = False
    dense: ClassVar[bool] = False
    """Places step rewards (``RewardResult.token_rewards``); in verl they travel in the result as
    ``r1repro_token_rewards`` and the ``r1repro_sync`` trainer adds them to the token scores."""
    isolate: ClassVar[bool] = False
    preload_modules: ClassVar[tuple[str, ...]] = ()
    """Modules the isolated checks import (e.g. ``("sympy",)``), preloaded in the pool."""
    timeout_s: float = 10.0
    failure_score: float = 0.0

    def score_one(self, sample: Sample) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement score_one or score_batch")

    def score_batch(self, samples: Sequence[Sample]) -> list[Any]:
        if self.isolate:
            from r1repro.safety import get_pool

            pool = get_pool()
            pool.add_preload([type(self).__module__, *self.preload_modules])
            return pool.map_guarded(
                _score_one_of, [(self, s) for s in samples], timeout_s=self.timeout_s, return_exceptions=True
            )
        from r1repro.safety import deadline

        out = []
        for s in samples:
            try:
                with deadline(self.timeout_s):
                    out.append(self.score_one(s))
            except Exception as exc:  # noqa: BLE001 - model output must never crash training
                out.append(self._fail(exc))
        return out

    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        """Group stage; the default leaves per-sample results as they are."""
        return results

    def __call__(self, samples: Sequence[Sample]) -> list[RewardResult]:
        """Guarded scoring: one bad sample never spoils the batch.

        Each sample is first checked and sanitised (`admit_sample`): one the plugin cannot
        read (a non-string response, a list ``group_id``) gets ``failure_score`` with the
        reason in ``info["error"]`` and is not passed on; lone surrogates are replaced. If
        the batch still raises, the samples are scored one at a time so only the ones that
        fail are marked; likewise a group stage that raises is retried group by group.
        """
        samples = list(samples)
        if not samples:
            return []
        results: list[RewardResult | None] = [None] * len(samples)
        admitted: list[int] = []
        clean: list[Sample] = []
        for i, s in enumerate(samples):
            ok, reason = admit_sample(s)
            if ok is None:
                results[i] = self._fail(f"bad sample: {reason}")
            else:
                admitted.append(i)
                clean.append(ok)
        if clean:
            for i, r in zip(admitted, self._score_isolated(clean)):
                results[i] = r
        return results  # type: ignore[return-value]

    def _score_per_sample(self, samples: list[Sample]) -> list[RewardResult]:
        """The per-sample stage; a batch that raises is scored again one sample at a time."""
        try:
            raw = self.score_batch(samples)
            if len(raw) != len(samples):
                raise ValueError(
                    f"{self.name or type(self).__name__} returned {len(raw)} results for {len(samples)}"
                )
            return [self.coerce(r) for r in raw]
        except Exception as exc:  # noqa: BLE001
            if len(samples) == 1:
                return [self._fail(exc)]
            log.warning("reward %s failed on a batch (%s); scoring its %d samples one by one",
                        self.name, exc, len(samples))  # fmt: skip
            return [self._score_per_sample([s])[0] for s in samples]

    def _score_isolated(self, samples: list[Sample]) -> list[RewardResult]:
        results = self._score_per_sample(samples)
        if not self.group_aware:
            return results
        try:
            return [self.coerce(r) for r in self.combine(samples, results)]
        except Exception as exc:  # noqa: BLE001
            log.warning("reward %s failed in its group stage (%s); combining group by group", self.name, exc)
        out = list(results)
        for idxs in group_indices(samples).values():
            try:
                combined = self.combine([samples[i] for i in idxs], [results[i] for i in idxs])
                if len(combined) != len(idxs):
                    raise ValueError(f"group stage returned {len(combined)} results for {len(idxs)}")
                for i, r in zip(idxs, combined):
                    out[i] = self.coerce(r)
            except Exception as exc:  # noqa: BLE001
                for i in idxs:
                    out[i] = self._fail(exc)
        return out

    def preflight(self) -> None:
        """Fail now, with one clear line, if this reward cannot work (e.g. its judge model
        cannot be loaded or does not answer), instead of scoring every sample as an error.

        The default checks a ``judge`` attribute (a `r1repro.judge.Judge`) and the rewards
        returned by ``children()``. Raises `RewardUnavailable`.
        """
        from r1repro.judge import Judge, JudgeUnavailable

        try:
            judge = getattr(self, "judge", None)
        except Exception as exc:  # noqa: BLE001 - a judge that cannot even be built
            raise RewardUnavailable(f"reward '{self.name or type(self).__name__}': judge: {exc}") from None
        if isinstance(judge, Judge):
            try:
                judge.check()
            except JudgeUnavailable as exc:
                raise RewardUnavailable(f"reward '{self.name or type(self).__name__}': {exc}") from None
        children = getattr(self, "children", None)
        for child in children() if callable(children) else []:
            if isinstance(child, Reward):
                child.preflight()

    # helpers --------------------------------------------------------------------------
    def _fail(self, exc: BaseException | str) -> RewardResult:
        reason = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        return RewardResult(self.failure_score, {"error": reason[:300]})

    def coerce(self, value: Any) -> RewardResult:
        """Turn what a reward returned into a finite `RewardResult`."""
        if value is None:
            return self._fail("no result (timed out or crashed in the worker pool)")
        if isinstance(value, RewardResult):
            res = value
        elif isinstance(value, dict):
            info = {k: v for k, v in value.items() if k != "score"}
            try:
                res = RewardResult(float(value.get("score", self.failure_score)), info)
            except (TypeError, ValueError) as exc:
                return self._fail(exc)
        elif isinstance(value, bool | int | float):
            res = RewardResult(float(value))
        elif isinstance(value, BaseException):
            return self._fail(value)
        else:
            return self._fail(f"unsupported result type {type(value).__name__}")
        if not math.isfinite(res.score):
            return RewardResult(self.failure_score, {**res.info, "error": f"non-finite score {res.score}"})
        return res


class RewardUnavailable(RuntimeError):
    """A reward cannot score at all (its judge does not load or answer): training must not start."""


_SURROGATE = re.compile("[\ud800-\udfff]")
_SAMPLE_STR_FIELDS = ("problem", "data_source", "domain", "group_id", "uid")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def sanitize_text(text: str) -> str:
    """Lone surrogates (not encodable as UTF-8, fatal to tokenizers and JSON) become U+FFFD."""
    if not _has_surrogate(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


def admit_sample(sample: Any) -> tuple[Sample | None, str]:
    """(the sample, sanitised, "") or (None, why a reward cannot read it).

    Why here: a plugin's batch code reads every sample of the batch, so one malformed sample
    (a non-string response, an unencodable character) used to fail or corrupt the whole
    batch. Checking once, in the core, keeps every plugin's batch safe.
    """
    if not isinstance(sample, Sample):
        return None, f"not a Sample ({type(sample).__name__})"
    if not isinstance(sample.response, str):
        return None, f"'response' must be a string, got {type(sample.response).__name__}"
    changes: dict[str, Any] = {}
    for f in _SAMPLE_STR_FIELDS:
        v = getattr(sample, f)
        if v is None:
            changes[f] = ""
        elif not isinstance(v, str):
            return None, f"'{f}' must be a string, got {type(v).__name__}"
        elif _has_surrogate(v):
            changes[f] = sanitize_text(v)
    for f in ("extra", "meta"):
        v = getattr(sample, f)
        if v is None:
            changes[f] = {}
        elif not isinstance(v, dict):
            return None, f"'{f}' must be an object, got {type(v).__name__}"
    if _has_surrogate(sample.response):
        changes["response"] = sanitize_text(sample.response)
    if isinstance(sample.ground_truth, str) and _has_surrogate(sample.ground_truth):
        changes["ground_truth"] = sanitize_text(sample.ground_truth)
    for f in ("num_turns", "tool_calls", "tool_failures"):
        v = getattr(sample, f)
        if isinstance(v, bool) or not isinstance(v, int):
            return None, f"'{f}' must be an integer, got {type(v).__name__}"
    if sample.response_length is not None and (
        isinstance(sample.response_length, bool) or not isinstance(sample.response_length, int)
    ):
        return None, f"'response_length' must be an integer, got {type(sample.response_length).__name__}"
    if isinstance(sample.prompt, str) and _has_surrogate(sample.prompt):
        changes["prompt"] = sanitize_text(sample.prompt)
    elif isinstance(sample.prompt, list):
        msgs = [
            {**m, "content": sanitize_text(m["content"])}
            if isinstance(m, dict) and isinstance(m.get("content"), str) and _has_surrogate(m["content"])
            else m
            for m in sample.prompt
        ]
        if any(a is not b for a, b in zip(msgs, sample.prompt)):
            changes["prompt"] = msgs
    return (dataclasses.replace(sample, **changes) if changes else sample), ""


def _score_one_of(reward: Reward, sample: Sample) -> Any:
    """Module-level so the worker pool can pickle it."""
    return reward.score_one(sample)


def group_indices(samples: Sequence[Sample]) -> OrderedDict[str, list[int]]:
    """Indices of the samples of each group, in first-seen order."""
    groups: OrderedDict[str, list[int]] = OrderedDict()
    for i, s in enumerate(samples):
        groups.setdefault(s.group_id or f"__single_{i}", []).append(i)
    return groups


def is_correct(result: RewardResult, threshold: float = 0.5) -> bool:
    """Correctness of a verifier's verdict: ``info["correct"]`` if given, else score > threshold."""
    if "correct" in result.info:
        return bool(result.info["correct"])
    return result.score > threshold


# --------------------------------------------------------------------------- templates
class Template:
    """Turns a problem into chat messages and reads the parts back out of a response.

    ``render`` and ``parse`` must round-trip: ``parse(format_response(answer=a, think=t))``
    gives back ``a`` (and ``t`` when the template has a thinking part). The contract tests
    check this for every registered template.
    """

    name: str = ""
    description: ClassVar[str] = ""
    system_prompt: str | None = None
    user_format: str = "{problem}"
    response_prefix: str = ""
    """Text the assistant response is forced to start with (part of the response)."""
    example_answers: ClassVar[tuple[str, ...]] = ("42", "\\frac{1}{2}", "(1, 2)")
    """Answers in this template's own answer format, for the round-trip contract test (a
    grounding template's answers are boxes, not numbers)."""

    def render(self, row: Row | str) -> list[Message]:
        problem = row.problem if isinstance(row, Row) else str(row)
        messages: list[Message] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": self.user_format.replace("{problem}", problem)})
        return messages

    def parse(self, response: str) -> ParsedResponse:
        from r1repro.textutil import last_boxed

        ans = last_boxed(response)
        return ParsedResponse(answer=ans, think=None, format_ok=ans is not None)

    def format_response(self, answer: str, think: str | None = None) -> str:
        body = f"{think}\n" if think else ""
        return f"{body}The answer is \\boxed{{{answer}}}."


# ---------------------------------------------------------------------------- datasets
class DatasetUnavailable(RuntimeError):
    """Raised when neither a local copy nor the hub can provide a dataset."""


def data_dirs() -> list[Path]:
    """Where local copies of third-party data are looked for, in order."""
    dirs = []
    if os.environ.get("R1REPRO_DATA_DIR"):
        dirs.append(Path(os.environ["R1REPRO_DATA_DIR"]))
    from r1repro.paths import repo_root

    root = repo_root()
    if root is not None:
        dirs.append(root.parent / "shared" / "data")
    dirs.append(Path.cwd().parent / "shared" / "data")
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


class Dataset:
    """Rows in the one `Row` schema, from a real source, plus an offline fixture.

    A dataset names its real source: ``local_files`` (file names looked up in
    ``$R1REPRO_DATA_DIR`` then ``../shared/data``) and ``hub_id`` (loaded with
    ``datasets.load_dataset``). ``load`` tries them in that order and raises
    `DatasetUnavailable` with both reasons when neither works. ``fixture`` returns a few
    rows with no I/O at all; every dataset's fixture is checked against the schema.
    """

    name: str = ""
    description: ClassVar[str] = ""
    hub_id: ClassVar[str | None] = None
    hub_config: ClassVar[str | None] = None
    local_files: ClassVar[dict[str, str]] = {}
    domain: ClassVar[str] = "general"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        raise NotImplementedError

    def fixture(self) -> list[Row]:
        raise NotImplementedError

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        reasons = []
        fname = self.local_files.get(split)
        if fname:
            for d in data_dirs():
                path = d / fname
                if path.is_file():
                    return _read_records(path)
            reasons.append(f"no local file '{fname}' in " + ", ".join(str(d) for d in data_dirs()))
        if self.hub_id:
            try:
                import datasets

                ds = datasets.load_dataset(self.hub_id, self.hub_config, split=split)
                return [dict(r) for r in ds]
            except Exception as exc:  # noqa: BLE001
                reasons.append(f"hub id '{self.hub_id}' could not be loaded ({type(exc).__name__}: {exc})")
        raise DatasetUnavailable(
            f"dataset '{self.name}' split '{split}' is unavailable: "
            + "; ".join(reasons or ["it names no source"])
            + ". Set R1REPRO_DATA_DIR to a folder holding a local copy, or allow hub access."
        )

    def load(self, split: str = "train", limit: int | None = None, seed: int | None = None) -> list[Row]:
        recs = self.records(split)
        if seed is not None:
            import random

            random.Random(seed).shuffle(recs)
        if limit is not None:
            recs = recs[:limit]
        return [self.to_row(r, i, split) for i, r in enumerate(recs)]


class GeneratedDataset(Dataset):
    """A task the project generates (CPU scale): deterministic in (split, seed)."""

    sizes: ClassVar[dict[str, int]] = {"train": 2000, "test": 200}
    split_seeds: ClassVar[dict[str, int]] = {"train": 0, "test": 1, "validation": 2, "monitor": 3, "sft": 4}

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        raise NotImplementedError

    def load(self, split: str = "train", limit: int | None = None, seed: int | None = None) -> list[Row]:
        n = limit if limit is not None else self.sizes.get(split, 200)
        base = self.split_seeds.get(split, zlib.crc32(split.encode()) % 100_000)
        return self.generate(n, base * 1_000_003 + (seed or 0), split)

    def fixture(self) -> list[Row]:
        return self.generate(8, 12345, "fixture")

    def solution(self, row: Row, template: Template) -> str:
        """A correct worked response for SFT warm starts (override for reasoning traces)."""
        return template.format_response(answer=str(row.ground_truth))


def _read_records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    data = json.loads(text)
    if isinstance(data, dict):
        for key in ("data", "rows", "train", "test"):
            if isinstance(data.get(key), list):
                return data[key]
        raise ValueError(f"{path}: cannot find the list of records")
    return list(data)


# ------------------------------------------------------------------------ environments
class Environment:
    """A multi-turn environment: the policy acts in text, the environment answers.

    The local engine drives it as: generate until one of ``stop_strings`` (or EOS) ->
    ``step(state, text)`` -> append the observation (masked from the loss) -> generate...
    until ``done`` or ``max_turns``. The same object backs a verl tool at paper scale
    (see `r1repro.verl_bridge.tools`).
    """

    name: str = ""
    description: ClassVar[str] = ""
    max_turns: int = 4
    stop_strings: tuple[str, ...] = ()
    max_observation_tokens: int = 256

    def reset(self, row: Row) -> Any:
        return {}

    def step(self, state: Any, action: str) -> StepResult:
        raise NotImplementedError

    def close(self, state: Any) -> None:
        return None


# ---------------------------------------------------------------------------- rollouts
class RolloutStrategy:
    """How the responses of a batch are produced (single turn, multi-turn, forced...)."""

    name: str = ""
    description: ClassVar[str] = ""

    def rollout(self, ctx: Any, rows: Sequence[Row], n: int) -> list[Trajectory]:
        raise NotImplementedError


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
