"""r1repro-tinyv: TinyV (arXiv 2505.14625) — a small LLM verifier, asked only when the rule
verifier says "wrong", recovers false negatives and speeds up RL for LLM reasoning.

Modules read like the paper: `prime_math` (the rule verifier TinyV builds on), `templates`
(the RL prompt and the verifier prompt), `reward` (rule / TinyV / oracle rewards), `data`
(Big-Math 5K, HardVerify-Math, the CPU-scale multi-form task), `forms` (that task's answer
forms and oracle), `verifier` (a project-trained tiny TinyV), `reproduction`.
"""

__version__ = "0.1.0"
