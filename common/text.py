"""Text to token ids for the text classifiers: cleaning, vectorising, bucketing.

Chapter: 004 §5.3.2 (text preprocessing) and §9.3 (variable-length input).

The pieces here are Keras layers and `tf.data` steps, so the same cleaning
runs in training and inside the saved end-to-end model that reads raw text.
"""

import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy import sparse
from sklearn.preprocessing import normalize

from common.embeddings import pretrained_embeddings
from common.saving import SavedModelError, check_round_trip, load_for_use, read_sidecar

# Punctuation becomes spaces, except the apostrophe inside words ("don't").
_PUNCTUATION = r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~]"""
# Control characters (Cc: \t \n \r \x0b \x0c \x1c-\x1e \x85 ...) and Unicode separators (Z: \xa0 and the other
# spaces, \u2028 line, \u2029 paragraph) become spaces. TextVectorization splits on ASCII whitespace only, so
# without this "good\x85film" would be one token; Keras saves the vocabulary one token per line and reads it
# back with str.splitlines(), which also breaks at \x85, \u2028, \x0b ...: the saved model would not load.
SEPARATORS = r"[\p{Cc}\p{Z}]"
# Invisible format characters (Cf: soft hyphen, zero-width space and joiner, direction marks) are dropped, so
# "won\xadderful" is the word "wonderful". (Core TensorFlow has no NFKC normalisation op, and the cleaning must
# run inside the saved model, so full-width and compatibility forms stay as they are written.)
INVISIBLE = r"\p{Cf}"


def check_vocabulary(vocabulary):
    """ValueError if a token would not survive Keras' one-token-per-line vocabulary file (`str.splitlines`)."""
    broken = [token for token in vocabulary if token and len(token.splitlines()) != 1]
    if broken:
        raise ValueError(
            f"{len(broken)} vocabulary token(s) contain a line break and would not load again, e.g. {broken[0]!r}: "
            "the standardisation must turn line and paragraph separators into spaces (see common.text.clean_text)"
        )


@keras.saving.register_keras_serializable(package="rnn_examples")
def clean_text(text):
    """Lower-case (Unicode-aware), turn separators, HTML line breaks (`<br />`, common in IMDB) and punctuation
    into spaces, and drop invisible format characters.

    Registered as serializable so a saved `TextVectorization` that uses it
    loads again in another process (after this module is imported).
    """
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, SEPARATORS, " ")
    text = tf.strings.regex_replace(text, INVISIBLE, "")
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


@keras.saving.register_keras_serializable(package="rnn_examples")
class TfIdf(keras.layers.Layer):
    """Token ids (batch, time), 0-padded -> each text's TF-IDF vector (batch, vocab_size), as scikit-learn's
    `TfidfVectorizer(sublinear_tf=True)` computes it: (1 + log count) x idf for each word of the text, the vector
    scaled to length 1.

    The idf (`inverse_document_frequency`) comes from the training texts and is saved with the model as a weight
    that training leaves alone. Padding (id 0) and the unknown word (id 1) have idf 0, so a text's length and
    padding change nothing. A Dense layer on this vector is the logistic-regression baseline's model; beside a
    recurrent network's features it lets every word of the text reach the output by itself, however rare.
    """

    def __init__(self, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.count = keras.layers.CategoryEncoding(vocab_size, output_mode="count")

    def build(self, input_shape):
        self.idf = self.add_weight(shape=(self.vocab_size,), initializer="zeros", trainable=False, name="idf")

    def call(self, token_ids):
        counts = self.count(token_ids)
        weights = keras.ops.where(counts > 0, 1.0 + keras.ops.log(keras.ops.maximum(counts, 1.0)), 0.0) * self.idf
        return weights / keras.ops.maximum(keras.ops.norm(weights, axis=-1, keepdims=True), 1e-12)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.vocab_size)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size}


def inverse_document_frequency(sequences, vocab_size):
    """Smoothed idf of each token id over the training texts' id sequences, scikit-learn's formula:
    ln((1 + texts) / (1 + texts containing the id)) + 1; 0 for padding (0) and the unknown word (1)."""
    containing = np.zeros(vocab_size)
    for ids in sequences:
        containing[np.unique(ids)] += 1
    idf = np.log((1 + len(sequences)) / (1 + containing)) + 1
    idf[:2] = 0.0
    return idf.astype("float32")


def tf_idf_matrix(sequences, idf):
    """The TF-IDF vectors that `TfIdf` computes, for many id sequences at once as a sparse (texts, ids) matrix:
    what scikit-learn's linear models are fitted on (a dense one would be texts x vocabulary floats)."""
    rows = np.repeat(np.arange(len(sequences)), [len(ids) for ids in sequences])
    columns = np.concatenate([np.asarray(ids, dtype="int64") for ids in sequences] + [np.zeros(0, "int64")])
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(sequences), len(idf)))
    counts.sum_duplicates()  # one entry per (text, id): its count
    counts.data = 1.0 + np.log(counts.data)
    weights = sparse.csr_matrix(counts.multiply(np.asarray(idf, dtype="float64")[None, :]))
    weights.eliminate_zeros()  # padding and unknown words (idf 0)
    return normalize(weights)  # each row to length 1; a row with no known word stays 0


def make_vectorizer(texts, max_tokens, standardize=clean_text, split="whitespace"):
    """A `TextVectorization` fitted on `texts` (training text only, never test).

    Its vocabulary is sorted by frequency, then alphabetically (Keras' order),
    index 0 is padding and 1 out-of-vocabulary, and it is saved with the model.
    """
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=standardize, split=split, name="vectorize"
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    check_vocabulary(vectorizer.get_vocabulary())  # fail now, not when the saved model is loaded
    return vectorizer


def vectorizer_for(vocabulary, standardize=clean_text, split="whitespace"):
    """A `TextVectorization` with a saved vocabulary (ids 0 padding, 1 unknown, then the words), e.g. a pretrained
    language model's, so that a text gets the same token ids as in the model that saved it."""
    vectorizer = keras.layers.TextVectorization(
        vocabulary=list(vocabulary), standardize=standardize, split=split, name="vectorize"
    )
    check_vocabulary(vectorizer.get_vocabulary())
    return vectorizer


def encode(vectorizer, texts, max_length, chunk_size=1024):
    """Token ids of each text, truncated: a list of int32 arrays of varying length.

    Vectorised in chunks: one (n, longest) matrix for 25,000 reviews would
    take gigabytes, since the longest review sets the width.
    """
    texts = list(texts)
    sequences = []
    for start in range(0, len(texts), chunk_size):
        ids = keras.ops.convert_to_numpy(vectorizer(tf.constant(texts[start : start + chunk_size])))  # 0-padded right
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
    """How many batches `bucket_by_sequence_length` makes: each bucket's full batches and its remainder.
    `batch_size` is one size, or one per bucket (len(boundaries) + 1)."""
    buckets = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    return int(np.sum(-(-buckets // np.asarray(batch_size))))


def batch_sizes_for_words(boundaries, words_per_batch, longest):
    """One batch size per bucket so that no batch holds more than about `words_per_batch` tokens (padding
    included): a bucket of texts up to L tokens gets words_per_batch // L texts (at least 1).

    For models whose memory grows with the tokens of a batch (a language model's output layer holds a row of
    scores per token), where a fixed number of texts would let the longest bucket run out of memory.
    """
    uppers = [*boundaries, max(longest, boundaries[-1] if boundaries else 1)]
    return [max(1, words_per_batch // upper) for upper in uppers]


# JAX compiles a model once per input shape. Batches padded to their own longest item come in as many shapes as
# there are lengths, and each new shape compiles anew (tagging's quick run: 181 s, most of it compiling). So on
# JAX every padded length is rounded up to one of a few sizes, two per doubling: at most half again as much
# padding, which the masks hide (the results do not change), and a few dozen compilations in all.
FEW_SHAPES = keras.backend.backend() == "jax"
PADDED_SIZES = sorted({8, *(2**k for k in range(3, 24)), *(3 * 2**k for k in range(2, 23))})  # 8, 12, 16, 24 ...


def padded_length(length, few_shapes=None):
    """`length`, or on JAX (or with `few_shapes`) the next of PADDED_SIZES: what a batch's longest item is padded to."""
    if not (FEW_SHAPES if few_shapes is None else few_shapes):
        return length
    return PADDED_SIZES[int(np.searchsorted(PADDED_SIZES, length))]


def pad_to_few_shapes(*batch):
    """A batch (tensors, nested) with every axis but the first whose length is not fixed 0-padded on the right
    to the next of PADDED_SIZES (a tf.data map). A batch of one tensor stays one tensor, not a 1-tuple."""
    sizes = tf.constant(PADDED_SIZES)

    def pad(tensor):
        open_axes = [axis for axis in range(1, tensor.shape.rank) if tensor.shape[axis] is None]
        if not open_axes:
            return tensor
        shape = tf.shape(tensor)
        paddings = [[0, 0]] * tensor.shape.rank
        for axis in open_axes:
            paddings[axis] = [0, tf.gather(sizes, tf.searchsorted(sizes, shape[axis : axis + 1]))[0] - shape[axis]]
        return tf.pad(tensor, paddings)

    padded = tf.nest.map_structure(pad, batch)
    return padded[0] if len(padded) == 1 else padded


def batch_by_length(dataset, lengths, boundaries, batch_size, element_length, padded_shapes=None, few_shapes=None):
    """`dataset` (one element per entry of `lengths`) in batches of similar length, 0-padded on the right (on
    JAX, or with `few_shapes`, further to one of a few sizes: see FEW_SHAPES).

    `element_length(*element)` gives an element's length as a tensor;
    `batch_size` is one size, or one per bucket. The batch count is asserted
    because tf.data cannot know it in advance: Keras would show no total in
    the first epoch's progress bar and warn that the input "ran out of data".
    """
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=element_length,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1) if np.isscalar(batch_size) else list(batch_size),
        padded_shapes=padded_shapes,
    )
    if FEW_SHAPES if few_shapes is None else few_shapes:
        dataset = dataset.map(pad_to_few_shapes)
    batches = bucketed_batch_count(lengths, boundaries, batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)


def bucketed_dataset(sequences, labels, batch_size, shuffle, seed):
    """Batches of sequences (token ids, or audio samples) of similar length, padded with 0 on the right.

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


STRINGS_IN_MODELS = keras.backend.backend() == "tensorflow"  # only TensorFlow tensors hold strings
TEXT_READER_FILE = "text_reader.json"  # beside model.keras: what end_to_end.keras holds besides the network


def raw_text_model(vectorizer, model, max_length, name):
    """Strings (batch,) -> the model's outputs: vectorise, truncate, classify, in one saved model (TensorFlow).

    On JAX and PyTorch, whose tensors hold no strings, a `TextReader` of the same parts instead: the same calls
    (predict, get_layer("vectorize"), get_layer("truncate"), layers) and the same answers.
    """
    if not STRINGS_IN_MODELS:
        return TextReader(vectorizer, TruncateSequence(max_length, name="truncate"), model)
    texts = keras.Input(shape=(), dtype="string", name="text")
    token_ids = TruncateSequence(max_length, name="truncate")(vectorizer(texts))
    return keras.Model(texts, model(token_ids), name=name)


class TextReader:
    """A raw-text classifier outside one Keras model: the vectoriser (its TensorFlow string ops run before the
    network, on any backend), truncation, then the token-id network, which every backend runs.

    It answers the calls the scripts make of end_to_end.keras. Saved as the network (model.keras) and its
    vocabulary and length (text_reader.json) in one folder.
    """

    def __init__(self, vectorizer, truncate, classifier):
        self._parts = {"vectorize": vectorizer, "truncate": truncate}
        self.classifier = classifier
        self.layers = [vectorizer, truncate, classifier]

    def get_layer(self, name):
        return self._parts[name]

    def token_ids(self, texts):
        """(texts, longest kept) int32 token ids, 0-padded on the right."""
        ids = keras.ops.convert_to_numpy(self._parts["vectorize"](np.array(list(texts), dtype=object)))
        return ids[:, : self._parts["truncate"].max_length].astype("int32")

    def predict(self, texts, batch_size=32, verbose="auto"):
        return self.classifier.predict(self.token_ids(texts), batch_size=batch_size, verbose=verbose)

    def save(self, folder):
        """text_reader.json in `folder` (the network itself is saved there as model.keras by the training run)."""
        vectorizer = self._parts["vectorize"]
        settings = {
            "vocabulary": vectorizer.get_vocabulary(),
            "max_length": self._parts["truncate"].max_length,
            "standardize": "clean_text" if vectorizer.get_config()["standardize"] is not None else None,
        }
        (Path(folder) / TEXT_READER_FILE).write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder, how_to_train, *companions):
        """The reader saved in `folder`; a clear SystemExit when it, or a `companions` file, is missing or damaged."""
        classifier = load_for_use(
            Path(folder) / "model.keras", how_to_train, Path(folder) / TEXT_READER_FILE, *companions
        )
        try:
            settings = read_sidecar(Path(folder) / TEXT_READER_FILE, how_to_train, ("vocabulary", "max_length"))
        except SavedModelError as error:
            raise SystemExit(f"error: {error}") from None
        standardize = clean_text if settings.get("standardize") else None
        vectorizer = vectorizer_for(settings["vocabulary"][2:], standardize=standardize)  # without PAD and [UNK]
        return cls(vectorizer, TruncateSequence(settings["max_length"], name="truncate"), classifier)


def load_text_model(end_to_end_path, how_to_train, *companions):
    """What a predict script reads texts with: end_to_end.keras on TensorFlow, else the `TextReader` saved beside
    it (model.keras and text_reader.json); `companions` as in `load_for_use`."""
    if STRINGS_IN_MODELS:
        return load_for_use(end_to_end_path, how_to_train, *companions)
    return TextReader.load(Path(end_to_end_path).parent, how_to_train, *companions)


def learn_word_vectors(vectorizer, texts, dimensions, seed):
    """Word vectors for the vectoriser's vocabulary, learned from `texts` (never validation or test)."""
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


def check_saved_text_models(output_dir, end_to_end, model, vectorizer, texts, max_length):
    """Save what reads raw text, `end_to_end.keras` (TensorFlow) and text_reader.json beside model.keras (every
    backend), and check that it and `model.keras` (token ids in) in `output_dir` load again and answer as
    `end_to_end` and `model` in memory do on a few test `texts` (see common.saving)."""
    TextReader(vectorizer, TruncateSequence(max_length), model).save(output_dir)
    texts = np.array(list(texts), dtype=object)
    if STRINGS_IN_MODELS:
        end_to_end.save(Path(output_dir) / "end_to_end.keras")
        check_round_trip(Path(output_dir) / "end_to_end.keras", end_to_end.predict(texts, verbose=0), inputs=texts)
    else:
        check_round_trip(
            Path(output_dir) / "model.keras",
            end_to_end.predict(texts, verbose=0),
            answer=lambda _: TextReader.load(output_dir, "the training run").predict(texts, verbose=0),
        )
    token_ids = keras.utils.pad_sequences(encode(vectorizer, texts, max_length), padding="post")
    check_round_trip(Path(output_dir) / "model.keras", model.predict(token_ids, verbose=0), inputs=token_ids)


def unreadable_note(explaining=False):
    """What a predict script prints instead of an answer for a text with no word its model knows."""
    return f"(no word the model knows{': nothing to explain' if explaining else ''})"


def readable_word_counts(end_to_end_model, texts, not_words=()):
    """How many words of each text a saved raw-text model reads and knows (in its vocabulary, within its
    first max_length tokens).

    0 means the model would see only padding and out-of-vocabulary ids: empty text, markup, a language it was
    not trained on. Its score would be made up, so the scripts report such a text as unreadable instead.
    `not_words`: vocabulary entries that say nothing of a text's subject on their own (Reuters' "<num>", every
    figure): a text of only these counts as unreadable too.
    """
    vectorize = end_to_end_model.get_layer("vectorize")
    ids = keras.ops.convert_to_numpy(vectorize(np.array(list(texts), dtype=object)))
    ids = ids[:, : end_to_end_model.get_layer("truncate").max_length]
    vocabulary = vectorize.get_vocabulary()
    ignored = [0, 1] + [vocabulary.index(word) for word in not_words if word in vocabulary]  # padding, [UNK]
    return np.count_nonzero(~np.isin(ids, ignored), axis=1)
