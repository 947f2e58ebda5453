"""The NOVER preset trains LoRA (official r16 / alpha 32): the proxy must read verl's LoRA
checkpoints, whose ``huggingface/`` folder holds the PEFT-wrapped keys, as merged weights."""

import json

import torch
from peft import LoraConfig, get_peft_model
from r1repro_nover.proxy import LaggedProxy, lora_checkpoint_state, merge_lora_state

from r1repro.models.tiny import load_policy


def _lora_policy(seed: int = 3):
    model, tok = load_policy("tiny:nano", seed=seed)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            task_type="CAUSAL_LM"))  # fmt: skip
    with torch.no_grad():  # a trained adapter: B is no longer zero
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.5)
    return peft, tok


def test_merged_state_equals_peft_merge_and_unload():
    peft, _ = _lora_policy()
    wrapped = {k: v.clone() for k, v in peft.state_dict().items()}
    merged = merge_lora_state(wrapped, scale=8 / 4)
    reference = peft.merge_and_unload().state_dict()
    assert set(merged) == set(reference)
    for k, v in reference.items():
        assert torch.allclose(merged[k], v, atol=1e-6), k


def test_proxy_mixes_in_a_verl_lora_checkpoint(tmp_path):
    from safetensors.torch import save_file

    peft, tok = _lora_policy()
    base, _ = load_policy("tiny:nano", seed=3)  # the same initial weights, no adapter
    actor = tmp_path / "ckpt" / "global_step_100" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    state = {k: v.clone().contiguous() for k, v in peft.state_dict().items()}  # verl saves a full copy
    save_file(state, str(actor / "huggingface" / "model.safetensors"))
    (actor / "lora_train_meta.json").write_text(json.dumps({"r": 4, "lora_alpha": 8, "task_type": "CAUSAL_LM"}))
    merged = lora_checkpoint_state(actor / "huggingface")
    base_dir = tmp_path / "base"
    base.save_pretrained(str(base_dir))
    tok.save_pretrained(str(base_dir))
    proxy = LaggedProxy(model=str(base_dir), sync_from=str(tmp_path / "ckpt"), sync_every=100, alpha=0.9,
                        check_interval_s=0)  # fmt: skip
    got, _ = proxy.get()
    key = "model.layers.0.self_attn.q_proj.weight"
    assert proxy.syncs == 1
    assert not torch.allclose(merged[key], base.state_dict()[key])  # the adapter moved the weight
    assert torch.allclose(got.state_dict()[key], 0.9 * base.state_dict()[key] + 0.1 * merged[key], atol=1e-6)
