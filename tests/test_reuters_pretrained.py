"""A word language model of the Reuters stories (word_lm --corpus reuters) and the Reuters classifier started from it.

The corpus in NLTK's layout and the SGML archive are small copies in the real formats (test_reuters' writers).
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT, load_example
from test_reuters import write_reuters, write_sgml_archive

from common import reuters
from common.pretrained import SETTINGS_FILE, adopt_language_model, load_encoder
from common.saving import SavedModelError
from common.text import encode

lm_train = load_example("word_lm", "train")
generate = load_example("word_lm", "generate")
lm_corpus = sys.modules["lm_corpus"]
reuters_train = load_example("reuters", "train")

TEST_ONLY = "testonlymarker"  # a word that only a test story holds
UNLABELLED = {
    900_001: ("WHEAT TENDER", "Egypt bought 200,000 tonnes of wheat, traders said."),
    900_002: ("OPEC MEETING", "Crude oil output rose 1.5 mln barrels a day."),
    900_003: ("DIVIDEND", "The company raised its quarterly dividend to 12 cts a share."),
}


def write_corpus(data_dir):
    """The small ModApte corpus (TEST_ONLY in one test story) and an SGML archive with three unlabelled stories
    and one story that is also ModApte's (its NEWID), which must not be read twice."""
    write_reuters(data_dir)
    test_story = data_dir / "nltk_data" / "corpora" / "reuters" / "test" / "50000"
    test_story.write_text(test_story.read_text() + f" {TEST_ONLY}\n")
    write_sgml_archive(data_dir, {**UNLABELLED, 1: ("MODAPTE STORY", "already in the training stories")})
    return data_dir


@pytest.fixture(scope="module")
def reuters_lm(tmp_path_factory):
    """One quick language-model run on the small Reuters corpus: (record, data dir, model dir)."""
    root = tmp_path_factory.mktemp("reuters_lm")
    data_dir = write_corpus(root / "data")
    record = lm_train.main(
        [
            *("--corpus", "reuters", "--quick", "--data-dir", str(data_dir), "--output-dir", str(root / "lm")),
            *("--epochs", "4", "--learning-rate", "0.01", "--batch-size", "512"),
        ]
    )
    return record, data_dir, root / "lm"


def test_the_language_model_reads_training_and_unlabelled_stories_never_a_test_story(tmp_path):
    data_dir = write_corpus(tmp_path)
    texts = lm_corpus.language_model_texts(data_dir, "reuters")
    _, training, _ = reuters.load_split(reuters.open_reader(data_dir), "training")
    unlabelled = [reuters.tokenize(f"{title}\n{body}") for title, body in UNLABELLED.values()]
    assert texts == [*training, *unlabelled]  # the ModApte story in the archive is not read a second time
    assert not any(TEST_ONLY in text for text in texts)
    assert "<num>" in texts[-2]  # the classifier's tokens: figures folded, punctuation dropped


def test_quick_run_saves_a_reuters_language_model_in_its_own_folder(reuters_lm):
    record, _, lm_dir = reuters_lm
    settings = json.loads((lm_dir / SETTINGS_FILE).read_text())
    assert (settings["corpus"], settings["standardize"]) == ("reuters", None)
    assert record["metrics"]["val_perplexity"] < record["metrics"]["unigram_perplexity"]
    args = lm_train.parse_args(["--corpus", "reuters"])
    assert args.output_dir.endswith("outputs/word_lm-reuters")  # the IMDB model's folder is left alone
    assert (args.embedding_dim, args.units, args.epochs) == (64, 64, 4)  # the Reuters classifier's sizes


def test_the_classifier_gets_the_language_models_token_ids(reuters_lm):
    _, data_dir, lm_dir = reuters_lm
    _, vocabulary, _ = load_encoder(lm_dir, "reuters")
    _, adopted = adopt_language_model(lm_dir, "reuters")
    story = reuters.tokenize("Wheat exports ROSE 155,221 tonnes, zzzunknown said.")
    ids = encode(adopted, [story], 100)[0].tolist()
    assert [vocabulary[i] for i in ids] == [w if w in vocabulary else "[UNK]" for w in story.split()]
    assert vocabulary[ids[3]] == "<num>" and ids[-2] == 1  # a figure is <num>; the unknown word is 1


def test_quick_pretrained_classifier_starts_from_the_language_model_and_predicts_in_a_new_process(reuters_lm, capsys):
    _, data_dir, lm_dir = reuters_lm
    output_dir = lm_dir.parent / "reuters"
    record = reuters_train.main(
        ["--quick", "--pretrained", str(lm_dir), "--data-dir", str(data_dir), "--output-dir", str(output_dir)]
    )
    assert f"started from {lm_dir}: embedding, lstm_1" in capsys.readouterr().out
    assert record["example"] == "reuters-pretrained" and record["config"]["units"] == 32  # the language model's
    assert np.isfinite(record["metrics"]["f1_micro"])
    answer = subprocess.run(
        [
            *(sys.executable, str(REPO_ROOT / "examples" / "reuters" / "predict.py")),
            *("--model-dir", str(output_dir), "Crude oil output rose 1.5 mln barrels, OPEC said."),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert answer.returncode == 0 and answer.stdout.strip(), answer.stderr


def test_a_language_model_of_another_corpus_or_size_is_refused(reuters_lm, tmp_path, capsys):
    _, _, lm_dir = reuters_lm
    with pytest.raises(SystemExit) as stopped:
        reuters_train.parse_args(["--pretrained", str(lm_dir), "--units", "48"])
    assert stopped.value.code == 2 and "units 48 asked, 32 saved" in capsys.readouterr().err
    imdb_like = tmp_path / "lm"
    shutil.copytree(lm_dir, imdb_like)
    settings = json.loads((imdb_like / SETTINGS_FILE).read_text())
    (imdb_like / SETTINGS_FILE).write_text(json.dumps({**settings, "corpus": "imdb"}))
    with pytest.raises(SystemExit) as stopped:
        reuters_train.parse_args(["--pretrained", str(imdb_like)])
    message = capsys.readouterr().err
    assert stopped.value.code == 2 and "learned the imdb corpus, not reuters" in message
    assert "word_lm/train.py --corpus reuters" in message
    imdb_train = load_example("imdb", "train")
    with pytest.raises(SystemExit):  # and the other way round
        imdb_train.parse_args(["--pretrained", str(lm_dir)])
    assert "learned the reuters corpus, not imdb" in capsys.readouterr().err


def test_a_damaged_reuters_language_model_names_the_command_that_trains_one_again(reuters_lm, tmp_path):
    _, _, lm_dir = reuters_lm
    damaged = tmp_path / "lm"
    shutil.copytree(lm_dir, damaged)
    (damaged / SETTINGS_FILE).write_text('{"vocab_size": ')  # cut off mid-write
    with pytest.raises(SavedModelError, match="damaged.*word_lm/train.py --corpus reuters"):
        reuters_train.parse_args(["--pretrained", str(damaged)])
    (damaged / SETTINGS_FILE).write_text((lm_dir / SETTINGS_FILE).read_text())
    (damaged / "encoder.keras").unlink()
    with pytest.raises(SavedModelError, match="not found; make it with python examples/word_lm/train.py --corpus reu"):
        adopt_language_model(damaged, "reuters")


def test_generate_reads_a_prompt_as_reuters_tokens(reuters_lm, capsys):
    _, _, lm_dir = reuters_lm
    generator = generate.load_generator(lm_dir)
    assert generator.words("Wheat exports rose 155,221 tonnes.") == ["wheat", "exports", "rose", "<num>", "tonnes"]
    answer = generate.main(["--model-dir", str(lm_dir), "--next", "3", "Crude oil output rose"])
    assert len(answer) == 3 and all(0 < probability <= 1 for _, probability in answer)
