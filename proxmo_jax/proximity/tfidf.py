"""Reference-compatible TF-IDF features of anchor observations (host side, NumPy).

Reproduces scikit-learn's `TfidfVectorizer(max_features=1024)` at its other defaults, which is
what the reference implementation fits on all anchor texts of a rollout batch
(docs/method.md#tf-idf-features):

  * text is lower-cased, then tokens are the matches of `(?u)\\b\\w\\w+\\b` (two or more word
    characters; single characters such as the object indices "1".."9" or "a" are dropped);
  * tf(t, d) = raw count of term t in document d (unigrams, no stop words);
  * idf(t) = ln((1 + n) / (1 + df(t))) + 1 (smooth idf), n = number of documents;
  * x_d = tf * idf, then x_d / ||x_d||_2 (rows without tokens stay zero);
  * feature cap: with more than `max_features` distinct terms, keep the `max_features` terms of
    largest total count over the corpus. **Ties are broken alphabetically** (scikit-learn uses
    NumPy's unstable argsort, so its choice among tied terms is unspecified); idf is computed on
    the kept terms; columns are in alphabetical term order.

Columns are zero-padded to a bucketed width so that the jitted kernels see few distinct shapes;
zero columns change no dot product.
"""

from __future__ import annotations

import collections
import re
from typing import Optional, Sequence

import numpy as np

from proxmo_jax import buckets

TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")
MAX_FEATURES = 1024


def tokenize(text: str) -> list[str]:
  """The reference tokenizer: lower-case, then runs of >= 2 word characters."""
  return TOKEN_PATTERN.findall(str(text).lower())


def feature_width_bucket(num_terms: int, minimum: int = 128) -> int:
  """Padded feature width: the next power of two >= num_terms (at least `minimum`)."""
  return buckets.power_of_two(num_terms, minimum)


class TfidfResult:
  """Features plus the fitted vocabulary and idf (for inspection and tests)."""

  def __init__(self, features: np.ndarray, vocabulary: list[str], idf: np.ndarray):
    self.features = features        # f32[N, F_padded]
    self.vocabulary = vocabulary    # alphabetical kept terms, len V <= max_features
    self.idf = idf                  # f64[V]

  @property
  def empty_vocabulary(self) -> bool:
    return not self.vocabulary


def fit_transform(texts: Sequence[str], max_features: int = MAX_FEATURES,
                  pad_to: Optional[int] = None) -> TfidfResult:
  """Fits TF-IDF on `texts` (the whole batch) and returns the l2-normalised rows.

  Args:
    texts: the N anchor observations (each passed through `str()`).
    max_features: vocabulary cap (the reference uses 1024).
    pad_to: feature width; default `feature_width_bucket(V)`. Must be >= V.

  Returns:
    TfidfResult with features f32[N, pad_to]. An empty vocabulary (no token of >= 2 word
    characters anywhere) gives all-zero features and `empty_vocabulary=True`; the reference
    then sets every step advantage to 0, and so does `proxmo` on all-zero features.
  """
  # Anchor observations repeat a lot ("Nothing happens."): tokenise each distinct text once.
  unique: dict[str, int] = {}
  inverse = np.fromiter((unique.setdefault(str(t), len(unique)) for t in texts), np.int64,
                        count=len(texts))
  multiplicity = np.bincount(inverse, minlength=len(unique))
  docs = [collections.Counter(tokenize(t)) for t in unique]
  total = collections.Counter()
  df = collections.Counter()
  for c, m in zip(docs, multiplicity):
    for term, k in c.items():
      total[term] += k * m
      df[term] += m
  terms = sorted(total)
  if len(terms) > max_features:
    # Largest total count first; ties alphabetically (terms is sorted, the sort is stable).
    kept = sorted(terms, key=lambda t: -total[t])[:max_features]
    terms = sorted(kept)
  index = {t: j for j, t in enumerate(terms)}
  n = len(texts)
  idf = np.log((1.0 + n) / (1.0 + np.array([df[t] for t in terms], np.float64))) + 1.0
  width = pad_to if pad_to is not None else feature_width_bucket(len(terms))
  if width < len(terms):
    raise ValueError(f"pad_to={width} is smaller than the vocabulary ({len(terms)} terms).")
  x = np.zeros((len(unique), width), np.float64)
  for i, c in enumerate(docs):
    for term, k in c.items():
      j = index.get(term)
      if j is not None:
        x[i, j] = k * idf[j]
  norms = np.linalg.norm(x, axis=1, keepdims=True)
  x = np.where(norms > 0, x / np.where(norms > 0, norms, 1.0), 0.0)
  x = x.astype(np.float32)[inverse]
  return TfidfResult(x, terms, idf)


def tfidf_features(texts: Sequence[str], max_features: int = MAX_FEATURES,
                   pad_to: Optional[int] = None) -> np.ndarray:
  """f32[N, F]: `fit_transform(...).features`, the featurizer the batch builder takes."""
  return fit_transform(texts, max_features, pad_to).features
