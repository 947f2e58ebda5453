"""r1repro plugin for "Aligning Dialogue Agents with Global Feedback via Large Language Model Reward
Decomposition" (LLM-GELI, arXiv 2505.15922, EMNLP 2025 Findings): a frozen LLM decomposes one
session score into turn rewards (`decomposer`), which are distilled into a light reward model
r_theta (`rm`) for RL; GELI's regression and a uniform split are the baselines."""
