"""Reuters topic example: corpus in NLTK's layout, end to end, thresholds from validation only, predict."""

import numpy as np
import pytest
from conftest import load_example

from common.data import DataNotFoundError

corpus = load_example("reuters", "corpus")
train = load_example("reuters", "train")
predict = load_example("reuters", "predict")

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
    record = quick_run(small_reuters, tmp_path / "out", "--remove-stopwords", "--epochs", "1")
    assert record["config"]["remove_stopwords"] is True


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
        ]
    )
    assert "grain" in [topic for topic, _ in answers[0]] and answers[1] is None and answers[3] is None
    assert answers[2][0][0] == "crude"
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 and "no word the model knows" in printed[3]
    with pytest.raises(SystemExit, match="no story given"):
        predict.main(["--model-dir", str(tmp_path / "out"), "  "])
    binary = tmp_path / "story.bin"
    binary.write_bytes(b"OPEC crude \xff\xfe oil")
    with pytest.raises(SystemExit, match=r"story.bin is not UTF-8 text \(byte 11"):
        predict.main(["--model-dir", str(tmp_path / "out"), "--file", str(binary)])


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
