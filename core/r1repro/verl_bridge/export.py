"""Rows -> verl's RL parquet schema (one row per prompt, template baked in).

    data_source    Row.data_source            (verl routes rewards by it: data.reward_fn_key)
    prompt         chat messages               (Template.render; verl applies the chat template)
    ability        Row.domain
    reward_model   {"style": "rule", "ground_truth": <str>}
    extra_info     {"index", "split", "id", "problem", "domain", "r1repro": <json of Row.extra>}

Ground truths that are not strings are stored as JSON text (parquet columns need one type);
`r1repro.verl_bridge.reward` decodes them back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1repro.types import Row

GT_JSON_PREFIX = "__json__:"


def encode_ground_truth(gt: Any) -> str:
    return gt if isinstance(gt, str) else GT_JSON_PREFIX + json.dumps(gt, default=str)


def decode_ground_truth(gt: Any) -> Any:
    if isinstance(gt, str) and gt.startswith(GT_JSON_PREFIX):
        return json.loads(gt[len(GT_JSON_PREFIX) :])
    return gt


def to_verl_record(row: Row, template, index: int, split: str) -> dict[str, Any]:
    prompt = row.prompt if row.prompt is not None else template.render(row)
    extra, images = row.extra, None
    if row.images:  # one <image> per image, PNG bytes, frames for coordinate rewards (r1repro.vision)
        from r1repro.vision import export_images, with_placeholders

        prompt = with_placeholders(prompt, len(row.images))
        images, frames = export_images(row.images)
        extra = {**row.extra, "image_frames": frames}
    rec = {
        "data_source": row.data_source,
        "prompt": [{"role": m["role"], "content": m["content"]} for m in prompt],
        "ability": row.domain,
        "reward_model": {"style": "rule", "ground_truth": encode_ground_truth(row.ground_truth)},
        "extra_info": {
            "index": index,
            "split": split,
            "id": row.id,
            "problem": row.problem,
            "domain": row.domain,
            "r1repro": json.dumps(extra, default=str),
        },
    }
    if images:
        rec["images"] = images
    return rec


def write_parquet(rows: Sequence[Row], template, path: str | Path, split: str = "train") -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [to_verl_record(r, template, i, split) for i, r in enumerate(rows)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), path)
    return path
