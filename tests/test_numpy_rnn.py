"""The NumPy RNN: formulas, gradient check (and that it catches a wrong gradient), Keras agreement, training."""

import numpy as np
import pytest
from conftest import load_example

rnn = load_example("numpy_rnn", "rnn")
bridge = load_example("numpy_rnn", "bridge")
train = load_example("numpy_rnn", "train")


def small_problem(seed=0):
    rng = np.random.default_rng(seed)
    params = rnn.init_params(vocab_size=5, hidden_size=4, seed=seed, scale=0.5)
    return params, rng.integers(0, 5, 7), rng.integers(0, 5, 7), rng.standard_normal((4, 1)) * 0.5


def test_step_forward_is_the_chapter_formula():
    params, inputs, _, h_prev = small_problem()
    x = rnn.one_hot(inputs[0], 5)
    h_next, y = rnn.rnn_step_forward(x, h_prev, **params)
    expected_h = np.tanh(params["Wxh"] @ x + params["Whh"] @ h_prev + params["bh"])
    np.testing.assert_allclose(h_next, expected_h)
    np.testing.assert_allclose(y, params["Why"] @ expected_h + params["by"])
    assert h_next.shape == (4, 1) and y.shape == (5, 1)


def test_softmax_is_stable_for_large_scores():
    probabilities = rnn.softmax(np.array([[1000.0], [1001.0]]))
    np.testing.assert_allclose(probabilities.ravel(), [1 / (1 + np.e), np.e / (1 + np.e)])


def test_every_gradient_matches_finite_differences():
    params, inputs, targets, h_prev = small_problem()
    errors = rnn.gradient_check(params, inputs, targets, h_prev)
    assert set(errors) == set(rnn.PARAMETERS)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize(
    "bug",
    [
        lambda grads: {**grads, "Whh": grads["Whh"] * 1.01},  # 1% off
        lambda grads: {**grads, "Whh": grads["Whh"].T},  # the classic transposition slip
    ],
)
def test_gradient_check_catches_a_wrong_gradient(bug):
    def buggy_backward(params, cache, targets):
        return bug(rnn.backward(params, cache, targets))

    params, inputs, targets, h_prev = small_problem()
    errors = rnn.gradient_check(params, inputs, targets, h_prev, backward_fn=buggy_backward)
    assert errors["Whh"] > 1e-3 and errors["Wxh"] < 1e-6


def test_clipping_bounds_the_norm_and_keeps_the_direction():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    clipped, norm = rnn.clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.8]])
    unchanged, _ = rnn.clip_by_global_norm(grads, 10.0)
    np.testing.assert_array_equal(unchanged["a"], grads["a"])


def test_keras_simple_rnn_computes_the_same_outputs():
    params = rnn.init_params(vocab_size=7, hidden_size=6, seed=3, scale=0.4)
    assert bridge.largest_disagreement(params, np.random.default_rng(0).integers(0, 7, 20)) < 1e-4


def test_simple_rnn_gradients_vanish_faster_than_lstm():
    simple = bridge.gradient_by_distance("simple_rnn", steps=40, trials=2)
    lstm = bridge.gradient_by_distance("lstm", steps=40, trials=2)
    assert simple[39] / simple[0] < lstm[39] / lstm[0]
    exploding = bridge.exploding_gradient_norms(steps=40)
    assert exploding[40][0] > 10 * exploding[10][0]  # grows with the length
    assert exploding[40][1] == pytest.approx(1.0, rel=1e-4)  # clipped to the chosen norm


def test_quick_run_learns_below_the_unigram_baseline(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat. " * 400)
    record = train.main(
        [
            "--quick",
            "--text-file",
            str(text),
            "--output-dir",
            str(tmp_path / "out"),
            "--iterations",
            "600",
            "--report-every",
            "200",
        ]
    )
    metrics = record["metrics"]
    assert metrics["val_loss"] < 0.7 * metrics["unigram_val_loss"]
    assert max(metrics["gradient_check"].values()) < 1e-6 and metrics["keras_difference"] < 1e-4
    for name in ("history.csv", "history.png", "sample.txt", "gradient_decay.png", "exploding.png", "run.json"):
        assert (tmp_path / "out" / name).exists(), name


@pytest.mark.parametrize("content,message", [("short", "too short to train on"), (b"\xff\xfe\x00bad", "not UTF-8")])
def test_bad_text_files_get_a_clear_error(tmp_path, content, message):
    """The same errors as the char_lm example's: both read their text with common.chars.load_text."""
    from common.data import DamagedDataError

    path = tmp_path / "bad.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DamagedDataError, match=message):
        train.main(["--quick", "--text-file", str(path), "--output-dir", str(tmp_path / "out")])


def test_real_shakespeare_is_verified(shared_data, tmp_path):
    from common.chars import load_corpus

    (tmp_path / "shakespeare.txt").symlink_to(shared_data / "shakespeare.txt")
    text, _ = load_corpus("shakespeare", data_dir=tmp_path)  # checks the published sha256
    assert len(text) == 1_115_394
