"""Hook implementations of the avatarshield plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [lazy("r1repro_avatarshield.reward:AvatarShieldReward", "avatarshield.detection",
                 "AvatarShield: real/fake accuracy + format + temporal compensation (+0.3 if p >= 0.8 p~)")]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_avatarshield.templates:DetectTemplate", "avatarshield.detect",
                 "AvatarShield: clip frames (+ residuals), <think> then real/fake in <answer>")]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_avatarshield.data:AvatarClips", "avatarshield.synthetic",
             "CPU task: clips of a drawn figure; fakes by jitter/texture/drift, held-out stutter/blocky"),
        lazy("r1repro_avatarshield.data:FakeHumanVid", "avatarshield.fakehumanvid",
             "FakeHumanVid (unreleased) from a local JSONL of frame paths and labels"),
    ]  # fmt: skip


@hookimpl
def r1repro_rollouts():
    return [lazy("r1repro_avatarshield.rollout:TemporalRollout", "avatarshield.temporal_rollout",
                 "T-GRPO: also G/2 responses per prompt on shuffled frames (scored, not trained)")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_avatarshield.reproduction:AvatarShieldReproduction", "avatarshield",
                 "AvatarShield: temporal-compensation reward, residual stream, GRPO vs SFT")]  # fmt: skip
