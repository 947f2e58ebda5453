"""Hook implementations of the pixel_reasoner plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [lazy("r1repro_pixel_reasoner.reward:CuriosityReward", "pixel_reasoner.curiosity",
                 "Pixel Reasoner: correctness + 0.5*1[n_vo>0]*max(0, 0.3-RaPR) + 0.05*min(0, 1-n_vo)")]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [
        lazy("r1repro_pixel_reasoner.templates:PaperTemplate", "pixel_reasoner.paper",
             "Pixel Reasoner vcot prompt with tool schemas (Qwen function calling)"),
        lazy("r1repro_pixel_reasoner.templates:CPUTemplate", "pixel_reasoner.cpu",
             "short Pixel Reasoner prompt for the tiny VL policy"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_pixel_reasoner.data:ZoomTask", "pixel_reasoner.zoom",
             "CPU task: tiny patterned tiles on a large canvas; readable only after a crop"),
        lazy("r1repro_pixel_reasoner.data:FramesTask", "pixel_reasoner.frames",
             "CPU task: 16-frame clip, one patterned frame; readable only after select_frames"),
    ]  # fmt: skip


@hookimpl
def r1repro_environments():
    return [lazy("r1repro_pixel_reasoner.env:VisualOpsEnvironment", "pixel_reasoner.visual_ops",
                 "crop_image_normalized / select_frames: tool calls that return images")]  # fmt: skip


@hookimpl
def r1repro_rollouts():
    return [lazy("r1repro_pixel_reasoner.rollout:VisualToolRollout", "pixel_reasoner.visual_tools",
                 "multi-turn VL rollouts with images appended mid-conversation")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_pixel_reasoner.reproduction:PixelReasonerReproduction", "pixel_reasoner",
                 "Pixel Reasoner: curiosity keeps pixel-space reasoning alive; zooming beats no-tool RL")]  # fmt: skip
