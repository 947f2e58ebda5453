"""r1repro plugin for GETER: Explainable Temporal Reasoning with a Graph-Enhanced LLM (arXiv 2505.15245)."""
