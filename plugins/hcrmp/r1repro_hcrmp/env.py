"""The driving environment: highway-env scenarios as the CPU stand-in for CARLA Town 2.

HCRMP (§3, problem formulation) drives with a continuous action (throttle/brake, steer) in
[-1, 1]^2 and a state of raw features; we use highway-env's Kinematics observation (the
ego vehicle and its nearest neighbours: presence, x, y, vx, vy, ego-relative, normalised) and
its ContinuousAction (acceleration, steering), both in [-1, 1]. A CARLA adapter with the same
``reset(seed) / step(action)`` surface is the paper-scale seam (not available here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SCENARIOS = ("highway-v0", "intersection-v0")
UNSUPPORTED = {"merge-v0": "highway-env 1.12.1 merge-v0 computes its reward with `action in [0, 2]` and fails on a continuous action"}
FEATURES = ("presence", "x", "y", "vx", "vy")


@dataclass
class StepOut:
    obs: np.ndarray
    crashed: bool
    offroad: bool
    speed: float
    done: bool
    truncated: bool


class DrivingEnv:
    """A seeded highway-env scenario with a flat float32 observation.

    ``vehicles`` rows of ``FEATURES`` (row 0 is the ego vehicle); ``duration`` is the episode
    length in policy steps (highway-env's own ``duration`` is in seconds at policy_frequency 1).
    """

    name = "hcrmp.driving"

    def __init__(self, scenario: str = "highway-v0", vehicles: int = 5, duration: int = 20,
                 traffic: int = 20, render: bool = False, steering_range: float = 0.02) -> None:  # fmt: skip
        if scenario in UNSUPPORTED:
            raise ValueError(f"{scenario}: {UNSUPPORTED[scenario]}")
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
        import gymnasium as gym
        import highway_env  # noqa: F401  (registers the envs)

        config: dict[str, Any] = {
            "observation": {"type": "Kinematics", "vehicles_count": vehicles, "features": list(FEATURES),
                            "absolute": False, "normalize": True, "clip": True},
            # steer in [-1, 1] maps to +-steering_range rad [unverified]; highway-env's default +-pi/4 at
            # one decision per second leaves the road from any lane within one step at |steer| >= 0.05
            "action": {"type": "ContinuousAction", "longitudinal": True, "lateral": True,
                       "steering_range": [-steering_range, steering_range]},
            "duration": duration,
            "policy_frequency": 1,
            # leaving the road ends the episode as a failure: otherwise steering off the road is a
            # collision-free "success" (off-road vehicles never collide in highway-env)
            "offroad_terminal": True,
        }  # fmt: skip
        if scenario == "highway-v0":
            config.update({"vehicles_count": traffic, "lanes_count": 3})
        self.scenario, self.vehicles, self.duration = scenario, vehicles, duration
        self.env = gym.make(scenario, config=config, render_mode="rgb_array" if render else None)
        self.obs_dim = vehicles * len(FEATURES)
        self.last_kin: np.ndarray | None = None

    def reset(self, seed: int) -> np.ndarray:
        obs, _ = self.env.reset(seed=int(seed))
        self.env.action_space.seed(int(seed))
        self.last_kin = np.asarray(obs, dtype=np.float32)
        return self.last_kin.reshape(-1)

    def step(self, action: np.ndarray) -> StepOut:
        a = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        obs, _, terminated, truncated, info = self.env.step(a)
        self.last_kin = np.asarray(obs, dtype=np.float32)
        crashed = bool(info.get("crashed", False))
        offroad = not bool(getattr(self.env.unwrapped.vehicle, "on_road", True))
        return StepOut(self.last_kin.reshape(-1), crashed, offroad, float(info.get("speed", 0.0)),
                       bool(terminated or truncated), bool(truncated and not terminated))  # fmt: skip

    def render(self) -> np.ndarray | None:
        try:
            return self.env.render()
        except Exception:  # noqa: BLE001  (headless pygame failure -> the caller draws from kinematics)
            return None

    def close(self) -> None:
        self.env.close()
