"""Character-level text: corpora, a sorted vocabulary, the validation split and the baselines.

Chapter: 004 §5.1.1 (character-level language model: data preprocessing)
         and 002 §4 (the NumPy RNN reads the same corpus).

A character model sees text as a sequence of character ids. The vocabulary
is the sorted set of characters of the corpus, saved with the model, so a
model trained in one process maps characters the same way in another.
"""

import json
import math
from pathlib import Path

import numpy as np

from common.data import DamagedDataError, fetch, read_utf8, resolve_data_dir

# name -> (file, canonical URL, published checksum or None)
CORPORA = {
    # The TensorFlow text-generation tutorial's copy of char-rnn's tiny Shakespeare.
    "shakespeare": (
        "shakespeare.txt",
        "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
    # The Keras character-LSTM example's corpus; no checksum is published for it.
    "nietzsche": ("nietzsche.txt", "https://s3.amazonaws.com/text-datasets/nietzsche.txt", None),
}
VOCABULARY_FILE = "vocabulary.json"


def load_corpus(name="shakespeare", text_file=None, data_dir=None):
    """(text, path): `text_file` if given, else corpus `name` from the data directory (downloaded if missing)."""
    if text_file is not None:
        path = Path(text_file)
    else:
        if name not in CORPORA:
            raise ValueError(f"unknown corpus {name!r}; choose one of {sorted(CORPORA)} or give a text file")
        filename, url, checksum = CORPORA[name]
        path = fetch(filename, url, resolve_data_dir(data_dir), checksum=checksum)
    return read_utf8(path), path


def load_text(corpus="shakespeare", text_file=None, data_dir=None, max_chars=None, sequence_length=100):
    """(vocabulary, train ids, validation ids) of a character model's text: `text_file`, else `corpus`.

    The first `max_chars` characters are kept when given; the last 10% is
    validation (see split_for_validation). A text too short for two windows
    of sequence_length + 1 characters in that tail is a DamagedDataError
    (also one that is missing, unreadable or not UTF-8).
    """
    text, path = load_corpus(corpus, text_file, data_dir)
    text = text[:max_chars]
    needed = 20 * (sequence_length + 1)  # two windows (inputs + the shifted last target) in the 10% tail
    if len(text) < needed:
        raise DamagedDataError(
            f"{path} has {len(text):,} characters, too short to train on: two windows of sequence length "
            f"{sequence_length} + 1 in the validation tail (10%) need at least {needed:,}. "
            f"Use a longer text or a shorter --sequence-length."
        )
    vocabulary = CharVocabulary.from_text(text)
    train_ids, val_ids = split_for_validation(vocabulary.encode(text))
    print(
        f"{path}: {len(text):,} characters, vocabulary {len(vocabulary)}; train {len(train_ids):,}, "
        f"validation {len(val_ids):,}"
    )
    return vocabulary, train_ids, val_ids


class CharVocabulary:
    """Sorted characters <-> ids (0 .. size-1)."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        if not self.chars:
            raise ValueError("a character vocabulary needs at least one character; the text is empty")
        self.index = {char: i for i, char in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        return cls(text)

    def __len__(self):
        return len(self.chars)

    def unknown(self, text):
        """Characters of `text` that the vocabulary lacks, sorted."""
        return sorted(set(text) - self.index.keys())

    def encode(self, text):
        """(len(text),) int32 ids; a `ValueError` that lists any character the model never saw."""
        missing = self.unknown(text)
        if missing:
            raise ValueError(
                f"characters not in the model's vocabulary: {''.join(missing)!r} "
                f"(it knows {len(self)}: {''.join(self.chars)!r})"
            )
        return np.array([self.index[char] for char in text], dtype=np.int32)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)

    def save(self, path):
        Path(path).write_text(json.dumps({"chars": self.chars}, ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, path):
        try:
            return cls(json.loads(Path(path).read_text(encoding="utf-8"))["chars"])
        except (OSError, ValueError, KeyError) as error:
            raise DamagedDataError(f"cannot read the vocabulary {path}: {error}") from None


def split_for_validation(ids, fraction=0.1):
    """(train, validation): the last `fraction` of the text is validation, never trained on.

    A tail, not random windows: random windows would share sentences and
    scenes with training and make the validation loss look better than it is.
    """
    split = int(len(ids) * (1 - fraction))
    return ids[:split], ids[split:]


def uniform_loss(vocab_size):
    """Cross-entropy (nats/char) of guessing every character with equal probability: log V."""
    return math.log(vocab_size)


def unigram_loss(train_ids, val_ids, vocab_size):
    """Cross-entropy (nats/char) on validation of character frequencies counted on the training text."""
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0  # add-one: unseen characters are possible
    return float(-np.log(counts / counts.sum())[val_ids].mean())


def nats_to_bits(nats):
    return nats / math.log(2)
