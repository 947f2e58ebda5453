"""r1repro plugin for Learning to Reason via Mixture-of-Thought for Logical Reasoning (arXiv 2505.15817)."""
