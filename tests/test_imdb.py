"""IMDB sentiment example: loader and its checks, end to end, predict.py, masking with bucketing."""

import tarfile

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example, load_module

from common import reviews  # the very module train.py reads data with, so patches reach it
from common.data import DataNotFoundError
from common.text import bucketed_dataset, encode
from common.training import read_history

from tables import markers

train = load_example("imdb", "train")
predict = load_example("imdb", "predict")

PER_FOLDER = 120
UNLABELLED = 60
POSITIVE = "great wonderful loved brilliant superb moving".split()
NEGATIVE = "awful boring hated dull terrible waste".split()
FILLER = "the film movie plot actor scene story director music camera and of a it was this".split()


def write_review_folder(root, per_folder=PER_FOLDER, seed=0):
    """A small data set in the real aclImdb/{train,test}/{pos,neg}/ID_RATING.txt layout."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label, words in (("pos", POSITIVE), ("neg", NEGATIVE)):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for index in range(per_folder):
                length = int(rng.integers(8, 60))
                tokens = list(rng.choice(FILLER, size=length)) + list(rng.choice(words, size=3))
                rng.shuffle(tokens)
                text = " ".join(tokens[: length // 2]) + ".<br /><br />" + " ".join(tokens[length // 2 :]) + "!"
                (folder / f"{index}_{8 if label == 'pos' else 2}.txt").write_text(text.capitalize())
    unsup = root / "aclImdb" / "train" / "unsup"
    unsup.mkdir()
    for index in range(UNLABELLED):
        words = list(rng.choice(FILLER, size=20)) + list(rng.choice(POSITIVE + NEGATIVE, size=3))
        (unsup / f"{index}_0.txt").write_text(" ".join(words))
    return root


@pytest.fixture
def small_imdb(tmp_path, monkeypatch):
    monkeypatch.setattr(reviews, "REVIEWS_PER_FOLDER", PER_FOLDER)
    monkeypatch.setattr(reviews, "UNLABELLED_REVIEWS", UNLABELLED)
    monkeypatch.setattr(reviews, "URL", (tmp_path / "offline" / "aclImdb_v1.tar.gz").as_uri())
    return write_review_folder(tmp_path / "data")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick run on the small data set, shared by the tests that need a model."""
    root = tmp_path_factory.mktemp("imdb")
    write_review_folder(root / "data")
    patch = pytest.MonkeyPatch()
    patch.setattr(reviews, "REVIEWS_PER_FOLDER", PER_FOLDER)
    patch.setattr(reviews, "UNLABELLED_REVIEWS", UNLABELLED)
    record = train.main(
        [
            "--quick",
            "--data-dir",
            str(root / "data"),
            "--output-dir",
            str(root / "out"),
            "--epochs",
            "12",
            "--patience",
            "12",
            "--learning-rate",
            "0.01",
        ]
    )
    patch.undo()
    return record, root / "out"


def test_folder_and_archive_read_the_same(small_imdb):
    from_folder = reviews.load_reviews(small_imdb)
    archive_dir = small_imdb.parent / "archive"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / reviews.ARCHIVE, "w:gz") as tar:
        tar.add(small_imdb / "aclImdb", arcname="aclImdb")
    from_archive = reviews.load_reviews(archive_dir)
    assert from_folder == from_archive
    texts, labels, movies = from_folder["train"]
    assert len(texts) == len(movies) == 2 * PER_FOLDER and sorted(set(labels)) == [0, 1]
    assert len(from_folder["unlabelled"]) == UNLABELLED


def test_movies_come_from_the_url_lists(small_imdb):
    folder = small_imdb / "aclImdb" / "train"
    (folder / "urls_pos.txt").write_text("\n".join(f"http://imdb/title/tt{i // 10}/" for i in range(PER_FOLDER)))
    _, _, movies = reviews.load_reviews(small_imdb)["train"]
    positive_movies = movies[PER_FOLDER:]  # negatives first (label 0), then positives
    assert positive_movies[0] == positive_movies[9] == "http://imdb/title/tt0/" != positive_movies[10]
    assert movies[0] == "train/neg/0"  # no url list for negatives: each review is its own group


def test_validation_holds_out_whole_movies():
    texts = [f"review {i}" for i in range(100)]
    movies = [f"movie {i // 5}" for i in range(100)]
    (train_texts, _), (val_texts, _) = train.split_by_movie(texts, [i % 2 for i in range(100)], movies, 0.2, seed=0)
    movie_of = dict(zip(texts, movies, strict=True))
    assert not {movie_of[t] for t in train_texts} & {movie_of[t] for t in val_texts}
    assert len(val_texts) == 20


def test_partial_unlabelled_folder_is_refused(small_imdb):
    next((small_imdb / "aclImdb" / "train" / "unsup").glob("*.txt")).unlink()
    with pytest.raises(reviews.DamagedDataError, match=f"train/unsup: {UNLABELLED - 1}"):
        reviews.load_reviews(small_imdb)


def test_partial_copy_is_refused(small_imdb):
    for path in list((small_imdb / "aclImdb" / "test" / "neg").glob("*.txt"))[:5]:
        path.unlink()
    with pytest.raises(reviews.DamagedDataError, match=f"test/neg: {PER_FOLDER - 5}"):
        reviews.load_reviews(small_imdb)


def test_damaged_archive_is_refused(small_imdb, tmp_path):
    archive_dir = tmp_path / "damaged"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / reviews.ARCHIVE, "w:gz") as tar:
        tar.add(small_imdb / "aclImdb", arcname="aclImdb")
    data = (archive_dir / reviews.ARCHIVE).read_bytes()
    (archive_dir / reviews.ARCHIVE).write_bytes(data[: len(data) // 2])  # an interrupted download
    with pytest.raises(reviews.DamagedDataError, match="damaged or truncated"):
        reviews.load_reviews(archive_dir)


def test_missing_data_without_network_says_where_to_put_it(small_imdb, tmp_path):
    with pytest.raises(DataNotFoundError, match="aclImdb_v1.tar.gz is missing"):
        reviews.load_reviews(tmp_path / "empty")


def test_quick_run_learns_and_writes_artifacts(trained):
    record, output_dir = trained
    history = record["metrics"]
    assert np.isfinite(history["test_loss"])
    assert history["test_accuracy"] > 0.85  # the synthetic reviews are easy
    assert history["baseline_test_accuracy"] > 0.85
    for name in ("model.keras", "end_to_end.keras", "history.csv", "history.png", "review_lengths.png", "run.json"):
        assert (output_dir / name).exists(), name
    losses = read_history(output_dir / "history.csv")["loss"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    "flags",
    [
        ["--cell", "simple_rnn"],
        ["--cell", "gru", "--layers", "2"],
        ["--cell", "lstm", "--no-bidirectional", "--pooling", "last"],
    ],
)
def test_cells_stacking_and_directions_run(small_imdb, tmp_path, flags):
    record = train.main(
        ["--quick", "--epochs", "1", "--data-dir", str(small_imdb), "--output-dir", str(tmp_path / "out"), *flags]
    )
    assert np.isfinite(record["metrics"]["test_loss"])


def test_predict_reads_raw_and_odd_reviews(trained, capsys):
    _, output_dir = trained
    capsys.readouterr()
    odd = [
        "A wonderful, brilliant film. I loved it!<br /><br />Superb.",
        "",
        "   ",
        "这部电影太好看了 😀",  # only words the model never saw: no made-up score (issue 12)
        "<br /><br />",
        "!!!",
        "awful boring dull " * 3000,
        "Très bien, a superb\x85film\u2028indeed",  # odd separators, and known words
    ]
    answers = predict.main(["--model", str(output_dir / "end_to_end.keras"), *odd])
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(odd)
    assert answers[0][0] == "positive" and answers[-2][0] == "negative" and answers[-1][0] == "positive"
    assert [answer for answer in answers[1:6]] == [(None, None)] * 5
    assert printed[3].startswith("-") and "(no word the model knows) " in printed[3]  # not explaining: no "nothing to"
    with pytest.raises(SystemExit, match="no review given"):
        predict.main(["--model", str(output_dir / "end_to_end.keras"), " "])
    with pytest.raises(SystemExit, match="absent.keras not found; train first with: make example-imdb"):
        predict.main(["--model", str(output_dir / "absent.keras"), "good"])


def test_predict_refuses_a_file_that_is_not_text(trained, tmp_path):
    _, output_dir = trained
    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SystemExit, match=r"model.bin is not UTF-8 text \(byte 128"):
        predict.main(["--model", str(output_dir / "end_to_end.keras"), "--file", str(binary)])
    with pytest.raises(SystemExit, match="cannot read .*absent.txt"):
        predict.main(["--model", str(output_dir / "end_to_end.keras"), "--file", str(tmp_path / "absent.txt")])


def test_predict_explains_each_review_in_its_own_page(trained, tmp_path, capsys):
    _, output_dir = trained
    reviews_given = ["A wonderful, brilliant film. I loved it!", "zzz qqq", "<script>x</script> awful boring waste"]
    folder = tmp_path / "why"
    model = ["--model", str(output_dir / "end_to_end.keras")]
    for method in ("integrated_gradients", "occlusion"):
        capsys.readouterr()
        predict.main(
            [
                *model,
                "--explain",
                "--explain-dir",
                str(folder / method),
                "--method",
                method,
                "--steps",
                "16",
                *reviews_given,
            ]
        )
        printed = capsys.readouterr().out
        assert "raised P(positive): " in printed and "nothing to explain" in printed
        assert sorted(path.name for path in (folder / method).iterdir()) == [
            "1-a-wonderful-brilliant-film-i-loved.html",
            "1-a-wonderful-brilliant-film-i-loved.png",
            "3-script-x-script-awful-boring-waste.html",
            "3-script-x-script-awful-boring-waste.png",
        ]
    page = (folder / "occlusion" / "1-a-wonderful-brilliant-film-i-loved.html").read_text()
    assert "P(positive) = " in page and ">brilliant</span>" in page
    with pytest.raises(SystemExit):
        predict.main([*model, "--explain", "--steps", "0", "good"])


def test_explanation_benchmark_runs_end_to_end(trained, tmp_path, monkeypatch):
    _, output_dir = trained
    benchmark = load_module(REPO_ROOT / "benchmarks" / "explanations.py")
    monkeypatch.setattr(reviews, "REVIEWS_PER_FOLDER", PER_FOLDER)
    monkeypatch.setattr(reviews, "UNLABELLED_REVIEWS", UNLABELLED)
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{markers(benchmark.TABLE)[0]}\nold table\n{markers(benchmark.TABLE)[1]}\nafter\n")
    record = benchmark.main(
        [
            *("--model", str(output_dir / "end_to_end.keras"), "--data-dir", str(output_dir.parent / "data")),
            *("--reviews", "6", "--steps", "8", "--draws", "2", "--record", str(tmp_path / "record.json")),
            *("--plot", str(tmp_path / "deletion.png"), "--readme", str(readme)),
        ]
    )
    assert record["summary"]["reviews"] == 6 and set(record["summary"]["methods"]) == set(benchmark.METHODS)
    assert record["long_words"] == 100  # quick runs read at most 100 words; these small reviews are shorter
    assert record["long_review_seconds"] == {"integrated_gradients": None, "occlusion": None}
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old table" not in text
    assert "| top k by integrated gradients |" in text and "| top k by occlusion |" in text
    assert (tmp_path / "deletion.png").stat().st_size > 1000 and (tmp_path / "record.json").exists()


def test_training_speed_benchmark_runs_every_setting(small_imdb, tmp_path):
    benchmark = load_module(REPO_ROOT / "benchmarks" / "training_speed.py")
    readme = tmp_path / "README.md"
    readme.write_text(f"{markers(benchmark.TABLE)[0]}\n{markers(benchmark.TABLE)[1]}\n")
    record = benchmark.main(
        [
            *("--data-dir", str(small_imdb), "--reviews", "48", "--epochs", "2"),
            *("--record", str(tmp_path / "speed.json"), "--plot", str(tmp_path / "speed.png"), "--readme", str(readme)),
        ]
    )
    assert [row["setting"] for row in record["rows"]] == [setting[0] for setting in benchmark.SETTINGS]
    assert record["reviews"] == 48  # the sample asked; each row's two rates are of the same epochs over it
    for row in record["rows"]:
        assert row["words_per_s"] / row["reviews_per_s"] == pytest.approx(record["words"] / record["reviews"])
    table = readme.read_text()
    assert table.count("\n| ") == len(benchmark.SETTINGS) + 2  # a row per setting, the GPU row, the header rule
    padded, bucketed = record["rows"][:2]
    assert padded["padding_share"] > bucketed["padding_share"] and padded["time_steps"] == 600 * padded["batches"]
    assert "(the example's default) | " in table and "| 1.00x |" in table


def test_reloaded_model_matches_and_bucketing_matches_single_reviews(trained):
    """Masking + right padding + bucketing must not change any prediction."""
    _, output_dir = trained
    end_to_end = keras.models.load_model(output_dir / "end_to_end.keras")
    texts = ["great film", "boring dull plot and awful acting " * 5, "the story was moving and superb " * 12, "dull"]
    single = [float(end_to_end.predict(np.array([text], dtype=object), verbose=0)[0, 0]) for text in texts]
    vectorizer = end_to_end.get_layer("vectorize")
    classifier = keras.models.load_model(output_dir / "model.keras")
    sequences = encode(vectorizer, texts, max_length=100)
    batched = np.concatenate(
        [
            classifier.predict(x, verbose=0)
            for x, _ in bucketed_dataset(sequences, np.zeros(len(texts)), batch_size=4, shuffle=False, seed=0)
        ]
    )
    # bucket order differs from input order; compare as sorted sets of probabilities
    np.testing.assert_allclose(sorted(batched[:, 0]), sorted(single), rtol=1e-4, atol=1e-6)
    padded = classifier.predict(keras.utils.pad_sequences(sequences, padding="post"), verbose=0)[:, 0]
    np.testing.assert_allclose(padded, single, rtol=1e-4, atol=1e-6)


def test_real_imdb_copy_is_complete(shared_data, tmp_path):
    (tmp_path / reviews.ARCHIVE).symlink_to(shared_data / reviews.ARCHIVE)
    data = reviews.load_reviews(tmp_path)
    assert [len(data[split][0]) for split in ("train", "test")] == [25_000, 25_000]
    assert sum(data["test"][1]) == 12_500 and len(data["unlabelled"]) == 50_000
    assert len(set(data["train"][2])) > 3000  # reviews grouped by movie: 3,456 movies


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_bucketed_batch_count_is_what_tf_data_yields(batch_size):
    """The asserted cardinality must be exact: too high and Keras waits for batches that never come."""
    rng = np.random.default_rng(0)
    sequences = [np.ones(n, dtype=np.int32) for n in rng.integers(1, 300, 101)]
    dataset = bucketed_dataset(sequences, np.zeros(len(sequences)), batch_size=batch_size, shuffle=True, seed=1)
    assert int(dataset.cardinality()) == sum(1 for _ in dataset)
