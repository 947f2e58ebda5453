"""Every Pixel Reasoner constant, in one place, with where it comes from.

Sources: the paper (arXiv 2505.15966, §3.2 eq. for the curiosity-driven reward), the official
OpenRLHF code (TIGER-AI-Lab/Pixel-Reasoner, ``curiosity_driven_rl/openrlhf/trainer/ppo_utils/
experience_maker.py``) and its verl port (TIGER-AI-Lab/verl-tool, ``verl_tool/servers/tools/
pixel_reasoner.py`` and ``verl_tool/workers/reward_manager/pixel_reasoner.py``), as summarised in
``shared/papers/multimodal-and-embodied.md`` §2. Values not confirmed there are marked [unverified].
"""

from __future__ import annotations

# ----------------------------------------------------------------------- curiosity reward (§3.2)
# r'(x, y) = r(x, y) + ALPHA * 1[n_vo(y) > 0] * max(0, H - RaPR(x)) + BETA * min(0, N - n_vo(y))
RAPR_TARGET_H = 0.3
"""H: the target rate of pixel-space reasoning per query; the bonus is paid only below it."""
CURIOSITY_ALPHA = 0.5
"""alpha: weight of the curiosity bonus."""
OPS_BUDGET_N = 1
"""N: number of visual operations that cost nothing; every further one is penalised."""
EFFICIENCY_BETA = 0.05
"""beta: the efficiency penalty per visual operation beyond N."""

# the original OpenRLHF variant (experience_maker.py), kept as an option (`CuriosityReward(variant=...)`)
OPENRLHF_DIVISOR = {"image": 2.0, "video": 1.5}
"""bonus = max(H - RaPR, 0) / divisor (by modality), then scaled by OPENRLHF_SCALE / RaPR."""
OPENRLHF_SCALE = 0.25

# ----------------------------------------------------------------------------- visual operations
CROP_TOOL = "crop_image_normalized"
ZOOM_TOOL = "zoom_in"
"""The verl-tool port's alias of the crop; it pads by min(0.1, 600 / side) (`ZOOM_PAD_CAP_PX`)."""
FRAMES_TOOL = "select_frames"
CROP_PADDING = 0.1
"""Normalised padding added on every side of the requested box before cropping."""
ZOOM_PAD_CAP_PX = 600.0
"""The zoom_in variant's padding cap in pixels: pad = min(0.1, 600 / W) (and / H)."""
MIN_CROP_SIDE = 28
"""A crop must be larger than 28 x 28 pixels (one Qwen2-VL merged patch); smaller is an error."""
CROP_MAX_PIXELS = 1000 * 28 * 28
"""smart_resize bound of a crop returned during training (training scripts' crop max pixels)."""
CROP_MIN_PIXELS = 512 * 28 * 28
"""MIN_PIXELS 401,408 of the training scripts (the README calls both bounds critical)."""
FRAME_MAX_PIXELS = 400 * 28 * 28
"""smart_resize bound of a selected video frame."""
VIDEO_FRAMES = 16
"""A video is given to the model as 16 frames."""
MAX_SELECTED_FRAMES = 8
"""select_frames accepts at most 8 frame indices (1-based, within 1..16)."""

# ------------------------------------------------------------------------------- rollout limits
MAX_TOOL_CALLS = 3
"""Force-terminate: a rollout may execute at most 3 tool calls (the next one ends it)."""
MAX_RESPONSE_TOKENS = 12_000
"""Force-terminate: at most ~12k tokens in the whole multi-turn response."""
MAX_IMAGES = 8
"""Force-terminate when a conversation would hold more than this many images [unverified value:
the official ``max_imgnum`` argument; the CPU preset sets its own]."""
AFTER_TOOL_TEMPERATURE = 0.9
"""Turns after a tool call are sampled at temperature 0.9 (the first turn at the rollout's)."""

# ---------------------------------------------------------------------------- messages and format
TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
"""Qwen / Hermes function calling (Qwen-Agent ``NousFnCallPrompt``): a JSON object
``{"name": ..., "arguments": {...}}`` between these tags."""
CROP_OBSERVATION = "Here is the cropped image (Image Size: {width}x{height}):"
"""Text of the user turn that carries a crop (the image follows it)."""
FRAMES_OBSERVATION = "Here are the selected frames (Frame Size: {width}x{height}):"
"""Text of the user turn that carries selected frames [our wording; the official text is not in
the fact sheet]."""
ERROR_OBSERVATION = "Execution error: {message}"
"""A failed visual operation comes back as this text (never an exception)."""

SYSTEM_PROMPT = (
    "You are a helpful assistant. Guidelines: decide whether the given visual operations (tools) help "
    "to answer the question. For an image, you can call crop_image_normalized to zoom into a region; "
    "for a video, you can call select_frames to look at chosen frames. Reason step by step and put "
    "your final answer within \\boxed{}."
)
"""The ``vcot`` system prompt in our words (official: ``openrlhf/datasets/prompts_dataset.py``;
the wording here is a paraphrase [unverified wording], the structure is the same)."""

# ------------------------------------------------------------------------------ training (paper)
PAPER_HPARAMS = {
    "model": "Qwen/Qwen2.5-VL-7B-Instruct",
    "warm_start": "TIGER-Lab/PixelReasoner-WarmStart",
    "lr": 1e-6,
    "n": 8,
    "temperature": 1.0,
    "val_temperature": 0.6,
    "rollout_batch_prompts": 128,  # verl-tool train_qwen25vl.sh batch 128 (OpenRLHF: 256 / buffer 512)
    "max_turns": 3,
    "max_prompt_length": 16384,
    "max_response_length": 16384,
    "kl_coef": 0.0,
    "entropy_coeff": 0.0,
    "total_steps": 100,
    "max_pixels": 4_014_080,
    "min_pixels": 401_408,
}
"""Hyperparameters of the RL stage (verl-tool ``examples/train/pixel_reasoner/train_qwen25vl.sh``
and the OpenRLHF scripts, via the fact sheet)."""
