"""Unit tests of common/embeddings.py: counts by hand, PPMI, SVD vectors that capture similarity."""

import numpy as np
import pytest

from common.embeddings import cooccurrence_counts, ppmi, pretrained_embeddings, svd_embeddings


def test_counts_by_hand_and_never_across_texts():
    counts = cooccurrence_counts([np.array([2, 3, 4]), np.array([4, 5, 1, 0])], vocab_size=6, window=2).toarray()
    expected = np.zeros((6, 6))
    for a, b, weight in ((2, 3, 1), (3, 4, 1), (2, 4, 0.5), (4, 5, 1)):
        expected[a, b] = expected[b, a] = weight
    np.testing.assert_allclose(counts, expected)  # no 4-4 pair across the two texts; ids 0 and 1 ignored


def test_ppmi_is_positive_and_sparse():
    counts = cooccurrence_counts([np.array([2, 3, 2, 3, 4, 5, 4, 5])], vocab_size=6, window=1)
    matrix = ppmi(counts)
    assert (matrix.data > 0).all()
    assert matrix[2, 3] > 0 and matrix[2, 4] == 0  # 2 and 3 always meet; 2 and 4 never do


def test_vectors_put_words_of_the_same_contexts_together():
    """Words 2 and 3 share contexts (10, 11); 4 lives elsewhere (12, 13)."""
    rng = np.random.default_rng(0)
    texts = []
    for _ in range(400):
        texts.append(np.array([10, rng.choice([2, 3]), 11]))
        texts.append(np.array([12, 4, 13]))
        texts.append(rng.integers(14, 30, size=5))
    vectors = pretrained_embeddings(texts, vocab_size=30, dimensions=5, window=1)
    assert vectors.shape == (30, 5) and not vectors[:2].any()  # padding and unknown stay zero
    np.testing.assert_allclose(np.linalg.norm(vectors[2:5], axis=1), 1, rtol=1e-5)
    assert vectors[2] @ vectors[3] > 0.9 > vectors[2] @ vectors[4]


def test_too_many_dimensions_is_an_error():
    with pytest.raises(ValueError, match="must be smaller than the vocabulary"):
        svd_embeddings(ppmi(cooccurrence_counts([np.array([2, 3])], 4)), dimensions=4)
