"""Text to token ids for the text classifiers: cleaning, vectorising, bucketing.

Chapter: 004 §5.3.2 (text preprocessing) and §9.3 (variable-length input).

The pieces here are Keras layers and `tf.data` steps, so the same cleaning
runs in training and inside the saved end-to-end model that reads raw text.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.cli import model_options
from common.models import build_rnn_model

# Punctuation becomes spaces, except the apostrophe inside words ("don't").
_PUNCTUATION = r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~]"""


@keras.saving.register_keras_serializable(package="rnn_examples")
def clean_text(text):
    """Lower-case, turn HTML line breaks (`<br />`, common in IMDB) and punctuation into spaces.

    Registered as serializable so a saved `TextVectorization` that uses it
    loads again in another process (after this module is imported).
    """
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    text = tf.strings.regex_replace(text, r"<[^>]*>", " ")  # any other tag
    text = tf.strings.regex_replace(text, r"'(\s|$)|(^|\s)'", " ")  # quotes, not apostrophes
    return tf.strings.regex_replace(text, _PUNCTUATION, " ")


@keras.saving.register_keras_serializable(package="rnn_examples")
class TruncateSequence(keras.layers.Layer):
    """Keep the first `max_length` token ids: (batch, time) -> (batch, min(time, max_length)).

    Training truncates long reviews to bound the cost per batch; the saved
    model truncates the same way, so it sees what it was trained on.
    """

    def __init__(self, max_length, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def call(self, token_ids):
        return token_ids[:, : self.max_length]

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


def make_vectorizer(texts, max_tokens, standardize=clean_text, split="whitespace"):
    """A `TextVectorization` fitted on `texts` (training text only, never test).

    Its vocabulary is sorted by frequency, then alphabetically (Keras' order),
    index 0 is padding and 1 out-of-vocabulary, and it is saved with the model.
    """
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=standardize, split=split, name="vectorize"
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return vectorizer


def encode(vectorizer, texts, max_length, chunk_size=1024):
    """Token ids of each text, truncated: a list of int32 arrays of varying length.

    Vectorised in chunks: one (n, longest) matrix for 25,000 reviews would
    take gigabytes, since the longest review sets the width.
    """
    texts = list(texts)
    sequences = []
    for start in range(0, len(texts), chunk_size):
        ids = vectorizer(tf.constant(texts[start : start + chunk_size])).numpy()  # 0-padded on the right
        lengths = np.count_nonzero(ids, axis=1)
        sequences += [row[: min(length, max_length)].astype("int32") for row, length in zip(ids, lengths, strict=True)]
    return sequences


def length_buckets(max_length):
    """Bucket boundaries below max_length: every 32 tokens up to 128, then 1.5 times apart.

    Short texts are common, so fine buckets there; long ones are rare, so
    coarse buckets there still fill their batches.
    """
    boundaries = [boundary for boundary in (32, 64, 96, 128) if boundary < max_length]
    boundary = 192
    while boundary < max_length:
        boundaries.append(boundary)
        boundary = boundary * 3 // 2
    return boundaries


def bucketed_batch_count(lengths, boundaries, batch_size):
    """How many batches `bucket_by_sequence_length` makes: each bucket's full batches and its remainder."""
    buckets = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    return int(np.sum(-(-buckets // batch_size)))


def batch_by_length(dataset, lengths, boundaries, batch_size, element_length, padded_shapes=None):
    """`dataset` (one element per entry of `lengths`) in batches of similar length, 0-padded on the right.

    `element_length(*element)` gives an element's length as a tensor. The
    batch count is asserted because tf.data cannot know it in advance: Keras
    would show no total in the first epoch's progress bar and warn that the
    input "ran out of data".
    """
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=element_length,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padded_shapes=padded_shapes,
    )
    batches = bucketed_batch_count(lengths, boundaries, batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)


def bucketed_dataset(sequences, labels, batch_size, shuffle, seed):
    """Batches of sequences of similar length, padded with 0 on the right.

    Right ("post") padding plus `mask_zero=True` keeps the cuDNN kernel usable
    on GPU; bucketing by length means a batch of short reviews is not padded to
    the length of the longest review in the data set, which saves most of the
    CPU time an RNN would spend on padding.
    """
    labels = np.asarray(labels)
    lengths = np.array([len(sequence) for sequence in sequences])
    if lengths.min() < 1:
        raise ValueError("every sequence needs at least one token (empty texts must be dropped first)")
    # All token ids in one flat tensor; each example is a slice of it (start, length).
    tokens = tf.constant(np.concatenate(sequences))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    dataset = tf.data.Dataset.from_tensor_slices((starts, lengths, labels))
    if shuffle:
        dataset = dataset.shuffle(len(sequences), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda start, length, label: (tokens[start : start + length], label))
    return batch_by_length(
        dataset,
        lengths,
        length_buckets(int(lengths.max())),
        batch_size,
        element_length=lambda x, _: tf.shape(x)[0],
        padded_shapes=([None], list(labels.shape[1:])),  # a list: a tuple would read as a nested structure
    )


def text_datasets(vectorizer, splits, max_length, batch_size, seed):
    """Bucketed datasets for [(texts, labels), ...]; only the first (training) split is shuffled."""
    return [
        bucketed_dataset(encode(vectorizer, texts, max_length), labels, batch_size, shuffle=index == 0, seed=seed)
        for index, (texts, labels) in enumerate(splits)
    ]


def raw_text_model(vectorizer, model, max_length, name):
    """Strings (batch,) -> the model's outputs: vectorise, truncate, classify, in one saved model."""
    texts = keras.Input(shape=(), dtype="string", name="text")
    token_ids = TruncateSequence(max_length, name="truncate")(vectorizer(texts))
    return keras.Model(texts, model(token_ids), name=name)


def learn_word_vectors(vectorizer, texts, dimensions, seed):
    """Word vectors for the vectoriser's vocabulary, learned from `texts` (never validation or test)."""
    from common.embeddings import pretrained_embeddings

    if dimensions >= vectorizer.vocabulary_size():
        raise ValueError(
            f"--embedding-dim {dimensions} needs a vocabulary of more words than the "
            f"{vectorizer.vocabulary_size()} found; use a smaller --embedding-dim or --no-pretrained-embeddings"
        )
    started = time.perf_counter()
    sequences = encode(vectorizer, texts, max_length=10**6)
    vectors = pretrained_embeddings(sequences, vectorizer.vocabulary_size(), dimensions, seed=seed)
    print(f"word vectors learned from {len(sequences):,} texts in {time.perf_counter() - started:.0f} s")
    return vectors


def build_text_classifier(
    args, vocab_size, head, num_outputs=1, word_vectors=None, output_biases=None, name="text_rnn"
):
    """Token ids -> the example's head, from the shared text and model options; not compiled.

    The embedding starts from `word_vectors` when given and stays fixed with
    --freeze-embeddings; freezing must happen before `compile`, which fixes
    the list of weights that train. The output layer starts from
    `output_biases` when given (see `common.models.base_rate_biases`).
    """
    model = build_rnn_model(
        head=head,
        num_outputs=num_outputs,
        vocab_size=vocab_size,  # the vocabulary found, at most --max-tokens
        embedding_dim=args.embedding_dim,
        mask_zero=True,  # id 0 is padding; with right padding the cuDNN kernel stays usable
        embedding_dropout=args.embedding_dropout,
        pooling=args.pooling,
        **model_options(args),
        name=name,
    )
    if word_vectors is not None:
        embedding = model.get_layer("embedding")
        embedding.set_weights([word_vectors])
        embedding.trainable = not args.freeze_embeddings
    if output_biases is not None:
        output = model.get_layer("output")
        kernel, _ = output.get_weights()
        output.set_weights([kernel, output_biases])
    return model


def read_texts(arguments, file_path):
    """Texts to classify, from command-line arguments, else a file, else standard input (one text per line)."""
    if arguments:
        return list(arguments)
    raw = Path(file_path).read_text(encoding="utf-8", errors="replace") if file_path else sys.stdin.read()
    return raw.splitlines()
