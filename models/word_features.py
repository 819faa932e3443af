"""The word head's features: one analyzer for training and scoring, and tf-idf scoring in plain numpy."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"\b\w\w+\b")
MIN_DOCUMENTS = 2  # a term must occur in this many training texts to enter the lexicon


def analyze(text: str) -> list[str]:
    """Lower-cased, accent-stripped words of two or more characters, and each adjacent pair of them.

    scikit-learn's TfidfVectorizer calls this when training, and `Lexicon` when scoring, so both see the same terms
    without importing scikit-learn (1.5 s) at scoring time.
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = _TOKEN.findall(plain)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


@dataclass
class Lexicon:
    """Terms with their inverse document frequencies; texts become sublinear, L2-normalised tf-idf rows."""

    terms: list[str]
    idf: np.ndarray  # (terms,)

    def __post_init__(self) -> None:
        self._index = {term: i for i, term in enumerate(self.terms)}

    @classmethod
    def fit(cls, texts: list[str]):
        """The lexicon of `texts` and their tf-idf matrix (scipy sparse), for training; `logits` scores other texts."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer=analyze, min_df=MIN_DOCUMENTS, sublinear_tf=True, dtype=np.float32)
        matrix = vectorizer.fit_transform(texts)
        terms = [""] * len(vectorizer.vocabulary_)
        for term, column in vectorizer.vocabulary_.items():
            terms[column] = term
        return cls(terms=terms, idf=vectorizer.idf_.astype(np.float32)), matrix

    def _row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(i for i in map(self._index.get, analyze(text)) if i is not None)
        index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf[index]
        norm = float(np.sqrt((values**2).sum()))
        return index, (values / norm if norm > 0 else values).astype(np.float32)

    def logits(self, texts: list[str], weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """(texts, heads) linear logits of the word heads: weights (heads, terms), bias (heads,)."""
        out = np.empty((len(texts), len(bias)), dtype=np.float32)
        for i, text in enumerate(texts):
            index, values = self._row(text)
            out[i] = weights[:, index] @ values + bias
        return out


@dataclass
class WordHead:
    """A probe's word heads: the lexicon, each bootstrap member's weights, and each head's weight in the stack."""

    lexicon: Lexicon
    heads: list[str]  # the probe heads that have a word head, in the order of the arrays below
    weights: np.ndarray  # (members, heads, terms)
    bias: np.ndarray  # (members, heads)
    scale: np.ndarray  # (heads,) the stacking weight d

    def logits(self, texts: list[str]) -> np.ndarray:
        """(members, texts, heads): each member's word logits, already weighted for the stack."""
        members, count, terms = self.weights.shape
        words = self.lexicon.logits(texts, self.weights.reshape(-1, terms), self.bias.reshape(-1))
        return self.scale * words.reshape(len(texts), members, count).transpose(1, 0, 2)
