"""The non-LLM trainer: Beta-policy multi-critic PPO on highway-env for one arm and seed.

Arms (issue 18; HCRMP §4 baselines):
* ``plain``          raw state, fixed critic weights, no LLM;
* ``llm_dominated``  the LLM hint (called every step, no cache) sets the critic weights as given
                     and its meta-action decides the throttle directly;
* ``hcrmp``          hints as state (ASR) + KB-anchored weights (CSA) + semantic cache (SCM);
* ``hcrmp_no_anchor`` the same without the anchor (the hint's weights as given).

Writes ``metrics.jsonl`` (one line per iteration), ``ckpt.pt`` (resume point) and
``eval.json`` (per-episode evaluation) under ``out_dir``; a rerun resumes from the checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from r1repro_hcrmp.agent import CRITICS, BetaActor, MultiCritic, gae, ppo_update, weighted_advantage
from r1repro_hcrmp.env import DrivingEnv
from r1repro_hcrmp.hints import (
    HINT_DIM,
    META_ACTIONS,
    Hint,
    KnowledgeBase,
    LLMHintProvider,
    RuleHintProvider,
    SemanticCache,
    anchor,
    scene_features,
)

ARMS = ("plain", "llm_dominated", "hcrmp", "hcrmp_no_anchor")
TOPOLOGY = {"highway-v0": 0.0, "intersection-v0": 1.0}
SPEED_RANGE = {"highway-v0": (20.0, 30.0), "intersection-v0": (7.0, 9.0)}
"""highway-env's own reward_speed_range defaults per scenario (efficiency critic's scale)."""


@dataclass
class TrainConfig:
    scenario: str = "highway-v0"
    iterations: int = 10
    rollout_steps: int = 64
    duration: int = 20
    traffic: int = 20
    gamma: float = 0.95
    lam: float = 0.9
    lr: float = 3e-4
    clip: float = 0.2
    epochs: int = 4
    minibatch: int = 32
    default_weights: list[float] = field(default_factory=lambda: [0.5, 0.3, 0.2])
    """plain RL's fixed critic weights (safety, efficiency, comfort) [unverified]."""
    crash_penalty: float = 1.0
    """the safety critic's reward on a crash or leaving the road (its negative) [unverified]."""
    hallucination_rate: float | None = None
    cache_k: int = 5
    cache_latency: int = 1
    anchor_tau: float = 0.3
    anchor_beta: float = 0.5
    eval_episodes: int = 5
    eval_greedy: bool = False
    """Evaluate the Beta mean (True) or sample, seeded per episode (False: a barely trained policy's
    mean action repeats the same outcome in every episode, which tells nothing about its success rate)."""
    save_every: int = 5
    render: bool = True
    """rgb_array render mode (frames are drawn only when asked for)."""
    llm: dict[str, Any] | None = None
    """A judge spec for a real LLM (``{backend: openai, ...}``); None: the rule provider."""


class Agent:
    """Policy-side glue: what state the actor sees and what weights/action an arm uses."""

    def __init__(self, arm: str, cfg: TrainConfig, env: DrivingEnv, seed: int) -> None:
        if arm not in ARMS:
            raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
        self.arm, self.cfg = arm, cfg
        self.uses_llm = arm != "plain"
        self.hint_state = arm in ("hcrmp", "hcrmp_no_anchor")
        obs_dim = env.obs_dim + (HINT_DIM if self.hint_state else 0)
        torch.manual_seed(seed)
        self.actor, self.critic = BetaActor(obs_dim), MultiCritic(obs_dim, len(CRITICS))
        params = list(self.actor.parameters()) + list(self.critic.parameters())
        self.opt = torch.optim.Adam(params, lr=cfg.lr)
        topo = TOPOLOGY[cfg.scenario]
        if cfg.llm:
            provider: Any = LLMHintProvider(cfg.llm)
        else:
            rate = cfg.hallucination_rate
            provider = RuleHintProvider(topo, **({} if rate is None else {"hallucination_rate": rate}), seed=seed + 7919)
        k = 1 if arm == "llm_dominated" else cfg.cache_k
        lat = 0 if arm == "llm_dominated" else cfg.cache_latency
        self.cache = SemanticCache(provider, k=k, latency=lat)
        self.kb, self.topology = KnowledgeBase.grid(topo), topo
        self.default_w = np.asarray(cfg.default_weights, dtype=np.float32)

    def observe(self, obs: np.ndarray, kin: np.ndarray) -> tuple[np.ndarray, np.ndarray, Hint | None]:
        """(policy state, critic weights, hint) for this step."""
        hint = self.cache.get(kin) if self.uses_llm else None
        w = self.default_w
        if hint is not None and self.arm == "llm_dominated":
            w = hint.weights
        elif hint is not None and self.arm == "hcrmp_no_anchor":
            w = hint.weights
        elif self.arm == "hcrmp":
            # the KB is queried with the scene as measured, so a hallucinated scene cannot pick the entry
            kb_w = self.kb.nearest(scene_features(kin, self.topology)[0])
            w = anchor(hint.weights, kb_w, self.cfg.anchor_tau, self.cfg.anchor_beta) if hint else kb_w
        if self.hint_state:
            hv = hint.vector() if hint is not None else np.zeros(HINT_DIM, np.float32)
            obs = np.concatenate([obs, hv])
        return obs.astype(np.float32), np.asarray(w, np.float32), hint

    def executed(self, action: np.ndarray, hint: Hint | None) -> np.ndarray:
        """LLM-dominated RL: the hint's meta-action overrides the throttle."""
        if self.arm == "llm_dominated" and hint is not None:
            action = action.copy()
            action[0] = META_ACTIONS[hint.action]
        return action


def episode_success(crashed: bool, offroad: bool, mean_speed: float, speed_range: tuple[float, float]) -> bool:
    """An episode succeeds when it runs its whole duration without a collision or leaving the road *and*
    makes progress: its mean speed is at least the scenario's lower reward speed (highway-env's
    ``reward_speed_range``). HCRMP's CARLA success is reaching the destination in time [CPU adaptation]: a
    car that stops on the highway never collides, and without the progress condition braking to a halt
    is a perfect score (measured: constant braking succeeds in 20 of 20 highway-v0 episodes)."""
    return not (crashed or offroad) and mean_speed >= speed_range[0]


def critic_rewards(out, action: np.ndarray, prev: np.ndarray, speed_range: tuple[float, float],
                   crash_penalty: float = 1.0) -> np.ndarray:
    """Per-critic rewards [unverified shaping]: safety -crash_penalty on a crash or leaving the road; efficiency the speed scaled to
    highway-env's reward_speed_range; comfort minus a quarter of the squared action change."""
    lo, hi = speed_range
    return np.array([-crash_penalty if (out.crashed or out.offroad) else 0.0, float(np.clip((out.speed - lo) / (hi - lo), 0, 1)),
                     -0.25 * float(((action - prev) ** 2).sum())], dtype=np.float32)  # fmt: skip


class Trainer:
    def __init__(self, arm: str, seed: int, cfg: TrainConfig, out_dir: str | Path) -> None:
        self.arm, self.seed, self.cfg, self.out = arm, int(seed), cfg, Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.env = DrivingEnv(cfg.scenario, duration=cfg.duration, traffic=cfg.traffic, render=cfg.render)
        self.agent = Agent(arm, cfg, self.env, self.seed)
        self.iteration, self.episode, self.history = 0, 0, []
        self.rng = torch.Generator().manual_seed(self.seed)
        self._resume()

    # ------------------------------------------------------------ checkpoints
    def _ckpt(self) -> Path:
        return self.out / "ckpt.pt"

    def _save(self) -> None:
        a = self.agent
        torch.save({"actor": a.actor.state_dict(), "critic": a.critic.state_dict(), "opt": a.opt.state_dict(),
                    "iteration": self.iteration, "episode": self.episode, "history": self.history,
                    "rng": self.rng.get_state(), "torch_rng": torch.get_rng_state(),
                    "provider_rng": getattr(a.cache.provider, "rng", None) and a.cache.provider.rng.bit_generator.state,
                    "calls": a.cache.calls}, self._ckpt())  # fmt: skip

    def _resume(self) -> None:
        if not self._ckpt().exists():
            return
        s = torch.load(self._ckpt(), weights_only=False)
        a = self.agent
        a.actor.load_state_dict(s["actor"]), a.critic.load_state_dict(s["critic"]), a.opt.load_state_dict(s["opt"])
        self.iteration, self.episode, self.history = s["iteration"], s["episode"], s["history"]
        self.rng.set_state(s["rng"]), torch.set_rng_state(s["torch_rng"])
        if s.get("provider_rng"):
            a.cache.provider.rng.bit_generator.state = s["provider_rng"]
        a.cache.calls = s["calls"]

    # ------------------------------------------------------------ rollouts
    def _new_episode(self, eval_seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        seed = eval_seed if eval_seed is not None else self.seed * 100_003 + self.episode
        obs = self.env.reset(seed)
        self.agent.cache.reset()
        self._prev = np.zeros(2, np.float32)
        return obs, self.env.last_kin

    def collect(self) -> dict[str, Any]:
        c, ag = self.cfg, self.agent
        buf: dict[str, list] = {k: [] for k in ("obs", "act", "exec", "logp", "rew", "w", "done", "end", "next_obs")}
        obs, kin = self._new_episode()
        ep_stats, ep_ret, ep_steps, ep_speed, calls0 = [], 0.0, 0, 0.0, ag.cache.calls
        speeds = SPEED_RANGE[c.scenario]
        s, w, hint = ag.observe(obs, kin)
        for _ in range(c.rollout_steps):
            with torch.no_grad():
                st = torch.as_tensor(s)[None]
                a = ag.actor.act(st)[0]
                logp = ag.actor.log_prob(st, a[None])[0].item()
            a = a.numpy()
            ex = ag.executed(a, hint)
            out = self.env.step(ex)
            r = critic_rewards(out, ex, self._prev, speeds, c.crash_penalty)
            self._prev = ex
            ep_ret += float(r @ ag.default_w)
            ep_steps += 1
            ep_speed += out.speed
            nobs, nkin = out.obs, self.env.last_kin
            ns, nw, nhint = ag.observe(nobs, nkin) if not out.done else (None, None, None)
            for k, v in (("obs", s), ("act", a), ("logp", logp), ("rew", r), ("w", w),
                         ("done", float(out.done and not out.truncated)), ("end", float(out.done))):
                buf[k].append(v)
            buf["next_obs"].append(ns if ns is not None else s)
            if out.done:
                self.episode += 1
                ok = episode_success(out.crashed, out.offroad, ep_speed / ep_steps, speeds)
                ep_stats.append({"success": float(ok), "collision": float(out.crashed),
                                 "return": ep_ret, "steps": ep_steps, "speed": ep_speed / ep_steps})  # fmt: skip
                ep_ret, ep_steps, ep_speed = 0.0, 0, 0.0
                obs, kin = self._new_episode()
                s, w, hint = ag.observe(obs, kin)
            else:
                s, w, hint = ns, nw, nhint
        buf["end"][-1] = 1.0  # the buffer's end cuts the GAE sum (bootstrapped through next_obs)
        self.episode += 1  # the partial episode is abandoned: the next rollout starts a fresh one
        buf["calls"] = ag.cache.calls - calls0
        buf["episodes"] = ep_stats
        return buf

    def update(self, buf: dict[str, Any]) -> dict[str, float]:
        c, ag = self.cfg, self.agent
        obs = np.stack(buf["obs"]).astype(np.float32)
        with torch.no_grad():
            v = ag.critic(torch.as_tensor(obs)).numpy()
            nv = ag.critic(torch.as_tensor(np.stack(buf["next_obs"]).astype(np.float32))).numpy()
        adv_k, ret = gae(np.stack(buf["rew"]), v, nv, np.array(buf["done"])[:, None], np.array(buf["end"])[:, None],
                         c.gamma, c.lam)  # fmt: skip
        adv = weighted_advantage(adv_k, np.stack(buf["w"]))
        return ppo_update(ag.actor, ag.critic, ag.opt, obs, np.stack(buf["act"]), np.array(buf["logp"]), adv, ret,
                          clip=c.clip, epochs=c.epochs, minibatch=c.minibatch, seed=self.seed * 1000 + self.iteration)  # fmt: skip

    def train(self) -> list[dict[str, float]]:
        with (self.out / "metrics.jsonl").open("a") as f:
            while self.iteration < self.cfg.iterations:
                buf = self.collect()
                stats = self.update(buf)
                eps = buf["episodes"]
                rec = {"step": self.iteration + 1, **stats,
                       "success": float(np.mean([e["success"] for e in eps])) if eps else float("nan"),
                       "collision": float(np.mean([e["collision"] for e in eps])) if eps else float("nan"),
                       "return": float(np.mean([e["return"] for e in eps])) if eps else float("nan"),
                       "llm_calls_per_step": buf["calls"] / self.cfg.rollout_steps}  # fmt: skip
                self.history.append(rec)
                f.write(json.dumps(rec) + "\n")
                f.flush()
                self.iteration += 1
                if self.iteration % self.cfg.save_every == 0 or self.iteration == self.cfg.iterations:
                    self._save()
        return self.history

    # ------------------------------------------------------------ evaluation
    def evaluate(self, frames_dir: Path | None = None, frame_steps: int = 6) -> list[dict[str, float]]:
        """The policy on held-out scenario seeds (1_000_000 + i; sampled actions seeded the same way unless
        ``eval_greedy``): success, collision, LLM calls per episode."""
        ag, out_eps = self.agent, []
        for i in range(self.cfg.eval_episodes):
            obs, kin = self._new_episode(eval_seed=1_000_000 + i)
            torch.manual_seed(1_000_000 + i)
            calls0, steps, crashed, hallu, served, speed = ag.cache.calls, 0, False, 0, 0, 0.0
            while True:
                s, _, hint = ag.observe(obs, kin)
                served += hint is not None
                hallu += bool(hint is not None and hint.hallucinated)
                with torch.no_grad():
                    a = ag.actor.act(torch.as_tensor(s)[None], greedy=self.cfg.eval_greedy)[0].numpy()
                out = self.env.step(ag.executed(a, hint))
                if frames_dir is not None and i == 0 and steps < frame_steps:
                    save_frame(self.env, frames_dir / f"{self.arm}_step{steps:02d}.png")
                steps += 1
                speed += out.speed
                crashed, offroad = out.crashed, out.offroad
                obs, kin = out.obs, self.env.last_kin
                if out.done:
                    break
            ok = episode_success(crashed, offroad, speed / steps, SPEED_RANGE[self.cfg.scenario])
            out_eps.append({"success": float(ok), "collision": float(crashed),
                            "offroad": float(offroad), "steps": steps, "speed": speed / steps,
                            "llm_calls": float(ag.cache.calls - calls0),
                            "hallucinated_served": hallu / max(1, served)})  # fmt: skip
        (self.out / "eval.json").write_text(json.dumps(out_eps))
        return out_eps


def save_frame(env: DrivingEnv, path: Path) -> str:
    """One PNG frame: highway-env's rgb_array render when pygame renders headless, else a top-down
    plot of the kinematics rows drawn with matplotlib. Returns which one was used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    img = None
    try:
        img = env.env.unwrapped.render() if env.env.unwrapped.render_mode else None
    except Exception:  # noqa: BLE001
        img = None
    if img is not None:
        plt.imsave(path, img)
        return "render"
    kin = env.last_kin
    fig, ax = plt.subplots(figsize=(6, 1.6))
    for i, (p, x, y, _, _) in enumerate(kin):
        if p > 0.5:
            ax.add_patch(plt.Rectangle((x - 0.02, y - 0.01), 0.04, 0.02, color="tab:red" if i == 0 else "tab:blue"))
    ax.set_xlim(-1, 1), ax.set_ylim(-0.3, 0.3), ax.set_title(path.stem, fontsize=8)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return "kinematics"
