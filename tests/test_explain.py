"""common.explain: integrated gradients, occlusion, the deletion measure, the HTML page."""

import keras
import numpy as np
import pytest
from keras import layers

from common.explain import TextExplainer, explanation_html, faithfulness, page_name, remove_positions, write_explanation
from common.models import MaskedGlobalMaxPooling1D, output_head, pool_over_time, recurrent_stack
from common.text import make_vectorizer, raw_text_model

TEXTS = ["a great film", "an awful film", "great acting and a dull plot", "the end of it"]


def keyed_classifier(vectorizer, word, weight=4.0, name="keyed"):
    """P = sigmoid(max over words of e(word) - 1), e(word) = weight for `word` and 0 for every other word.

    Its answer is known by construction: only `word` moves it, by sigmoid(weight - 1) - sigmoid(-1).
    """
    vectors = np.zeros((vectorizer.vocabulary_size(), 1), dtype="float32")
    vectors[vectorizer.get_vocabulary().index(word)] = weight
    token_ids = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(len(vectors), 1, mask_zero=True, name="embedding")(token_ids)
    x = MaskedGlobalMaxPooling1D(name="max_over_time")(x)
    output = layers.Dense(1, activation="sigmoid", name="output")(x)
    model = keras.Model(token_ids, output, name=name)
    model.get_layer("embedding").set_weights([vectors])
    model.get_layer("output").set_weights([np.ones((1, 1), "float32"), np.array([-1.0], "float32")])
    return model


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def vectorizer():
    return make_vectorizer(TEXTS, 100)


@pytest.fixture(scope="module")
def keyed(vectorizer, tmp_path_factory):
    """The keyed classifier as a saved and reloaded raw-text model, as predict.py would load it."""
    path = tmp_path_factory.mktemp("keyed") / "end_to_end.keras"
    raw_text_model(vectorizer, keyed_classifier(vectorizer, "great"), 50, "keyed_end_to_end").save(path)
    return TextExplainer(keras.models.load_model(path), ["positive"])


@pytest.fixture(scope="module")
def recurrent(vectorizer):
    """A small random bidirectional LSTM classifier (embedding -> dropout -> BiLSTM -> max -> sigmoid)."""
    keras.utils.set_random_seed(3)
    token_ids = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(vectorizer.vocabulary_size(), 8, mask_zero=True, name="embedding")(token_ids)
    x = layers.Dropout(0.5)(x)
    x = recurrent_stack(x, "lstm", 8, 1, return_sequences=True, bidirectional=True)
    model = keras.Model(token_ids, output_head(pool_over_time(x, "max"), "binary"))
    embedding = model.get_layer("embedding")
    embedding.set_weights([embedding.get_weights()[0] * 40])  # large vectors: outputs that move visibly
    return TextExplainer(raw_text_model(vectorizer, model, 50, "recurrent_end_to_end"), ["positive"])


def test_integrated_gradients_add_up_to_the_change_of_output(recurrent):
    explanation = recurrent.explain("great acting but a dull plot and an awful end", steps=128)
    change = explanation.probability - explanation.baseline_probability
    assert abs(change) > 0.01  # the test means something only if the output moves
    assert explanation.completeness_error < 0.01 * abs(change)
    fewer = recurrent.explain("great acting but a dull plot and an awful end", steps=2)
    assert fewer.completeness_error > explanation.completeness_error  # a coarser sum is further off


def test_the_word_a_model_keys_on_gets_the_whole_score(keyed):
    expected = sigmoid(3.0) - sigmoid(-1.0)
    for method in ("integrated_gradients", "occlusion"):
        explanation = keyed.explain("A GREAT film, the end.", method=method)
        assert explanation.words == ["a", "great", "film", "the", "end"]
        assert explanation.top_words(1) == [("great", pytest.approx(expected, abs=1e-4))]
        np.testing.assert_allclose(np.delete(explanation.scores, 1), 0.0, atol=1e-5)
        assert explanation.probability == pytest.approx(sigmoid(3.0), abs=1e-5)


def test_an_ensemble_is_explained_as_the_mean_of_its_networks(vectorizer):
    great, awful = keyed_classifier(vectorizer, "great", name="a"), keyed_classifier(vectorizer, "awful", 2.0, "b")
    token_ids = keras.Input(shape=(None,), dtype="int32")
    ensemble = keras.Model(token_ids, layers.Average(name="average")([great(token_ids), awful(token_ids)]))
    explainer = TextExplainer(raw_text_model(vectorizer, ensemble, 50, "ensemble_end_to_end"), ["positive"])
    explanation = explainer.explain("great film awful end", steps=64)
    halves = [(sigmoid(3.0) - sigmoid(-1.0)) / 2, 0.0, (sigmoid(1.0) - sigmoid(-1.0)) / 2, 0.0]
    np.testing.assert_allclose(explanation.scores, halves, atol=1e-4)
    assert explanation.completeness_error < 1e-4


def test_deletion_measures_the_fall_of_the_predicted_class(keyed):
    _, ids = keyed.read("a great film the end")
    drops = keyed.deletion_drops(ids, [1, 0, 2, 3, 4], counts=(1, 2), output=0)
    np.testing.assert_allclose(drops, [sigmoid(3.0) - sigmoid(-1.0)] * 2, atol=1e-5)
    assert keyed.deletion_drops(ids, [0, 2, 3, 4, 1], counts=(1, 4), output=0) == pytest.approx([0.0, 0.0], abs=1e-6)
    # A text predicted negative: deleting a word that would raise P(positive) raises P(negative): a negative fall.
    negative = keyed.deletion_drops(ids, [1], counts=(1,), output=0, sign=-1)
    assert negative[0] == pytest.approx(-(sigmoid(3.0) - sigmoid(-1.0)), abs=1e-5)


def test_faithfulness_ranks_the_keyed_word_first_and_beats_random_words(keyed):
    texts = ["the film a great end", "great", "a film the end", "zzz qqq", "the end of a great film"]
    measured = faithfulness(keyed, texts, ("integrated_gradients", "occlusion"), counts=(1, 3), random_draws=4)
    assert len(measured["random"]) == 4  # the text with no known word is skipped
    for method in ("integrated_gradients", "occlusion"):
        drops = measured["methods"][method]["drops"]
        # texts with "great" (predicted positive): deleting it first drops P(positive) from sigmoid(3) to sigmoid(-1)
        np.testing.assert_allclose(drops[[0, 1, 3], 0], sigmoid(3.0) - sigmoid(-1.0), atol=1e-4)
        assert drops[2, 0] == pytest.approx(0.0, abs=1e-6)  # "a film the end" is negative and has nothing to delete
        assert drops[:, 0].mean() > measured["random"][:, 0].mean()
    errors, changes = measured["completeness"].T
    assert np.all(errors < 1e-4)
    np.testing.assert_allclose(
        changes,
        [sigmoid(3.0) - sigmoid(-1.0), sigmoid(3.0) - sigmoid(-1.0), 0.0, sigmoid(3.0) - sigmoid(-1.0)],
        atol=1e-5,
    )


def test_a_text_left_with_no_words_reads_as_one_unknown_word():
    assert remove_positions(np.array([5, 6, 7]), [0, 2]).tolist() == [6]
    assert remove_positions(np.array([5]), [0]).tolist() == [1]


@pytest.mark.parametrize(
    ("text", "message"), [("", "has no words"), ("!!! ...", "has no words"), ("zzz qqq", "no word the model knows")]
)
def test_empty_and_unknown_texts_get_a_clear_answer(keyed, text, message):
    with pytest.raises(ValueError, match=message):
        keyed.explain(text)


def test_bad_method_and_output_are_refused(keyed):
    with pytest.raises(ValueError, match="unknown method"):
        keyed.explain("great film", method="lime")
    with pytest.raises(ValueError, match="output 3 does not exist"):
        keyed.explain("great film", output=3)


def test_a_model_that_is_not_a_chain_is_refused_integrated_gradients_and_explained_by_occlusion(vectorizer):
    # The keyed classifier with a second path from the token ids to the output (as Reuters' --tf-idf has), here
    # weighing nothing: integrated gradients would walk the embeddings only; occlusion deletes words from the input.
    keyed = keyed_classifier(vectorizer, "great")
    token_ids = keras.Input(shape=(None,), dtype="int32")
    pooled = MaskedGlobalMaxPooling1D()(keyed.get_layer("embedding")(token_ids))
    words = layers.CategoryEncoding(vectorizer.vocabulary_size(), output_mode="multi_hot")(token_ids)
    output = layers.Dense(1, activation="sigmoid", name="output")
    model = keras.Model(token_ids, output(layers.Concatenate()([pooled, words])))
    weights = np.zeros((1 + vectorizer.vocabulary_size(), 1), "float32")
    weights[0] = 1.0  # the pooled feature as in keyed_classifier, every word's own weight 0
    output.set_weights([weights, np.array([-1.0], "float32")])
    explainer = TextExplainer(raw_text_model(vectorizer, model, 50, "branching"), ["positive"])
    with pytest.raises(ValueError, match="not an embedding followed by a single chain.*use --method occlusion"):
        explainer.explain("a great film")
    explanation = explainer.explain("a great film", method="occlusion")
    assert explanation.top_words(1) == [("great", pytest.approx(sigmoid(3) - sigmoid(-1), rel=1e-5))]


def test_the_page_shows_markup_as_text_and_never_runs_it(tmp_path):
    texts = ["<script>alert(1)</script> great film", "a dull film"]
    raw_vectorizer = make_vectorizer(texts, 100, standardize=None)  # keeps the words exactly as written
    model = raw_text_model(raw_vectorizer, keyed_classifier(raw_vectorizer, "great"), 50, "raw")
    explanation = TextExplainer(model, ["<b>positive</b>"]).explain(texts[0] + " zzz")
    page = explanation_html(explanation, "<img src=x onerror=alert(1)>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "P(&lt;b&gt;positive&lt;/b&gt;)" in page
    assert page.count("class=unknown") == 1  # "zzz" is marked as a word the model does not know
    written = write_explanation(explanation, tmp_path / "pages", page_name(2, texts[0]), "title")
    assert written.name == "2-script-alert-1-script-great-film.html"
    assert "&lt;script&gt;" in written.read_text() and "<script" not in written.read_text()
    assert written.with_suffix(".png").stat().st_size > 1000
