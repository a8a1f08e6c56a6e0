"""The word language model and the IMDB classifier that starts from it: n-gram baselines, perplexity, the data
it may read, training end to end, generation, and the hand-over of vocabulary and weights."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example, load_module, run_python

from common import reviews
from common.pretrained import SETTINGS_FILE, check_requested, load_encoder, transfer_weights
from common.saving import SavedModelError
from common.text import encode, make_vectorizer, vectorizer_for
from common.training import read_history

train = load_example("word_lm", "train")
generate = load_example("word_lm", "generate")
imdb_train = load_example("imdb", "train")
imdb_model = load_example("imdb", "model")
model_module = load_example("word_lm", "model")
ngram = sys.modules["ngram"]
lm_corpus = sys.modules["lm_corpus"]

PER_FOLDER, UNLABELLED = 60, 120
TEST_ONLY = "testonlymarker"  # a word that only test reviews contain
GOOD, BAD = "great wonderful superb moving".split(), "awful boring dull terrible".split()
THINGS = "movie film plot acting story music".split()


def review(rng, words):
    """A few sentences of a fixed pattern: a language model can learn what follows what."""
    sentences = [
        f"the {rng.choice(THINGS)} was {rng.choice(words)} and i {rng.choice(['loved', 'hated'])} it"
        for _ in range(int(rng.integers(2, 6)))
    ]
    return ". ".join(sentences).capitalize() + "."


def write_reviews(root, with_unlabelled=True, seed=0):
    """A small archive folder in the real aclImdb layout; test reviews carry TEST_ONLY."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label, words in (("pos", GOOD), ("neg", BAD)):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for index in range(PER_FOLDER):
                text = review(rng, words) + (f" {TEST_ONLY}" if split == "test" else "")
                (folder / f"{index}_{8 if label == 'pos' else 2}.txt").write_text(text)
    if with_unlabelled:
        unsup = root / "aclImdb" / "train" / "unsup"
        unsup.mkdir()
        for index in range(UNLABELLED):
            (unsup / f"{index}_0.txt").write_text(review(rng, GOOD + BAD))
    return root


@pytest.fixture(scope="module")
def patched_sizes():
    patch = pytest.MonkeyPatch()
    patch.setattr(reviews, "REVIEWS_PER_FOLDER", PER_FOLDER)
    patch.setattr(reviews, "UNLABELLED_REVIEWS", UNLABELLED)
    yield
    patch.undo()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, patched_sizes):
    """One quick language-model run on the small reviews, shared by the tests that need a model."""
    root = tmp_path_factory.mktemp("word_lm")
    write_reviews(root / "data")
    record = train.main(
        [
            *("--quick", "--data-dir", str(root / "data"), "--output-dir", str(root / "lm")),
            *("--epochs", "8", "--checks-per-epoch", "2", "--learning-rate", "0.01", "--patience", "16"),
            *("--batch-size", "512"),  # about 20 updates a pass over these 240 short reviews
        ]
    )
    return record, root


# --- n-gram baselines ---


def test_kneser_ney_bigram_matches_the_hand_worked_example():
    """Corpus [2 3], [2 4], [3 2 3] over ids 1-4. Bigram counts (0 = start): 0-2: 2, 2-3: 2, 2-4: 1, 0-3: 1,
    3-2: 1, so D2 = 3 / (3 + 2*2) = 3/7. Continuation counts: 2 <- {0, 3}: 2, 3 <- {2, 0}: 2, 4 <- {2}: 1,
    so D1 = 1 / (1 + 2*2) = 0.2 and P1 = (a - 0.2) / 5 + 0.2 * 3/5 * 1/4: P1(1) = .03, P1(2) = P1(3) = .39,
    P1(4) = .19. After 2 (S = 3, T = 2): P(3|2) = (2 - 3/7)/3 + (3/7)(2/3) .39 = 11/21 + .39 * 2/7."""
    model = ngram.KneserNey(2, 5).fit([np.array([2, 3]), np.array([2, 4]), np.array([3, 2, 3])])
    # after the start of a review (context 0: 0-2 twice, 0-3 once)
    np.testing.assert_allclose(
        model.distribution([]), [0, 0.03 * 2 / 7, 11 / 21 + 0.39 * 2 / 7, 4 / 21 + 0.39 * 2 / 7, 0.19 * 2 / 7]
    )
    after_two = model.distribution([2])
    np.testing.assert_allclose(after_two[3], 11 / 21 + 0.39 * 2 / 7)
    np.testing.assert_allclose(after_two[4], 4 / 21 + 0.19 * 2 / 7)
    np.testing.assert_allclose(after_two[1], 0.03 * 2 / 7)
    np.testing.assert_allclose(model.distribution([4]), [0, 0.03, 0.39, 0.39, 0.19])  # never seen: P1 whole
    unigram = ngram.Unigram(5).fit([np.array([2, 3]), np.array([2, 4]), np.array([3, 2, 3])])
    np.testing.assert_allclose(np.exp(unigram.log_probabilities[1:]), [1 / 11, 4 / 11, 4 / 11, 2 / 11])


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_distributions_sum_to_one_in_every_context(order):
    rng = np.random.default_rng(order)
    sequences = [rng.integers(1, 12, size=int(rng.integers(1, 9))) for _ in range(40)]
    model = ngram.KneserNey(order, 12).fit(sequences)
    for context in ([], [3], [5, 7], [11, 11, 11], [1, 2, 3, 4, 5]):
        distribution = model.distribution(context)
        assert distribution[0] == 0 and np.all(distribution[1:] > 0)
        np.testing.assert_allclose(distribution.sum(), 1.0)
    # log_probabilities_of scores every token but the first, as the distributions give them
    sequence = sequences[0] if len(sequences[0]) > 2 else np.array([3, 5, 7])
    expected = [np.log(model.distribution(sequence[:i])[sequence[i]]) for i in range(1, len(sequence))]
    np.testing.assert_allclose(model.log_probabilities_of([sequence]), expected)


def test_the_first_word_of_a_review_is_never_scored():
    model = ngram.Unigram(6).fit([np.array([2, 3, 4])])
    assert len(model.log_probabilities_of([np.array([5]), np.array([2, 3])])) == 1


# --- the network's perplexity ---


def small_model(vocab_size=9, bidirectional=True, head_size=4):
    return model_module.build_model(vocab_size, 4, 5, bidirectional=bidirectional, head_size=head_size, tail_dim=2)


def test_a_uniform_model_has_the_perplexity_of_the_number_of_words_it_can_predict():
    model = small_model()  # ids 1-3 in the head, 4-8 (five words) behind the rare-word cluster
    for weights in (model.embedding.embeddings, model.tail_embeddings, model.output_bias, *model.cluster.weights):
        weights.assign(np.zeros(weights.shape))
    model.cluster.bias.assign([np.log(5.0)])  # the cluster as likely as its five words together
    batch = np.array([[2, 3, 4, 5, 0, 0], [6, 7, 8, 1, 2, 3]], dtype="int32")
    sums, counts = model_module.log_likelihood(model, [batch])
    assert list(counts) == [3 + 5, 3 + 5]  # every word but the first (forward) or the last (backward)
    np.testing.assert_allclose([model_module.perplexity(s, c) for s, c in zip(sums, counts, strict=True)], [8, 8])


def test_padding_does_not_count_in_perplexity():
    model = small_model()
    reviews_ids = [np.array([2, 3, 4]), np.array([5, 6, 7, 8, 2])]
    tight = keras.utils.pad_sequences(reviews_ids, padding="post")
    padded = keras.utils.pad_sequences(reviews_ids, maxlen=12, padding="post")
    one_by_one = [r[None, :] for r in reviews_ids]
    results = [model_module.log_likelihood(model, batches) for batches in ([tight], [padded], one_by_one)]
    for sums, counts in results[1:]:
        np.testing.assert_allclose(sums, results[0][0], rtol=1e-5)
        assert list(counts) == list(results[0][1]) == [6, 6]


@pytest.mark.parametrize("head_size", [2, 5, 30, 40])
def test_the_adaptive_softmax_is_a_distribution_and_scores_words_as_it_says(head_size):
    """Over the whole vocabulary the probabilities sum to 1 (padding 0), and the loss's way of scoring given words
    (gathered rows, rare words apart) gives the log probabilities of the whole distribution."""
    keras.utils.set_random_seed(head_size)
    model = model_module.build_model(30, embedding_dim=6, units=5, head_size=head_size, tail_dim=3)
    for weights in model.weights:  # larger than at initialisation: a peaked distribution
        weights.assign(np.random.default_rng(0).normal(size=weights.shape))
    vectors = np.random.default_rng(1).normal(size=(7, 6)).astype("float32")
    log_p = model.log_probabilities(vectors).numpy()
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(log_p[:, 0] < -1e8)
    targets = np.array([1, 2, 5, 29, 0, 17, 4], dtype="int32")
    total, count = model.sum_log_likelihood(vectors, targets)
    expected = sum(log_p[i, t] for i, t in enumerate(targets) if t)
    np.testing.assert_allclose(float(total), expected, rtol=1e-4)
    assert int(count) == 6


JAX_RARE_WORDS = """
import sys
sys.path.insert(0, "examples/word_lm")
import jax, keras, numpy as np
from model import RARE_ROW_SHARE, build_model
keras.utils.set_random_seed(0)
model = build_model(50, embedding_dim=6, units=5, head_size=10, tail_dim=3)
for weights in model.weights:
    weights.assign(np.random.default_rng(0).normal(size=weights.shape))
rng = np.random.default_rng(1)
for rare_share in (0.1, 0.7):  # within the fixed share of rows, and beyond it (every row scored)
    targets = np.where(rng.random(40) < rare_share, rng.integers(10, 50, 40), rng.integers(0, 10, 40))
    vectors = rng.normal(size=(40, 6)).astype("float32")
    log_p = keras.ops.convert_to_numpy(model.log_probabilities(vectors))
    expected = sum(log_p[i, t] for i, t in enumerate(targets) if t)
    total, count = jax.jit(model.sum_log_likelihood)(vectors, targets.astype("int32"))
    np.testing.assert_allclose(float(total), expected, rtol=1e-4)
    assert int(count) == np.count_nonzero(targets)
    print(int((targets >= 10).sum()) > 40 * RARE_ROW_SHARE, end=" ")
"""


def test_on_jax_the_rare_words_are_scored_exactly_in_fixed_shapes():
    """JAX compiles fixed shapes, so there the adaptive softmax scores a fixed share of the rows against the rare
    words (or every row when more are rare): the same log P as the whole distribution, inside jax.jit."""
    pytest.importorskip("jax", reason="JAX is not installed (make setup-jax)")
    result = run_python(["-c", JAX_RARE_WORDS], "jax")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["False", "True"]  # both branches taken


def test_a_bidirectional_language_model_has_one_layer():
    with pytest.raises(ValueError, match="one recurrent layer"):
        model_module.WordLanguageModel(50, num_layers=2, bidirectional=True)
    for refused in (["--layers", "2"], ["--recurrent-dropout", "0.2"]):  # refused by the command line, in one line
        with pytest.raises(SystemExit) as stopped:
            train.parse_args(refused)
        assert stopped.value.code == 2
    forward = model_module.build_model(50, embedding_dim=3, units=4, num_layers=2, bidirectional=False)
    assert forward(np.array([[2, 3, 4]])).shape == (1, 3, 1, 3)
    assert [layer.name for layer in model_module.encoder(forward).layers[1:]] == ["embedding", "lstm_1", "lstm_2"]


# --- the data it may read ---


def test_no_test_review_reaches_the_language_model(tmp_path, patched_sizes):
    write_reviews(tmp_path)
    texts = lm_corpus.language_model_texts(tmp_path)
    assert len(texts) == 2 * PER_FOLDER + UNLABELLED
    assert not any(TEST_ONLY in text for text in texts)
    # the loader does not even open the test folder's files
    (tmp_path / "aclImdb" / "test" / "pos" / "0_8.txt").write_bytes(b"\xff\xfe not read")
    assert lm_corpus.language_model_texts(tmp_path) == texts


def test_an_archive_without_unlabelled_reviews_is_refused(tmp_path, patched_sizes):
    write_reviews(tmp_path, with_unlabelled=False)
    with pytest.raises(reviews.DamagedDataError, match=r"no unlabelled reviews \(aclImdb/train/unsup"):
        lm_corpus.language_model_texts(tmp_path)
    assert len(reviews.load_reviews(tmp_path)["train"][0]) == 2 * PER_FOLDER  # the classifier does not need them


def test_validation_holds_out_whole_reviews_and_pieces_cover_every_word():
    texts = [f"review {i}" for i in range(50)]
    train_texts, val_texts = lm_corpus.split_reviews(texts, 0.1, seed=0)
    assert len(val_texts) == 5 and not set(train_texts) & set(val_texts)
    cut = lm_corpus.pieces([np.arange(2, 12), np.array([5]), np.arange(2, 6)], 4)
    assert [list(p) for p in cut] == [[2, 3, 4, 5], [6, 7, 8, 9], [10, 11], [2, 3, 4, 5]]


# --- training end to end ---


def test_quick_run_lowers_perplexity_below_the_unigram_model(trained):
    record, root = trained
    metrics = record["metrics"]
    history = read_history(root / "lm" / "history.csv")["val_perplexity"]
    assert history[-1] < history[0] and np.isfinite(metrics["val_perplexity"])
    assert metrics["val_perplexity"] < metrics["unigram_perplexity"]
    for name in ("model.keras", "encoder.keras", "vocabulary.json", SETTINGS_FILE, "perplexity.png", "run.json"):
        assert (root / "lm" / name).exists(), name


def test_classifier_and_language_model_give_the_same_ids(trained):
    _, root = trained
    data = reviews.load_reviews(root / "data", splits=("train",))
    texts = lm_corpus.split_reviews(lm_corpus.language_model_texts(root / "data"), 0.1, 42)[0]
    language_model_vectorizer = make_vectorizer(texts, 2000)  # as train.py made it
    _, vocabulary, _ = load_encoder(root / "lm")
    sentences = ["The movie was GREAT, and I loved it!", "plot<br />music zzzunknown", "", data["train"][0][0]]
    adopted = encode(vectorizer_for(vocabulary), sentences, 100)
    assert [ids.tolist() for ids in adopted] == [
        ids.tolist() for ids in encode(language_model_vectorizer, sentences, 100)
    ]
    assert adopted[1].tolist()[-1] == 1 and len(adopted[0]) == 8  # the unknown word; eight words


def test_the_classifier_starts_from_the_language_model_weights(trained):
    _, root = trained
    encoder, vocabulary, settings = load_encoder(root / "lm")
    args = imdb_train.parse_args(["--pretrained", str(root / "lm"), "--output-dir", str(root / "unused")])
    assert (args.max_tokens, args.embedding_dim, args.units) == (len(vocabulary), 16, 32)  # the sizes it takes
    classifier = imdb_model.build_model(len(vocabulary), embedding_dim=16, units=32)
    assert transfer_weights(encoder, classifier) == ["embedding", "lstm_1"]
    for name in ("embedding", "lstm_1"):
        for copied, original in zip(classifier.get_layer(name).weights, encoder.get_layer(name).weights, strict=True):
            np.testing.assert_array_equal(copied.numpy(), original.numpy())


def test_a_mismatched_language_model_is_refused(trained, tmp_path, capsys):
    _, root = trained
    with pytest.raises(SystemExit) as stopped:  # an explicit option that contradicts the saved model
        imdb_train.parse_args(["--pretrained", str(root / "lm"), "--units", "64"])
    assert stopped.value.code == 2 and "units 64 asked, 32 saved" in capsys.readouterr().err
    with pytest.raises(ValueError, match="vocab_size 5 asked, 2000 saved|vocab_size 5 asked"):
        check_requested({"vocab_size": 2000}, {"vocab_size": 5})
    changed = tmp_path / "lm"
    changed.mkdir()
    for name in ("encoder.keras", "vocabulary.json", SETTINGS_FILE):
        (changed / name).write_bytes((root / "lm" / name).read_bytes())
    settings = json.loads((changed / SETTINGS_FILE).read_text())
    (changed / SETTINGS_FILE).write_text(json.dumps({**settings, "units": 64}))
    with pytest.raises(SavedModelError, match="states: 64 where the settings say 128"):
        load_encoder(changed)
    (changed / "vocabulary.json").write_text(json.dumps(["", "[UNK]", "the"]))
    with pytest.raises(SavedModelError, match="vocabulary.json entries: 3"):
        load_encoder(changed)
    (changed / SETTINGS_FILE).write_text("{ cut")
    with pytest.raises(SavedModelError, match="is damaged"):
        load_encoder(changed)
    with pytest.raises(SavedModelError, match="not found"):
        load_encoder(tmp_path / "absent")


def test_quick_pretrained_classifier_runs_and_reloads_in_a_new_process(trained):
    _, root = trained
    record = imdb_train.main(
        [
            *("--quick", "--pretrained", str(root / "lm"), "--data-dir", str(root / "data")),
            *("--output-dir", str(root / "imdb"), "--epochs", "2"),
        ]
    )
    assert np.isfinite(record["metrics"]["test_loss"]) and record["config"]["units"] == 32
    answer = subprocess.run(
        [
            *(sys.executable, str(REPO_ROOT / "examples" / "imdb" / "predict.py")),
            *("--model", str(root / "imdb" / "end_to_end.keras"), "the movie was great and i loved it"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert answer.returncode == 0 and answer.stdout.split()[0] in ("positive", "negative"), answer.stderr


# --- generation ---


def test_generate_continues_a_prompt_and_handles_odd_input(trained, capsys):
    _, root = trained
    model_dir = ["--model-dir", str(root / "lm")]
    text = generate.main([*model_dir, "The movie was", "--length", "12", "--seed", "1"])
    words = text.split()
    assert words[:3] == ["the", "movie", "was"] and len(words) == 15 and "[UNK]" not in words
    assert text == generate.main([*model_dir, "The movie was", "--length", "12", "--seed", "1"])
    capsys.readouterr()
    generate.main([*model_dir, "the zzzunknown was", "--length", "3"])
    assert "zzzunknown outside the vocabulary" in capsys.readouterr().err
    for prompt in ("", "   ", "!!!", "这部电影"):
        with pytest.raises(SystemExit, match="no word the model knows"):
            generate.main([*model_dir, prompt])
    for bad in (
        ["--length", "0"],
        ["--length", "-3"],
        ["--length", "10000000"],
        ["--temperature", "0"],
        ["--temperature", "-1"],
        ["--temperature", "50"],
        ["--top-k", "0"],
    ):
        with pytest.raises(SystemExit) as stopped:
            generate.main([*model_dir, "the movie", *bad])
        assert stopped.value.code == 2
    with pytest.raises(SystemExit, match="not found; train first with: make example-word_lm"):
        generate.main(["--model-dir", str(root / "absent"), "the movie"])


def test_a_new_process_gives_the_same_next_word_probabilities(trained):
    _, root = trained
    in_memory = generate.load_generator(root / "lm").next_words("the plot was", 5)
    printed = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "examples" / "word_lm" / "generate.py"),
            "--model-dir",
            str(root / "lm"),
            "the plot was",
            "--next",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert printed.returncode == 0, printed.stderr
    lines = [line.split() for line in printed.stdout.splitlines()]
    assert [word for _, word in lines] == [word for word, _ in in_memory]
    np.testing.assert_allclose([float(p) for p, _ in lines], [p for _, p in in_memory], atol=1e-4)
    # "the plot was" is followed by an adjective in every review: some are among the five likeliest
    assert any(word in GOOD + BAD for word, _ in in_memory), in_memory


def test_one_step_generation_matches_the_whole_review_model():
    model = small_model(vocab_size=12)
    generator = generate.WordGenerator(model, ["", "[UNK]", *[f"w{i}" for i in range(10)]])
    ids = np.array([2, 5, 7, 3], dtype="int32")
    whole = model.log_probabilities(model(ids[None, :])[0, :, 0]).numpy()  # forward direction at each position
    for position in range(1, len(ids) + 1):
        stepwise = generator.next_logits(ids[:position])
        np.testing.assert_allclose(np.delete(stepwise, 1), np.delete(whole[position - 1], 1), atol=1e-5)
        assert stepwise[1] < -1e8  # the unknown word is never written


def test_the_pretraining_benchmark_tables_each_run_and_the_mean_and_range(tmp_path):
    benchmark = load_module(REPO_ROOT / "benchmarks" / "pretraining.py")
    runs = [
        {
            "name": "pretrained",
            "seed": seed,
            "test_accuracy": accuracy,
            "baseline_test_accuracy": 0.9016,
            "rnn_wall_time_s": 600.0,
            "epochs_run": 4,
            "best_epoch": 3,
            "val_accuracy": [0.80, 0.88, 0.89, 0.89],
        }
        for seed, accuracy in ((42, 0.902), (1, 0.896), (2, 0.905))
    ]
    runs.append({**runs[0], "name": "from scratch", "test_accuracy": 0.8858, "val_accuracy": [0.83, 0.87]})
    table = benchmark.render(runs, "2 CPU cores")
    assert "| pretrained, mean of 3 | | **0.9010** (0.8960-0.9050) | | | |" in table
    assert "from scratch, mean" not in table and table.count("| pretrained | ") == 3
    assert benchmark.plot(runs, tmp_path / "curves.png").stat().st_size > 1000
