"""Tiny Qwen2.5-VL / Qwen2-VL policies built from a config, with the project tokenizer.

``tiny-vl:<size>`` is a randomly initialised Qwen2.5-VL (``tiny-qwen2vl:<size>`` a Qwen2-VL)
of a few hundred thousand parameters: the project tokenizer plus Qwen's four vision tokens, a
one-block vision tower (patch 14, merge 2, as the real models) and a Qwen2 text stack with
multimodal rope. It is materialised into the cache with ``save_pretrained`` (and an image
processor config written offline) and loaded back with ``from_pretrained``, the path real
checkpoints take. No weights, tokenizer or processor are downloaded.

The image-processor settings are also stored in the model config (``r1repro_image_processor``)
so every folder saved from the policy (SFT warm start, checkpoints, ``final_model``) keeps them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from r1repro.paths import cache_dir
from r1repro.vision import IMAGE_PAD, VIDEO_PAD, VISION_END, VISION_START

VL_PREFIXES = {"tiny-vl:": "qwen2_5_vl", "tiny-qwen2vl:": "qwen2_vl"}
VL_MODEL_TYPES = ("qwen2_5_vl", "qwen2_vl")

TINY_VL_CONFIGS: dict[str, dict[str, Any]] = {
    # text: Qwen2 sizes; vision: one ViT block (Qwen2.5-VL's windowed block with full attention)
    "nano": dict(text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                           intermediate_size=128),
                 vision=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2)),  # ~0.2M
    "micro": dict(text=dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                            intermediate_size=384),
                  vision=dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=2)),  # ~1M
}  # fmt: skip

TINY_IMAGE_PROCESSOR = {"min_pixels": 28 * 28 * 4, "max_pixels": 256 * 256}
"""Pixel bounds of the tiny models' processor: at most 84 image tokens per image (CPU budget)."""


def is_tiny_vl(path: str) -> bool:
    return any(str(path).startswith(p) for p in VL_PREFIXES)


def is_vl_model(path: str | Path) -> bool:
    """True if ``path`` is a tiny-VL spec or a folder holding a Qwen2(.5)-VL config."""
    if is_tiny_vl(str(path)):
        return True
    cfg = Path(path) / "config.json"
    return cfg.is_file() and json.loads(cfg.read_text()).get("model_type") in VL_MODEL_TYPES


VL_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}"
    + VISION_START
    + IMAGE_PAD
    + VISION_END
    + "{% elif part['type'] == 'video' %}"
    + VISION_START
    + VIDEO_PAD
    + VISION_END
    + "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""The tiny VLMs' chat template: the project's ChatML for string contents (so the local engine's
prompts are unchanged: its images are ``<image>`` placeholders in the text), and Qwen-VL's
rendering of list contents, the form verl's dataset and tool agent loop build: an image block
becomes ``<|vision_start|><|image_pad|><|vision_end|>`` for the processor to expand."""


def vl_tokenizer():
    """The project tokenizer with Qwen's vision tokens added (special, so never split) and the
    list-aware chat template (`VL_CHAT_TEMPLATE`)."""
    from r1repro.models.tiny import load_tokenizer

    tok = load_tokenizer(None)
    tok.add_special_tokens({"additional_special_tokens": [VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD]},
                           replace_extra_special_tokens=False)  # fmt: skip
    tok.chat_template = VL_CHAT_TEMPLATE
    return tok


def tiny_vl_config(name: str, arch: str, tok, **processor: int):
    """A Qwen2.5-VL (``arch='qwen2_5_vl'``) or Qwen2-VL config of size ``name`` for ``tok``."""
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig

    if name not in TINY_VL_CONFIGS:
        raise ValueError(f"unknown tiny VL model '{name}'; choose one of {sorted(TINY_VL_CONFIGS)}")
    sizes = TINY_VL_CONFIGS[name]
    t = sizes["text"]
    head_dim = t["hidden_size"] // t["num_attention_heads"]
    # mrope splits head_dim/2 rotary frequencies into (temporal, height, width) sections
    half = head_dim // 2
    section = [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
    text = dict(vocab_size=len(tok), max_position_embeddings=2048, tie_word_embeddings=True, rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section},
                pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None, **t)  # fmt: skip
    v = sizes["vision"]
    ids = {k: tok.convert_tokens_to_ids(s) for k, s in (("image_token_id", IMAGE_PAD), ("video_token_id", VIDEO_PAD),
           ("vision_start_token_id", VISION_START), ("vision_end_token_id", VISION_END))}  # fmt: skip
    if arch == "qwen2_5_vl":
        vision = dict(depth=v["depth"], hidden_size=v["hidden_size"], intermediate_size=v["intermediate_size"],
                      num_heads=v["num_heads"], out_hidden_size=t["hidden_size"], patch_size=14, spatial_merge_size=2,
                      temporal_patch_size=2, window_size=112, fullatt_block_indexes=list(range(v["depth"])),
                      in_channels=3)  # fmt: skip
        cfg = Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
    elif arch == "qwen2_vl":
        vision = dict(depth=v["depth"], embed_dim=v["hidden_size"], hidden_size=t["hidden_size"],
                      mlp_ratio=v["intermediate_size"] // v["hidden_size"], num_heads=v["num_heads"], patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2, in_channels=3)  # fmt: skip
        cfg = Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
    else:
        raise ValueError(f"unknown VL architecture {arch!r}")
    cfg.pad_token_id, cfg.eos_token_id, cfg.bos_token_id = tok.pad_token_id, tok.eos_token_id, None
    cfg.r1repro_image_processor = {**TINY_IMAGE_PROCESSOR, **processor}
    return cfg


def materialize_tiny_vl(spec: str, seed: int = 0) -> Path:
    """Save a randomly initialised tiny VLM (tokenizer, image-processor config) as a HF folder; cached."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLForConditionalGeneration

    from r1repro.models.tiny import save_model_dir

    prefix = next(p for p in VL_PREFIXES if spec.startswith(p))
    arch, name = VL_PREFIXES[prefix], spec[len(prefix) :]
    tok = vl_tokenizer()
    key = hashlib.sha256(json.dumps([arch, name, TINY_VL_CONFIGS.get(name), TINY_IMAGE_PROCESSOR, len(tok), seed,
                                     tok.chat_template]).encode()).hexdigest()[:12]  # fmt: skip
    out = cache_dir() / "models" / f"tiny-{arch}-{name}-init{seed}-{key}"
    if (out / "config.json").is_file():
        return out
    cfg = tiny_vl_config(name, arch, tok)
    torch.manual_seed(seed)
    cls = Qwen2_5_VLForConditionalGeneration if arch == "qwen2_5_vl" else Qwen2VLForConditionalGeneration
    save_model_dir(cls(cfg), tok, out)
    write_processor_config(out, cfg.r1repro_image_processor)
    return out


def write_processor_config(folder: Path, settings: dict[str, int]) -> None:
    """``preprocessor_config.json`` of a Qwen2-VL image processor, written without loading one."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    Qwen2VLImageProcessorPil(**settings).save_pretrained(str(folder))


def load_vl_policy(path: str, seed: int = 0, dtype: str = "float32", device: str = "cpu"):
    """(model, tokenizer) of a Qwen2(.5)-VL folder, hub id or ``tiny-vl:<size>``."""
    import torch
    from transformers import AutoModelForImageTextToText

    from r1repro.models.tiny import load_tokenizer

    local = str(materialize_tiny_vl(path, seed)) if is_tiny_vl(path) else path
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    model = AutoModelForImageTextToText.from_pretrained(local, dtype=torch_dtype)
    model.to(device)
    return model, load_tokenizer(local)


def vision_processor_for(model, path: str | None = None):
    """The `VisionProcessor` of a loaded VLM: its config's settings, else its folder's processor."""
    from r1repro.vision import VisionProcessor

    settings = getattr(model.config, "r1repro_image_processor", None)
    if settings:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        return VisionProcessor(Qwen2VLImageProcessorPil(**settings))
    return VisionProcessor.from_pretrained(path or model.name_or_path)
