"""Count-based baselines for the word language model: a unigram model and interpolated Kneser-Ney n-grams.

Chapter: 004 §6.1.1 (language models; the n-gram models that RNNs replaced).

Both see the same token ids as the network: 0 is padding (never a word; here
it also marks the start of a review in an n-gram's context), 1 the unknown
word, 2.. the vocabulary. Both predict every token of a review after its
first, from the tokens before it, as the network's forward direction does, so
the perplexities compare. NLTK's `nltk.lm` would take hours on 17 million
words; these count with NumPy (sorted integer keys) in a minute.
"""

import numpy as np

START = 0  # the context before a review's first word (the padding id: never a word itself)


def perplexity_of(log_probabilities):
    """exp(-mean log P) of an array of per-word log probabilities."""
    return float(np.exp(-np.mean(log_probabilities)))


class Unigram:
    """P(word) = (count + 1) / (words + outcomes): word frequencies with add-one smoothing, so that a word of the
    vocabulary that training never saw still gets a probability. Outcomes: ids 1 .. vocab_size - 1."""

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size

    def fit(self, sequences):
        counts = np.bincount(np.concatenate(sequences), minlength=self.vocab_size)[: self.vocab_size]
        counts[START] = 0
        probabilities = (counts + 1) / (counts.sum() + self.vocab_size - 1)
        probabilities[START] = 0.0  # never a word
        with np.errstate(divide="ignore"):
            self.log_probabilities = np.log(probabilities)
        return self

    def log_probabilities_of(self, sequences):
        """log P of every token after the first of each sequence, concatenated."""
        return np.concatenate([self.log_probabilities[np.asarray(s)[1:]] for s in sequences])


class KneserNey:
    """Interpolated Kneser-Ney smoothing of order n (Chen & Goodman 1999), one absolute discount per order.

    P_k(w | h) = max(a_k(hw) - D_k, 0) / S_k(h) + D_k T_k(h) / S_k(h) * P_{k-1}(w | h without its first word)

    with a_n the counts of n-grams, a_k (k < n) their continuation counts (how
    many different words precede the k-gram), S_k(h) the sum of a_k(hw) over
    w, T_k(h) the number of different w with a_k(hw) > 0, D_k = n1 / (n1 + 2 n2)
    from the numbers of k-grams seen once and twice, and P_0 uniform over the
    vocabulary. A context never seen (S_k(h) = 0) hands its mass down whole.
    Probabilities sum to 1 over the vocabulary in every context.
    """

    def __init__(self, order, vocab_size):
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        self.order, self.vocab_size = order, vocab_size

    def _keys(self, grams):
        """(rows, k) ids -> one int64 key per row (base vocab_size digits)."""
        keys = np.zeros(len(grams), dtype="int64")
        for column in range(grams.shape[1]):
            keys = keys * self.vocab_size + grams[:, column]
        return keys

    def _grams(self, sequences, with_first=True):
        """(rows, order) ids: each token with its order - 1 predecessors (START before a review's beginning)."""
        width = self.order
        rows = []
        for sequence in sequences:
            padded = np.concatenate([np.full(width - 1, START, dtype="int64"), np.asarray(sequence, dtype="int64")])
            windows = np.lib.stride_tricks.sliding_window_view(padded, width)
            rows.append(windows if with_first else windows[1:])
        return np.concatenate(rows) if rows else np.zeros((0, width), dtype="int64")

    def fit(self, sequences):
        grams = np.unique(self._keys(self._grams(sequences)), return_counts=True)
        self.tables = [None] * (self.order + 1)
        for k in range(self.order, 0, -1):
            keys, counts = grams
            self.tables[k] = self._table(keys, counts)
            if k > 1:  # continuation counts of the (k-1)-grams: how many distinct words precede each
                shorter = keys % self.vocab_size ** (k - 1)
                grams = np.unique(shorter, return_counts=True)
        return self

    def _table(self, keys, counts):
        """What P_k needs: sorted k-gram keys and their counts, and per context (the first k-1 words) S and T."""
        ones, twos = np.sum(counts == 1), np.sum(counts == 2)
        discount = ones / (ones + 2 * twos) if ones else 0.5
        discount = float(np.clip(discount, 0.05, 0.95))  # a discount of 0 or 1 would leave no mass or no count
        contexts, first = np.unique(keys // self.vocab_size, return_index=True)
        sums = np.add.reduceat(counts, first)
        types = np.diff(np.append(first, len(keys)))
        return {
            "keys": keys,
            "counts": counts,
            "discount": discount,
            "contexts": contexts,
            "sums": sums,
            "types": types,
        }

    @staticmethod
    def _lookup(sorted_keys, values, keys):
        """values[i] where sorted_keys[i] == key, else 0, for each key."""
        index = np.clip(np.searchsorted(sorted_keys, keys), 0, max(len(sorted_keys) - 1, 0))
        found = (sorted_keys[index] == keys) if len(sorted_keys) else np.zeros(len(keys), bool)
        return np.where(found, values[index] if len(values) else 0, 0)

    def _probabilities(self, grams):
        """P_n(last column | the columns before it) for (rows, order) ids."""
        probabilities = np.full(len(grams), 1.0 / (self.vocab_size - 1))  # P_0: uniform over words and unknown
        for k in range(1, self.order + 1):
            table = self.tables[k]
            suffix = grams[:, self.order - k :]
            count = self._lookup(table["keys"], table["counts"], self._keys(suffix))
            context = self._keys(suffix[:, :-1])
            total = self._lookup(table["contexts"], table["sums"], context).astype("float64")
            types = self._lookup(table["contexts"], table["types"], context)
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            discount = table["discount"]
            interpolated = np.maximum(count - discount, 0) / safe + discount * types / safe * probabilities
            probabilities = np.where(seen, interpolated, probabilities)
        return probabilities

    def log_probabilities_of(self, sequences):
        """log P of every token after the first of each sequence, concatenated."""
        return np.log(self._probabilities(self._grams(sequences, with_first=False)))

    def distribution(self, context):
        """(vocab_size,) P(w | context) over every id (0 for padding); `context` holds the preceding ids."""
        history = ([START] * (self.order - 1) + list(context))[len(context) :]  # the last order - 1 ids
        words = np.arange(1, self.vocab_size)
        grams = np.column_stack([np.tile(np.asarray(history, dtype="int64"), (len(words), 1)), words])
        return np.concatenate([[0.0], self._probabilities(grams)])
