"""The driving environment: highway-env scenarios as the CPU stand-in for CARLA Town 2.

HCRMP (§3, problem formulation) drives with a continuous action (throttle/brake, steer) in
[-1, 1]^2 and a state of raw features; we use highway-env's Kinematics observation (the
ego vehicle and its nearest neighbours: presence, x, y, vx, vy, ego-relative, normalised) and
its ContinuousAction (acceleration, steering), both in [-1, 1]. A CARLA adapter with the same
``reset(seed) / step(action)`` surface is the paper-scale seam (not available here).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

SCENARIOS = ("highway-v0", "intersection-v0")
UNSUPPORTED = {"merge-v0": "highway-env 1.12.1 merge-v0 computes its reward with `action in [0, 2]` and fails on a continuous action"}
FEATURES = ("presence", "x", "y", "vx", "vy")


RESIDUAL_STEERING = 0.1
"""rad of steering residual at |steer| = 1 over the lane keeper [unverified, CPU adaptation]. Measured on
highway-v0: at 0.1 rad a residual held at +-1 settles the car 1.5 m off its lane centre (the keeper balances
it), so steer is a position within the lane, and lanes change only in the transients of alternating actions
(uniform random actions: 13% of 30 episodes end off the road; Beta(2, 2) actions, the spread of an
untrained policy, never do); at 0.15 rad a held residual runs through every lane and off the road in 4 steps."""


def _keep_lane(vehicle) -> None:
    """Give the ego vehicle a lane keeper: at every simulation frame (15 Hz, not only at the 1 Hz decision)
    its steering is highway-env's own lane-following controller (`ControlledVehicle.steering_control`, on
    the lane it is in) plus the policy's residual; acceleration is the policy's.

    HCRMP's policy outputs throttle and steer for CARLA, whose vehicles hold their lane at zero steer on
    straight roads only with the simulator's own dynamics; highway-env's kinematic bicycle model has no
    restoring force, so at one decision per second an untrained (or barely trained) Beta policy leaves the
    road within a few steps (the full run at 7b3389e: every episode of every arm ended off-road or in a
    collision, success 0). The keeper makes "steer" a lateral intent (see `RESIDUAL_STEERING`), and the
    task mostly one of speed control in traffic, which a few hundred PPO steps can learn."""
    if not getattr(type(vehicle), "_r1repro_lane_keeper", False):
        vehicle.__class__ = _lane_keeping_class(type(vehicle))


@functools.cache
def _lane_keeping_class(base: type) -> type:
    """``base`` with the lane keeper in ``act`` (built once per vehicle class)."""
    from highway_env.vehicle.controller import ControlledVehicle

    class LaneKeeping(base):
        _r1repro_lane_keeper = True
        KP_LATERAL = ControlledVehicle.KP_LATERAL
        KP_HEADING = ControlledVehicle.KP_HEADING
        TAU_PURSUIT = ControlledVehicle.TAU_PURSUIT
        MAX_STEERING_ANGLE = ControlledVehicle.MAX_STEERING_ANGLE

        def act(self, action=None):
            if action:
                self.policy_action = dict(action)
            intent = getattr(self, "policy_action", None) or {"acceleration": 0.0, "steering": 0.0}
            keep = ControlledVehicle.steering_control(self, self.lane_index)
            self.action = {"acceleration": float(intent["acceleration"]),
                           "steering": float(keep + intent["steering"])}  # fmt: skip

    LaneKeeping.__name__ = f"LaneKeeping{base.__name__}"
    return LaneKeeping


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
                 traffic: int = 20, render: bool = False, steering_range: float | None = None,
                 lane_keeping: bool = True) -> None:  # fmt: skip
        if steering_range is None:
            steering_range = RESIDUAL_STEERING if lane_keeping else 0.02
        self.lane_keeping = lane_keeping
        if scenario in UNSUPPORTED:
            raise ValueError(f"{scenario}: {UNSUPPORTED[scenario]}")
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
        import gymnasium as gym
        import highway_env  # noqa: F401  (registers the envs)

        config: dict[str, Any] = {
            "observation": {"type": "Kinematics", "vehicles_count": vehicles, "features": list(FEATURES),
                            "absolute": False, "normalize": True, "clip": True},
            # steer in [-1, 1] maps to +-steering_range rad [unverified]. With lane keeping (the default)
            # it is a residual on top of highway-env's lane-following steering controller; without it,
            # highway-env's default +-pi/4 at one decision per second leaves the road from any lane
            # within one step at |steer| >= 0.05, and even +-0.02 rad drifts off the road in 2-6 steps
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
        if render:  # off-screen frames; without a display, SDL would probe Wayland and print an XDG error
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        self.env = gym.make(scenario, config=config, render_mode="rgb_array" if render else None)
        self.obs_dim = vehicles * len(FEATURES)
        self.last_kin: np.ndarray | None = None

    def reset(self, seed: int) -> np.ndarray:
        obs, _ = self.env.reset(seed=int(seed))
        if self.lane_keeping:
            _keep_lane(self.env.unwrapped.vehicle)
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
