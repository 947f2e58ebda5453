"""Vision-language pieces verl 0.9.1 needs on a machine without torchvision or qwen_vl_utils.

Two gaps, both outside verl's own code, filled here without patching verl:

- **The processor.** verl loads ``AutoProcessor.from_pretrained(model)``; for a Qwen2(.5)-VL
  folder that is a ``Qwen2_5_VLProcessor`` whose three parts are all required. The image part
  works without torchvision (transformers picks the PIL image processor), the video part does
  not: its only class imports torchvision, and transformers hands back a placeholder that
  raises. verl swallows the error and runs on with ``processor=None``, which fails later.
  `register_video_stub` registers a torchvision-free ``Qwen2VLVideoProcessor`` (same class
  name, which is how transformers looks it up) that builds and saves but refuses videos, and
  points ``transformers.BaseVideoProcessor`` (a placeholder without torchvision, against which
  the processor checks its video part) at the real base class the stub derives from.
- **The vision info of a conversation.** verl's dataset reads the images of a message list
  with ``qwen_vl_utils.process_vision_info``, not installed here (and it imports torchvision).
  `CpuVLDataset` (``data.custom_cls``) does the images part itself: each image block's PIL
  image, RGB, resized by Qwen's ``smart_resize`` rule (`r1repro.vision.smart_resize`).
"""

from __future__ import annotations

import functools
from typing import Any

MIN_PIXELS = 4 * 28 * 28  # qwen_vl_utils' defaults for an image block without its own bounds
MAX_PIXELS = 16384 * 28 * 28


@functools.cache
def _video_stub_class():
    from transformers.video_processing_utils import BaseVideoProcessor

    class Qwen2VLVideoProcessor(BaseVideoProcessor):
        """Stands in for transformers' torchvision-only Qwen2-VL video processor: constructible
        and saveable (checkpoints save the processor), never used (no video in these tests)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__()
            self.patch_size = kwargs.get("patch_size", 14)
            self.merge_size = kwargs.get("merge_size", 2)
            self.temporal_patch_size = kwargs.get("temporal_patch_size", 2)

        def preprocess(self, videos, **kwargs):
            raise NotImplementedError("videos need torchvision (r1repro CPU harness video stub)")

        def to_dict(self) -> dict[str, Any]:
            return {"video_processor_type": "Qwen2VLVideoProcessor", "patch_size": self.patch_size,
                    "merge_size": self.merge_size, "temporal_patch_size": self.temporal_patch_size}  # fmt: skip

    return Qwen2VLVideoProcessor


def register_video_stub() -> bool:
    """Make ``AutoProcessor`` build Qwen2(.5)-VL processors without torchvision (no-op when it
    is installed). Returns True if the stub was registered."""
    from transformers.utils import is_torchvision_available

    if is_torchvision_available():
        return False
    import transformers
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig
    from transformers.models.auto.video_processing_auto import AutoVideoProcessor
    from transformers.video_processing_utils import BaseVideoProcessor

    for config in (Qwen2VLConfig, Qwen2_5_VLConfig):
        AutoVideoProcessor.register(config, _video_stub_class(), exist_ok=True)
    transformers.BaseVideoProcessor = BaseVideoProcessor  # the processor's isinstance check reads this name
    return True


def vision_images(messages: list[dict]) -> list:
    """The images of a conversation's image blocks, in order, as Qwen's loader prepares them."""
    from io import BytesIO

    from PIL import Image

    from r1repro.vision import smart_resize

    out = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for item in content:
            if not isinstance(item, dict) or item.get("type") != "image":
                continue
            image = item.get("image")
            if isinstance(image, dict) and "bytes" in image:
                image = Image.open(BytesIO(image["bytes"]))
            elif isinstance(item.get("bytes"), bytes):
                image = Image.open(BytesIO(item["bytes"]))
            if not isinstance(image, Image.Image):
                raise TypeError(f"CPU harness: unsupported image block {type(image).__name__}")
            image = image.convert("RGB")
            h, w = smart_resize(image.height, image.width, 28, int(item.get("min_pixels", MIN_PIXELS)),
                                int(item.get("max_pixels", MAX_PIXELS)))  # fmt: skip
            out.append(image if (w, h) == image.size else image.resize((w, h), Image.BICUBIC))
    return out


def __getattr__(name: str):
    # built on first use: importing verl's dataset module is slow, and text runs never need it
    if name == "CpuVLDataset":
        return _dataset_class()
    raise AttributeError(name)


@functools.cache
def _dataset_class():
    from verl.utils.dataset.rl_dataset import RLHFDataset

    class CpuVLDataset(RLHFDataset):
        """verl's RLHFDataset with the images of a conversation read without qwen_vl_utils."""

        @classmethod
        def _process_multi_modal_info(cls, messages, image_patch_size, config):
            images = vision_images(messages)
            return images or None, None, cls._extract_audio_info(messages)

    return CpuVLDataset
