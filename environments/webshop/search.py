"""WebShop product search: BM25 (k1 = 0.9, b = 0.4) over the original's index text, via bm25s.

Index document of a product (docs/environments.md#search-bm25):
    lower(Title + " " + Description + " " + BulletPoints[0] + " " + option_text),
    option_text = ", and ".join(f"{name}: {', '.join(values)}")

Analyzer, for documents and queries, after Anserini's DefaultEnglishAnalyzer: a word tokenizer
close to Lucene's StandardTokenizer (letters/digits, keeping inner "." and "'" as in "3.5" or
"women's"), the English possessive filter ("'s" dropped), lowercase, Lucene's 33 English
stopwords, Porter stemming (Snowball's "porter" = the original Porter algorithm).

Score (Lucene >= 8 BM25, which bm25s implements as method "lucene"):
    score(d) = sum_t qtf_t * idf_t * tf / (tf + k1 * (1 - b + b * dl / avgdl)),
    idf_t = ln(1 + (N - df + 0.5) / (df + 0.5)).
A query term repeated k times counts k times (Lucene boosts the clause by its count; bm25s sums
repeated token ids). Only documents containing at least one query term are hits, ranked by
score and then by asin ascending, top 50.

Differences from the original, by construction: document lengths are exact (Lucene stores them
lossily in one byte) and the tokenizer is a regular expression, so rankings are near-identical
rather than bit-identical.
"""

from __future__ import annotations

import re
from typing import Sequence

import bm25s
import numpy as np
import Stemmer

from environments.webshop.products import Product

K1, B = 0.9, 0.4
SEARCH_RETURN_N = 50

LUCENE_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split())

_WORD = re.compile(r"[^\W_]+(?:[.'\u2019][^\W_]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")


class Analyzer:
  """Text -> analysed terms (see module docstring)."""

  def __init__(self):
    self._stemmer = Stemmer.Stemmer("porter")

  def __call__(self, text: str) -> list[str]:
    words = [_POSSESSIVE.sub("", w) for w in _WORD.findall(text.lower())]
    words = [w for w in words if w and w not in LUCENE_STOPWORDS]
    return self._stemmer.stemWords(words)


def index_text(p: Product) -> str:
  option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in p.options.items())
  first_bullet = p.bullet_points[0] if p.bullet_points else ""
  return f"{p.title} {p.description} {first_bullet} {option_text}".lower()


class SearchEngine:
  """BM25 retrieval over a fixed list of products.

  Args:
    products: the catalog, in order (asins must be unique).
  """

  def __init__(self, products: Sequence[Product]):
    self.analyzer = Analyzer()
    self.asins = np.array([p.asin for p in products])
    docs = [self.analyzer(index_text(p)) for p in products]
    # bm25s cannot index an empty document; a placeholder term no query can contain keeps the
    # document in the index with its true (zero) match to every query.
    docs = [d if d else ["\x00empty"] for d in docs]
    self._bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
    self._bm25.index(docs, show_progress=False)

  def scores(self, query: str) -> np.ndarray:
    """[num_products] BM25 score of every product for `query` (0 = no term matches)."""
    ids = self._bm25.get_tokens_ids(self.analyzer(query))
    if not ids:
      return np.zeros(len(self.asins), np.float32)
    return np.asarray(self._bm25.get_scores_from_ids(ids))

  def search(self, query: str, k: int = SEARCH_RETURN_N) -> list[str]:
    """The asins of the top-k hits, by score then asin."""
    scores = self.scores(query)
    hits = np.flatnonzero(scores > 0)
    order = np.lexsort((self.asins[hits], -scores[hits]))
    return [str(a) for a in self.asins[hits[order[:k]]]]
