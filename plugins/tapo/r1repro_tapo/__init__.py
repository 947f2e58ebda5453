"""r1repro plugin for TAPO / TemplateRL: thought-template-guided RL rollouts (arXiv 2505.15692)."""
