"""The character language model: vocabulary, windows, one-step generation, training end to end, bad input."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT, load_example, load_module

from common.chars import (
    CharVocabulary,
    load_corpus,
    nats_to_bits,
    split_for_validation,
    uniform_loss,
    unigram_loss,
)
from common.data import DamagedDataError
from common.training import read_history

generation = load_example("char_lm", "generation")
train = load_example("char_lm", "train")
generate = load_example("char_lm", "generate")
model_module = load_example("char_lm", "model")

VERSE = (
    "Shall I compare thee to a summer's day?\n"
    "Thou art more lovely and more temperate:\n"
    "Rough winds do shake the darling buds of May,\n"
    "And summer's lease hath all too short a date.\n\n"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick training run on a small repetitive text, shared by the tests below (it costs ~15 s)."""
    folder = tmp_path_factory.mktemp("char_lm")
    text_file = folder / "sonnet.txt"
    text_file.write_text(VERSE * 120, encoding="utf-8")  # ~20,000 characters
    record = train.main(
        [
            "--quick",
            "--text-file",
            str(text_file),
            "--units",
            "64",
            "--epochs",
            "4",
            "--output-dir",
            str(folder / "out"),
        ]
    )
    return record, folder / "out"


# --- common/chars.py ---


def test_vocabulary_is_sorted_and_round_trips(tmp_path):
    vocabulary = CharVocabulary.from_text("banana!\n")
    assert vocabulary.chars == ["\n", "!", "a", "b", "n"]
    ids = vocabulary.encode("banana")
    assert ids.tolist() == [3, 2, 4, 2, 4, 2] and vocabulary.decode(ids) == "banana"
    vocabulary.save(tmp_path / "vocabulary.json")
    assert CharVocabulary.load(tmp_path / "vocabulary.json").chars == vocabulary.chars


def test_vocabulary_file_keeps_every_line_break_and_control_character(tmp_path):
    """JSON escapes or keeps each character in one string: none can split the vocabulary (issue 12)."""
    odd = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\t\x00\xa0\xad😀\ue000a"
    vocabulary = CharVocabulary.from_text(odd)
    vocabulary.save(tmp_path / "vocabulary.json")
    reloaded = CharVocabulary.load(tmp_path / "vocabulary.json")
    assert reloaded.chars == vocabulary.chars and len(reloaded) == len(odd)
    assert reloaded.decode(reloaded.encode(odd)) == odd


def test_unknown_characters_are_named():
    vocabulary = CharVocabulary.from_text("abc")
    assert vocabulary.unknown("abz€") == ["z", "€"]
    with pytest.raises(ValueError, match="not in the model's vocabulary: 'z€'"):
        vocabulary.encode("abz€")


def test_empty_text_has_no_vocabulary():
    with pytest.raises(ValueError, match="empty"):
        CharVocabulary.from_text("")


def test_damaged_vocabulary_file_is_a_clear_error(tmp_path):
    (tmp_path / "vocabulary.json").write_text("{not json")
    with pytest.raises(DamagedDataError, match="cannot read the vocabulary"):
        CharVocabulary.load(tmp_path / "vocabulary.json")


def test_validation_is_the_tail_of_the_text():
    train_ids, val_ids = split_for_validation(np.arange(100))
    assert train_ids.tolist() == list(range(90)) and val_ids.tolist() == list(range(90, 100))


def test_baselines():
    assert uniform_loss(65) == pytest.approx(math.log(65))
    assert nats_to_bits(math.log(2)) == pytest.approx(1.0)
    # Training text all 'a' (id 0), 2 characters with add-one counts: p(a) = 3/4.
    assert unigram_loss(np.zeros(2, int), np.zeros(5, int), 2) == pytest.approx(-math.log(3 / 4))


def test_non_utf8_text_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(DamagedDataError, match="not UTF-8"):
        load_corpus(text_file=path)


# --- windows and sampling ---


def test_windows_are_inputs_and_targets_shifted_by_one():
    ids = np.arange(23, dtype=np.int32)
    batches = list(train.windows(ids, sequence_length=4, batch_size=2, shuffle=False, seed=0))
    inputs = np.concatenate([x.numpy() for x, _ in batches])
    targets = np.concatenate([y.numpy() for _, y in batches])
    assert inputs.tolist()[:2] == [[0, 1, 2, 3], [5, 6, 7, 8]]  # windows of 5: 4 inputs + the last target
    np.testing.assert_array_equal(targets, inputs + 1)
    assert len(inputs) == 23 // 5


def test_shuffled_windows_follow_the_seed():
    ids = np.arange(200, dtype=np.int32)

    def order(seed):
        return [x.numpy()[:, 0].tolist() for x, _ in train.windows(ids, 9, 4, shuffle=True, seed=seed)]

    assert order(1) == order(1) and order(1) != order(2)


def test_choose_next_respects_top_k_and_temperature():
    rng = np.random.default_rng(0)
    logits = np.array([1.0, 3.0, 2.0, 0.0])
    assert {generation.choose_next(logits, rng, top_k=1) for _ in range(20)} == {1}
    assert {generation.choose_next(logits, rng, top_k=2) for _ in range(200)} == {1, 2}
    cold = [generation.choose_next(logits, rng, temperature=0.05) for _ in range(50)]
    assert cold.count(1) == 50


@pytest.mark.parametrize(
    "temperature,top_k,message",
    [(0, None, "temperature must be in"), (-1, None, "temperature"), (11, None, "temperature"), (1.0, 0, "top_k")],
)
def test_bad_sampling_settings_are_refused(temperature, top_k, message):
    with pytest.raises(ValueError, match=message):
        generation.check_sampling(temperature, top_k)


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_one_step_generation_matches_the_trained_model(cell):
    """Carrying the state one character at a time gives the logits the whole-window model gives."""
    vocabulary = CharVocabulary.from_text("abcdefgh")
    model = model_module.build_model(len(vocabulary), cell=cell, units=16, num_layers=2)
    ids = np.random.default_rng(0).integers(0, len(vocabulary), 30).astype(np.int32)
    whole_window = model(ids[None, :], training=False).numpy()[0]  # (30, vocab)
    generator = generation.CharGenerator(model, vocabulary)
    states = generator.initial_states()
    for position, char_id in enumerate(ids):
        logits, states = generator._step(np.array([char_id], dtype=np.int32), states)
        np.testing.assert_allclose(logits.numpy(), whole_window[position], atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_the_compiled_loop_writes_the_text_of_the_step_by_step_loop(cell):
    """generate() runs the whole loop in one graph; for every seed and setting it must write what the plain
    Python loop over the compiled step writes (the same random numbers, the same choices)."""
    vocabulary = CharVocabulary.from_text("abcdefgh ijklmnop\nqrstuvwxyz.,")
    model = model_module.build_model(len(vocabulary), cell=cell, units=16, num_layers=2)
    for layer in model.layers:  # larger weights than at initialisation: peaked distributions, as after training
        layer.set_weights([weights * 3 for weights in layer.get_weights()])
    generator = generation.CharGenerator(model, vocabulary)
    for prompt, temperature, top_k, seed in [
        ("a", 1.0, None, 0),
        ("abc d", 0.5, None, 1),
        ("q", 2.0, 3, 2),
        ("zz", 1.0, 1, 3),
    ]:
        compiled = generator.generate(prompt, 300, temperature, top_k, seed)
        assert compiled == generator.generate_stepwise(prompt, 300, temperature, top_k, seed)
        assert len(compiled) == len(prompt) + 300
    assert generator.generate("a", 300, seed=0) != generator.generate("a", 300, seed=1)
    assert generator.generate("a", 0) == "a"


def test_generator_refuses_a_model_it_cannot_step():
    import keras

    vocabulary = CharVocabulary.from_text("abcd")
    char_ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(4, 3)(char_ids)
    x = keras.layers.Bidirectional(keras.layers.GRU(8, return_sequences=True))(x)  # parse_args refuses this
    model = keras.Model(char_ids, keras.layers.Dense(4)(x))
    with pytest.raises(ValueError, match="one step at a time"):
        generation.CharGenerator(model, vocabulary)


# --- training end to end ---


def test_quick_run_learns_and_writes_its_artifacts(trained):
    record, out = trained
    metrics = record["metrics"]
    assert math.isfinite(metrics["val_loss_nats"])
    # A 4-line verse repeated: far more predictable than its character frequencies.
    assert metrics["val_loss_nats"] < 0.8 * metrics["unigram_loss_nats"] < metrics["uniform_loss_nats"]
    losses = read_history(out / "history.csv")["loss"]
    assert losses[-1] < losses[0]
    for name in ("model.keras", "vocabulary.json", "samples.txt", "history.png", "run.json"):
        assert (out / name).exists(), name
    assert "temperature 0.5" in (out / "samples.txt").read_text()
    # the reported loss is the best checkpoint's: the lowest validation loss of the training
    assert metrics["val_loss_nats"] == pytest.approx(min(read_history(out / "history.csv")["val_loss"]), rel=1e-4)


def test_same_seed_same_text_and_reload_in_a_new_process(trained):
    _, out = trained
    in_process = generate.main(["--model-dir", str(out), "--prompt", "Shall", "--length", "120", "--seed", "7"])
    assert in_process == generate.main(["--model-dir", str(out), "--prompt", "Shall", "--length", "120", "--seed", "7"])
    assert in_process != generate.main(["--model-dir", str(out), "--prompt", "Shall", "--length", "120", "--seed", "8"])
    assert in_process.startswith("Shall") and len(in_process) == len("Shall") + 120
    command = [sys.executable, str(REPO_ROOT / "examples/char_lm/generate.py"), "--model-dir", str(out)]
    command += ["--prompt", "Shall", "--length", "120", "--seed", "7"]
    reloaded = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert reloaded == in_process + "\n"


@pytest.mark.parametrize(
    "prompt,message", [("", "prompt is empty"), ("Shall I €", "not in the model's vocabulary: '€'")]
)
def test_bad_prompts_get_a_clear_error(trained, prompt, message):
    _, out = trained
    with pytest.raises(SystemExit, match=message):
        generate.main(["--model-dir", str(out), "--prompt", prompt])


def test_generate_without_a_trained_model_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="train first"):
        generate.main(["--model-dir", str(tmp_path)])


@pytest.mark.parametrize(
    "content,error,message",
    [
        ("too short", DamagedDataError, "too short to train on"),
        ("", DamagedDataError, "too short to train on"),
        (b"\xff\xfe bad bytes" * 1000, DamagedDataError, "not UTF-8"),
    ],
)
def test_bad_text_files(tmp_path, content, error, message):
    path = tmp_path / "text.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(error, match=message):
        train.main(["--quick", "--text-file", str(path), "--output-dir", str(tmp_path / "out")])


def test_bidirectional_is_refused(capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["--bidirectional"])
    assert "must not see the characters it predicts" in capsys.readouterr().err


# --- real data ---


def test_real_corpora_load_and_verify(shared_data, tmp_path):
    for name in ("shakespeare.txt", "nietzsche.txt"):
        (tmp_path / name).symlink_to(shared_data / name)
    shakespeare, _ = load_corpus("shakespeare", data_dir=tmp_path)  # sha256 checked
    nietzsche, _ = load_corpus("nietzsche", data_dir=tmp_path)
    assert len(shakespeare) == 1_115_394 and len(CharVocabulary.from_text(shakespeare)) == 65
    assert len(nietzsche.lower()) == 600_893


def test_quick_run_on_real_shakespeare(shared_data, tmp_path):
    record = train.main(
        ["--quick", "--epochs", "1", "--data-dir", str(shared_data), "--output-dir", str(tmp_path / "out")]
    )
    assert record["metrics"]["vocab_size"] > 50
    assert record["metrics"]["val_loss_nats"] < record["metrics"]["uniform_loss_nats"]


def test_generation_benchmark_times_both_paths(trained, tmp_path):
    """The benchmark end to end on the quick model; whether it meets its speed targets depends on the machine,
    so only that it measures and records is checked here (the targets are `make bench`'s)."""
    _, output_dir = trained
    benchmark = load_module(REPO_ROOT / "benchmarks" / "char_lm_generation.py")
    benchmark.main(["--model-dir", str(output_dir), "--record", str(tmp_path / "generation.json")])
    record = json.loads((tmp_path / "generation.json").read_text())
    # each rate is its own timing's (characters / seconds), the gap is the two lengths' rates apart
    assert record["rate_2000"] == pytest.approx(2000 / record["seconds_2000"])
    assert record["stepwise_rate_2000"] == pytest.approx(2000 / record["stepwise_seconds_2000"])
    rates = record["rate_200"], record["rate_2000"]
    assert record["rate_gap"] == pytest.approx(abs(rates[0] - rates[1]) / max(rates))
