"""Word vectors learned from unlabelled text: co-occurrence counts -> PPMI -> truncated SVD.

Chapter: 004 §7.3 (pretrained word vectors: word2vec, GloVe). Downloading
GloVe is not always possible, and its vocabulary is not the data set's; this
learns vectors of the same kind from the example's own unlabelled text in a
minute on a CPU. Levy, Goldberg & Dagan (2015) show that positive PMI with
context-distribution smoothing, factorised by SVD, matches word2vec and
GloVe on word-similarity tasks.
"""

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD


def cooccurrence_counts(sequences, vocab_size, window=5, first_word_id=2):
    """Symmetric (vocab, vocab) counts of words within `window` tokens, weighted 1/distance.

    `sequences` are token-id arrays; ids below `first_word_id` (padding 0 and
    out-of-vocabulary 1) are not words and are left out. Pairs never cross
    from one text into the next.
    """
    tokens = np.concatenate([np.append(sequence, -1) for sequence in sequences])  # -1 ends each text
    counts = sparse.csr_matrix((vocab_size, vocab_size), dtype="float64")
    for distance in range(1, window + 1):
        left, right = tokens[:-distance], tokens[distance:]
        # A pair is valid when both are words and no text boundary lies between them.
        ends = np.cumsum(tokens == -1)
        same_text = ends[:-distance] == ends[distance:] - (tokens[distance:] == -1)
        keep = (left >= first_word_id) & (right >= first_word_id) & same_text
        pairs = sparse.coo_matrix(
            (np.full(keep.sum(), 1.0 / distance), (left[keep], right[keep])), shape=(vocab_size, vocab_size)
        )
        counts = counts + pairs.tocsr()
    return counts + counts.T


def ppmi(counts, smoothing=0.75):
    """Positive pointwise mutual information of a count matrix, context counts raised to `smoothing`.

    PMI(w, c) = log P(w, c) / (P(w) P_s(c)); negative values (pairs seen less
    often than chance) are set to 0, which also keeps the matrix sparse.
    """
    counts = sparse.csr_matrix(counts)
    total = counts.sum()
    word_totals = np.asarray(counts.sum(axis=1)).ravel()
    context_totals = np.asarray(counts.sum(axis=0)).ravel() ** smoothing
    context_totals /= context_totals.sum()
    rows, cols = counts.nonzero()
    values = np.asarray(counts[rows, cols]).ravel()
    pmi = np.log(values * 1.0 / total) - np.log(word_totals[rows] / total) - np.log(context_totals[cols])
    positive = pmi > 0
    return sparse.csr_matrix((pmi[positive], (rows[positive], cols[positive])), shape=counts.shape)


def svd_embeddings(matrix, dimensions, seed=0):
    """(vocab, dimensions) unit-length word vectors from a PPMI matrix (U * sqrt(S), as Levy et al.).

    Words that never co-occurred (rows of zeros) get zero vectors.
    """
    if dimensions >= min(matrix.shape):
        raise ValueError(f"dimensions={dimensions} must be smaller than the vocabulary ({min(matrix.shape)})")
    svd = TruncatedSVD(n_components=dimensions, random_state=seed, algorithm="randomized", n_iter=7)
    vectors = svd.fit_transform(matrix) / np.sqrt(svd.singular_values_)  # U * S / sqrt(S) = U * sqrt(S)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0).astype("float32")


def pretrained_embeddings(sequences, vocab_size, dimensions, window=5, seed=0):
    """Word vectors for ids 0..vocab_size-1 learned from `sequences`; ids 0 and 1 stay zero."""
    return svd_embeddings(ppmi(cooccurrence_counts(sequences, vocab_size, window)), dimensions, seed)
