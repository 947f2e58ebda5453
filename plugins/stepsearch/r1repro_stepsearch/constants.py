"""Every StepSearch constant, prompt string and hyperparameter, in one place, with its source.

Sources are files of the authors' release Zillwang/StepSearch (a Search-R1 fork on verl 0.1),
cited as ``path:line``, and the paper (arXiv 2505.15107). Values that could not be checked
against either are marked [unverified] and exposed as options instead of being hard-wired.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------ rewards
SEARCH_KEY_WEIGHT = 0.618
"""Weight of the search-key coverage in the final reward:
``compute_score_f1_steps_plan_with_support_docs(..., search_keys_score=0.618)``
(verl/utils/reward_score/qa_step.py:218, used at :256-257)."""

STEP_REWARD_SCALE = 0.6
"""Scale of every step reward ``IG_t - RP_t``: ``RewardManager(step_reward_scale=0.6)``
(verl/trainer/main_ppo.py:42, applied at :94)."""

FORMAT_FAIL_SCORE = -1.0
"""Final reward when the response does not end with its last ``<answer>...</answer>``;
then no step rewards are paid (qa_step.py:226-234; the gate is ``answer_last_check``, :155-173)."""

F1_DECIMALS = 4
"""Token F1 is rounded to 4 decimals (``round(max_f1, 4)``, qa_step.py:104)."""

# ------------------------------------------------------------------------- the rollout
MAX_TURNS = 5
"""``max_turns=5`` (train.sh); then one more, search-free generation
(search_r1/llm_agent/generation.py:287-313)."""

TOPK = 3
"""Documents per search: ``retriever.topk=3`` (train.sh; generation.py:470)."""

STOP_STRINGS = ("</search>", "</answer>")
"""A generation is cut after the first ``</search>``, else the first ``</answer>``
(generation.py:60-65)."""

ACTION_PATTERN = r"<(search|answer)>(.*?)</\1>"
"""How a turn is read as an action (generation.py:438)."""

INFORMATION_FORMAT = "\n\n<information> {docs} </information>\n\n"
"""Observation after a search (generation.py:403; ``docs`` stripped, :402)."""

DOC_FORMAT = "Doc {i}<## Title: {title} ##> {content}\n"
"""One retrieved document inside ``<information>`` (generation.py:486); the reward parses the
content back out after each ``##>`` (qa_step.py:54-66)."""

INVALID_ACTION_WARNING = (
    "\n<warning> My previous action is invalid. If I want to search, I should put the query between "
    "<search> and </search>. If I want to give the final answer, I should put the answer between "
    "<answer> and </answer>. Let me try again. </warning>\n"
)
"""Observation for a turn that is neither a search nor an answer (generation.py:410-412)."""

FINAL_WARNING = (
    "<warning> Now, I can no longer call <search></search> for external information. I must analyze "
    "and answer based on the existing information. Now let me make a final thought and give an "
    "answer. </warning>\n\n"
)
"""Appended to the observation of the last search turn (generation.py:374-376, 404, 413)."""

# --------------------------------------------------------------------------- the prompt
PROMPT = (
    "## Background\nYou are a deep AI research assistant with search tool\n You should first think about "
    "your research plan or what to search for next. \n\n## Response format\n1. You must make search plan "
    "inside <plan> and </plan> for in the beginning and after observation.\n2. After plan, if you find you "
    "lack some knowledge, you can call a search engine by <search> search keyword </search> and it will "
    "return the search results between <information> and </information>.\n3. You must conduct observation "
    "inside <observation> and </observation> for EVERY searched document, e.g.<observation>Based on "
    "retrieved inforamtion, Doc1 ....; Doc2...; Doc3 ...;</observation>\n4. If you find no further external "
    "knowledge needed, you can directly provide the answer inside <answer> and </answer> without detailed "
    "illustrations. For example, <answer> Beijing </answer>\n\nPlease follow the loop of plan, search, "
    "information, observation, plan ... until the you can answer original question.\n Question: {problem}\n"
)
"""The user turn (scripts/data_process/musi_search.py:25, the second assignment of ``prefix``,
which is the one returned; typos kept). The question gets a trailing '?' (:70-71)."""

# ------------------------------------------------------------------ PPO (paper preset)
PAPER_PPO = {
    "model": "Qwen/Qwen2.5-3B",  # train.sh BASE_MODEL (base, not instruct)
    "train_batch_size": 128,  # train.sh data.train_batch_size
    "ppo_mini_batch_size": 32,  # train.sh actor_rollout_ref.actor.ppo_mini_batch_size
    "actor_lr": 5e-7,  # train.sh actor_rollout_ref.actor.optim.lr
    "actor_lr_warmup_ratio": 0.285,  # train.sh actor...optim.lr_warmup_steps_ratio
    "critic_lr": 5e-7,  # train.sh critic.optim.lr
    "critic_lr_warmup_ratio": 0.05,  # train.sh critic.optim.lr_warmup_steps_ratio
    "max_response_length": 800,  # train.sh data.max_response_length (per turn)
    "max_obs_length": 800,  # train.sh data.max_obs_length
    "max_prompt_length": 4096,  # train.sh data.max_prompt_length
    "max_turns": MAX_TURNS,
    "topk": TOPK,
    "temperature": 1.0,  # train.sh actor_rollout_ref.rollout.temperature
    "kl_coef": 0.001,  # train.sh algorithm.kl_ctrl.kl_coef (KL in the reward)
    "entropy_coeff": 0.001,  # verl/trainer/config/ppo_trainer.yaml:35
    "clip_ratio": 0.2,  # ppo_trainer.yaml:34
    "cliprange_value": 0.5,  # ppo_trainer.yaml:126
    "gamma": 1.0,  # ppo_trainer.yaml:150
    "lam": 1.0,  # ppo_trainer.yaml:151
    "kl_penalty": "kl",  # ppo_trainer.yaml:154
    "ppo_epochs": 1,  # ppo_trainer.yaml:39
    "grad_clip": 1.0,  # ppo_trainer.yaml:32, :125
    "critic_warmup": 0,  # train.sh trainer.critic_warmup
    "total_training_steps": 1120,  # train.sh trainer.total_training_steps
    "state_masking": True,  # train.sh actor_rollout_ref.actor.state_masking (retrieved tokens: no loss)
}
