"""The language model's text: IMDB's training and unlabelled reviews as token ids, in review-sized pieces.

Chapter: 004 §7.2 (data sets for language models).

Only `aclImdb/train/{pos,neg,unsup}` is read, never a test review, so a
classifier fine-tuned from this model is still tested on text no part of it
has seen. Validation holds out whole reviews: a window of a review that also
trains would make the validation text partly known.
"""

import numpy as np
import tensorflow as tf

from common.reviews import load_reviews
from common.text import batch_by_length, batch_sizes_for_words, length_buckets


def language_model_texts(data_dir):
    """The training and unlabelled reviews (75,000 in the full archive), in a fixed order; never a test review.

    A copy of the archive without `train/unsup` is refused (DamagedDataError naming what is missing).
    """
    data = load_reviews(data_dir, splits=("train",), require_unlabelled=True)
    return [*data["train"][0], *data["unlabelled"]]


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
