"""Hook implementations of the hgpo plugin (LHRM / HGPO, arXiv 2505.14631): lazy references only."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_hgpo.reward:HybridReward", "hgpo.reward",
             "HGPO §3.2: verifier score + r_inter (δ-margin mode winner) + r_intra (best in its mode)"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [
        lazy("r1repro_hgpo.templates:HybridTemplate", "hgpo.hybrid",
             "LHRM formats: <think>…</think>answer | <no_think>answer</no_think>; user turn = problem"),
        lazy("r1repro_hgpo.templates:HybridMathTemplate", "hgpo.hybrid_math",
             "hgpo.hybrid + the step-by-step \\boxed{} instruction (paper-scale math)"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_hgpo.data:HybridCompose", "hgpo.compose",
             "CPU task: easy g(3) vs hard h(f(g(3))) digit functions; HFT data mixes modes at random"),
        lazy("r1repro_hgpo.data:DeepScaleR", "hgpo.deepscaler",
             "agentica-org/DeepScaleR-Preview-Dataset (math prompts of HGPO's RL stage)"),
    ]  # fmt: skip


@hookimpl
def r1repro_advantage_estimators():
    return [lazy("r1repro_hgpo.advantage:hgpo_advantage", "hgpo",
                 "HGPO §3.2: GRPO(r_intra) + α·1[mode tag]·GRPO(r_inter); needs side_info")]  # fmt: skip


@hookimpl
def r1repro_rollouts():
    return [lazy("r1repro_hgpo.rollout:ModeForced", "hgpo.mode_forced",
                 "HGPO §3.2: N/2 responses forced into <think>, N/2 into <no_think>; free choice in evaluation")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_hgpo.reproduction:HgpoReproduction", "hgpo",
                 "LHRM/HGPO: hybrid thinking on easy vs hard prompts; HAcc vs the HFT start")]  # fmt: skip
