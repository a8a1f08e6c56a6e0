"""Unit tests of common/text.py and common/saving.py: odd characters never break a saved vocabulary,
saved models are checked after loading, unreadable text is recognised."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from common.models import output_head, recurrent_stack
from common.saving import SavedModelError, check_round_trip, load_for_use, read_sidecar
from common.text import (
    TfIdf,
    batch_by_length,
    check_vocabulary,
    clean_text,
    encode,
    inverse_document_frequency,
    make_vectorizer,
    raw_text_model,
    readable_word_counts,
    tf_idf_matrix,
)

# Every character that Python's str.splitlines() breaks at, which Keras uses to read a saved vocabulary back,
# plus a tab inside a word, a no-break space, a soft hyphen, an emoji and a private-use code point.
ODD_TEXTS = [
    "a good\x85film indeed",  # NEL: the token that broke the saved IMDB model (issue 12)
    "a bad\u2028movie, a dull\u2029plot",
    "odd\rtext and\r\nwindows lines",
    "ta\tb tab inside a word",
    "vertical\x0btab form\x0cfeed file\x1cgroup\x1drecord\x1eseparators",
    "no\xa0break space and won\xadderful soft hyphen",
    "an emoji 😀 and a private \ue000 code point",
    "good film",
    "bad movie",
]


def tiny_classifier(vocab_size, units=3):
    """Token ids -> P(positive): embedding (0 = padding) -> LSTM -> sigmoid, as the text examples build theirs."""
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, 4, mask_zero=True)(token_ids)
    return keras.Model(token_ids, output_head(recurrent_stack(x, "lstm", units), "binary"))


LOAD_AND_PREDICT = """
import json, sys
import numpy as np
import keras
import common.text  # registers clean_text and TruncateSequence, as predict.py does
model = keras.models.load_model({path!r})
texts = json.loads(sys.stdin.read())
print(json.dumps(model.predict(np.array(texts, dtype=object), verbose=0)[:, 0].tolist()))
"""


def test_clean_text_turns_separators_into_spaces_and_drops_invisible_characters():
    cleaned = [text.decode() for text in clean_text(tf.constant(ODD_TEXTS)).numpy()]
    assert cleaned[0] == "a good film indeed"
    assert cleaned[1].split() == ["a", "bad", "movie", "a", "dull", "plot"]
    assert cleaned[5].split() == ["no", "break", "space", "and", "wonderful", "soft", "hyphen"]
    assert "😀" in cleaned[6].split() and "\ue000" in cleaned[6].split()
    assert clean_text(tf.constant("ÉCOLE Ünïcode")).numpy().decode() == "école ünïcode"  # Unicode lower case
    for text in cleaned:
        assert all(len(token.splitlines()) == 1 for token in text.split())


def test_vectorizer_on_odd_characters_has_only_single_line_tokens():
    vocabulary = make_vectorizer(ODD_TEXTS, max_tokens=100).get_vocabulary()
    assert {"good", "film", "bad", "movie", "ta", "b", "😀", "\ue000", "wonderful"} <= set(vocabulary)
    check_vocabulary(vocabulary)


def test_check_vocabulary_refuses_tokens_with_line_breaks():
    with pytest.raises(ValueError, match=r"contain a line break .* 'good\\x85film'"):
        check_vocabulary(["", "[UNK]", "good\x85film"])
    with pytest.raises(ValueError, match="contain a line break"):
        make_vectorizer(["good\u2028film"], max_tokens=10, standardize=None)  # split, but no cleaning


def test_saved_model_with_odd_characters_gives_the_same_predictions_in_a_new_process(tmp_path):
    """The regression test of issue 12: on the old cleaning the model saved, then failed to load."""
    keras.utils.set_random_seed(0)
    vectorizer = make_vectorizer(ODD_TEXTS, max_tokens=100)
    classifier = tiny_classifier(vectorizer.vocabulary_size())
    model = raw_text_model(vectorizer, classifier, max_length=20, name="odd_end_to_end")
    path = tmp_path / "end_to_end.keras"
    model.save(path)
    expected = model.predict(np.array(ODD_TEXTS, dtype=object), verbose=0)[:, 0]
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT.format(path=str(path))],
        input=json.dumps(ODD_TEXTS),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(json.loads(done.stdout.splitlines()[-1]), expected, rtol=1e-5, atol=1e-6)


def test_readable_word_counts_count_known_words_within_the_kept_length():
    vectorizer = make_vectorizer(["good film", "bad movie"], max_tokens=10)
    model = raw_text_model(vectorizer, tiny_classifier(6, units=2), 3, name="m")
    texts = ["good film", "这部电影太好看了 😀", "", "<br />!!!", "unknown unknown unknown good", "Très bien"]
    assert readable_word_counts(model, texts).tolist() == [2, 0, 0, 0, 0, 0]  # 'good' is past the first 3 tokens
    # words that say nothing alone (Reuters' <num>) do not make a text readable; one not in the vocabulary is moot
    texts = ["film film", "film good", "bad"]
    assert readable_word_counts(model, texts, not_words=["film", "absent"]).tolist() == [0, 1, 1]


# --- common/saving.py ---


def saved_model(tmp_path):
    keras.utils.set_random_seed(1)
    model = tiny_classifier(10, units=2)
    model.save(tmp_path / "model.keras")
    return model


def test_round_trip_passes_for_the_same_model_and_returns_it(tmp_path, capsys):
    model = saved_model(tmp_path)
    inputs = np.array([[1, 2, 3], [4, 5, 0]])
    loaded = check_round_trip(tmp_path / "model.keras", model.predict(inputs, verbose=0), inputs=inputs)
    assert loaded.count_params() == model.count_params()
    assert "loads again and gives the same answers" in capsys.readouterr().out
    answers = model.predict(inputs, verbose=0)  # the same check through `answer`: what a loaded model says
    check_round_trip(tmp_path / "model.keras", answers, answer=lambda loaded: loaded.predict(inputs, verbose=0))


def test_round_trip_fails_loudly_on_different_answers(tmp_path):
    model = saved_model(tmp_path)
    inputs = np.array([[1, 2, 3]])
    with pytest.raises(SavedModelError, match="answers differently .*largest difference 1.0e-02"):
        check_round_trip(tmp_path / "model.keras", model.predict(inputs, verbose=0) + 0.01, inputs=inputs)
    with pytest.raises(SavedModelError, match="text or labels compared"):
        check_round_trip(tmp_path / "model.keras", ["NN", "VB"], answer=lambda loaded: ["NN", "NN"])


def test_round_trip_fails_loudly_on_a_model_that_does_not_load(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(SavedModelError, match="model.keras was saved but does not load again"):
        check_round_trip(tmp_path / "model.keras", [0.5], inputs=np.zeros((1, 3)))


def test_a_damaged_file_names_the_command_recorded_by_its_run(tmp_path):
    saved_model(tmp_path)
    (tmp_path / "topics.json").write_text('{"topics": ["acq"')  # cut short
    with pytest.raises(SavedModelError, match="topics.json is damaged .*train again with: make example-x$"):
        read_sidecar(tmp_path / "topics.json", "make example-x")  # no run.json: the usual command
    (tmp_path / "run.json").write_text(json.dumps({"command": "python examples/x/train.py --tf-idf --seed 43"}))
    with pytest.raises(SavedModelError, match="train again with: python examples/x/train.py --tf-idf --seed 43$"):
        read_sidecar(tmp_path / "topics.json", "make example-x")
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 cut")
    with pytest.raises(SystemExit, match="model.keras is damaged .*train again with: python examples/x/train.py --tf"):
        load_for_use(tmp_path / "model.keras", "make example-x")
    with pytest.raises(SystemExit, match="absent.json not found; train first with: make example-x "):
        load_for_use(tmp_path / "model.keras", "make example-x", tmp_path / "absent.json")  # maybe not this run's
    for damaged_record in ('{"command": ', "[1, 2]", '{"command": ""}'):
        (tmp_path / "run.json").write_text(damaged_record)
        with pytest.raises(SavedModelError, match="train again with: make example-x$"):
            read_sidecar(tmp_path / "topics.json", "make example-x")


@pytest.mark.parametrize("paired", [False, True])
def test_batches_padded_to_few_shapes_keep_their_structure_and_reach_a_fixed_length(paired):
    sequences = [list(range(1, n + 1)) for n in (3, 5, 9, 13)]
    dataset = tf.data.Dataset.from_generator(lambda: iter(sequences), output_signature=tf.TensorSpec((None,), tf.int32))
    if paired:  # e.g. (ids, labels)
        dataset = dataset.map(lambda ids: (ids, ids * 2))
    batches = list(
        batch_by_length(dataset, [len(s) for s in sequences], [6], 2, lambda x, *_: tf.shape(x)[0], few_shapes=True)
    )
    assert len(batches) == 2
    for batch in batches:
        ids = batch[0] if paired else batch
        assert isinstance(ids, tf.Tensor)  # one tensor stays one tensor (a 1-tuple would reach the model)
        assert ids.shape[1] in (8, 16)  # the longest (5, then 13) padded on to the next fixed size
        np.testing.assert_array_equal(ids.numpy()[:, :3], [[1, 2, 3], [1, 2, 3]])
        if paired:
            np.testing.assert_array_equal(batch[1].numpy(), ids.numpy() * 2)


def tf_idf_model(idf):
    token_ids = keras.Input((None,), dtype="int32")
    layer = TfIdf(len(idf))
    model = keras.Model(token_ids, layer(token_ids))
    layer.set_weights([idf])
    return model


def test_tf_idf_by_hand_ignores_padding_and_unknown_words():
    # Two texts over ids 2..4: [2 2 3] and [3 4]. idf = ln(3 / (1 + texts with the id)) + 1:
    # id 2 and 4 ln(1.5) + 1 = 1.405465, id 3 (in both) 1. Text 1: 2 -> (1 + ln 2) x 1.405465 = 2.379658,
    # 3 -> 1; length sqrt(2.379658^2 + 1) = 2.581235, so 0.921908 and 0.387412.
    idf = inverse_document_frequency([np.array([2, 2, 3]), np.array([3, 4])], vocab_size=5)
    np.testing.assert_allclose(idf, [0, 0, 1.405465, 1, 1.405465], rtol=1e-6)
    model = tf_idf_model(idf)
    expected = [0, 0, 0.921908, 0.387412, 0]
    for ids in ([2, 2, 3, 0, 0, 0], [2, 1, 2, 3, 0, 0], [3, 2, 2, 1, 1, 1]):  # padding, unknown words, order
        np.testing.assert_allclose(model.predict(np.array([ids]), verbose=0)[0], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.predict(np.array([[1, 0, 0]]), verbose=0), np.zeros((1, 5)))  # nothing known


def test_tf_idf_is_scikit_learns_on_the_same_tokens():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["wheat corn wheat exports", "oil prices oil oil", "corn and oil", "wheat prices rose", "and and and"]
    vectorizer = make_vectorizer(texts, max_tokens=100, standardize=None)
    sequences = encode(vectorizer, texts, max_length=100)
    ours = tf_idf_model(inverse_document_frequency(sequences, vectorizer.vocabulary_size()))
    ours = ours.predict(keras.utils.pad_sequences(sequences, padding="post"), verbose=0)
    reference = TfidfVectorizer(sublinear_tf=True, vocabulary=vectorizer.get_vocabulary()[2:], token_pattern=r"\S+")
    theirs = reference.fit_transform(texts).toarray()
    np.testing.assert_allclose(ours[:, 2:], theirs, rtol=1e-5, atol=1e-6)
    idf = inverse_document_frequency(sequences, vectorizer.vocabulary_size())
    np.testing.assert_allclose(
        tf_idf_matrix(sequences + [np.array([0, 1])], idf).toarray(), [*ours, ours[0] * 0], atol=1e-6
    )
