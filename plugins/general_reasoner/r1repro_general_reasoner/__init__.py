"""r1repro plugin for General-Reasoner: Advancing LLM Reasoning Across All Domains
(Ma et al., arXiv 2505.14652)."""
