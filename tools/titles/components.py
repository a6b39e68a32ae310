"""The title ranker's evidence: the components it scores every role on, and the linear
fusion weights over them.

Every fitted number (fusion weights, rerankers, calibrations; ``tools/titles/profiles.json``
and ``tools/titles/rerankers.json``) is fitted on these components in this order, so the
data files are checked against COMPONENTS when they are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.titles.fusion import FusionWeights

COMPONENTS: tuple[str, ...] = (
    "label_lexical",
    "label_embedding",
    "memory_lexical",
    "memory_embedding",
    "memory_knn",
    "memory_prior",
    "label_embedding_mean",
    "preferred_embedding",
    "label_words",
    "description_words",
    "head_match",
    "group_embedding",
    "label_brevity",
    "label_count",
    "memory_vote",
    "memory_exact",
    "adapted_embedding",
)
"""Per-role evidence, each roughly in [0, 1]:

- label_lexical: char n-gram cosine of the normalised title with the role's best label.
- label_embedding: best label cosine of the normalised title's embedding. (The title as
  written was embedded too until issue 4; fitted weights showed it added nothing once the
  role-level components below were in, and it doubled the embedding and matrix work.)
- label_embedding_mean: mean cosine over all of the role's labels (a role whose every name
  is close beats one with a single lucky alt label).
- preferred_embedding: cosine with the preferred label, the catalog's canonical name.
- label_words / description_words: word BM25 of the title against the bag of all the
  role's label words / its description, as a share of the title's IDF mass.
- head_match: 1 when the title's last word (its head noun, plural-folded) ends one of the
  role's labels ("marketing *executive*" vs "sales *executive*").
- group_embedding: best label cosine within the role's group (ISCO unit group for ESCO),
  so siblings of a strongly matching role share some of its evidence.
- label_brevity / label_count: query-independent catalog priors (1 / words in the
  preferred label; log share of labels): broad, well-known roles have short names and
  many synonyms, and real titles name broad roles far more often than niche ones.
- memory_lexical / memory_embedding: the best approved title of the role.
- memory_knn: summed similarity of the role's approved titles among the KNN nearest.
- memory_vote: softmax-weighted share of the VOTE_K nearest approved titles that went to
  the role (many agreeing neighbours beat one lucky neighbour; near-exact ones dominate).
- memory_exact: share of approvals of exactly this normalised title that went to the role.
- memory_prior: how often the role was approved, i.e. the customer's own distribution.
- adapted_embedding: cosine of the adapted title vector (``TitleRanker.adapter``, see
  ``tools.titles.adapter``) with the role's label centroid; 0 everywhere without an adapter.
"""

COMPONENT_INDEX = {name: i for i, name in enumerate(COMPONENTS)}
"""Row of each component in an evidence matrix."""
MEMORY_COMPONENTS = ("memory_lexical", "memory_embedding", "memory_exact")


@dataclass(frozen=True)
class RankerWeights(FusionWeights):
    """Linear fusion weights per component (see COMPONENTS), fields in COMPONENTS order."""

    label_lexical: float = 0.3
    label_embedding: float = 0.7
    memory_lexical: float = 0.5
    memory_embedding: float = 0.25
    memory_knn: float = 0.0
    memory_prior: float = 0.0
    label_embedding_mean: float = 0.0
    preferred_embedding: float = 0.0
    label_words: float = 0.0
    description_words: float = 0.0
    head_match: float = 0.0
    group_embedding: float = 0.0
    label_brevity: float = 0.0
    label_count: float = 0.0
    memory_vote: float = 0.0
    memory_exact: float = 0.0
    adapted_embedding: float = 0.0
