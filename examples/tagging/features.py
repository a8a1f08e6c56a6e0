"""A feature-based baseline: a linear classifier per word over hand-made features of the word and its neighbours.

Chapter: 004 §6.1.4 (named-entity recognition). Before recurrent networks,
taggers were linear models over features a person chose: the word, its
shape ("Xxxx", "dd"), its prefixes and suffixes, its neighbours. This one
tags each word on its own (no sequence decoding), so it shows what the
recurrent tagger adds beyond spelling and a one-word window: long context,
and learned rather than chosen features.
"""

import re

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import SGDClassifier

_SHAPE = ((re.compile(r"[A-ZÀ-ÖØ-Þ]"), "X"), (re.compile(r"[a-zß-öø-ÿ]"), "x"), (re.compile(r"\d"), "d"))


def shape(word):
    """The word's shape with runs squeezed: "González" -> "Xx", "1.500" -> "d.d", "EFE" -> "X"."""
    for pattern, letter in _SHAPE:
        word = pattern.sub(letter, word)
    return re.sub(r"(.)\1+", r"\1", word)


def word_features(words, position):
    """The features of one word: itself, its shape, affixes and case, and the same of its neighbours."""
    word = words[position]
    features = {
        "word": word.lower(),
        "shape": shape(word),
        "prefix3": word[:3].lower(),
        "suffix3": word[-3:].lower(),
        "suffix2": word[-2:].lower(),
        "title": word.istitle(),
        "upper": word.isupper(),
        "first": position == 0,
    }
    for offset in (-2, -1, 1, 2):
        neighbour = position + offset
        inside = 0 <= neighbour < len(words)
        features[f"word{offset:+d}"] = words[neighbour].lower() if inside else "<edge>"
        features[f"shape{offset:+d}"] = shape(words[neighbour]) if inside else "<edge>"
    features["pair-1"] = f"{features['word-1']}|{features['word']}"
    return features


def _int32_indices(matrix):
    """The sparse matrix with 32-bit indices: DictVectorizer may give 64-bit ones, which SGDClassifier refuses."""
    matrix.indices, matrix.indptr = matrix.indices.astype(np.int32), matrix.indptr.astype(np.int32)
    return matrix


class FeatureTagger:
    """Logistic regression (stochastic gradient descent, seeded) on `word_features`, one word at a time."""

    def __init__(self, sentences, column, seed=42):
        self.vectorizer = DictVectorizer()
        features = _int32_indices(self.vectorizer.fit_transform(self._features([s[0] for s in sentences])))
        tags = np.concatenate([sentence[column] for sentence in sentences])
        self.classifier = SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=15, tol=None, random_state=seed)
        self.classifier.fit(features, tags)

    @staticmethod
    def _features(sentences):
        return [word_features(words, position) for words in sentences for position in range(len(words))]

    def tag_all(self, sentences):
        """The predicted tags of each sentence (a list of words)."""
        features = _int32_indices(self.vectorizer.transform(self._features(sentences)))
        predicted = iter(self.classifier.predict(features))
        return [[next(predicted) for _ in words] for words in sentences]
