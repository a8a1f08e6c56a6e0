"""Reuters topic example: corpus in NLTK's layout, end to end, thresholds from validation only, predict."""

import json
import re

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example, run_predict

from common import reuters as corpus  # noqa: E402
from common.data import DataNotFoundError
from common.saving import SavedModelError
from common.text import encode, inverse_document_frequency, make_vectorizer, tf_idf_matrix

ensemble = load_example("reuters", "ensemble")
scores = load_example("reuters", "scores")
train = load_example("reuters", "train")
predict = load_example("reuters", "predict")
model_module = load_example("reuters", "model")

STORY_WORDS = {
    "grain": "harvest tonnes grain silo farmers",
    "wheat": "wheat flour bushels winter",
    "corn": "corn maize acreage feed",
    "crude": "crude oil barrels opec refinery",
    "earn": "profit dividend quarter net shares",
    "acq": "merger acquisition takeover stake bid",
}
FILLER = "the said company market year reuters new week official price".split()


def write_reuters(root, train_count=240, test_count=90, seed=0):
    """A small corpus in NLTK's reuters layout: training/N, test/N and cats.txt."""
    rng = np.random.default_rng(seed)
    folder = root / "nltk_data" / "corpora" / "reuters"
    cats = []
    for split, count, offset in (("training", train_count, 1), ("test", test_count, 50_000)):
        (folder / split).mkdir(parents=True)
        for number in range(offset, offset + count):
            kind = number % 4
            topics = [
                ["grain", "wheat", "corn"],
                ["crude"],
                ["earn"],
                ["acq", "crude"] if number % 8 == 3 else ["acq"],
            ][kind]
            words = " ".join(STORY_WORDS[t] for t in topics).split() * 2 + list(rng.choice(FILLER, 12))
            rng.shuffle(words)
            title = " ".join(words[:4]).upper()
            (folder / split / str(number)).write_text(f"{title}\n  {' '.join(words)}, it said on 12.5 mln.\n")
            cats.append(f"{split}/{number} {' '.join(topics)}")
    (folder / "cats.txt").write_text("\n".join(cats) + "\n")
    return root


@pytest.fixture
def small_reuters(tmp_path):
    return write_reuters(tmp_path / "data")


def test_tokenize_lowercases_and_folds_numbers():
    text = "U.S. wheat exports rose 155,221 tonnes (5.93 mln) in 1987, the USDA said."
    assert corpus.tokenize(text) == "u s wheat exports rose <num> tonnes <num> mln in <num> the usda said"
    assert (
        corpus.tokenize(text, stopwords={"the", "in", "s"})
        == "u wheat exports rose <num> tonnes <num> mln <num> usda said"
    )


def test_stopwords_option_reads_nltk_stopwords(small_reuters, tmp_path):
    folder = small_reuters / "nltk_data" / "corpora" / "stopwords"
    folder.mkdir(parents=True)
    (folder / "english").write_text("the\nsaid\nit\non\n")
    assert corpus.english_stopwords(small_reuters) == {"the", "said", "it", "on"}
    quick_run(small_reuters, tmp_path / "out", "--remove-stopwords", "--epochs", "1")
    reader = keras.models.load_model(tmp_path / "out" / "end_to_end.keras")
    vectorizer = next(layer for layer in reader.layers if isinstance(layer, keras.layers.TextVectorization))
    assert not {"the", "said", "it", "on"} & set(vectorizer.get_vocabulary())  # in every story, never in the model


def test_reader_splits_and_topics(small_reuters):
    reader = corpus.open_reader(small_reuters)
    fileids, texts, topics = corpus.load_split(reader, "training")
    assert len(fileids) == 240 and fileids[:2] == ["training/1", "training/2"]
    assert topics[0] == ["crude"] and topics[3] == ["corn", "grain", "wheat"]  # story 1 is kind 1, story 4 kind 0
    assert corpus.most_frequent_topics(topics, 2) == ["crude", "acq"]


def test_missing_corpus_without_network_says_how_to_get_it(tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk, "download", lambda *args, **kwargs: False)
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nowhere")])
    with pytest.raises(DataNotFoundError, match="python -m nltk.downloader -d .*nltk_data reuters"):
        corpus.open_reader(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        train.cli.run(lambda: train.main(["--quick", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o")]))
    assert exit_info.value.code == 1


def quick_run(data_dir, output_dir, *extra, members=1):
    """A --quick run that learns the small corpus; one member unless asked (each member is a full training)."""
    return train.main(
        [
            "--quick",
            "--members",
            str(members),
            "--data-dir",
            str(data_dir),
            "--output-dir",
            str(output_dir),
            "--epochs",
            "15",
            "--patience",
            "15",
            "--learning-rate",
            "0.01",
            *extra,
        ]
    )


def test_quick_run_learns_with_thresholds_from_validation_only(small_reuters, tmp_path, monkeypatch):
    seen = []
    real_choose = train.choose_threshold

    def spy(probabilities, labels, *args, **kwargs):
        seen.append(np.asarray(labels))
        return real_choose(probabilities, labels, *args, **kwargs)

    monkeypatch.setattr(train, "choose_threshold", spy)
    record = quick_run(small_reuters, tmp_path / "out", members=2)
    metrics = record["metrics"]
    assert metrics["f1_micro"] > 0.8 and metrics["baseline_f1_micro"] > 0.8
    # Thresholds (each member, the ensemble, the baseline) were chosen on the validation stories:
    # 10% of 240 training stories.
    assert len(seen) == 4 and all(labels.shape == (24, 6) for labels in seen)
    assert len(metrics["member_f1_micro"]) == 2
    assert len(record["members"]) == 2
    for name in ("model.keras", "end_to_end.keras", "topics.json", "per_topic.csv", "f1_by_topic.png"):
        assert (tmp_path / "out" / name).exists(), name
    for name in ("model.keras", "history.csv", "history.png"):
        assert (tmp_path / "out" / "member-2" / name).exists(), name


def test_topics_option_keeps_the_most_frequent(small_reuters, tmp_path):
    record = quick_run(small_reuters, tmp_path / "out", "--topics", "2", "--epochs", "1")
    assert record["metrics"]["topics"] == 2
    assert "2 topics" in record["results"][0]["metric"]


@pytest.mark.parametrize("flags", [["--cell", "simple_rnn", "--no-bidirectional"], ["--cell", "lstm", "--layers", "2"]])
def test_cells_and_stacking_run(small_reuters, tmp_path, flags):
    record = quick_run(small_reuters, tmp_path / "out", "--epochs", "1", *flags)
    assert np.isfinite(record["metrics"]["f1_micro"])


def test_predict_prints_topics_and_rejects_empty_input(small_reuters, tmp_path, capsys):
    quick_run(small_reuters, tmp_path / "out")
    capsys.readouterr()
    answers = predict.main(
        [
            "--model-dir",
            str(tmp_path / "out"),
            "Wheat and corn harvest: farmers sold grain by the bushel.",
            "...",
            "OPEC crude oil",
            "Les cours du pétrole brut ont chuté",  # no word the model knows: no made-up topics (issue 12)
            "12 34.5 1,000",  # figures alone are no topic either (each is <num>, a token it knows)
        ]
    )
    assert "grain" in [topic for topic, _ in answers[0]] and answers[1] is None and answers[3] is None
    assert answers[2][0][0] == "crude" and answers[4] is None
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5 and "(no word the model knows) " in printed[3] and "no word the model knows" in printed[4]
    threshold = json.loads((tmp_path / "out" / "topics.json").read_text())["threshold"]
    assert [("a guess" in line) for line in printed[:3:2]] == [answers[i][0][1] < threshold for i in (0, 2)]
    with pytest.raises(SystemExit, match="no story given"):
        predict.main(["--model-dir", str(tmp_path / "out"), "  "])
    binary = tmp_path / "story.bin"
    binary.write_bytes(b"OPEC crude \xff\xfe oil")
    with pytest.raises(SystemExit, match=r"story.bin is not UTF-8 text \(byte 11"):
        predict.main(["--model-dir", str(tmp_path / "out"), "--file", str(binary)])
    # "--explain" is a switch: the story after it is a story, not the folder for the pages
    assert predict.main(
        ["--model-dir", str(tmp_path / "out"), "--explain", "--explain-dir", str(tmp_path / "pages"), "OPEC crude oil"]
    )[0]
    topics = tmp_path / "out" / "topics.json"
    saved = topics.read_text()
    # no topic reaches the threshold: the most likely one is given, and said to be a guess
    topics.write_text(json.dumps({**json.loads(saved), "threshold": 1.01}))  # above any probability
    capsys.readouterr()
    assert predict.main(["--model-dir", str(tmp_path / "out"), "OPEC crude oil"])[0][0][0] == "crude"
    assert re.match(r"\[1\] crude \d\.\d\d \(below the threshold 1\.01: a guess\)   \| OPEC", capsys.readouterr().out)
    topics.write_text(saved[: len(saved) // 2])  # cut short: the hint is the command that trained this run
    with pytest.raises(SavedModelError, match="topics.json is damaged .*train again with: python .*train.py --quick"):
        predict.main(["--model-dir", str(tmp_path / "out"), "OPEC crude oil"])
    topics.write_text(saved)
    # --explain: the top topic by default, or the one asked for; one page per story that the model can read
    capsys.readouterr()
    stories = ["OPEC crude oil prices", "...", "Wheat and corn harvest: farmers sold grain by the bushel."]
    folder = tmp_path / "why"
    answers = predict.main(["--model-dir", str(tmp_path / "out"), "--explain", "--explain-dir", str(folder), *stories])
    printed = capsys.readouterr().out
    assert f"raised P({answers[0][0][0]}): " in printed and f"raised P({answers[2][0][0]}): " in printed
    assert sorted(path.suffix for path in folder.iterdir()) == [".html", ".html", ".png", ".png"]
    predict.main(
        [
            "--model-dir",
            str(tmp_path / "out"),
            "--explain",
            "--explain-dir",
            str(folder),
            "--topic",
            "grain",
            stories[0],
        ]
    )
    assert "raised P(grain): " in capsys.readouterr().out
    with pytest.raises(SystemExit, match="'gold' is not one of the model's topics"):
        predict.main(["--model-dir", str(tmp_path / "out"), "--explain", "--topic", "gold", stories[0]])


def test_real_corpus_modapte_split(shared_data):
    reader = corpus.open_reader(shared_data)
    training = [f for f in reader.fileids() if f.startswith("training/")]
    test = [f for f in reader.fileids() if f.startswith("test/")]
    assert (len(training), len(test), len(reader.categories())) == (7770, 3019, 90)
    assert set(reader.categories("training/1")) == {"cocoa"}


def write_sgml_archive(root, stories):
    """reuters21578.tar.gz with one reut2-000.sgm holding {newid: (title, body)} in the distribution's markup."""
    import io
    import tarfile

    blocks = [
        f'<REUTERS TOPICS="NO" LEWISSPLIT="NOT-USED" CGISPLIT="TRAINING-SET" OLDID="1" NEWID="{newid}">\n'
        f"<DATE>26-FEB-1987</DATE>\n<TEXT>&#2;\n<TITLE>{title}</TITLE>\n<BODY>{body}</BODY></TEXT>\n</REUTERS>"
        for newid, (title, body) in stories.items()
    ]
    payload = ('<!DOCTYPE lewis SYSTEM "lewis.dtd">\n' + "\n".join(blocks)).encode("latin-1")
    with tarfile.open(root / corpus.SGML_ARCHIVE, "w:gz") as tar:
        info = tarfile.TarInfo("./reut2-000.sgm")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def test_unlabelled_stories_leave_out_every_modapte_story(tmp_path):
    write_sgml_archive(
        tmp_path,
        {
            1: ("COCOA REVIEW", "Showers continued in the Bahia cocoa zone."),  # a ModApte story: left out
            2: ("OIL &amp; GAS", "Crude prices rose 5.5 pct &lt;XON&gt; said."),
            3: ("", ""),  # no text at all: dropped
        },
    )
    texts = corpus.unlabelled_stories(tmp_path, exclude_ids={1})
    assert texts == ["oil gas crude prices rose <num> pct xon said"]


def test_damaged_sgml_archive_is_a_clear_error(tmp_path):
    from common.data import DamagedDataError

    (tmp_path / corpus.SGML_ARCHIVE).write_bytes(b"not a tar file")
    with pytest.raises(DamagedDataError, match="not a readable Reuters-21578 archive"):
        corpus.unlabelled_stories(tmp_path, exclude_ids=set())


def test_real_unlabelled_stories_are_the_ones_outside_modapte(shared_data, tmp_path):
    (tmp_path / corpus.SGML_ARCHIVE).symlink_to(shared_data / corpus.SGML_ARCHIVE)
    modapte = {int(fileid.split("/")[1]) for fileid in corpus.open_reader(shared_data).fileids()}
    texts = corpus.unlabelled_stories(tmp_path, modapte)
    assert 9_500 < len(texts) < 21_578 - len(modapte)  # the rest, less the stories with no text


# --- the ensemble and its members (ensemble.py) ---


def test_base_rate_biases_make_the_untrained_head_predict_label_frequencies():
    labels = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    biases = ensemble.base_rate_biases(labels)
    sigmoid = 1 / (1 + np.exp(-biases))
    np.testing.assert_allclose(sigmoid[1], 0.25, rtol=1e-6)
    np.testing.assert_allclose(sigmoid[0], 0.75, rtol=1e-6)
    np.testing.assert_allclose(sigmoid[2], 0.5 / 4, rtol=1e-6)  # never positive: half an example, finite
    model = model_module.build_model(20, 3, embedding_dim=16, units=3, output_biases=biases)
    kernel, kept_biases = model.get_layer("output").get_weights()
    np.testing.assert_array_equal(kept_biases, biases.astype("float32"))
    model.get_layer("output").set_weights([np.zeros_like(kernel), biases])
    np.testing.assert_allclose(model(np.array([[3, 4, 0]]))[0], sigmoid, rtol=1e-5)
    with pytest.raises(ValueError, match="non-empty"):
        ensemble.base_rate_biases(np.zeros((0, 3)))


def test_rare_topic_weights_by_hand():
    labels = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 0], [1, 0, 0]])  # 4, 1 and 0 positive examples
    np.testing.assert_allclose(ensemble.rare_topic_weights(labels, 0.5), [1.0, 2.0, 2.0])  # (4/1) ** 0.5
    np.testing.assert_allclose(ensemble.rare_topic_weights(labels, 0.0), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="0 or more"):
        ensemble.rare_topic_weights(labels, -1)


def test_topic_weighted_crossentropy_by_hand_and_as_keras_with_unit_weights():
    y_true = np.array([[1.0, 0.0]], dtype="float32")
    y_pred = np.array([[0.8, 0.3]], dtype="float32")
    # mean over the two topics of 2 * -log 0.8 (a positive, weight 2) and -log(1 - 0.3) (a negative: no weight)
    by_hand = (2 * -np.log(0.8) + -np.log(0.7)) / 2
    loss = model_module.TopicWeightedCrossentropy([2.0, 5.0])
    np.testing.assert_allclose(float(loss(y_true, y_pred)), by_hand, rtol=1e-5)
    rng = np.random.default_rng(0)
    labels = (rng.random((6, 4)) < 0.3).astype("float32")
    probabilities = rng.uniform(0.01, 0.99, (6, 4)).astype("float32")
    np.testing.assert_allclose(
        float(model_module.TopicWeightedCrossentropy([1.0] * 4)(labels, probabilities)),
        float(keras.losses.BinaryCrossentropy()(labels, probabilities)),
        rtol=1e-5,
    )


def test_a_model_trained_with_rare_topic_weights_saves_and_predicts_in_a_new_process(small_reuters, tmp_path):
    record = quick_run(small_reuters, tmp_path / "out", "--rare-topic-weight", "0.5")
    assert record["config"]["rare_topic_weight"] == 0.5 and np.isfinite(record["metrics"]["f1_micro"])
    answer = run_predict(REPO_ROOT / "examples" / "reuters" / "predict.py", tmp_path / "out", "OPEC crude oil")
    assert answer.returncode == 0 and answer.stdout.startswith("[1] crude"), answer.stderr


def test_the_tf_idf_member_is_the_baseline_in_keras_and_the_model_predicts_in_a_new_process(small_reuters, tmp_path):
    record = quick_run(small_reuters, tmp_path / "out", "--tf-idf")
    assert record["config"]["tf_idf"] is True and record["metrics"]["rnn_alone_f1_micro"] > 0
    model = keras.models.load_model(tmp_path / "out" / "model.keras")
    member = model.get_layer("tf_idf_logistic_regression")  # scikit-learn's model, as Keras layers
    assert not member.get_layer("tf_idf").trainable_weights and np.abs(member.get_layer("output").kernel).max() > 1
    assert record["parameters"] == model.count_params() > member.count_params()  # run.json counts both halves
    # The RNNs read the first 80 tokens (--quick), the TF-IDF member the whole story: oil words after 100 filler
    # words still raise crude.
    end_to_end = keras.models.load_model(tmp_path / "out" / "end_to_end.keras")
    assert model.get_layer("truncate_for_rnns").max_length == 80
    topics = json.loads((tmp_path / "out" / "topics.json").read_text())["topics"]
    filler = " ".join(["the company said"] * 34)
    late_oil, no_oil = end_to_end.predict(
        np.array([f"{filler} crude oil barrels opec", filler], dtype=object), verbose=0
    )
    assert late_oil[topics.index("crude")] > no_oil[topics.index("crude")] + 0.05
    answer = run_predict(REPO_ROOT / "examples" / "reuters" / "predict.py", tmp_path / "out", "OPEC crude oil")
    assert answer.returncode == 0 and answer.stdout.startswith("[1] crude"), answer.stderr
    explained = run_predict(
        REPO_ROOT / "examples" / "reuters" / "predict.py", tmp_path / "out", "--explain", "OPEC crude oil"
    )
    assert explained.returncode != 0 and "use --method occlusion" in explained.stderr


def test_the_tf_idf_member_gives_scikit_learns_probabilities():
    rng = np.random.default_rng(0)
    texts = [
        " ".join(rng.choice(["oil", "opec", "wheat", "corn", "rates", "bank", "the", "said"], 12)) for _ in range(40)
    ]
    labels = np.array(
        [[("oil" in t) * 1.0, ("wheat" in t) * 1.0, 0.0] for t in texts], dtype="float32"
    )  # one topic no story has
    vectorizer = make_vectorizer(texts, 100, standardize=None)
    member = train.fit_tf_idf_member(vectorizer, (texts, labels))
    sequences = encode(vectorizer, texts, train.WHOLE_STORY)
    ours = member.predict(keras.utils.pad_sequences(sequences, padding="post"), verbose=0)
    features = tf_idf_matrix(sequences, inverse_document_frequency(sequences, vectorizer.vocabulary_size()))
    theirs = train.fit_quietly(train.logistic_regression(), features, labels).predict_proba(features)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


# --- multi-label decisions and scores (scores.py) ---


def test_decisions_threshold_and_at_least_one_topic():
    probabilities = np.array([[0.9, 0.6, 0.1], [0.2, 0.3, 0.1]])
    np.testing.assert_array_equal(scores.multilabel_decisions(probabilities, 0.5), [[1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(scores.multilabel_decisions(probabilities, 0.95), [[1, 0, 0], [0, 1, 0]])


def test_threshold_is_the_best_on_the_data_given():
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 1]])
    probabilities = np.array([[0.7, 0.1], [0.28, 0.35], [0.8, 0.4], [0.1, 0.3]])
    # every positive is >= 0.3; a negative is 0.28
    assert scores.choose_threshold(probabilities, labels) == pytest.approx(0.3)
    assert scores.choose_threshold(probabilities, labels, candidates=np.array([0.5, 0.75])) == 0.5


def test_scores_by_hand():
    labels = np.array([[1, 0, 1], [0, 1, 0]])
    decisions = np.array([[1, 0, 0], [0, 1, 1]])
    results, per_label = scores.multilabel_scores(labels, decisions, ["a", "b", "c"])
    # micro: tp=2, fp=1, fn=1 -> P=R=F1=2/3; macro F1 = mean(1, 1, 0)
    assert results["f1_micro"] == pytest.approx(2 / 3) and results["precision_micro"] == pytest.approx(2 / 3)
    assert results["f1_macro"] == pytest.approx(2 / 3)
    assert results["subset_accuracy"] == 0.0
    assert per_label["c"]["f1-score"] == 0.0 and per_label["a"]["support"] == 1
