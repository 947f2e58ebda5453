"""An "hf" rollout for verl on CPU: HF ``generate`` behind verl's rollout interfaces.

verl 0.9.1 only knows vLLM, SGLang and TensorRT-LLM rollouts, none of which runs here. Two
pieces fill the gap, registered under the name "hf" (``actor_rollout_ref.rollout.name=hf``):

- `HFReplica` (a ``RolloutReplica``): starts one Ray actor, `HFServer`, per replica. Agent
  loops call its ``generate(prompt_ids, sampling_params)``, which returns a ``TokenOutput``
  with the sampled token ids and their log-probs (the rollout policy's, at temperature 1,
  as verl's ``rollout_log_probs``).
- `HFServerAdapter` (a ``BaseRollout``): lives in the actor worker; ``update_weights``
  materialises the FSDP2 shards (DTensor -> full tensor) and loads them into its replica's
  server, so every step samples from the freshly trained policy.

Lifecycle calls (wake up, sleep, caches, aborts, profiling) are no-ops: nothing is offloaded.
``sampling_params["stop"]`` (strings) is honoured, so step-wise agent loops can stop at a
step boundary.

A Qwen2(.5)-VL model folder is served with its image processor: a request's ``image_data``
(every image of the conversation so far, as verl's tool agent loop sends them) becomes
``pixel_values`` / ``image_grid_thw`` for both generation and the log-prob pass, with the
multimodal rope driven by ``mm_token_type_ids``. The vision tokens are never sampled (a
random tiny model would otherwise write an ``<|image_pad|>`` no image stands behind).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from typing import Any

import ray
import torch

log = logging.getLogger(__name__)

NAME = "hf"
SERVER_PREFIX = "r1repro_hf_server_"


def server_name(replica_rank: int) -> str:
    return f"{SERVER_PREFIX}{replica_rank}"


SCRIPT_ENV = "R1REPRO_VERL_CPU_SCRIPT"
VL_MODEL_TYPES = ("qwen2_5_vl", "qwen2_vl")


def scripted_turn(script: str, tokenizer, prompt_ids: list[int], stops: list[str]) -> list[int] | None:
    """A scripted policy turn (test double), or None to sample from the model.

    ``search_then_answer`` (multi-turn search tests; a random tiny model never writes a whole
    ``<search> ... </search>``): while the context holds no ``<information>``, search for the
    question (the text after the last "Question:"); then answer ``unknown`` and end (EOS).
    ``crop_then_answer``: see `_crop_then_answer`."""
    if script == "crop_then_answer":
        return _crop_then_answer(tokenizer, prompt_ids)
    if script != "search_then_answer" or "</search>" not in stops:
        return None
    context = tokenizer.decode(prompt_ids, skip_special_tokens=True)
    if "<information>" in context:
        return tokenizer.encode("<answer> unknown </answer>", add_special_tokens=False) + [
            tokenizer.eos_token_id
        ]
    question = context.rsplit("Question:", 1)[-1].split("?")[0].strip() or "question"
    return tokenizer.encode(f"<search> {question} </search>", add_special_tokens=False)


ANSWER_TOKENS = (6, 9, 12, 15)
"""Answer budgets `crop_then_answer` cycles through (so sequences differ in length)."""
CROP_CALL = (
    '<tool_call>{"name":"crop_image_normalized","arguments":{"bbox_2d":[0.2,0.2,0.8,0.8]}}</tool_call>'
)
"""The scripted crop call (Hermes format; compact: the tiny tokenizer spends a token on most characters)."""


def _crop_then_answer(tokenizer, prompt_ids: list[int]) -> list[int] | None:
    """``crop_then_answer`` (tool agent loop tests with images): until a tool turn is in the
    context, call the crop tool on the image's centre; then sample the answer from the model
    (None), so generation runs with the prompt image and the crop. The server samples that
    answer with a budget that varies by request (`ANSWER_TOKENS`): verl 0.9.1 mis-indexes a
    batch of Qwen2-VL rope position ids when every sequence has the same length
    (``maybe_fix_3d_position_ids`` forces ragged dim 2 on a tensor nested along dim 1)."""
    context = tokenizer.decode(prompt_ids, skip_special_tokens=False)
    if "<|im_start|>tool" in context:
        return None
    return tokenizer.encode(CROP_CALL, add_special_tokens=False) + [tokenizer.eos_token_id]


def _stop_criteria(tokenizer, stops: list[str], prompt_len: int):
    """A StoppingCriteria that ends generation once the response text contains a stop string."""
    from transformers import StoppingCriteria

    class StopOnText(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            text = tokenizer.decode(input_ids[0, prompt_len:], skip_special_tokens=True)
            return torch.tensor([any(s in text for s in stops)], dtype=torch.bool)

    return StopOnText()


def _model_path(model_config) -> str:
    """The local model folder (verl hands the replica a DictConfig or an HFModelConfig)."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(model_config):
        return str(model_config.get("local_path") or model_config.get("path"))
    return str(getattr(model_config, "local_path", None) or model_config.path)


class HFServer:
    """One replica's model: token-in, token-out generation on CPU (one request at a time)."""

    def __init__(self, config, model_config, replica_rank: int = 0):
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        path = _model_path(model_config)
        self.config = config
        self.replica_rank = replica_rank
        torch.manual_seed(int(getattr(config, "seed", 0) or 0) + replica_rank)
        hf_config = AutoConfig.from_pretrained(path)
        self.image_processor = None
        if hf_config.model_type in VL_MODEL_TYPES:
            from transformers import AutoModelForImageTextToText

            # the module's class: the top-level name is a torchvision placeholder without torchvision
            from transformers.models.auto.image_processing_auto import AutoImageProcessor

            loader = AutoModelForImageTextToText
            # the folder's processor config, the one verl's processor reads: the same image token counts
            self.image_processor = AutoImageProcessor.from_pretrained(path)
            self.image_token_id = hf_config.image_token_id
            self.video_token_id = hf_config.video_token_id
            self.vision_ids = [hf_config.image_token_id, hf_config.video_token_id,
                               hf_config.vision_start_token_id, hf_config.vision_end_token_id]  # fmt: skip
        else:
            loader = AutoModelForCausalLM
        self.model = loader.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
        self.model.eval()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.lock = asyncio.Lock()
        self.requests = 0
        self.most_images = 0  # logged when a request brings more images than any before (tests read it)
        self.weight_version = 0
        self.global_steps = 0

    def ready(self) -> bool:
        return True

    async def set_global_steps(self, global_steps: int):
        """The trainer step whose weights this server holds (reported with every output)."""
        self.global_steps = global_steps

    def load_weights(self, state: dict[str, torch.Tensor]) -> int:
        """Load the trainer's weights (names as HF's state dict); returns the count loaded."""
        own = self.model.state_dict()
        loaded = 0
        with torch.no_grad():
            for name, tensor in state.items():
                if name in own:
                    own[name].copy_(tensor.to(own[name].dtype))
                    loaded += 1
        if self.model.config.tie_word_embeddings:
            self.model.tie_weights()
        self.weight_version += 1
        return loaded

    def _max_tokens(self, prompt_len: int, params: dict[str, Any]) -> int:
        budget = self.config.prompt_length + self.config.response_length - prompt_len
        wanted = params.pop("max_tokens", params.pop("max_new_tokens", self.config.response_length))
        return max(1, min(int(wanted), self.config.response_length, budget))

    def _vision_inputs(self, ids: torch.Tensor, images: list | None) -> dict[str, torch.Tensor]:
        """The model's vision inputs for ``ids`` (1 x L): pixels and grids of ``images`` and the
        token types that place them; {} for a text model."""
        if self.image_processor is None:
            return {}
        mm = (ids == self.image_token_id).long() + 2 * (ids == self.video_token_id).long()
        out: dict[str, torch.Tensor] = {"mm_token_type_ids": mm}
        if images:
            pix = self.image_processor(images=list(images), return_tensors="pt")
            merge = self.image_processor.merge_size**2
            expected = int(pix["image_grid_thw"].prod(-1).sum()) // merge
            if expected != int((ids == self.image_token_id).sum()):
                raise ValueError(f"hf rollout: {len(images)} image(s) give {expected} image tokens, the prompt "
                                 f"has {int((ids == self.image_token_id).sum())}")  # fmt: skip
            out.update(pixel_values=pix["pixel_values"], image_grid_thw=pix["image_grid_thw"])
        return out

    def _generate(self, prompt_ids: list[int], params: dict[str, Any],
                  images: list | None = None) -> tuple[list[int], list[float], str]:  # fmt: skip
        params = dict(params)
        max_new = self._max_tokens(len(prompt_ids), params)
        temperature = float(params.get("temperature", 1.0) or 0.0)
        top_k = int(params.get("top_k", -1) or -1)
        stops = [s for s in (params.get("stop") or []) if s]
        ids = torch.tensor([prompt_ids], dtype=torch.long)
        kwargs: dict[str, Any] = dict(max_new_tokens=max_new, pad_token_id=self.tokenizer.pad_token_id,
                                      eos_token_id=self.tokenizer.eos_token_id)  # fmt: skip
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=float(params.get("top_p", 1.0)),
                          top_k=top_k if top_k > 0 else 0)  # fmt: skip
        else:
            kwargs.update(do_sample=False)
        vision = self._vision_inputs(ids, images)
        if self.image_processor is not None:
            kwargs["suppress_tokens"] = self.vision_ids
            if len(images or ()) > self.most_images:
                self.most_images = len(images)
                print(f"[hf-rollout] generating with {self.most_images} image(s)", flush=True)
        if stops:
            from transformers import StoppingCriteriaList

            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [_stop_criteria(self.tokenizer, stops, len(prompt_ids))]
            )
        script = os.environ.get(SCRIPT_ENV, "")
        scripted = scripted_turn(script, self.tokenizer, prompt_ids, stops)
        self.requests += 1
        if script == "crop_then_answer" and scripted is None:
            max_new = min(max_new, ANSWER_TOKENS[self.requests % len(ANSWER_TOKENS)])
            kwargs["max_new_tokens"] = max_new
        with torch.no_grad():
            if scripted is not None:  # a test double for the policy: its text, the model's log-probs
                response = scripted[:max_new]
            else:
                out = self.model.generate(ids, attention_mask=torch.ones_like(ids), **vision, **kwargs)
                response = out[0, len(prompt_ids) :].tolist()
            eos = self.tokenizer.eos_token_id
            if eos in response:
                response = response[: response.index(eos) + 1]
            if not response:
                return [], [], "completed"
            full = torch.tensor([prompt_ids + response], dtype=torch.long)
            vision = self._vision_inputs(full, images)
            logits = self.model(input_ids=full, **vision).logits[0, len(prompt_ids) - 1 : -1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(-1, torch.tensor(response)[:, None])[:, 0]
        return response, logp.tolist(), "completed"

    async def generate(self, request_id=None, *, prompt_ids, sampling_params, image_data=None,
                       video_data=None, **kwargs):  # fmt: skip
        from verl.workers.rollout.replica import TokenOutput

        async with self.lock:
            tokens, logps, reason = await asyncio.to_thread(self._generate, list(prompt_ids), sampling_params,
                                                            image_data)  # fmt: skip
        return TokenOutput(token_ids=tokens, log_probs=logps, stop_reason=reason,
                           extra_fields={"global_steps": self.global_steps})  # fmt: skip

    # Lifecycle calls verl makes on every server; nothing is offloaded on CPU.
    async def wake_up(self, *args, **kwargs):
        return None

    async def sleep(self, *args, **kwargs):
        return None

    async def clear_kv_cache(self):
        return None

    async def release_kv_cache(self):
        return None

    async def resume_kv_cache(self):
        return None

    async def abort_all_requests(self, *args, **kwargs) -> dict[str, Any]:
        return {"aborted_count": 0, "request_ids": []}

    async def resume_generation(self):
        return None

    async def wait_for_requests_to_drain(self):
        return None

    async def start_profile(self, **kwargs):
        return None

    async def stop_profile(self):
        return None


@functools.cache
def _replica_class():
    from verl.workers.rollout.replica import RolloutReplica

    class HFReplica(RolloutReplica):
        """One `HFServer` actor per replica, found by name (`server_name`) by the adapter."""

        async def launch_servers(self):
            server_cls = ray.remote(HFServer)
            name = server_name(self.replica_rank)
            server = server_cls.options(
                name=name, num_cpus=0.01, max_concurrency=self.max_concurrency
            ).remote(self.config, self.model_config, self.replica_rank)
            await server.ready.remote()
            self.servers = [server]
            self._server_handle = server
            self._server_address = f"hf-{name}:0"

    return HFReplica


@functools.cache
def _adapter_class():
    from verl.workers.rollout.base import BaseRollout

    class HFServerAdapter(BaseRollout):
        """In the actor worker: pushes each step's weights to this rank's replica server."""

        def __init__(self, config, model_config, device_mesh, *args, **kwargs):
            super().__init__(config, model_config, device_mesh, *args, **kwargs)
            import torch.distributed as dist

            world = (self.config.tensor_model_parallel_size * self.config.data_parallel_size
                     * self.config.pipeline_model_parallel_size)  # fmt: skip
            rank = dist.get_rank() if dist.is_initialized() else 0
            self.replica_rank = rank // world
            self.is_leader = rank % world == 0
            self.sleep_level = 1

        async def resume(self, tags: list[str]):
            return None

        async def release(self):
            return None

        async def update_weights(self, weights, wire_format: str = "named_tensors", **kwargs):
            state = {}
            for name, tensor in weights:
                if hasattr(tensor, "full_tensor"):
                    tensor = tensor.full_tensor()
                state[name] = tensor.detach().to("cpu", copy=True)
            if not self.is_leader:
                return
            server = ray.get_actor(server_name(self.replica_rank))
            loaded = await server.load_weights.remote(state)
            if kwargs.get("global_steps") is not None:
                await server.set_global_steps.remote(kwargs["global_steps"])
            if loaded == 0:
                raise RuntimeError("hf rollout: no weight name matched the rollout model's state dict")

    return HFServerAdapter


def register() -> None:
    """Add "hf" to verl's rollout and replica registries (idempotent)."""
    from verl.workers.rollout import base, replica

    base._ROLLOUT_REGISTRY[(NAME, "async")] = f"{__name__}.HFServerAdapterAlias"
    replica.RolloutReplicaRegistry.register(NAME, _replica_class)


def __getattr__(attr: str):
    # verl resolves the adapter by dotted path ("module.Class"); build the class on first use.
    if attr == "HFServerAdapterAlias":
        return _adapter_class()
    raise AttributeError(attr)
