"""The language model's text: IMDB reviews or Reuters stories as token ids, in document-sized pieces.

Chapter: 004 §7.2 (data sets for language models).

Each corpus is read without its test documents (IMDB: `aclImdb/train/{pos,
neg,unsup}`; Reuters: ModApte's training stories and the Reuters-21578
stories outside ModApte), so a classifier fine-tuned from the model is still
tested on text no part of it has seen. Validation holds out whole documents:
a window of a document that also trains would make the validation text
partly known.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from common import reuters
from common.reviews import load_reviews
from common.text import batch_by_length, batch_sizes_for_words, clean_text, length_buckets


def imdb_texts(data_dir):
    """The training and unlabelled reviews (75,000 in the full archive), in a fixed order; never a test review.

    A copy of the archive without `train/unsup` is refused (DamagedDataError naming what is missing).
    """
    data = load_reviews(data_dir, splits=("train",), require_unlabelled=True)
    return [*data["train"][0], *data["unlabelled"]]


def reuters_texts(data_dir):
    """ModApte's training stories (7,769) and the Reuters-21578 stories outside ModApte (10,113), as the Reuters
    classifier's tokens, in a fixed order; never a test story (the classifier is tested on those)."""
    reader = reuters.open_reader(data_dir)
    _, training, _ = reuters.load_split(reader, "training")
    modapte = {int(fileid.split("/")[1]) for fileid in reader.fileids()}  # training and test: both kept out
    return [*training, *reuters.unlabelled_stories(data_dir, modapte)]


def _imdb_words(text):
    return clean_text(np.array([text], dtype=object)).numpy()[0].decode("utf-8").split()


def _reuters_words(text):
    return reuters.tokenize(text).split()


@dataclass(frozen=True)
class Corpus:
    """What a language model reads: `texts(data_dir)`, the text given to the vectoriser's `standardize` (None:
    the texts are already space-separated tokens), and `words(text)`, any text as the words the model sees."""

    texts: callable
    standardize: callable
    words: callable
    what: str  # for titles and messages
    documents: str  # what one document is called


CORPORA = {
    "imdb": Corpus(imdb_texts, clean_text, _imdb_words, "IMDB reviews", "reviews"),
    "reuters": Corpus(reuters_texts, None, _reuters_words, "Reuters stories", "stories"),
}


def language_model_texts(data_dir, corpus="imdb"):
    """The documents a language model of `corpus` (a key of CORPORA) learns from; never a test document."""
    return CORPORA[corpus].texts(data_dir)


def split_reviews(texts, validation_fraction, seed):
    """(training texts, validation texts): a random `validation_fraction` of whole reviews held out."""
    order = np.random.default_rng(seed).permutation(len(texts))
    held_out = max(1, round(validation_fraction * len(texts)))
    if held_out >= len(texts):
        raise ValueError(f"{len(texts)} review(s) cannot give both training and validation reviews")
    return [texts[i] for i in sorted(order[held_out:])], [texts[i] for i in sorted(order[:held_out])]


def pieces(sequences, sequence_length):
    """Reviews of token ids cut into consecutive pieces of at most `sequence_length` ids; pieces of fewer than
    two ids are dropped (nothing to predict from a single word)."""
    cut = [
        sequence[start : start + sequence_length]
        for sequence in sequences
        for start in range(0, len(sequence), sequence_length)
    ]
    return [piece for piece in cut if len(piece) >= 2]


def token_batches(sequences, words_per_batch, shuffle, seed):
    """tf.data of (batch, time) int32 ids, 0-padded on the right, pieces of similar length batched together,
    about `words_per_batch` ids a batch (many short reviews, or a few long ones).

    The targets are the inputs themselves, shifted inside the model's loss
    (WordLanguageModel.compute_loss), so the dataset yields the ids alone.
    """
    lengths = np.array([len(sequence) for sequence in sequences])
    tokens = tf.constant(np.concatenate(sequences).astype("int32"))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    dataset = tf.data.Dataset.from_tensor_slices((starts, lengths))
    if shuffle:
        dataset = dataset.shuffle(len(sequences), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda start, length: tokens[start : start + length])
    boundaries = length_buckets(int(lengths.max()))
    sizes = batch_sizes_for_words(boundaries, words_per_batch, int(lengths.max()))
    return batch_by_length(dataset, lengths, boundaries, sizes, element_length=lambda x: tf.shape(x)[0])
