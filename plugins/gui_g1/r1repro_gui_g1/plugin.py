"""Hook implementations of the gui_g1 plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [lazy("r1repro_gui_g1.reward:GuiG1Reward", "gui_g1.grounding",
                 "GUI-G1: hit + 0.25 IoU + 0.125 box-size harmonic mean (grpo_rec.py); terms selectable")]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [
        lazy("r1repro_gui_g1.templates:FastTemplate", "gui_g1.fast",
             "GUI-G1 fast thinking: image + grounding instruction, JSON bbox answer, no <think>"),
        lazy("r1repro_gui_g1.templates:ThinkingTemplate", "gui_g1.thinking",
             "GUI-G1 ablation: <think> reasoning, then the JSON bbox"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_gui_g1.data:GuiGrounding", "gui_g1.synthetic",
             "CPU task: PIL screenshots (menus, buttons, fields, icons), instruction -> target box"),
        lazy("r1repro_gui_g1.data:GuiG1Json", "gui_g1.json", "GUI-G1's JSON format (image, problem, solution, rate)"),
    ]  # fmt: skip


@hookimpl
def r1repro_advantage_estimators():
    return [lazy("r1repro_gui_g1.objective:gui_g1_advantage", "gui_g1",
                 "GUI-G1: A = rate * (r - group mean), no std (grpo_trainer.py '## Fix')")]  # fmt: skip


@hookimpl
def r1repro_policy_losses():
    return [lazy("r1repro_gui_g1.objective:token_sum_loss", "gui_g1.token_sum",
                 "GUI-G1: PPO-clip token loss, token-sum / 64, mean over responses")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_gui_g1.reproduction:GuiG1Reproduction", "gui_g1",
                 "GUI-G1: box-size term anchors predicted box size; fast thinking; difficulty weight")]  # fmt: skip
