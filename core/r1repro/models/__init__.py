"""Models: the project's own tiny tokenizer and Qwen2 configs, SFT warm starts, and the one
`from_pretrained` path that real hub ids (``Qwen/Qwen2.5-7B``) go through as well."""

from r1repro.models.tiny import TINY_CONFIGS, load_policy, load_tokenizer, resolve_model  # noqa: F401
