"""The tagging example's CRF layer: forward algorithm and Viterbi against brute force, padding, gradients, saving."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import load_example

crf = load_example("tagging", "crf")

TAGS = 3


def random_case(seed, batch=4, words=5):
    """Random emissions, transitions, start and end scores, and a mask with lengths 5, 3, 1 and 2 (right padding)."""
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(batch, words, TAGS)).astype("float32") * 2
    scores = [rng.normal(size=shape).astype("float32") for shape in ((TAGS, TAGS), (TAGS,), (TAGS,))]
    lengths = [5, 3, 1, 2][:batch]
    mask = np.arange(words)[None] < np.array(lengths)[:, None]
    return emissions, mask, scores, lengths


def every_sequence(emissions, length, transitions, start, end):
    """{tag sequence: score} over all TAGS ** length sequences, scored by the CRF's definition."""
    scored = {}
    for tags in itertools.product(range(TAGS), repeat=length):
        score = start[tags[0]] + end[tags[-1]] + sum(emissions[t, tag] for t, tag in enumerate(tags))
        scored[tags] = score + sum(transitions[a, b] for a, b in itertools.pairwise(tags))
    return scored


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_partition_and_viterbi_equal_brute_force_enumeration(seed):
    emissions, mask, scores, lengths = random_case(seed)
    log_z = np.asarray(crf.log_partition(emissions, mask, *scores))
    paths, best_scores = (np.asarray(x) for x in crf.viterbi_decode(emissions, mask, *scores))
    for row, length in enumerate(lengths):
        scored = every_sequence(emissions[row], length, *scores)
        values = np.array(list(scored.values()), dtype="float64")
        assert log_z[row] == pytest.approx(np.log(np.exp(values).sum()), abs=1e-4)
        best = max(scored, key=scored.get)
        assert tuple(paths[row, :length]) == best
        assert best_scores[row] == pytest.approx(scored[best], abs=1e-4)
        padded_tags = np.array([*best, *[0] * (emissions.shape[1] - length)])
        score = crf.sequence_score(emissions[row : row + 1], padded_tags[None], mask[row : row + 1], *scores)
        assert float(score[0]) == pytest.approx(scored[best], abs=1e-4)


def test_probabilities_of_every_sequence_sum_to_one():
    emissions, mask, scores, _ = random_case(3, batch=1, words=4)
    total = sum(
        np.exp(float(crf.log_likelihood(emissions, np.array([tags]), mask, *scores)[0]))
        for tags in itertools.product(range(TAGS), repeat=4)
    )
    assert total == pytest.approx(1.0, abs=1e-4)


def test_padding_changes_neither_likelihood_nor_decoding():
    emissions, mask, scores, _ = random_case(4)
    tags = np.random.default_rng(4).integers(0, TAGS, size=mask.shape)
    noisy = emissions.copy()
    noisy[~mask] = np.random.default_rng(5).normal(size=noisy[~mask].shape) * 100  # garbage where padded
    noisy_tags = np.where(mask, tags, (tags + 1) % TAGS)
    longer = np.pad(noisy, ((0, 0), (0, 3), (0, 0)), constant_values=7.0)  # three more padded words
    longer_mask, longer_tags = np.pad(mask, ((0, 0), (0, 3))), np.pad(noisy_tags, ((0, 0), (0, 3)))
    expected = np.asarray(crf.log_likelihood(emissions, tags, mask, *scores))
    for e, t, m in ((noisy, noisy_tags, mask), (longer, longer_tags, longer_mask)):
        np.testing.assert_allclose(crf.log_likelihood(e, t, m, *scores), expected, rtol=1e-5)
        paths = np.asarray(crf.viterbi_decode(e, m, *scores)[0])
        np.testing.assert_array_equal(
            np.where(m, paths, -1)[:, :5], np.where(mask, crf.viterbi_decode(emissions, mask, *scores)[0], -1)
        )


def test_a_batch_of_one_word_sentences_in_a_compiled_graph():
    emissions, _, scores, _ = random_case(6, batch=3, words=1)
    mask = np.ones((3, 1), dtype=bool)
    signature = [tf.TensorSpec([None, None, TAGS]), tf.TensorSpec([None, None], tf.bool)]
    decode = tf.function(lambda e, m: crf.viterbi_decode(e, m, *scores)[0], input_signature=signature)
    np.testing.assert_array_equal(decode(emissions, mask)[:, 0], (emissions[:, 0] + scores[1] + scores[2]).argmax(-1))
    partition = tf.function(lambda e, m: crf.log_partition(e, m, *scores), input_signature=signature)
    expected = np.log(np.exp(emissions[:, 0] + scores[1] + scores[2]).sum(-1))
    np.testing.assert_allclose(partition(emissions, mask), expected, rtol=1e-5)


def test_gradients_are_finite_even_for_large_scores():
    emissions, mask, scores, _ = random_case(7)
    emissions = tf.constant(emissions * 500)  # logsumexp must not overflow
    variables = [tf.Variable(s) for s in scores]
    tags = np.zeros(mask.shape, dtype="int32")
    with tf.GradientTape() as tape:
        tape.watch(emissions)
        loss = -tf.reduce_sum(crf.log_likelihood(emissions, tags, mask, *variables))
    gradients = tape.gradient(loss, [emissions, *variables])
    assert np.isfinite(float(loss))
    for gradient in gradients:
        assert np.all(np.isfinite(gradient.numpy()))
    assert np.all(gradients[0].numpy()[~mask] == 0)  # padded words get no gradient


def test_transitions_forbid_a_move_that_emissions_alone_would_make():
    """A large negative O -> I score stops Viterbi from writing I after O, as a softmax per word would."""
    tags = ["O", "B", "I"]
    emissions = np.log(np.array([[[0.9, 0.05, 0.05], [0.1, 0.2, 0.7]]], dtype="float32"))  # O, then I is likeliest
    transitions = np.zeros((3, 3), dtype="float32")
    transitions[0, 2] = -1e4
    path = crf.viterbi_decode(
        emissions, np.ones((1, 2), bool), transitions, np.zeros(3, "float32"), np.zeros(3, "float32")
    )[0]
    assert [tags[i] for i in np.asarray(path)[0]] != ["O", "I"]
    assert [tags[i] for i in emissions[0].argmax(-1)] == ["O", "I"]  # what a per-word softmax picks


def test_iob_constraints_forbid_what_iob2_never_does_unless_the_training_tags_do():
    tags = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
    moves, starts = crf.iob_constraints(tags)
    named = {(tags[a], tags[b]) for a, b in moves}
    assert named == {(a, b) for a in tags for b in ("I-LOC", "I-PER") if a[2:] != b[2:] or a == "O"}
    assert ("B-PER", "I-PER") not in named and ("I-PER", "I-PER") not in named and ("O", "I-PER") in named
    assert [tags[i] for i in starts] == ["I-LOC", "I-PER"]
    # a training sentence that opens with I-PER after B-LOC... stays possible
    moves, starts = crf.iob_constraints(tags, [("I-PER", "O"), ("B-LOC", "I-PER")])
    named = {(tags[a], tags[b]) for a, b in moves}
    assert ("B-LOC", "I-PER") not in named and ("O", "I-PER") in named
    assert [tags[i] for i in starts] == ["I-LOC"]
    assert crf.iob_constraints(["DT", "NN", "VBD"]) == ([], [])  # part-of-speech tags: nothing to forbid


def test_iobes_constraints_leave_only_the_moves_iobes_makes():
    tags = ["B-PER", "E-PER", "I-PER", "O", "S-PER", "S-LOC"]
    moves, starts = crf.iob_constraints(tags)
    allowed = {(a, b) for a in tags for b in tags} - {(tags[i], tags[j]) for i, j in moves}
    closed = ("E-PER", "O", "S-PER", "S-LOC")
    assert allowed == {(a, b) for a in closed for b in ("B-PER", "O", "S-PER", "S-LOC")} | {
        (a, b) for a in ("B-PER", "I-PER") for b in ("I-PER", "E-PER")
    }
    assert [tags[i] for i in starts] == ["E-PER", "I-PER"]


def test_a_crf_with_iob_constraints_never_decodes_a_forbidden_move_and_keeps_them_after_loading(tmp_path):
    tags = ["B-PER", "I-PER", "O"]
    moves, starts = crf.iob_constraints(tags)
    word_ids = keras.Input(shape=(None,), dtype="int32")
    emissions = keras.layers.Embedding(10, 3, mask_zero=True)(word_ids)
    model = crf.CRFTagger(word_ids, crf.CRF(3, forbidden_moves=moves, forbidden_starts=starts, name="crf")(emissions))
    ids = np.random.default_rng(0).integers(1, 10, size=(64, 7)).astype("int32")
    embedding = model.layers[1]
    # emissions that, read one word at a time, would give every forbidden move: I-PER is often the best tag
    embedding.set_weights([np.random.default_rng(1).normal(size=(10, 3)).astype("float32") * 5])
    argmax = keras.ops.convert_to_numpy(embedding(ids)).argmax(-1)
    assert (argmax[:, 0] == 1).any() and ((argmax[:, :-1] == 2) & (argmax[:, 1:] == 1)).any()
    model.save(tmp_path / "constrained.keras")
    for tagger in (model, keras.models.load_model(tmp_path / "constrained.keras")):
        path = tagger.predict(ids, verbose=0)
        assert not (path[:, 0] == 1).any()  # no sentence starts with I-PER
        assert not ((path[:, :-1] == 2) & (path[:, 1:] == 1)).any()  # I-PER never follows O


def small_crf_tagger():
    word_ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(10, 8, mask_zero=True)(word_ids)
    x = keras.layers.LSTM(8, return_sequences=True)(x)
    emissions = crf.CRF(TAGS, name="crf")(keras.layers.Dense(TAGS)(x))
    model = crf.CRFTagger(word_ids, emissions)
    model.compile(optimizer=keras.optimizers.Adam(0.02), metrics=["accuracy"])
    return model


def test_crf_tagger_learns_saves_and_loads(tmp_path):
    """Tag = the previous word's parity: learnable only from context. The loss falls, predict gives the
    Viterbi tag ids, and a saved model loads with the same transitions and the same answers."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    word_ids = rng.integers(1, 10, size=(256, 6)).astype("int32")
    word_ids[::3, 4:] = 0  # some shorter sentences
    tags = np.concatenate([np.full((256, 1), 2), word_ids[:, :-1] % 2], axis=1).astype("int32")
    model = small_crf_tagger()
    history = model.fit(word_ids, tags, epochs=20, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    predicted = model.predict(word_ids, verbose=0)
    assert predicted.shape == word_ids.shape and predicted.dtype == np.int32
    mask = word_ids != 0
    assert (predicted[mask] == tags[mask]).mean() > 0.9
    model.save(tmp_path / "crf.keras")
    loaded = keras.models.load_model(tmp_path / "crf.keras")
    assert isinstance(loaded, crf.CRFTagger)
    np.testing.assert_array_equal(loaded.predict(word_ids, verbose=0), predicted)
    np.testing.assert_array_equal(
        loaded.get_layer("crf").transitions.numpy(), model.get_layer("crf").transitions.numpy()
    )


def test_crf_refuses_scores_of_the_wrong_width():
    with pytest.raises(ValueError, match="3 tags but receives 4"):
        crf.CRF(3)(keras.Input(shape=(None, 4)))
