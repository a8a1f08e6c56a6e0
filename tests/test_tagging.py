"""Sequence labelling on CoNLL-2000 and CoNLL-2002: chunk F1 by hand, masking, the baseline, the NER reader and
spans, end-to-end runs (softmax and CRF), prediction."""

import json

import keras
import numpy as np
import pytest
from conftest import load_example

from common.data import DamagedDataError
from common.training import read_history

conll = load_example("tagging", "conll")
tagger = load_example("tagging", "tagger")
train = load_example("tagging", "train")
predict = load_example("tagging", "predict")
features = load_example("tagging", "features")
model_module = load_example("tagging", "model")

# (words, POS, chunk) patterns; the test corpus is made of these, with varied nouns.
NOUNS = ["pound", "dollar", "market", "stock", "bank", "price", "rate", "share"]
ADJECTIVES = ["strong", "weak", "big", "new"]


def sentence(rng):
    n1, n2 = rng.choice(NOUNS, 2)
    adjective = rng.choice(ADJECTIVES)
    rows = [
        ("The", "DT", "B-NP"),
        (adjective, "JJ", "I-NP"),
        (n1, "NN", "I-NP"),
        ("rose", "VBD", "B-VP"),
        ("against", "IN", "B-PP"),
        ("the", "DT", "B-NP"),
        (n2, "NN", "I-NP"),
        (".", ".", "O"),
    ]
    if rng.random() < 0.5:  # a second, shorter shape so lengths vary
        rows = [(n1.capitalize(), "NN", "B-NP"), ("fell", "VBD", "B-VP"), (".", ".", "O")]
    return rows


def write_corpus(folder, train_sentences=300, test_sentences=60, seed=0):
    """A small corpus in NLTK's conll2000 layout: <folder>/nltk_data/corpora/conll2000/{train,test}.txt."""
    rng = np.random.default_rng(seed)
    corpus = folder / "nltk_data" / "corpora" / "conll2000"
    corpus.mkdir(parents=True)
    for name, count in (("train.txt", train_sentences), ("test.txt", test_sentences)):
        blocks = ["\n".join(" ".join(row) for row in sentence(rng)) for _ in range(count)]
        (corpus / name).write_text("\n\n".join(blocks) + "\n")
    return folder


FIRST_NAMES = ["Felipe", "José", "Ángel", "María"]
SURNAMES = ["González", "Pérez", "Muñoz", "Núñez"]
CITIES = ["Bogotá", "Málaga", "Córdoba", "Madrid"]


def ner_sentence(rng):
    """(word, POS, entity) rows of a made-up Spanish in CoNLL-2002's style: a person visits a city."""
    rows = [("El", "DA", "O"), ("presidente", "NC", "O"), (rng.choice(FIRST_NAMES), "NP", "B-PER")]
    rows += [(rng.choice(SURNAMES), "NP", "I-PER"), ("visitó", "VMI", "O"), (rng.choice(CITIES), "NP", "B-LOC")]
    if rng.random() < 0.5:  # lengths vary, and a one-word sentence as in the real files
        return [("-", "Fg", "O")] if rng.random() < 0.2 else [("Ayer", "RG", "O"), *rows[2:], ("hoy", "RG", "O")]
    return [*rows, (".", "Fp", "O")]


def write_ner_corpus(folder, prefix="esp", encoding="latin-1", sentences=(300, 60, 60), seed=0):
    """A small CoNLL-2002 in NLTK's layout, in the shared task's own encoding (Latin-1) by default; a
    -DOCSTART- line opens each file's first sentence, as in the Dutch files."""
    rng = np.random.default_rng(seed)
    corpus = folder / "nltk_data" / "corpora" / "conll2002"
    corpus.mkdir(parents=True)
    for suffix, count in zip(("train", "testa", "testb"), sentences, strict=True):
        blocks = ["\n".join(" ".join(row) for row in ner_sentence(rng)) for _ in range(count)]
        text = "-DOCSTART- -DOCSTART- O\n" + "\n\n".join(blocks) + "\n"
        (corpus / f"{prefix}.{suffix}").write_bytes(text.encode(encoding))
    return folder


# --- chunk F1 (conll.py), worked by hand ---


def test_iob_chunks_read_as_conlleval_does():
    tags = ["B-NP", "I-NP", "B-VP", "O", "I-NP", "I-NP", "B-PP", "B-NP", "I-VP"]
    # I-NP after O starts a chunk; I-VP after B-NP starts a new VP chunk.
    assert conll.iob_chunks(tags) == {
        (0, 2, "NP"),
        (2, 3, "VP"),
        (4, 6, "NP"),
        (6, 7, "PP"),
        (7, 8, "NP"),
        (8, 9, "VP"),
    }
    assert conll.iob_chunks(["B-NP", "B-NP"]) == {(0, 1, "NP"), (1, 2, "NP")}
    assert conll.iob_chunks(["O", "O"]) == set()


def test_chunk_scores_count_a_chunk_only_when_span_and_type_match():
    true = [["B-NP", "I-NP", "B-VP", "B-NP"]]  # NP(0-2) VP(2-3) NP(3-4)
    predicted = [["B-NP", "B-NP", "B-VP", "B-PP"]]  # NP(0-1) NP(1-2) VP(2-3) PP(3-4): only VP right
    overall, per_type = conll.chunk_scores(true, predicted)
    assert overall["precision"] == pytest.approx(1 / 4)
    assert overall["recall"] == pytest.approx(1 / 3)
    assert overall["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert per_type["VP"]["f1"] == 1.0 and per_type["NP"]["f1"] == 0.0 and per_type["PP"]["support"] == 0
    perfect, _ = conll.chunk_scores(true, true)
    assert perfect["f1"] == 1.0


def test_chunks_in_different_sentences_are_different_chunks():
    overall, _ = conll.chunk_scores([["B-NP"], ["O"]], [["O"], ["B-NP"]])
    assert overall["f1"] == 0.0


def test_chunk_scores_refuse_misaligned_input():
    with pytest.raises(ValueError, match="2 true tags but 1 predicted"):
        conll.chunk_scores([["B-NP", "O"]], [["B-NP"]])


# --- the character word encoder (tagger.py) ---


@pytest.mark.parametrize("encoder", tagger.CHAR_ENCODERS)
def test_character_encoder_shapes_and_padding_words(tmp_path, encoder):
    keras.utils.set_random_seed(0)
    spelling = tagger.CharacterWordEncoder(num_chars=10, embedding_dim=4, units=3, encoder=encoder)
    chars = np.array([[[2, 3, 5], [4, 0, 0], [0, 0, 0]]])  # two words (the first unpadded) and a padding word
    vectors = spelling(chars)
    assert vectors.shape == (1, 3, 6)
    # Padding characters change nothing: the same word padded wider gets the same vector.
    wider = spelling(np.array([[[2, 3, 5, 0, 0, 0, 0]]]))
    np.testing.assert_allclose(wider[0, 0], vectors[0, 0], atol=1e-6)
    # The spelling matters, its order too (a convolution's windows see it).
    assert np.abs(spelling(np.array([[[5, 3, 2]]]))[0, 0] - vectors[0, 0]).max() > 1e-4
    np.testing.assert_array_equal(spelling.compute_mask(chars), [[True, True, False]])
    inputs = keras.Input((None, None), dtype="int32")
    model = keras.Model(inputs, tagger.CharacterWordEncoder(10, 4, 3, encoder=encoder, name="spelling")(inputs))
    model.save(tmp_path / "encoder.keras")
    reloaded = keras.saving.load_model(tmp_path / "encoder.keras")
    assert reloaded.get_layer("spelling").encoder == encoder
    np.testing.assert_allclose(reloaded(chars), model(chars), atol=1e-6)


def test_character_encoder_refuses_an_unknown_encoder():
    with pytest.raises(ValueError, match="encoder='transformer' is not one of 'rnn', 'cnn'"):
        tagger.CharacterWordEncoder(10, encoder="transformer")


# --- vocabularies and the baseline ---


def test_vocabularies_normalise_words_and_keep_spelling(tmp_path):
    sentences = [(("The", "1987", "rate"), ("DT", "CD", "NN"), ("B-NP", "I-NP", "I-NP"))] * 2
    vocabularies = conll.Vocabularies.from_sentences(sentences, column=1)
    assert vocabularies.words[:2] == ["<pad>", "<unk>"] and "0000" in vocabularies.words and "the" in vocabularies.words
    word_ids, char_ids = vocabularies.encode_words(["THE", "1999", "unseen"])
    assert word_ids.tolist()[:2] == [vocabularies.word_index["the"], vocabularies.word_index["0000"]]
    assert word_ids[2] == 1  # unknown
    assert char_ids.shape == (3, 6) and char_ids[0, 3] == 0  # "THE" padded to the longest word
    vocabularies.save(tmp_path / "v.json")
    assert conll.Vocabularies.load(tmp_path / "v.json").tags == ["CD", "DT", "NN"]


def test_vocabularies_file_keeps_words_with_line_breaks_and_odd_characters(tmp_path):
    """JSON keeps each word in one string, whatever it holds (issue 12's hazard for one-word-per-line files)."""
    words = ("good\x85film", "a\u2028b", "c\rd", "tab\tword", "😀", "\ue000")
    sentences = [(words, ("NN",) * len(words), ("B-NP",) * len(words))]
    vocabularies = conll.Vocabularies.from_sentences(sentences, column=1, min_count=1)
    vocabularies.save(tmp_path / "v.json")
    reloaded = conll.Vocabularies.load(tmp_path / "v.json")
    assert reloaded.words == vocabularies.words and reloaded.chars == vocabularies.chars
    np.testing.assert_array_equal(reloaded.encode_words(words)[0], vocabularies.encode_words(words)[0])


def test_most_frequent_tag_baseline():
    sentences = [(("run", "fast"), ("VB", "RB"), ("B-VP", "O")), (("run",), ("NN",), ("B-NP",))] * 2
    sentences += [(("run",), ("VB",), ("B-VP",))]
    tagger = conll.MostFrequentTagger(sentences, column=1)
    assert tagger.tag(["run", "fast", "never-seen"]) == ["VB", "RB", "VB"]  # unknown -> most frequent overall


def test_invalid_transitions_count_i_tags_that_continue_nothing():
    assert conll.invalid_transitions(["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]) == 0
    assert conll.invalid_transitions(["I-PER", "O", "I-LOC", "B-ORG", "I-MISC", "I-MISC"]) == 3


def test_only_b_x_and_i_x_may_come_before_i_x():
    allowed = [("B-PER", "I-PER"), ("I-PER", "I-PER"), ("O", "B-LOC"), ("I-LOC", "O"), ("B-NP", "B-NP"), ("O", "O")]
    forbidden = [("O", "I-PER"), ("B-LOC", "I-ORG"), ("I-MISC", "I-PER"), ("B-NP", "I-VP")]
    assert not any(conll.breaks_iob(previous, tag) for previous, tag in allowed)
    assert all(conll.breaks_iob(previous, tag) for previous, tag in forbidden)


def test_in_iobes_an_open_chunk_must_go_on_and_only_it_may():
    allowed = [("B-PER", "I-PER"), ("B-PER", "E-PER"), ("I-PER", "E-PER"), ("E-PER", "O"), ("S-LOC", "B-PER")]
    allowed += [("O", "S-LOC"), ("E-LOC", "S-LOC"), ("O", "O")]
    forbidden = [("B-PER", "O"), ("I-PER", "B-LOC"), ("B-PER", "S-PER"), ("O", "E-PER"), ("S-PER", "I-PER")]
    forbidden += [("B-LOC", "E-PER"), ("E-PER", "E-PER")]
    assert not any(conll.breaks_iob(previous, tag, iobes=True) for previous, tag in allowed)
    assert all(conll.breaks_iob(previous, tag, iobes=True) for previous, tag in forbidden)
    assert not conll.breaks_iob("B-PER", "O")  # in IOB2 a B- may close its chunk at once


@pytest.mark.parametrize(
    "iob, iobes",
    [
        (["B-PER", "I-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "E-PER", "O", "S-LOC"]),
        (["B-PER", "B-PER", "I-PER"], ["S-PER", "B-PER", "E-PER"]),
        (["O", "O"], ["O", "O"]),
        # conlleval's reading: an I- tag that continues nothing opens a chunk; another type starts a new one
        (["I-ORG", "O", "B-LOC", "I-PER"], ["S-ORG", "O", "S-LOC", "S-PER"]),
    ],
)
def test_iobes_marks_one_word_chunks_and_last_words_and_gives_back_the_same_chunks(iob, iobes):
    assert conll.to_iobes(iob) == iobes
    assert conll.iob_chunks(conll.to_iob(iobes)) == conll.iob_chunks(iob)
    assert conll.to_iob(conll.to_iobes(conll.to_iob(iobes))) == conll.to_iob(iobes)


def test_iobes_vocabularies_train_on_iobes_and_give_back_iob(tmp_path):
    sentences = [(("Ana", "Pérez", "vive", "en", "Lima"), ("N",) * 5, ("B-PER", "I-PER", "O", "O", "B-LOC"))]
    vocabularies = conll.Vocabularies.from_sentences(sentences, 2, min_count=1, tag_scheme="iobes")
    assert vocabularies.tags == ["B-PER", "E-PER", "O", "S-LOC"]
    ids = vocabularies.encode_tags(sentences[0][2])
    assert [vocabularies.tags[i] for i in ids] == ["B-PER", "E-PER", "O", "O", "S-LOC"]
    assert vocabularies.decode_tags(ids) == list(sentences[0][2])
    vocabularies.save(tmp_path / "v.json")
    assert conll.Vocabularies.load(tmp_path / "v.json").tag_scheme == "iobes"
    iob = conll.Vocabularies.from_sentences(sentences, 2, min_count=1)
    assert iob.tag_scheme == "iob" and iob.decode_tags(iob.encode_tags(sentences[0][2])) == list(sentences[0][2])
    with pytest.raises(ValueError, match="tag_scheme='bilou'"):
        conll.Vocabularies(["<pad>"], ["<pad>"], ["O"], ["<pad>"], tag_scheme="bilou")


def test_vocabularies_saved_before_tag_schemes_load_as_iob(tmp_path):
    saved = {"words": ["<pad>", "<unk>"], "chars": ["<pad>", "<unk>"], "tags": ["B-NP", "O"], "pos_tags": []}
    (tmp_path / "v.json").write_text(json.dumps(saved))
    assert conll.Vocabularies.load(tmp_path / "v.json").tag_scheme == "iob"


def test_spans_show_entities_in_brackets():
    words = "El presidente Felipe González visitó Bogotá hoy".split()
    tags = ["O", "O", "B-PER", "I-PER", "O", "B-LOC", "O"]
    assert conll.spans(words, tags) == "El presidente [PER Felipe González] visitó [LOC Bogotá] hoy"
    # two entities side by side, one at the end, and an I- tag after O (conlleval: it opens an entity)
    assert conll.spans(["a", "b", "c", "d"], ["B-PER", "B-PER", "O", "I-ORG"]) == "[PER a] [PER b] c [ORG d]"
    assert conll.spans(["a", "b"], ["I-MISC", "I-MISC"]) == "[MISC a b]"
    assert conll.spans(["a"], ["O"]) == "a"


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_conll2002_reader_decodes_the_file_and_drops_document_marks(tmp_path, encoding):
    data = write_ner_corpus(tmp_path, encoding=encoding)
    splits = conll.load_splits(data, "ner", "es")
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [300, 60, 60]
    words = {word for sentence in splits["train"] for word in sentence[0]}
    assert {"González", "Bogotá", "Ángel"} <= words  # accents read right, whatever the encoding
    assert "-DOCSTART-" not in words
    first_words, first_pos, first_tags = splits["train"][0]
    assert len(first_words) == len(first_pos) == len(first_tags) and first_words[0] != "-DOCSTART-"


def test_missing_language_files_are_a_clear_error(tmp_path):
    data = write_ner_corpus(tmp_path, prefix="esp")
    with pytest.raises(DamagedDataError, match=r"ned\.train"):
        conll.load_splits(data, "ner", "nl")


def test_language_is_for_ner_only_and_names_the_output_folder(capsys):
    assert train.parse_args(["--task", "ner"]).output_dir.endswith("tagging-ner-es")
    args = train.parse_args(["--task", "ner", "--language", "nl"])
    assert args.output_dir.endswith("tagging-ner-nl") and args.language == "nl" and not args.pos_input
    with pytest.raises(SystemExit):
        train.parse_args(["--task", "chunk", "--language", "nl"])
    assert "--language chooses the CoNLL-2002 language" in capsys.readouterr().err
    assert predict.parse_args(["--task", "ner", "--language", "nl"]).model_dir.name == "tagging-ner-nl"


def test_word_shapes_and_features_of_the_feature_baseline():
    assert [features.shape(w) for w in ("González", "1.500", "EFE", "McDonald", "-")] == ["Xx", "d.d", "X", "XxXx", "-"]
    found = features.word_features(["El", "Ángel", "vino"], 0)
    assert found["word"] == "el" and found["first"] and found["word-1"] == "<edge>" and found["shape+1"] == "Xx"


def test_predict_tokenizes_spanish_marks_as_conll2002_does():
    assert predict.tokenize("¿Dónde está Felipe? ¡Ya!") == ["¿", "Dónde", "está", "Felipe", "?", "¡", "Ya", "!"]


# --- masking ---


def test_padding_is_kept_out_of_loss_and_accuracy():
    """Padded positions carry wrong labels on purpose: they must not move the accuracy."""
    sentences = [
        (("The", "pound", "rose"), ("DT", "NN", "VBD"), ("B-NP", "I-NP", "B-VP")),
        (("It",), ("PRP",), ("B-NP",)),
    ]
    vocabularies = conll.Vocabularies.from_sentences(sentences, column=1, min_count=1)
    model = model_module.build_model(vocabularies, embedding_dim=32, units=32)
    word_ids = np.array([[2, 3, 4], [5, 0, 0]], dtype=np.int32)
    char_ids = np.repeat((word_ids != 0)[..., None], 4, axis=-1).astype(np.int32)  # padding words have no characters
    logits = model.predict_on_batch((word_ids, char_ids))
    predicted = logits.argmax(-1)
    labels = predicted.copy()
    labels[1, 1:] = (predicted[1, 1:] + 1) % len(vocabularies.tags)  # wrong only where padded
    _, accuracy = model.evaluate((word_ids, char_ids), labels, verbose=0)
    assert accuracy == pytest.approx(1.0)
    labels[0, 0] = (predicted[0, 0] + 1) % len(vocabularies.tags)  # one real mistake out of 4 real words
    _, accuracy = model.evaluate((word_ids, char_ids), labels, verbose=0)
    assert accuracy == pytest.approx(0.75)


def test_word_dropout_reads_some_training_words_as_unknown_and_none_at_prediction():
    layer = tagger.WordDropout(0.3, unknown_id=1, seed=0)
    ids = np.tile(np.arange(2, 12, dtype="int32"), (200, 1))
    ids[:, -3:] = 0  # padding
    dropped = np.asarray(layer(ids, training=True))
    assert np.all(dropped[:, -3:] == 0)  # padding stays padding: the mask is unchanged
    assert set(np.unique(dropped[:, :-3])) <= {1, *range(2, 12)}
    assert 0.25 < (dropped[:, :-3] == 1).mean() < 0.35
    np.testing.assert_array_equal(np.asarray(layer(ids, training=False)), ids)


def test_predictions_do_not_depend_on_batch_padding():
    sentences = [(("The", "pound", "rose"), ("DT", "NN", "VBD"), ("B-NP", "I-NP", "B-VP"))]
    vocabularies = conll.Vocabularies.from_sentences(sentences, column=1, min_count=1)
    model = model_module.build_model(vocabularies, embedding_dim=32, units=32)
    short, long = ["The", "pound"], ["The", "pound", "rose"] * 5
    alone = tagger.tag_sentences(model, vocabularies, [short])
    beside_a_long_one = tagger.tag_sentences(model, vocabularies, [long, short])  # tagged shortest first
    assert beside_a_long_one[1] == alone[0] and len(beside_a_long_one[0]) == len(long)
    assert beside_a_long_one[0] == tagger.tag_sentences(model, vocabularies, [long])[0]  # the order given comes back


# --- end to end ---


# Eight epochs without early stopping: on these corpora of 300 sentences an epoch is about 10 steps, and
# a chunker's or entity tagger's validation F1 stays at its first value for the first few (every word O,
# or one tag), which early stopping after 3 epochs without progress would take for the end.
EIGHT_EPOCHS = ["--epochs", "8", "--patience", "8"]
# About 70 steps at the default 2e-3 leave a chunker or entity tagger (dropout 0.5, word dropout 0.1)
# writing one tag everywhere: its validation F1 stays put and the learning rate is halved away.
SPAN_TAGGER_RATE = ["--learning-rate", "0.01"]


def check_run(record, out, task):
    metrics = record["metrics"]
    assert record["example"] == f"tagging-{task}"
    assert metrics["token_accuracy"] > 0.9  # the made-up language is nearly deterministic
    losses = read_history(out / "history.csv")["loss"]  # by name: the columns are sorted, epoch_seconds first
    assert losses[-1] < losses[0]
    for name in ("model.keras", "vocabularies.json", "f1_by_label.png", "history.png", "run.json"):
        assert (out / name).exists(), name


SENTENCE = "The strong pound rose against the dollar ."
EXPECTED = {
    "pos": ["DT", "JJ", "NN", "VBD", "IN", "DT", "NN", "."],
    "chunk": ["B-NP", "I-NP", "I-NP", "B-VP", "B-PP", "B-NP", "I-NP", "O"],
}


def test_quick_runs_learn_and_predict_pos_then_chunks_from_predicted_pos(tmp_path, capsys):
    data = write_corpus(tmp_path / "data")
    runs = {}
    for task in ("pos", "chunk"):
        out = tmp_path / task
        runs[task] = train.main(
            ["--quick", "--task", task, *EIGHT_EPOCHS, "--data-dir", str(data), "--output-dir", str(out)]
            + (SPAN_TAGGER_RATE if task == "chunk" else [])
        )
        check_run(runs[task], out, task)
        assert runs[task]["config"]["pos_input"] == (task == "chunk")
    assert runs["chunk"]["metrics"]["chunk_f1"] > 0.8
    # Every word of the made-up language has one chunk tag, so the most-frequent-tag baseline is perfect here.
    assert runs["chunk"]["metrics"]["baseline_chunk_f1"] == pytest.approx(1.0)
    assert predict.main(["--model-dir", str(tmp_path / "pos"), SENTENCE]) == [EXPECTED["pos"]]
    capsys.readouterr()
    chunked = predict.main(
        ["--task", "chunk", "--model-dir", str(tmp_path / "chunk"), "--pos-model-dir", str(tmp_path / "pos"), SENTENCE]
    )
    assert chunked == [EXPECTED["chunk"]]
    assert capsys.readouterr().out.split()[:2] == ["The/DT/B-NP", "strong/JJ/I-NP"]  # word/POS/CHUNK


def test_chunker_without_pos_input(tmp_path):
    data = write_corpus(tmp_path / "data")
    out = tmp_path / "chunk"
    record = train.main(
        [
            "--quick",
            "--task",
            "chunk",
            "--no-pos-input",
            *EIGHT_EPOCHS,
            *SPAN_TAGGER_RATE,
            "--data-dir",
            str(data),
            "--output-dir",
            str(out),
        ]
    )
    check_run(record, out, "chunk")
    assert predict.main(["--task", "chunk", "--model-dir", str(out), SENTENCE]) == [EXPECTED["chunk"]]


def test_quick_ner_run_with_a_crf_learns_and_prints_entities(tmp_path, capsys):
    data = write_ner_corpus(tmp_path / "data")
    out = tmp_path / "ner"
    record = train.main(
        [
            "--quick",
            "--task",
            "ner",
            *EIGHT_EPOCHS,
            *SPAN_TAGGER_RATE,
            "--weight-averaging",  # quick runs do not average; this one checks that an averaged tagger trains
            "0.9",
            # the options that are nobody's default run here; chunk runs (above) cover IOB tags and a character RNN
            "--tag-scheme",
            "iobes",
            "--char-encoder",
            "cnn",
            "--data-dir",
            str(data),
            "--output-dir",
            str(out),
        ]
    )
    assert record["example"] == "tagging-ner-es" and record["config"]["crf"]  # the CRF is NER's default
    saved = keras.models.load_model(out / "model.keras")
    assert saved.get_layer("word_dropout").rate == 0.2  # NER's default word dropout is in the network
    assert saved.optimizer.use_ema and saved.optimizer.ema_momentum == 0.9  # and the weights were averaged
    assert json.loads((out / "vocabularies.json").read_text())["tags"] == ["B-PER", "E-PER", "O", "S-LOC"]
    assert record["metrics"]["entity_f1"] > 0.9  # the made-up Spanish is nearly deterministic
    assert set(record["metrics"]["per_label"]) == {"PER", "LOC"}
    # two baselines, each a row of the results table: most frequent tag, and the linear model on word features
    assert [row["baseline_name"].split()[0] for row in record["results"]] == ["most", "linear"]
    assert record["metrics"]["features_baseline_entity_f1"] > 0.9
    capsys.readouterr()
    sentence = "El presidente María Núñez visitó Málaga ."
    tagged = predict.main(["--task", "ner", "--model-dir", str(out), sentence])
    assert tagged == [["O", "O", "B-PER", "I-PER", "O", "B-LOC", "O"]]
    assert capsys.readouterr().out.strip() == "El presidente [PER María Núñez] visitó [LOC Málaga] ."
    predict.main(["--task", "ner", "--tags", "--model-dir", str(out), sentence])
    assert capsys.readouterr().out.split()[2:4] == ["María/B-PER", "Núñez/I-PER"]
    predict.main(["--task", "ner", "--model-dir", str(out), "Juan .", "  ", sentence])  # a blank keeps its line
    assert capsys.readouterr().out.split("\n")[1:3] == ["", "El presidente [PER María Núñez] visitó [LOC Málaga] ."]


def test_tag_scheme_is_refused_for_the_pos_task(capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["--task", "pos", "--tag-scheme", "iobes"])
    assert "part-of-speech tags have no spans" in capsys.readouterr().err


def test_pos_input_is_refused_for_the_pos_task(capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["--task", "pos", "--pos-input"])
    assert "what --task pos predicts" in capsys.readouterr().err


def test_predict_refuses_empty_input_and_missing_model(tmp_path, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("\n   \n"))
    with pytest.raises(SystemExit, match="no sentence to tag"):
        predict.main(["--model-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="train first"):
        predict.main(["--model-dir", str(tmp_path), "Stocks rose ."])


def test_corpus_without_a_test_file_is_a_clear_error(tmp_path):
    data = write_corpus(tmp_path / "data")
    (data / "nltk_data" / "corpora" / "conll2000" / "test.txt").unlink()
    with pytest.raises(DamagedDataError, match="test.txt"):
        train.main(["--quick", "--data-dir", str(data), "--output-dir", str(tmp_path / "out")])


def test_each_task_has_its_measured_defaults_and_the_help_shows_them(capsys):
    pos, chunk, ner = (train.parse_args(["--task", task]) for task in ("pos", "chunk", "ner"))
    assert (pos.crf, chunk.crf, ner.crf) == (False, True, True)
    assert (pos.pos_input, chunk.pos_input, ner.pos_input) == (False, True, False)
    assert (pos.word_dropout, chunk.word_dropout, ner.word_dropout) == (0.0, 0.1, 0.2)
    assert train.parse_args(["--task", "chunk", "--no-crf"]).crf is False  # an option given still wins
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    epochs = f"pos {pos.epochs}, chunk {chunk.epochs}, ner {ner.epochs}; by --task"
    assert f"--epochs EPOCHS maximum epochs (early stopping may end sooner) (default: {epochs})" in help_text
    assert "--crf, --no-crf" in help_text and "(default: pos off, chunk on, ner on; by --task)" in help_text
    assert "(default: None)" not in help_text
    assert (pos.language, chunk.language, ner.language) == (None, None, "es")


def test_output_folder_is_named_after_the_task():
    assert train.parse_args(["--task", "chunk"]).output_dir.endswith("tagging-chunk")
    assert train.parse_args(["--quick"]).output_dir.endswith("tagging-pos-quick")


# --- real data ---


def test_real_conll2000_counts(shared_data, tmp_path):
    reader = conll.open_reader(shared_data)
    train_sentences, test_sentences = conll.load_split(reader, "train.txt"), conll.load_split(reader, "test.txt")
    assert (len(train_sentences), len(test_sentences)) == (8936, 2012)
    words, pos, chunks = train_sentences[0]
    assert words[:3] == ("Confidence", "in", "the") and pos[0] == "NN" and chunks[:2] == ("B-NP", "B-PP")
    baseline = conll.MostFrequentTagger(train_sentences, column=1)
    true = np.concatenate([s[1] for s in test_sentences])
    guessed = np.concatenate([baseline.tag(s[0]) for s in test_sentences])
    assert 0.85 < (true == guessed).mean() < 0.95  # the classic most-frequent-tag figure, ~0.9
    json.dumps(train_sentences[:2])  # plain tuples of strings


@pytest.mark.parametrize(
    "language, counts, first_words",
    [("es", (8323, 1915, 1517), ("Melbourne", "(", "Australia")), ("nl", (15806, 2895, 5195), ("De", "tekst", "van"))],
)
def test_real_conll2002_counts(shared_data, language, counts, first_words):
    splits = conll.load_splits(shared_data, "ner", language)
    assert tuple(len(splits[name]) for name in ("train", "validation", "test")) == counts
    words, _, tags = splits["train"][0]
    assert words[:3] == first_words  # the Dutch -DOCSTART- mark is gone
    types = {kind for sentence in splits["train"] for *_, kind in conll.iob_chunks(sentence[2])}
    assert types == {"PER", "ORG", "LOC", "MISC"}


def test_scores_per_pos_tag_and_per_chunk_type():
    true = [np.array(["DT", "NN", "VB"]), np.array(["NN"])]
    predicted = [np.array(["DT", "VB", "VB"]), np.array(["NN"])]
    scores, per_tag = train.score("pos", true, predicted)
    assert scores == {"token_accuracy": 0.75}
    assert per_tag["NN"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert per_tag["VB"]["precision"] == 0.5
    scores, per_type = train.score("chunk", [np.array(["B-NP", "I-NP", "B-VP"])], [np.array(["B-NP", "B-NP", "B-VP"])])
    assert scores["chunk_recall"] == 0.5 and scores["chunk_precision"] == pytest.approx(1 / 3)
    assert per_type["VP"]["f1"] == 1.0


def test_a_missing_tagger_names_the_command_that_trains_it(tmp_path):
    assert predict.training_command("pos", "es") == "make example-tagging"
    assert predict.training_command("ner", "nl") == "python examples/tagging/train.py --task ner --language nl"
    with pytest.raises(SystemExit, match="train first with: python examples/tagging/train.py --task chunk"):
        predict.main(["--task", "chunk", "--model-dir", str(tmp_path / "none"), "Stocks fell ."])
