"""HCRMP (arXiv 2505.15793): LLM hints for a multi-critic Beta-policy driving agent on highway-env."""
