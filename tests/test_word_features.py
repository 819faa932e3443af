"""The word head's features: the analyzer scikit-learn trains with is the one scoring uses, and numpy tf-idf matches it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.word_features import Lexicon, analyze

TEXTS = [
    "Reward hacking in RLHF: the policy exploits the reward model's blind spots.",
    "Naïve Bayes vs. logistic regression — a café-side comparison (2024).",
    "We release no prompts; the jailbreak suite stays with the vendors.",
    "Sparse autoencoders find monosemantic features in the residual stream.",
    "x y z  a1 B2 ÉTÉ été ete",
    "",
]


def test_analyze_matches_scikit_learns_word_and_bigram_analyzer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    reference = TfidfVectorizer(strip_accents="unicode", ngram_range=(1, 2)).build_analyzer()
    for text in TEXTS:
        assert analyze(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_analyze_matches_scikit_learn_on_any_text(text):
    from sklearn.feature_extraction.text import TfidfVectorizer

    assert analyze(text) == TfidfVectorizer(strip_accents="unicode", ngram_range=(1, 2)).build_analyzer()(text)


def test_numpy_scoring_equals_scikit_learns_tfidf_rows():
    lexicon, matrix = Lexicon.fit(TEXTS * 2)  # every term twice, so each passes the two-document floor
    rng = np.random.default_rng(0)
    weights, bias = rng.normal(size=(3, len(lexicon.terms))).astype(np.float32), np.array([0.5, -1.0, 0.0], dtype=np.float32)
    expected = matrix[: len(TEXTS)].toarray() @ weights.T + bias
    assert np.allclose(lexicon.logits(TEXTS, weights, bias), expected, atol=1e-5)


def test_unknown_words_score_the_bias_alone():
    lexicon, _ = Lexicon.fit(TEXTS * 2)
    weights = np.ones((1, len(lexicon.terms)), dtype=np.float32)
    assert lexicon.logits(["zzzz qqqq", ""], weights, np.array([0.25], dtype=np.float32))[:, 0].tolist() == [0.25, 0.25]
