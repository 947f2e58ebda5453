"""LLM judges: one interface, three back-ends, for model-based verifiers and reward models.

Used by TinyV (a small verifier asked "True/False"), General-Reasoner (a generative
verifier that ends with "Final Decision: Yes/No") and any reward that asks a model.

* ``transformers``  a local causal LM (a hub id such as ``zhangchenxu/TinyV-1.5B``, a local
                    folder, or a project-trained tiny model), batched greedy decoding;
* ``openai``        an OpenAI-compatible server (vLLM, SGLang, TGI), as the official TinyV code
                    serves its verifier; requests run concurrently with timeouts and retries;
* ``stub``          a Python callable, for tests and for CPU runs without a verifier model.

``judge.complete(prompts)`` takes raw strings or chat-message lists and returns one string
per prompt, never raising: a failed call returns "" and is counted in ``stats``;
``judge.complete_checked(prompts)`` also says, per prompt, why it failed, so a reward can
record an error instead of mistaking a failure for a "False". ``build_judge`` rejects a bad
spec at once; ``judge.check()`` loads the model and asks one question (run before training).
"""

from __future__ import annotations

import concurrent.futures
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from r1repro.types import Message

log = logging.getLogger(__name__)
Prompt = str | list[Message]


@dataclass
class JudgeStats:
    calls: int = 0
    prompts: int = 0
    failures: int = 0
    seconds: float = 0.0

    def snapshot_and_reset(self) -> dict[str, float]:
        out = {"judge_calls": self.calls, "judge_prompts": self.prompts, "judge_failures": self.failures,
               "judge_seconds": self.seconds}  # fmt: skip
        self.calls = self.prompts = self.failures = 0
        self.seconds = 0.0
        return out


class JudgeUnavailable(RuntimeError):
    """The judge cannot answer at all (model not cached, hub offline, server down)."""


class JudgeError(RuntimeError):
    """The judge failed on one prompt (its reply is unusable); never a verdict."""


@dataclass
class Judge:
    """Base class: subclasses implement ``_complete`` (which may return an exception in place
    of a reply for a prompt that failed on its own).

    ``timeout_s`` is the per-prompt deadline: a call on n prompts must finish within
    n * timeout_s (enforced in the main thread; the openai back-end also bounds each request).
    """

    max_tokens: int = 8
    temperature: float = 0.0
    timeout_s: float = 60.0
    stats: JudgeStats = field(default_factory=JudgeStats)

    def complete(self, prompts: Sequence[Prompt], max_tokens: int | None = None,
                 temperature: float | None = None) -> list[str]:  # fmt: skip
        """One reply per prompt; "" where the judge failed (see `complete_checked` for why)."""
        replies, _ = self.complete_checked(prompts, max_tokens, temperature)
        return replies

    def complete_checked(self, prompts: Sequence[Prompt], max_tokens: int | None = None,
                         temperature: float | None = None) -> tuple[list[str], list[str | None]]:  # fmt: skip
        """(replies, errors): ``errors[i]`` is None, or one line saying why prompt i got no reply.

        Never raises. Prompts are sanitised (lone surrogates replaced); if the batched call
        fails, the prompts are retried one by one so a single bad prompt fails alone; a judge
        that cannot load fails every prompt with the same `JudgeUnavailable` reason.
        """
        prompts = [_sanitize_prompt(p) for p in prompts]
        if not prompts:
            return [], []
        mt = max_tokens or self.max_tokens
        temp = self.temperature if temperature is None else temperature
        t0 = time.perf_counter()
        try:
            out = self._guarded(prompts, mt, temp)
        except JudgeUnavailable as exc:
            out = [exc] * len(prompts)
        except Exception as exc:  # noqa: BLE001 - isolate the prompt(s) that fail
            if len(prompts) == 1:
                out = [exc]
            else:
                log.warning(
                    "judge failed on a batch of %d prompts (%s); asking one by one", len(prompts), exc
                )
                out = []
                for p in prompts:
                    try:
                        out += self._guarded([p], mt, temp)
                    except Exception as one:  # noqa: BLE001
                        out.append(one)
        replies: list[str] = []
        errors: list[str | None] = []
        for o in out:
            if isinstance(o, BaseException):
                replies.append("")
                errors.append(_one_line(o))
            else:
                replies.append(o if isinstance(o, str) else "")
                errors.append(None if isinstance(o, str) else f"judge returned {type(o).__name__}, not text")
        self.stats.failures += sum(e is not None for e in errors)
        self.stats.calls += 1
        self.stats.prompts += len(prompts)
        self.stats.seconds += time.perf_counter() - t0
        return replies, errors

    def _guarded(self, prompts: list[Prompt], max_tokens: int, temperature: float) -> list[Any]:
        from r1repro.safety import DeadlineExceeded, deadline

        try:
            with deadline(self.timeout_s * len(prompts) if self.timeout_s else None):
                out = list(self._complete(prompts, max_tokens, temperature))
        except DeadlineExceeded:
            raise JudgeError(
                f"judge timed out ({self.timeout_s:.3g}s per prompt, {len(prompts)} prompts)"
            ) from None
        if len(out) != len(prompts):
            raise JudgeError(f"judge returned {len(out)} outputs for {len(prompts)} prompts")
        return out

    def load(self) -> None:
        """Load (or make) the judge's model ahead of the first question. Not under the
        per-prompt deadline: a model made on first use (e.g. a verifier trained and cached)
        may take minutes. The default does nothing (remote and stub judges)."""

    def check(self) -> None:
        """Load the judge and ask it one question; raise `JudgeUnavailable` (one line) if it
        cannot answer. Called before training so a missing model stops the run at setup."""
        try:
            self.load()
        except JudgeUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - one line, whatever the loader raised
            raise JudgeUnavailable(f"the judge could not be loaded: {_one_line(exc)}") from None
        _, errors = self.complete_checked(["Is 2 + 2 = 4? Answer True or False."], max_tokens=2)
        if errors[0] is not None:
            raise JudgeUnavailable(f"the judge does not answer: {errors[0]}")

    def _complete(self, prompts: list[Prompt], max_tokens: int, temperature: float) -> list[Any]:
        raise NotImplementedError


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    if isinstance(exc, JudgeUnavailable | JudgeError):
        return msg[:300]
    return f"judge failed: {type(exc).__name__}: {msg}"[:300]


def _sanitize_prompt(p: Any) -> Prompt:
    from r1repro.components import sanitize_text

    if isinstance(p, str):
        return sanitize_text(p)
    if isinstance(p, list):
        return [
            {**m, "content": sanitize_text(m["content"])} if isinstance(m, dict) and isinstance(m.get("content"), str)
            else m
            for m in p
        ]  # fmt: skip
    return sanitize_text(str(p))


class StubJudge(Judge):
    """A Python function ``fn(prompt_text) -> reply`` (``"module:function"`` or a callable)."""

    def __init__(self, fn: Callable[[str], str] | str, **kw: Any) -> None:
        super().__init__(**kw)
        if isinstance(fn, str):
            mod, _, attr = fn.partition(":")
            fn = getattr(importlib.import_module(mod), attr)
        self.fn = fn

    def _complete(self, prompts, max_tokens, temperature):
        return [str(self.fn(_as_text(p))) for p in prompts]


class TransformersJudge(Judge):
    """A local causal LM, batched greedy decoding with the project's sampler (``fast``: the lean
    Qwen2 forward of `r1repro.engine.qwen2_fast` where the model supports it, same math)."""

    def __init__(self, model: str, batch_size: int = 32, device: str = "cpu", dtype: str = "float32",
                 use_chat_template: bool = True, max_prompt_tokens: int = 1024, fast: bool = True,
                 **kw: Any) -> None:  # fmt: skip
        super().__init__(**kw)
        self.fast = fast
        self.model_path, self.batch_size, self.device, self.dtype = model, batch_size, device, dtype
        self.use_chat_template, self.max_prompt_tokens = use_chat_template, max_prompt_tokens
        self._model = self._tok = None
        self._lock = threading.Lock()

    def load(self) -> None:
        self._load()

    def _load(self):
        with self._lock:
            if self._model is None:
                from r1repro.models.tiny import load_policy

                try:
                    self._model, self._tok = load_policy(
                        self.model_path, dtype=self.dtype, device=self.device
                    )
                except Exception as exc:  # noqa: BLE001 - not cached, hub offline, bad folder
                    raise JudgeUnavailable(
                        f"judge model {self.model_path!r} could not be loaded: {type(exc).__name__}: "
                        + (str(exc).strip().splitlines() or [""])[0]
                    ) from exc
                self._model.eval()
        return self._model, self._tok

    def _encode(self, tok, p: Prompt) -> list[int]:
        if isinstance(p, list) and self.use_chat_template and tok.chat_template:
            text = tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
        else:
            text = _as_text(p)
        return tok(text, add_special_tokens=False)["input_ids"][-self.max_prompt_tokens :]

    def _complete(self, prompts, max_tokens, temperature):
        import torch

        from r1repro.engine.generation import generate

        model, tok = self._load()
        eos = [tok.eos_token_id] + ([tok.pad_token_id] if tok.pad_token_id is not None else [])
        out: list[str] = []
        gen = torch.Generator().manual_seed(0)
        for i in range(0, len(prompts), self.batch_size):
            ids = [self._encode(tok, p) for p in prompts[i : i + self.batch_size]]
            g = generate(model, ids, max_new_tokens=max_tokens, eos_ids=eos, pad_id=tok.pad_token_id,
                         temperature=temperature, generator=gen, fast=self.fast)  # fmt: skip
            out += [tok.decode(t, skip_special_tokens=True) for t in g.tokens]
        return out


class OpenAIJudge(Judge):
    """An OpenAI-compatible endpoint (``/v1/chat/completions``, or ``/v1/completions`` for raw text)."""

    def __init__(self, model: str, base_url: str = "http://localhost:8000/v1", api_key: str | None = None,
                 timeout_s: float = 60.0, max_retries: int = 3, concurrency: int = 16,
                 retry_temperature_step: float = 0.0, **kw: Any) -> None:  # fmt: skip
        super().__init__(**kw)
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY", "EMPTY")
        self.timeout_s, self.max_retries, self.concurrency = timeout_s, max_retries, concurrency
        self.retry_temperature_step = retry_temperature_step

    def _one(self, client, p: Prompt, max_tokens: int, temperature: float) -> str:
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            temp = temperature + attempt * self.retry_temperature_step
            try:
                if isinstance(p, list):
                    r = client.post(f"{self.base_url}/chat/completions", json={
                        "model": self.model, "messages": p, "max_tokens": max_tokens, "temperature": temp,
                        "top_p": 1.0})  # fmt: skip
                    r.raise_for_status()
                    return r.json()["choices"][0]["message"]["content"] or ""
                r = client.post(f"{self.base_url}/completions", json={
                    "model": self.model, "prompt": p, "max_tokens": max_tokens, "temperature": temp})  # fmt: skip
                r.raise_for_status()
                return r.json()["choices"][0]["text"] or ""
            except Exception as exc:  # noqa: BLE001
                last = exc
                time.sleep(min(2.0, 0.2 * 2**attempt))
        log.warning("judge request failed after %d tries: %s", self.max_retries + 1, last)
        raise JudgeError(
            f"judge request failed after {self.max_retries + 1} tries: {type(last).__name__}: {last}"
        )

    def _complete(self, prompts, max_tokens, temperature):
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"}
        with httpx.Client(timeout=self.timeout_s, headers=headers) as client:
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
                futures = [pool.submit(self._one, client, p, max_tokens, temperature) for p in prompts]
                return [f.exception() or f.result() for f in futures]


def _as_text(p: Prompt) -> str:
    if isinstance(p, str):
        return p
    return "\n".join(str(m.get("content", "")) for m in p)


BACKENDS = {"stub": StubJudge, "transformers": TransformersJudge, "openai": OpenAIJudge}


def build_judge(spec: Any) -> Judge:
    """A judge from ``{"backend": "transformers" | "openai" | "stub", ...options}`` (or a Judge)."""
    if isinstance(spec, Judge):
        return spec
    if hasattr(spec, "items") and not isinstance(spec, dict):
        from omegaconf import OmegaConf

        spec = OmegaConf.to_container(spec, resolve=True)
    if not isinstance(spec, dict) or "backend" not in spec:
        raise ValueError(f"a judge spec is a mapping with 'backend' in {sorted(BACKENDS)}, got {spec!r}")
    opts = dict(spec)
    backend = opts.pop("backend")
    if backend not in BACKENDS:
        raise ValueError(f"unknown judge backend {backend!r}; choose one of {sorted(BACKENDS)}")
    try:
        return BACKENDS[backend](**opts)
    except (TypeError, ValueError, ImportError, AttributeError) as exc:
        raise ValueError(f"bad {backend!r} judge spec {opts}: {type(exc).__name__}: {exc}") from None
