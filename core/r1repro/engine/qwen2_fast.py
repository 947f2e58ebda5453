"""A lean forward for Qwen2-architecture models: the same math as ``Qwen2ForCausalLM``,
without the per-call overhead that dominates tiny models on CPU.

Two uses, both checked against the HuggingFace forward in ``tests/test_qwen2_fast.py``:

* `FastDecoder` — generation: fused QKV and gate/up weights (built once per rollout, since
  the policy changes every step), a preallocated KV cache written in place, grouped-query
  attention through ``scaled_dot_product_attention(enable_gqa=True)``, logits of the last
  position only.
* `grouped_response_logits` — training: the n responses of a GRPO group share one prompt,
  so the prompt goes through the layers once per group and each response attends to its
  group's prompt keys/values. Gradients are identical to the full forward, because in a
  causal model the prompt's states do not depend on the response.

Any model this module does not cover exactly (`supported` is False: another architecture,
RoPE scaling, sliding windows) uses the HuggingFace forward instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def supported(model) -> bool:
    cfg = getattr(model, "config", None)
    if cfg is None or getattr(cfg, "model_type", None) != "qwen2" or not hasattr(model, "model"):
        return False
    if getattr(cfg, "use_sliding_window", False) or getattr(cfg, "hidden_act", "silu") != "silu":
        return False
    params = getattr(cfg, "rope_parameters", None) or {}
    scaling = getattr(cfg, "rope_scaling", None) or {}
    kind = params.get("rope_type", "default") if isinstance(params, dict) else "default"
    if kind != "default" or (isinstance(scaling, dict) and scaling.get("rope_type", "default") != "default"):
        return False
    attn = model.model.layers[0].self_attn
    return attn.q_proj.bias is not None and attn.o_proj.bias is None


def _rope_theta(cfg) -> float:
    theta = getattr(cfg, "rope_theta", None)
    if theta is None:
        theta = (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta", 10000.0)
    return float(theta)


class _Geometry:
    def __init__(self, model) -> None:
        cfg = model.config
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.eps = cfg.rms_norm_eps
        d = self.head_dim
        self.inv_freq = 1.0 / (_rope_theta(cfg) ** (torch.arange(0, d, 2, dtype=torch.float32) / d))

    def rope(self, positions: torch.Tensor):
        """cos, sin of shape [B, 1, T, head_dim] for integer positions [B, T]."""
        f = positions[..., None].float() * self.inv_freq.to(positions.device)
        e = torch.cat([f, f], -1)
        return e.cos()[:, None], e.sin()[:, None]

    @staticmethod
    def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin

    def rms(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(dtype) * weight


def causal_keep_mask(keep: torch.Tensor) -> torch.Tensor:
    """[B, 1, T, T] boolean attention mask: causal, hiding padding; a padded query sees itself
    (its output is discarded, but an all-False row would give NaN)."""
    t = keep.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=keep.device).tril()
    return ((causal[None] & keep[:, None, :]) | torch.eye(t, dtype=torch.bool, device=keep.device)[None])[
        :, None
    ]


class FastDecoder:
    """Prefill + one-token decode steps with a preallocated cache, for sampling."""

    def __init__(self, model, batch: int, max_len: int) -> None:
        self.g = _Geometry(model)
        m = model.model
        self.embed = m.embed_tokens.weight.detach()
        self.lm_head = model.lm_head.weight.detach()
        self.final_norm = m.norm.weight.detach()
        self.layers = []
        dev, dtype = self.embed.device, self.embed.dtype
        for layer in m.layers:
            a, mlp = layer.self_attn, layer.mlp
            self.layers.append((
                layer.input_layernorm.weight.detach(),
                torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight], 0).detach(),
                torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias], 0).detach(),
                a.o_proj.weight.detach(),
                layer.post_attention_layernorm.weight.detach(),
                torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight], 0).detach(),
                mlp.down_proj.weight.detach(),
            ))  # fmt: skip
        shape = (batch, self.g.kv_heads, max_len, self.g.head_dim)
        # zeros, not empty: `forward_at` may attend (masked) to columns no token has written yet
        self.cache = [(torch.zeros(shape, device=dev, dtype=dtype), torch.zeros(shape, device=dev, dtype=dtype))
                      for _ in self.layers]  # fmt: skip

    @torch.no_grad()
    def forward(
        self, ids: torch.Tensor, positions: torch.Tensor, start: int, mask: torch.Tensor
    ) -> torch.Tensor:
        """Logits of the last position; writes this chunk's keys/values at [start, start + T)."""
        end = start + ids.shape[1]

        def write(cache: torch.Tensor, new: torch.Tensor) -> None:
            cache[:, :, start:end] = new

        return self._run(ids, positions, write, end, mask)

    @torch.no_grad()
    def forward_at(
        self, ids: torch.Tensor, cols: torch.Tensor, mask: torch.Tensor, kv_len: int
    ) -> torch.Tensor:
        """Like `forward`, but each row writes its keys/values at its own columns ``cols`` ([B, T])
        and attends to the first ``kv_len`` columns under ``mask`` ([B, 1, T, kv_len]). A row's
        column is its position (`PrefixCache` keeps every row's tokens contiguous from column 0)."""
        where = cols[:, None, :, None].expand(ids.shape[0], self.g.kv_heads, ids.shape[1], self.g.head_dim)

        def write(cache: torch.Tensor, new: torch.Tensor) -> None:
            cache.scatter_(2, where, new)

        return self._run(ids, cols, write, kv_len, mask)

    def _run(self, ids, positions, write, kv_len: int, mask: torch.Tensor) -> torch.Tensor:
        g = self.g
        bsz, t = ids.shape
        x = F.embedding(ids, self.embed)
        cos, sin = g.rope(positions)
        nq, nkv = g.heads * g.head_dim, g.kv_heads * g.head_dim
        for (n1, wqkv, bqkv, wo, n2, wgu, wd), (kc, vc) in zip(self.layers, self.cache):
            q, k, v = F.linear(g.rms(x, n1), wqkv, bqkv).split([nq, nkv, nkv], -1)
            q = g.rotate(q.view(bsz, t, g.heads, g.head_dim).transpose(1, 2), cos, sin)
            write(kc, g.rotate(k.view(bsz, t, g.kv_heads, g.head_dim).transpose(1, 2), cos, sin))
            write(vc, v.view(bsz, t, g.kv_heads, g.head_dim).transpose(1, 2))
            o = F.scaled_dot_product_attention(
                q, kc[:, :, :kv_len], vc[:, :, :kv_len], attn_mask=mask, enable_gqa=True
            )
            x = x + F.linear(o.transpose(1, 2).reshape(bsz, t, -1), wo)
            gate, up = F.linear(g.rms(x, n2), wgu).chunk(2, -1)
            x = x + F.linear(F.silu(gate) * up, wd)
        return F.linear(g.rms(x[:, -1], self.final_norm), self.lm_head)


def grouped_response_logits(model, prompt_ids, prompt_mask, responses, group_of) -> torch.Tensor:
    """Logits predicting ``responses[:, t]`` (shape [B, R, V]) with one prompt pass per group.

    ``prompt_ids``/``prompt_mask``: [G, P], left-padded prompts of the G groups;
    ``responses``: [B, R] (right padding is harmless: padded positions are masked in the loss);
    ``group_of``: [B] index of each response's group. Differentiable (uses the module's own
    parameters), so it serves the policy update as well as old/reference log-probs.
    """
    g = _Geometry(model)
    m = model.model
    n_groups, p_len = prompt_ids.shape
    bsz, r_len = responses.shape
    dev = prompt_ids.device
    keep_p = prompt_mask.bool()
    pos_p = (prompt_mask.long().cumsum(-1) - 1).clamp(min=0)
    pos_r = prompt_mask.long().sum(-1)[group_of, None] + torch.arange(r_len, device=dev)[None]
    cos_p, sin_p = g.rope(pos_p)
    cos_r, sin_r = g.rope(pos_r)
    mask_p = causal_keep_mask(keep_p)
    causal_r = torch.ones(r_len, r_len, dtype=torch.bool, device=dev).tril()
    mask_r = torch.cat([keep_p[group_of][:, None, :].expand(bsz, r_len, p_len),
                        causal_r[None].expand(bsz, r_len, r_len)], -1)[:, None]  # fmt: skip
    xp = F.embedding(prompt_ids, m.embed_tokens.weight)
    xr = F.embedding(responses, m.embed_tokens.weight)
    h, kv, d = g.heads, g.kv_heads, g.head_dim
    for layer in m.layers:
        a, mlp = layer.self_attn, layer.mlp
        yp, yr = g.rms(xp, layer.input_layernorm.weight), g.rms(xr, layer.input_layernorm.weight)
        qp = g.rotate(a.q_proj(yp).view(n_groups, p_len, h, d).transpose(1, 2), cos_p, sin_p)
        kp = g.rotate(a.k_proj(yp).view(n_groups, p_len, kv, d).transpose(1, 2), cos_p, sin_p)
        vp = a.v_proj(yp).view(n_groups, p_len, kv, d).transpose(1, 2)
        qr = g.rotate(a.q_proj(yr).view(bsz, r_len, h, d).transpose(1, 2), cos_r, sin_r)
        kr = g.rotate(a.k_proj(yr).view(bsz, r_len, kv, d).transpose(1, 2), cos_r, sin_r)
        vr = a.v_proj(yr).view(bsz, r_len, kv, d).transpose(1, 2)
        op = F.scaled_dot_product_attention(qp, kp, vp, attn_mask=mask_p, enable_gqa=True)
        # index_select, not kp[group_of]: the backward of advanced indexing with repeated indices
        # (index_put_ with accumulate) sums in a thread-dependent order on CPU; index_select's does not
        k_all = torch.cat([kp.index_select(0, group_of), kr], 2)
        v_all = torch.cat([vp.index_select(0, group_of), vr], 2)
        orr = F.scaled_dot_product_attention(qr, k_all, v_all, attn_mask=mask_r, enable_gqa=True)
        xp = xp + a.o_proj(op.transpose(1, 2).reshape(n_groups, p_len, -1))
        xr = xr + a.o_proj(orr.transpose(1, 2).reshape(bsz, r_len, -1))
        xp = xp + mlp(g.rms(xp, layer.post_attention_layernorm.weight))
        xr = xr + mlp(g.rms(xr, layer.post_attention_layernorm.weight))
    hidden = torch.cat([xp[:, -1].index_select(0, group_of)[:, None], xr[:, :-1]], 1)
    return model.lm_head(g.rms(hidden, m.norm.weight))
