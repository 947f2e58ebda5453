"""Tiny Qwen2 policies and the one loading path shared with real models.

``load_policy("tiny:micro")`` materialises a randomly initialised Qwen2 model of a few
million parameters (config below, project tokenizer) into the cache with
``save_pretrained`` and loads it back with ``from_pretrained``; ``load_policy("Qwen/Qwen2.5-7B")``
goes through the very same ``from_pretrained`` call. Nothing is downloaded unless a hub id
is given and the hub is reachable.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from r1repro.models.tokenizer import NAME as TOKENIZER_NAME
from r1repro.models.tokenizer import build_tokenizer
from r1repro.paths import cache_dir, shared_data_dir

log = logging.getLogger(__name__)

TINY_PREFIX = "tiny:"

TINY_CONFIGS: dict[str, dict[str, int]] = {
    # name: Qwen2 architecture sizes (parameters with the 1,049-token tokenizer, tied embeddings)
    "nano": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=192),  # ~0.17M: unit tests
    "micro": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=384),  # ~0.9M: fast CPU reproductions
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4,
                  intermediate_size=768),  # ~3.4M
    "base": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2,
                 intermediate_size=1152),  # ~9.6M
}  # fmt: skip


def tokenizer_dir() -> Path:
    """The project tokenizer folder (built into the cache if shared_data lacks it)."""
    shipped = shared_data_dir() / "tokenizers" / TOKENIZER_NAME
    if (shipped / "tokenizer.json").is_file():
        return shipped
    built = cache_dir() / "tokenizers" / TOKENIZER_NAME
    if not (built / "tokenizer.json").is_file():
        build_tokenizer(built)
    return built


def load_tokenizer(path: str | None = None):
    """The tokenizer of a model path, or the project tokenizer for ``tiny:*`` / None."""
    from transformers import AutoTokenizer

    if path is None or path.startswith(TINY_PREFIX):
        tok = AutoTokenizer.from_pretrained(str(tokenizer_dir()))
    else:
        tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def tiny_config(name: str, vocab_size: int, **overrides: Any):
    from transformers import Qwen2Config

    if name not in TINY_CONFIGS:
        raise ValueError(f"unknown tiny model '{name}'; choose one of {sorted(TINY_CONFIGS)}")
    sizes = {**TINY_CONFIGS[name], **overrides}
    return Qwen2Config(
        vocab_size=vocab_size,
        max_position_embeddings=1024,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        rms_norm_eps=1e-6,
        use_sliding_window=False,
        attention_dropout=0.0,
        **sizes,
    )


def materialize_tiny(name: str, seed: int = 0) -> Path:
    """Save a randomly initialised tiny model (and its tokenizer) as a HF folder; cached."""
    import torch
    from transformers import Qwen2ForCausalLM

    tok = load_tokenizer(None)
    key = hashlib.sha256(json.dumps([name, TINY_CONFIGS.get(name), len(tok), seed]).encode()).hexdigest()[:12]
    out = cache_dir() / "models" / f"tiny-{name}-init{seed}-{key}"
    if (out / "config.json").is_file():
        return out
    config = tiny_config(name, vocab_size=len(tok))
    config.pad_token_id = tok.pad_token_id
    config.eos_token_id = tok.eos_token_id
    config.bos_token_id = None
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    return save_model_dir(model, tok, out)


def save_model_dir(model, tok, out: Path) -> Path:
    """Write a model and its tokenizer to the cache folder ``out`` all at once (a ``.tmp``
    sibling renamed into place), so a killed run never leaves a half-written model behind; the
    sibling is per process, so two workers that train the same warm start never share one."""
    import os
    import shutil

    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def resolve_model(path: str, seed: int = 0) -> str:
    """A path ``from_pretrained`` can load: ``tiny:<size>`` becomes a cached local folder."""
    if path.startswith(TINY_PREFIX):
        return str(materialize_tiny(path[len(TINY_PREFIX) :], seed=seed))
    from r1repro.models import tiny_vl

    if tiny_vl.is_tiny_vl(path):
        return str(tiny_vl.materialize_tiny_vl(path, seed=seed))
    return path


def load_policy(path: str, seed: int = 0, dtype: str = "float32", device: str = "cpu"):
    """(model, tokenizer) for a hub id, a local folder or ``tiny:<size>``."""
    import torch
    from transformers import AutoModelForCausalLM

    from r1repro.models import tiny_vl

    local = resolve_model(path, seed=seed)
    if tiny_vl.is_vl_model(local):  # Qwen2(.5)-VL: an image-text-to-text class, not a causal LM
        return tiny_vl.load_vl_policy(local, seed=seed, dtype=dtype, device=device)
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    try:
        model = AutoModelForCausalLM.from_pretrained(local, dtype=torch_dtype)
    except TypeError:  # transformers < 4.56 spells it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(local, torch_dtype=torch_dtype)
    tok = load_tokenizer(local)
    model.to(device)
    return model, tok


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
