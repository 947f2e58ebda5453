"""The local engine: one-process GRPO (and friends) on a HuggingFace causal LM.

Read it top to bottom. One training step is:

    rows      = the step's prompts (a seeded permutation: same seed, same batches)
    rollouts  = RolloutStrategy(policy, rows, n)          single- or multi-turn
    results   = Reward(samples)                           batched, group-aware
    scores    = results placed on response tokens         (verl: last valid token)
    rewards   = scores - kl_coef * KL(old || ref)         if use_kl_in_reward
    adv       = verl estimator(rewards, mask, uid, cfg)   grpo / Dr.GRPO / plugin
    for each PPO epoch and mini-batch:
        loss  = verl policy loss(old_logp, logp, adv)     clip, clip-higher, agg mode
              + kl_loss_coef * agg_loss(kl_penalty(logp, ref_logp))
              - entropy_coeff * agg_loss(entropy)
        AdamW step with gradient clipping

Every algorithmic function (estimators, policy losses, ``kl_penalty``, ``agg_loss``,
``logprobs_from_logits``) is verl's own, so what runs here at ``scale=cpu`` is the math
that runs in verl at ``scale=paper``. Runs are repeatable (a seed fixes data order and
sampling), checkpoint every ``save_every`` steps and resume with no lost or repeated
steps: sampling is seeded per step, so resuming needs only the weights, the optimiser
and the state of stateful components (e.g. LASER-D's length controller).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import random
import shutil
import signal
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from r1repro import algos
from r1repro.components import is_correct
from r1repro.engine.rollout import RolloutContext
from r1repro.types import RewardResult, Row, Sample, Trajectory

log = logging.getLogger(__name__)

LENGTH_CHUNKS = 4  # the policy update runs a batch as up to this many chunks of similar response length
CRASH_ENV = "R1REPRO_CRASH_AT_STEP"  # tests: SIGKILL this process when this step starts


class LocalEngine:
    def __init__(self, cfg, registry=None, out_dir: str | Path | None = None, quiet: bool = False) -> None:
        from omegaconf import OmegaConf

        from r1repro.engine.config import EngineConfig

        if not OmegaConf.is_config(cfg):
            cfg = OmegaConf.structured(cfg if cfg is not None else EngineConfig())
        self.cfg = cfg
        self.registry = registry
        self.out_dir = Path(
            out_dir or cfg.trainer.out_dir or Path("runs") / "local" / time.strftime("%Y%m%d-%H%M%S")
        )
        self.quiet = quiet
        self._ready = False
        self.last_eval_items: dict[str, dict[str, float]] = {}

    # =================================================================== set-up
    def setup(self) -> LocalEngine:
        if self._ready:
            return self
        from r1repro.models.sft import warm_start
        from r1repro.models.tiny import load_policy
        from r1repro.registry import get_registry

        cfg = self.cfg
        reg = self.registry = self.registry or get_registry()
        threads = cfg.trainer.threads or os.cpu_count() or 1
        torch.set_num_threads(threads)
        self.device = "cuda" if cfg.trainer.device == "auto" and torch.cuda.is_available() else (
            "cpu" if cfg.trainer.device == "auto" else cfg.trainer.device)  # fmt: skip
        _seed_everything(cfg.trainer.seed)

        # data and template
        self.template = reg.build("template", cfg.data.template)
        self.dataset = reg.build("dataset", cfg.data.dataset)
        self.train_rows = self.dataset.load(cfg.data.split, limit=cfg.data.limit)
        if not self.train_rows:
            raise ValueError(f"dataset {cfg.data.dataset} split {cfg.data.split} is empty")
        eval_ds = reg.build("dataset", cfg.eval.dataset) if cfg.eval.dataset is not None else self.dataset
        self.eval_rows = eval_ds.load(cfg.eval.split, limit=cfg.eval.limit) if cfg.eval.limit else []

        # policy (optionally SFT warm-started, cached) and a frozen reference copy
        path = cfg.model.path
        if cfg.model.sft.enabled:
            path = warm_start(cfg.model, cfg.model.sft, cfg.data, reg, quiet=self.quiet)
        self.policy_path = path
        self.model, self.tokenizer = load_policy(path, seed=cfg.model.init_seed, dtype=cfg.model.dtype,
                                                 device=self.device)  # fmt: skip
        self.model.train()
        need_ref = cfg.actor.use_kl_loss or cfg.algorithm.use_kl_in_reward
        self.ref_model = copy.deepcopy(self.model).eval().requires_grad_(False) if need_ref else None

        # reward, rollout strategy, environment
        self.reward = reg.build("reward", cfg.reward)
        self.eval_reward = (
            reg.build("reward", cfg.eval.reward) if cfg.eval.reward is not None else self.reward
        )
        for reward in {id(self.reward): self.reward, id(self.eval_reward): self.eval_reward}.values():
            if callable(getattr(reward, "preflight", None)):
                reward.preflight()  # a judge that cannot load or answer: refuse to train (RewardUnavailable)
        self.rollout_strategy = reg.build("rollout", cfg.rollout.strategy)
        self.environment = (
            reg.build("environment", cfg.rollout.environment) if cfg.rollout.environment else None
        )
        from r1repro.engine import vl

        vl.attach(self)  # a vision-language policy rolls out and updates with its rows' images

        # verl's algorithm pieces
        algos.ensure_registered(reg)
        n = cfg.rollout.n
        self.mini_batch = cfg.actor.mini_batch_size or cfg.trainer.batch_size
        self.actor_cfg = algos.verl_actor_config(cfg.actor, n, self.mini_batch)
        self.algo_cfg = algos.verl_algo_config(cfg.algorithm)
        loss_fn = algos.core_algos().get_policy_loss_fn(cfg.actor.policy_loss)
        opts = dict(cfg.actor.policy_loss_options or {})
        self.policy_loss_fn = (lambda *a, **k: loss_fn(*a, **k, **opts)) if opts else loss_fn
        self.critic = None
        if cfg.algorithm.adv_estimator == "gae":  # PPO with a value model (engine/value.py)
            from r1repro.engine.value import Critic

            epochs = cfg.critic.ppo_epochs or cfg.actor.ppo_epochs
            self.critic = Critic(self.model, cfg.critic, epochs, self.mini_batch, n, cfg.trainer.seed)
        from verl.utils.torch_functional import entropy_from_logits, logprobs_from_logits

        self._logprobs_from_logits, self._entropy_from_logits = logprobs_from_logits, entropy_from_logits

        # optimiser: AdamW, linear warm-up then constant (verl's default schedule)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=cfg.actor.lr, weight_decay=cfg.actor.weight_decay, betas=(0.9, 0.999)
        )
        warm = max(0, cfg.actor.warmup_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warm) if warm else 1.0
        )
        self.components = _stateful_components(
            [self.reward, self.eval_reward, self.rollout_strategy, self.environment, self.dataset, self.critic]
        )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.metrics = MetricsLog(self.out_dir, tensorboard=cfg.trainer.tensorboard)
        self.step = 0
        self._ready = True
        return self

    # =================================================================== training
    def train(self) -> dict[str, Any]:
        self.setup()
        cfg = self.cfg
        start = self._resume() if cfg.trainer.resume else 0
        t_start = time.time()
        if start == 0 and self.eval_rows:
            self.metrics.write(0, self.timed_evaluate())
            self.metrics.write_items(0, self.last_eval_items)
        steps = range(start + 1, cfg.trainer.total_steps + 1)
        bar = _progress(steps, disable=self.quiet or not cfg.trainer.progress, desc=str(self.out_dir.name))
        last_eval: dict[str, float] = {}
        for step in bar:
            if os.environ.get(CRASH_ENV) == str(step):
                os.kill(os.getpid(), signal.SIGKILL)
            self.step = step
            metrics = self.train_step(step)
            due = cfg.eval.every and step % cfg.eval.every == 0
            if self.eval_rows and (due or step == cfg.trainer.total_steps):
                last_eval = self.timed_evaluate()
                metrics.update(last_eval)
                self.metrics.write_items(step, self.last_eval_items)
            self.metrics.write(step, metrics)
            if hasattr(bar, "set_postfix"):
                post = {"reward": f"{metrics.get('reward/mean', float('nan')):.3f}"}
                if "eval/correct" in last_eval:
                    post["eval"] = f"{last_eval['eval/correct']:.3f}"
                bar.set_postfix(post, refresh=False)
            if step % max(1, cfg.trainer.save_every) == 0 or step == cfg.trainer.total_steps:
                self.save_checkpoint(step)
        self.metrics.close()
        final = self.out_dir / "final_model"
        if not final.exists():
            self._save_pretrained(final)
        return {
            "out_dir": str(self.out_dir),
            "steps": cfg.trainer.total_steps,
            "resumed_from": start,
            "wall_time_s": time.time() - t_start,
            "final_eval": last_eval,
        }

    def rows_for_step(self, step: int) -> list[Row]:
        """The prompts of a step: consecutive slices of per-epoch seeded permutations."""
        bsz, n_rows, seed = self.cfg.trainer.batch_size, len(self.train_rows), self.cfg.trainer.seed
        out = []
        for k in range((step - 1) * bsz, step * bsz):
            epoch, pos = divmod(k, n_rows)
            perm = _permutation(n_rows, seed, epoch)
            out.append(copy.copy(self.train_rows[perm[pos]]))
        return out

    def rollout_context(self, step: int, temperature: float | None = None, max_new_tokens: int | None = None,
                        evaluation: bool = False):  # fmt: skip
        c = self.cfg
        gen = torch.Generator(device="cpu").manual_seed(c.trainer.seed * 1_000_003 + step)
        return RolloutContext(
            model=self.model, tokenizer=self.tokenizer, template=self.template,
            max_new_tokens=max_new_tokens or c.rollout.max_new_tokens,
            temperature=c.rollout.temperature if temperature is None else temperature,
            top_p=c.rollout.top_p, max_prompt_length=c.data.max_prompt_length, generator=gen,
            environment=self.environment, step=step, evaluation=evaluation, fast=c.model.fast_kernels,
            extra={"engine": self},
        )  # fmt: skip

    def generate_samples(self, rows: Sequence[Row], n: int, step: int = 0, temperature: float | None = None,
                         max_new_tokens: int | None = None, evaluation: bool = False,
                         ) -> tuple[list[Trajectory], list[Sample]]:  # fmt: skip
        """Roll out ``rows`` n times with the current policy (used by callbacks and evaluation)."""
        ctx = self.rollout_context(step, temperature, max_new_tokens, evaluation)
        trajs = self.rollout_strategy.rollout(ctx, [copy.copy(r) for r in rows], n)
        return trajs, [t.to_sample(uid=f"{step}-{i}") for i, t in enumerate(trajs)]

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        for comp in self.components.values():
            if hasattr(comp, "on_step_start"):
                comp.on_step_start(self, step)
        t0 = time.perf_counter()

        # 1. rollout
        rows = self.rows_for_step(step)
        trajs, samples = self.generate_samples(rows, cfg.rollout.n, step)
        t1 = time.perf_counter()

        # 2. reward (batched; group-aware rewards see whole groups)
        results = self.reward(samples)
        t2 = time.perf_counter()

        # 3. tensors, old / reference log-probs, KL-in-reward, advantages
        batch = collate(trajs, results, self.tokenizer.pad_token_id, self.device)
        if getattr(self, "vision", False):
            from r1repro.engine.vl import collate_vision

            collate_vision(batch, trajs, self.model)
        index = np.array([t.group_id for t in trajs], dtype=object)
        mask = batch["response_mask"]
        single_update = cfg.actor.ppo_epochs == 1 and self.mini_batch >= cfg.trainer.batch_size
        old_logp = ref_logp = None
        with torch.no_grad():
            if not single_update:
                old_logp, _ = self.forward(self.model, batch, slice(None), grad=False)
            if self.ref_model is not None:
                ref_logp, _ = self.forward(self.ref_model, batch, slice(None), grad=False)
        rewards = batch["token_level_scores"]
        kl_metrics = {}
        if cfg.algorithm.use_kl_in_reward:
            with torch.no_grad():
                cur = (
                    old_logp
                    if old_logp is not None
                    else self.forward(self.model, batch, slice(None), grad=False)[0]
                )
                kl = algos.core_algos().kl_penalty(cur, ref_logp, cfg.algorithm.kl_penalty) * mask
            rewards = rewards - cfg.algorithm.kl_coef * kl
            kl_metrics["actor/reward_kl"] = float((kl.sum(-1) / mask.sum(-1).clamp(min=1)).mean())
        side_info = side_information(samples, results)
        if self.critic is not None:  # GAE on the critic's values (observation tokens skipped)
            from r1repro.engine.value import gae, value_metrics

            values = self.critic.values(batch)
            adv, returns = gae(rewards, values, mask, cfg.algorithm.gamma, cfg.algorithm.lam)
        else:
            adv, _ = algos.compute_advantage(
                cfg.algorithm.adv_estimator, rewards, mask, index, self.algo_cfg, side_info,
                dict(cfg.algorithm.estimator_options or {}),
            )  # fmt: skip
        t3 = time.perf_counter()

        # 4. critic update (PPO with a value model), then the policy (not during critic warm-up)
        upd = {}
        if self.critic is not None:
            upd.update(self.critic.update(batch, values, returns, step))
            upd.update(value_metrics(values, returns, mask))
        if self.critic is None or step > cfg.trainer.critic_warmup:
            upd.update(self.update(batch, adv, old_logp, ref_logp, step))
        t4 = time.perf_counter()

        # 5. metrics
        m = summarize_rollouts(trajs, samples, results)
        m.update(upd)
        m.update(kl_metrics)
        m["actor/lr"] = self.scheduler.get_last_lr()[0]
        adv_valid = adv[mask.bool()]
        m["critic/advantages_mean"] = float(adv_valid.mean()) if adv_valid.numel() else 0.0
        m["critic/advantages_abs_mean"] = float(adv_valid.abs().mean()) if adv_valid.numel() else 0.0
        n_tok = int(mask.sum())
        m.update({
            "timing/rollout": t1 - t0, "timing/reward": t2 - t1, "timing/advantage": t3 - t2,
            "timing/update": t4 - t3, "timing/step": t4 - t0,
            "perf/gen_tokens_per_s": n_tok / max(t1 - t0, 1e-9),
            "perf/update_tokens_per_s": int(batch["attention_mask"].sum()) / max(t4 - t3, 1e-9),
        })  # fmt: skip
        if hasattr(self.reward, "consume_stats"):
            m.update({f"reward/{k}": v for k, v in self.reward.consume_stats().items()})
        for comp in self.components.values():
            if hasattr(comp, "on_step_end"):
                extra = comp.on_step_end(self, step, m)
                if isinstance(extra, dict):
                    m.update(extra)
        self.metrics.write_samples(step, samples[: self.cfg.trainer.log_samples], results)
        return m

    def forward(self, model, batch: dict[str, torch.Tensor], idx, grad: bool, entropy: bool = False):
        """Log-probs (and entropies) of the response tokens under ``model``; verl's functions.

        With ``model.fast_kernels`` and prompts shared within each group, the prompt of a group
        goes through the model once (`qwen2_fast.grouped_response_logits`); otherwise the
        HuggingFace forward runs on the full [prompt | response] rows.
        """
        from r1repro.engine import qwen2_fast

        ctx = torch.enable_grad() if grad else torch.no_grad()
        with ctx:
            if "vision" in batch:  # pixel values, image grids, 3-D rope positions (engine/vl.py)
                from r1repro.engine.vl import forward_logits

                logits = forward_logits(model, batch, idx)
            elif self.cfg.model.fast_kernels and batch["shared_prompts"] and qwen2_fast.supported(model):
                rows = torch.arange(batch["input_ids"].shape[0])[idx]
                return self._grouped_logprobs(model, batch, rows, entropy)
            else:
                out = model(
                    input_ids=batch["input_ids"][idx],
                    attention_mask=batch["attention_mask"][idx],
                    position_ids=batch["position_ids"][idx],
                    use_cache=False,
                )
                p = batch["prompt_width"]
                logits = out.logits[:, p - 1 : -1, :]
            if self.cfg.rollout.temperature not in (0, 1.0):
                logits = logits / self.cfg.rollout.temperature
            logp = self._logprobs_from_logits(logits, batch["responses"][idx])
            ent = self._entropy_from_logits(logits) if entropy else None
        return logp, ent

    def _grouped_logprobs(self, model, batch, rows: torch.Tensor, entropy: bool):
        """The fast path of `forward`: each group's prompt runs once
        (`qwen2_fast.grouped_response_logits`), and when response lengths vary a lot (a few long
        answers would pad every row to their width) the rows run as up to `LENGTH_CHUNKS` chunks of
        similar length, each padded to its own width. Log-probs past a chunk's width are 0, where
        the response mask is 0 anyway: the loss and its gradient are the chunk-free ones (up to
        float rounding; tests/test_engine.py)."""
        from r1repro.engine import qwen2_fast

        p, width = batch["prompt_width"], batch["responses"].shape[1]
        lengths = batch["attention_mask"][rows, p:].sum(-1).clamp(min=1)
        order = torch.argsort(lengths, stable=True)
        chunks = list(torch.tensor_split(order, min(LENGTH_CHUNKS, len(order))))
        padded = sum(len(c) * int(lengths[c].max()) for c in chunks)
        if padded > 0.8 * len(order) * width:  # chunking would save little: one chunk, full width
            chunks = [torch.arange(len(rows))]
        logps, ents = [], []
        for c in chunks:
            r = rows[c]
            w = width if len(chunks) == 1 else int(lengths[c].max())
            groups, group_of = torch.unique(batch["group_index"][r], return_inverse=True)
            first = batch["group_first"][groups]
            responses = batch["responses"][r, :w]
            logits = qwen2_fast.grouped_response_logits(
                model, batch["input_ids"][first, :p], batch["attention_mask"][first, :p], responses, group_of
            )
            if self.cfg.rollout.temperature not in (0, 1.0):
                logits = logits / self.cfg.rollout.temperature
            logps.append(F.pad(self._logprobs_from_logits(logits, responses), (0, width - w)))
            if entropy:
                ents.append(F.pad(self._entropy_from_logits(logits), (0, width - w)))
        if len(chunks) == 1:
            return logps[0], (ents[0] if entropy else None)
        back = torch.empty_like(order)
        back[torch.cat(chunks)] = torch.arange(len(order))
        logp = torch.cat(logps).index_select(0, back)
        return logp, (torch.cat(ents).index_select(0, back) if entropy else None)

    def update(self, batch, adv, old_logp, ref_logp, step: int) -> dict[str, float]:
        cfg, ca = self.cfg, algos.core_algos()
        n, bsz = cfg.rollout.n, batch["input_ids"].shape[0]
        mb = self.mini_batch * n
        want_entropy = cfg.actor.entropy_coeff != 0
        agg = cfg.actor.loss_agg_mode
        stats: dict[str, list[float]] = defaultdict(list)
        gen = torch.Generator().manual_seed(cfg.trainer.seed * 7919 + step)
        for _epoch in range(cfg.actor.ppo_epochs):
            order = torch.randperm(bsz, generator=gen) if mb < bsz else torch.arange(bsz)
            for start in range(0, bsz, mb):
                idx = order[start : start + mb]
                mask = batch["response_mask"][idx]
                logp, ent = self.forward(self.model, batch, idx, grad=True, entropy=want_entropy)
                old = old_logp[idx] if old_logp is not None else logp.detach()
                pg_loss, pg_metrics = self.policy_loss_fn(
                    old_log_prob=old, log_prob=logp, advantages=adv[idx], response_mask=mask,
                    loss_agg_mode=agg, config=self.actor_cfg, rollout_is_weights=None,
                )  # fmt: skip
                loss = pg_loss
                if cfg.actor.use_kl_loss:
                    kl = ca.kl_penalty(logp, ref_logp[idx], cfg.actor.kl_loss_type)
                    kl_loss = ca.agg_loss(loss_mat=kl, loss_mask=mask, loss_agg_mode=agg)
                    loss = loss + cfg.actor.kl_loss_coef * kl_loss
                    stats["actor/kl_loss"].append(float(kl_loss.detach()))
                if want_entropy:
                    ent_loss = ca.agg_loss(loss_mat=ent, loss_mask=mask, loss_agg_mode=agg)
                    loss = loss - cfg.actor.entropy_coeff * ent_loss
                    stats["actor/entropy"].append(float(ent_loss.detach()))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.actor.grad_clip)
                if torch.isfinite(grad_norm):
                    self.optimizer.step()
                else:
                    stats["actor/skipped_nonfinite_grad"].append(1.0)
                self.scheduler.step()
                stats["actor/pg_loss"].append(float(pg_loss.detach()))
                stats["actor/grad_norm"].append(float(grad_norm))
                for k, v in pg_metrics.items():
                    stats[k].append(float(v))
        return {k: float(np.mean(v)) for k, v in stats.items()}

    # =================================================================== evaluation
    def timed_evaluate(self) -> dict[str, float]:
        """`evaluate` on the eval rows, plus ``timing/eval`` (its seconds, generation and scoring):
        a run's metrics then say how much of its time went to evaluation, not only to steps."""
        t0 = time.perf_counter()
        out = self.evaluate()
        return {**out, "timing/eval": time.perf_counter() - t0} if out else out

    def evaluate(
        self, rows: Sequence[Row] | None = None, reward=None, prefix: str = "eval"
    ) -> dict[str, float]:
        """Greedy (by default) responses on the eval rows, scored by the eval reward; with
        ``eval.n`` > 1 every prompt is answered n times and the metrics average over all of them."""
        self.setup()
        rows = list(rows if rows is not None else self.eval_rows)
        if not rows:
            return {}
        c = self.cfg.eval
        if c.n < 1:
            raise ValueError(f"eval.n must be >= 1, got {c.n}")
        trajs, samples = self.generate_samples(rows, c.n, step=10**7 + self.step, temperature=c.temperature,
                                               max_new_tokens=c.max_new_tokens, evaluation=True)  # fmt: skip
        results = (reward or self.eval_reward)(samples)
        out = {
            f"{prefix}/score": float(np.mean([r.score for r in results])),
            f"{prefix}/correct": float(np.mean([is_correct(r) for r in results])),
            f"{prefix}/response_length": float(np.mean([s.length for s in samples])),
        }
        by_domain: dict[str, list[bool]] = defaultdict(list)
        for s, r in zip(samples, results):
            by_domain[s.domain].append(is_correct(r))
        if len(by_domain) > 1:
            for d, vals in by_domain.items():
                out[f"{prefix}/correct@{d}"] = float(np.mean(vals))
        self.last_eval_items = eval_items(trajs, samples, results, prefix, per_domain=len(by_domain) > 1)
        for k, v in _mean_numeric_info(results).items():
            out[f"{prefix}/{k}"] = v
        return out

    # =================================================================== checkpoints
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"

    def save_checkpoint(self, step: int) -> Path:
        final = self.checkpoint_dir() / f"step_{step:06d}"
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        state = {
            "step": step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "components": {k: c.state_dict() for k, c in self.components.items() if hasattr(c, "state_dict")},
            "rng": {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
            },
        }
        torch.save(state, tmp / "state.pt")
        (tmp / "COMPLETE").write_text(str(step))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        keep = max(1, self.cfg.trainer.keep_checkpoints)
        done = sorted(p for p in self.checkpoint_dir().glob("step_*") if (p / "COMPLETE").exists())
        for old in done[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def latest_checkpoint(self) -> Path | None:
        if not self.checkpoint_dir().is_dir():
            return None
        done = sorted(p for p in self.checkpoint_dir().glob("step_*") if (p / "COMPLETE").exists())
        return done[-1] if done else None

    def _resume(self) -> int:
        ckpt = self.latest_checkpoint()
        if ckpt is None:
            self.metrics.truncate(-1)
            return 0
        state = torch.load(ckpt / "state.pt", map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for k, comp in self.components.items():
            if k in state["components"] and hasattr(comp, "load_state_dict"):
                comp.load_state_dict(state["components"][k])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        step = int(state["step"])
        self.metrics.truncate(step)
        self.step = step
        if not self.quiet:
            log.warning("resumed from %s (step %d)", ckpt, step)
        return step

    def _save_pretrained(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self.model.save_pretrained(str(tmp))
        self.tokenizer.save_pretrained(str(tmp))
        tmp.rename(path)


# ======================================================================= helpers
def collate(trajs: Sequence[Trajectory], results: Sequence[RewardResult], pad_id: int, device: str = "cpu"):
    """Left-padded prompts | right-padded responses, as verl lays out a batch.

    The scalar reward goes on the last *policy* token of each response (verl puts it on the
    last valid response token); ``token_rewards`` and environment step rewards are added at
    their response offsets.
    """
    bsz = len(trajs)
    pw = max(len(t.prompt_ids) for t in trajs)
    rw = max(1, max(len(t.response_ids) for t in trajs))
    input_ids = torch.full((bsz, pw + rw), pad_id, dtype=torch.long)
    attn = torch.zeros((bsz, pw + rw), dtype=torch.long)
    resp_mask = torch.zeros((bsz, rw), dtype=torch.float32)
    scores = torch.zeros((bsz, rw), dtype=torch.float32)
    for i, (t, r) in enumerate(zip(trajs, results)):
        p, q = t.prompt_ids, t.response_ids
        input_ids[i, pw - len(p) : pw] = torch.tensor(p, dtype=torch.long)
        attn[i, pw - len(p) : pw] = 1
        if q:
            input_ids[i, pw : pw + len(q)] = torch.tensor(q, dtype=torch.long)
            attn[i, pw : pw + len(q)] = 1
            resp_mask[i, : len(q)] = torch.tensor(t.loss_mask, dtype=torch.float32)
        policy_pos = [j for j, m in enumerate(t.loss_mask) if m]
        last = policy_pos[-1] if policy_pos else max(0, len(q) - 1)
        scores[i, last] += r.score
        for off, val in list(r.token_rewards or []) + list(t.step_rewards):
            if 0 <= off < rw:
                scores[i, off] += float(val)
    positions = (attn.cumsum(-1) - 1).clamp(min=0)
    # groups (for the fast path that runs each group's shared prompt once)
    number: dict[str, int] = {}
    group_index, group_first, shared = [], [], True
    for i, t in enumerate(trajs):
        if t.group_id not in number:
            number[t.group_id] = len(group_first)
            group_first.append(i)
        elif trajs[group_first[number[t.group_id]]].prompt_ids != t.prompt_ids:
            shared = False
        group_index.append(number[t.group_id])
    return {
        "group_index": torch.tensor(group_index, dtype=torch.long, device=device),
        "group_first": torch.tensor(group_first, dtype=torch.long, device=device),
        "shared_prompts": shared,
        "input_ids": input_ids.to(device),
        "attention_mask": attn.to(device),
        "position_ids": positions.to(device),
        "responses": input_ids[:, pw:].to(device),
        "response_mask": resp_mask.to(device),
        "token_level_scores": scores.to(device),
        "prompt_width": pw,
    }


def side_information(samples: Sequence[Sample], results: Sequence[RewardResult]) -> dict[str, np.ndarray]:
    """Per-sample facts for estimators that declare ``side_info=True`` (see `r1repro.algos`)."""
    info: dict[str, np.ndarray] = {
        "data_source": np.array([s.data_source for s in samples], dtype=object),
        "domain": np.array([s.domain for s in samples], dtype=object),
        "response_length": np.array([s.length for s in samples]),
        "num_turns": np.array([s.num_turns for s in samples]),
        "tool_calls": np.array([s.tool_calls for s in samples]),
        "score": np.array([r.score for r in results], dtype=np.float64),
    }
    keys = {k for r in results for k in r.info}
    for s in samples:
        keys.update(k for k in s.meta if not isinstance(s.meta[k], dict | list))
    for k in sorted(keys):
        if k in info:
            continue
        vals = [r.info.get(k, s.meta.get(k)) for s, r in zip(samples, results)]
        info[k] = np.array(vals, dtype=object)
    return info


def summarize_rollouts(trajs, samples, results) -> dict[str, float]:
    scores = np.array([r.score for r in results], dtype=np.float64)
    lengths = np.array([s.length for s in samples], dtype=np.float64)
    m = {
        "reward/mean": float(scores.mean()),
        "reward/std": float(scores.std()),
        "reward/correct": float(np.mean([is_correct(r) for r in results])),
        "reward/errors": float(np.mean(["error" in r.info for r in results])),
        "response/length_mean": float(lengths.mean()),
        "response/length_max": float(lengths.max()),
        "response/truncated": float(np.mean([t.truncated for t in trajs])),
        "response/turns_mean": float(np.mean([t.num_turns for t in trajs])),
    }
    groups: dict[str, list[float]] = defaultdict(list)
    for t, r in zip(trajs, results):
        groups[t.group_id].append(r.score)
    m["reward/groups_all_same"] = float(np.mean([np.ptp(v) == 0 for v in groups.values()]))
    for k, v in _mean_numeric_info(results).items():
        m[f"reward/{k}"] = v
    return m


def eval_items(
    trajs, samples, results, prefix: str = "eval", per_domain: bool = False
) -> dict[str, dict[str, float]]:
    """Per-prompt values of the evaluation metrics (each averaged over the prompt's samples), keyed
    by row id: the items whose spread is the evaluation-sampling error of the metric."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for t, s, r in zip(trajs, samples, results):
        item = str(t.row.id)
        acc[f"{prefix}/correct"][item].append(float(is_correct(r)))
        acc[f"{prefix}/score"][item].append(float(r.score))
        acc[f"{prefix}/response_length"][item].append(float(s.length))
        if per_domain:
            acc[f"{prefix}/correct@{s.domain}"][item].append(float(is_correct(r)))
    return {k: {i: float(np.mean(v)) for i, v in by.items()} for k, by in acc.items()}


def _mean_numeric_info(results: Sequence[RewardResult]) -> dict[str, float]:
    vals: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for k, v in r.info.items():
            if isinstance(v, bool | int | float) and not isinstance(v, str) and math.isfinite(float(v)):
                vals[k].append(float(v))
    return {k: float(np.mean(v)) for k, v in vals.items() if len(v) == len(results)}


def _permutation(n: int, seed: int, epoch: int) -> list[int]:
    perm = list(range(n))
    random.Random(seed * 1_000_033 + epoch).shuffle(perm)
    return perm


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _stateful_components(objs: Sequence[Any]) -> dict[str, Any]:
    """Components (and their children) that keep state or want step callbacks, by name."""
    found: dict[str, Any] = {}
    seen: set[int] = set()

    def visit(obj: Any, path: str) -> None:
        if obj is None or id(obj) in seen:
            return
        seen.add(id(obj))
        if any(hasattr(obj, a) for a in ("state_dict", "on_step_start", "on_step_end")) and not isinstance(
            obj, torch.nn.Module
        ):
            found[path] = obj
        for i, child in enumerate(getattr(obj, "children", lambda: [])() or []):
            visit(child, f"{path}.{getattr(child, 'name', '') or i}")

    for obj in objs:
        visit(obj, getattr(obj, "name", "") or type(obj).__name__)
    return found


def _progress(it, disable: bool, desc: str):
    from r1repro.progress import bar

    return bar(it, desc=desc, disable=disable)


class MetricsLog:
    """metrics.jsonl (one line per step), samples.jsonl, and optional TensorBoard."""

    def __init__(self, out_dir: Path, tensorboard: bool = False) -> None:
        self.path = out_dir / "metrics.jsonl"
        self.samples_path = out_dir / "samples.jsonl"
        self.items_path = out_dir / "eval_items.jsonl"
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out_dir / "tensorboard"))
            except Exception as exc:  # noqa: BLE001
                log.warning("tensorboard unavailable: %s", exc)

    def write(self, step: int, metrics: dict[str, Any]) -> None:
        clean = {
            k: float(v) for k, v in metrics.items() if isinstance(v, int | float | np.floating | np.integer)
        }
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **clean}) + "\n")
        if self.tb is not None:
            for k, v in clean.items():
                self.tb.add_scalar(k, v, step)

    def write_items(self, step: int, items: dict[str, dict[str, float]]) -> None:
        """Per-prompt evaluation values of one evaluation (``eval_items.jsonl``; see `eval_items`)."""
        if items:
            with self.items_path.open("a") as f:
                f.write(json.dumps({"step": step, "items": items}) + "\n")

    def write_samples(self, step: int, samples: Sequence[Sample], results: Sequence[RewardResult]) -> None:
        if not samples:
            return
        with self.samples_path.open("a") as f:
            for s, r in zip(samples, results):
                f.write(json.dumps({"step": step, "problem": s.problem[:500], "response": s.response[:2000],
                                    "ground_truth": str(s.ground_truth)[:200], "score": r.score,
                                    "info": {k: v for k, v in r.info.items() if isinstance(v, int | float | str | bool)}},
                                   default=str) + "\n")  # fmt: skip

    def truncate(self, step: int) -> None:
        """Drop lines of steps after ``step`` (a resumed run rewrites them)."""
        for path in (self.path, self.samples_path, self.items_path):
            if not path.exists():
                continue
            keep = [
                ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step
            ]
            path.write_text("".join(ln + "\n" for ln in keep))

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
