"""Hook implementations of the hcrmp plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_environments():
    return [lazy("r1repro_hcrmp.env:DrivingEnv", "hcrmp.driving",
                 "highway-env highway/intersection/merge, kinematics obs, continuous [throttle, steer] in [-1,1]^2")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_hcrmp.reproduction:HCRMPReproduction", "hcrmp",
                 "HCRMP: hints as state + KB-anchored critic weights + semantic cache vs LLM-dominated RL")]  # fmt: skip
