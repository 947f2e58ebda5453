"""NOVER's proxy model: a lagged copy of the policy that scores reasoning perplexity.

Official code (``trainer.py``): the proxy starts as a deep copy of the (LoRA) policy and,
on every checkpoint save (``SAVE_STEPS = 100``), its adapter weights become

    proxy <- alpha * proxy + (1 - alpha) * policy                                   (EMA)

with ``alpha = REF_MODEL_MIXUP_ALPHA = 0.9`` in ``config.py`` (the fact sheet records 0.6
for a later ``config/config.yaml``, which is not in the snapshot we read). The same copy is
also the KL reference of the policy loss (``beta = 0.1``).

`LaggedProxy` is a stateful component the reward owns (``NoverReward.children()``):

* in the local engine it copies the policy at the first step, mixes the policy in every
  ``sync_every`` optimiser steps (``on_step_start``), optionally makes the engine's KL
  reference follow it (``sync_kl_reference``), and is checkpointed (``state_dict``);
* in a verl run (``model=<path>``, ``sync_from=<trainer.default_local_dir>``) it loads the
  base model and mixes in every new ``global_step_N/actor/huggingface`` checkpoint verl
  writes (``actor.checkpoint.save_contents`` must include ``hf_model``).

Deviation: the paper mixes LoRA adapter matrices A and B separately (which is *not* the
EMA of their product); at CPU scale we train full parameters and mix full parameters.
`ema_state_dict` is the same arithmetic on any state dict, LoRA adapters included.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ALPHA_CONFIG_PY = 0.9  # official config.py: REF_MODEL_MIXUP_ALPHA
ALPHA_LATER_CONFIG = 0.6  # fact sheet: the later config/config.yaml [not in the snapshot read]
SYNC_EVERY_PAPER = 100  # official config.py: SAVE_STEPS (the sync runs in on_save)


def ema_state_dict(proxy: Mapping[str, Any], policy: Mapping[str, Any], alpha: float) -> dict[str, Any]:
    """``alpha * proxy + (1 - alpha) * policy`` for every floating tensor both share.

    Keys only in ``proxy`` keep their value; non-floating entries are taken from the policy.
    """
    import torch

    out: dict[str, Any] = {}
    for key, p in proxy.items():
        if key not in policy:
            out[key] = p
            continue
        q = policy[key]
        if isinstance(p, torch.Tensor) and p.is_floating_point():
            out[key] = alpha * p + (1.0 - alpha) * q.to(device=p.device, dtype=p.dtype)
        else:
            out[key] = q
    return out


PEFT_PREFIX = "base_model.model."
LORA_META = "lora_train_meta.json"
"""verl writes ``{"r", "lora_alpha", ...}`` here (the ``actor/`` folder) when the actor trains LoRA."""


def merge_lora_state(state: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """A PEFT-wrapped model's full state dict -> the plain model's, adapters folded in.

    With LoRA on, verl's ``huggingface/`` checkpoint holds the wrapped model's keys
    (``base_model.model.<m>.base_layer.weight``, ``<m>.lora_A.default.weight``, ...). The proxy
    mixes in plain weights, so each adapted weight becomes ``W + scale * B @ A`` (``scale`` =
    lora_alpha / r, PEFT's scaling) under the plain name, and the adapters are dropped.
    """
    out: dict[str, Any] = {}
    for key, value in state.items():
        if ".lora_A." in key or ".lora_B." in key:
            continue
        name = key[len(PEFT_PREFIX) :] if key.startswith(PEFT_PREFIX) else key
        if ".base_layer." in key:
            module = key.rsplit(".base_layer.", 1)[0]
            name = name.replace(".base_layer.", ".")
            a, b = state.get(f"{module}.lora_A.default.weight"), state.get(f"{module}.lora_B.default.weight")
            if key.endswith(".base_layer.weight") and a is not None and b is not None:
                value = (value.float() + scale * (b.float() @ a.float())).to(value.dtype)
        out[name] = value
    return out


def lora_checkpoint_state(hf_dir: str | Path) -> dict[str, Any] | None:
    """The merged plain state dict of a verl LoRA checkpoint, or None if ``hf_dir`` holds no adapters."""
    import json

    from safetensors.torch import load_file

    state: dict[str, Any] = {}
    for f in sorted(Path(hf_dir).glob("*.safetensors")):
        state.update(load_file(str(f)))
    if not any(".lora_A." in k for k in state):
        return None
    meta_path = Path(hf_dir).parent / LORA_META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{hf_dir} holds LoRA adapters but {meta_path} (r, lora_alpha) is missing")
    meta = json.loads(meta_path.read_text())
    return merge_lora_state(state, float(meta["lora_alpha"]) / float(meta["r"]))


class LaggedProxy:
    """A lagged EMA copy of the policy (see the module docstring).

    Options: ``alpha`` (0.9, official config.py; 0.6 in the later config), ``sync_every``
    (optimiser steps between syncs; paper 100 = its save interval), ``model`` (None: copy the
    engine's policy; or a path / hub id to load, for verl runs), ``sync_from`` (a verl
    checkpoint folder to watch), ``sync_kl_reference`` (the engine's KL reference follows the
    proxy, as in the official code).
    """

    def __init__(self, alpha: float = ALPHA_CONFIG_PY, sync_every: int = SYNC_EVERY_PAPER,
                 model: str | None = None, sync_from: str | None = None, sync_kl_reference: bool = True,
                 dtype: str = "float32", device: str = "cpu", check_interval_s: float = 30.0,
                 name: str = "proxy") -> None:  # fmt: skip
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.alpha, self.sync_every = float(alpha), int(sync_every)
        self.model_path, self.sync_from = model, sync_from
        self.sync_kl_reference, self.dtype, self.device = sync_kl_reference, dtype, device
        self.check_interval_s, self.name = check_interval_s, name
        self.model = self.tokenizer = None
        self.last_sync_step = 0
        self.syncs = 0
        self._pending: dict[str, Any] | None = None
        self._last_check = 0.0

    # ------------------------------------------------------------------ the model
    def get(self):
        """(model, tokenizer); loads ``model`` on first use when it names a path."""
        if self.model is None and self.model_path:
            from r1repro.models.tiny import load_policy

            model, tok = load_policy(self.model_path, dtype=self.dtype, device=self.device)
            self._adopt(model, tok)
        if self.model is None:
            raise RuntimeError(
                "the NOVER proxy has no model yet: inside the local engine it copies the policy at the "
                "first step; elsewhere give proxy.model (a path or hub id)"
            )
        if self.sync_from:
            self._watch_checkpoints()
        return self.model, self.tokenizer

    def _adopt(self, model, tokenizer) -> None:
        model.eval().requires_grad_(False)
        self.model, self.tokenizer = model, tokenizer
        if self._pending is not None:
            self.model.load_state_dict(self._pending["params"])
            self._pending = None

    # ------------------------------------------------------------------ syncing
    def mix_in(self, policy_state: Mapping[str, Any], step: int) -> None:
        """proxy <- alpha * proxy + (1 - alpha) * policy."""
        mixed = ema_state_dict(self.model.state_dict(), policy_state, self.alpha)
        self.model.load_state_dict(mixed)
        self.last_sync_step, self.syncs = int(step), self.syncs + 1

    def due(self, completed_steps: int) -> bool:
        """A sync is due after every ``sync_every`` completed optimiser steps."""
        return (
            self.sync_every > 0
            and completed_steps > 0
            and completed_steps % self.sync_every == 0
            and completed_steps > self.last_sync_step
        )

    def on_step_start(self, engine, step: int) -> None:
        """Local engine hook, called before step ``step`` (``step - 1`` updates are done)."""
        if self.model is None and self.model_path is None:
            restored = self._pending is not None
            self._adopt(copy.deepcopy(engine.model), engine.tokenizer)
            if restored:
                self._push_to_reference(engine)
        if self.due(step - 1):
            self.mix_in(engine.model.state_dict(), step - 1)
            self._push_to_reference(engine)

    def _push_to_reference(self, engine) -> None:
        ref = getattr(engine, "ref_model", None)
        if self.sync_kl_reference and ref is not None and self.model is not None:
            ref.load_state_dict(self.model.state_dict())

    def _watch_checkpoints(self) -> None:
        now = time.monotonic()
        if now - self._last_check < self.check_interval_s:
            return
        self._last_check = now
        step, path = latest_hf_checkpoint(self.sync_from)
        if path is None or not self.due(step):
            return
        merged = lora_checkpoint_state(path)  # the NOVER preset trains LoRA (official r16 / alpha 32)
        if merged is not None:
            self.mix_in(merged, step)
        else:
            from r1repro.models.tiny import load_policy

            policy, _ = load_policy(str(path), dtype=self.dtype, device="cpu")
            self.mix_in(policy.state_dict(), step)
            del policy
        log.warning("NOVER proxy mixed in %s (alpha %.2f, sync %d)", path, self.alpha, self.syncs)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"last_sync_step": self.last_sync_step, "syncs": self.syncs}
        if self.model is not None:
            state["params"] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        elif self._pending is not None:
            state["params"] = self._pending["params"]
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.last_sync_step = int(state.get("last_sync_step", 0))
        self.syncs = int(state.get("syncs", 0))
        if "params" in state:
            if self.model is not None:
                self.model.load_state_dict(state["params"])
            else:
                self._pending = {"params": state["params"]}

    def stats(self) -> dict[str, float]:
        return {"proxy_syncs": float(self.syncs), "proxy_last_sync_step": float(self.last_sync_step)}


_STEP_DIR = re.compile(r"global_step_(\d+)$")


def latest_hf_checkpoint(root: str | Path | None) -> tuple[int, Path | None]:
    """The newest ``global_step_N/actor/huggingface`` folder with weights under ``root``."""
    if not root:
        return 0, None
    best: tuple[int, Path | None] = (0, None)
    base = Path(root)
    if not base.is_dir():
        return best
    for d in base.iterdir():
        m = _STEP_DIR.search(d.name)
        hf = d / "actor" / "huggingface"
        if m and hf.is_dir() and any(hf.glob("*.safetensors")) and int(m.group(1)) > best[0]:
            best = (int(m.group(1)), hf)
    return best
