"""Shared code for the RNN examples: what two or more examples use, as functions of plain values.

Copy this folder with any one example folder and that example runs on its own
(`pip install -e .` from the repository root, or PYTHONPATH=<folder holding common/>).
Code that one example alone uses lives in that example's folder; it moves
here when a second example needs it.

    models.py      recurrent layers and stacks (SimpleRNN / LSTM / GRU, bidirectional,
                   cuDNN-safe), output heads, pooling over time .......... every Keras example
    training.py    Run: seed, precision, strategy, output folder, resume, callbacks
                   (early stopping that survives a resume), run.json; adam; array_dataset (sine,
                   engines, weather, stocks); fit_arrays (engines, weather, stocks) .. every example
    ensemble.py    members trained one after another from seeds SEED, SEED+1, ..., resumed inside
                   the member interrupted, averaged into one model ................ reuters, engines
    quiet.py       start TensorFlow without its C++ start-up log lines ........ every script (first import)
    saving.py      load a saved model for use; check after training that it loads
                   and answers the same ......................... every example's train and predict
    cli.py         option groups and types, --quick, reading inputs, Ctrl-C and
                   data errors as one line .................................. every script
    data.py        data folder, download + checksum, NLTK corpora, UTF-8 reading .. every example
    text.py        text cleaning, vectorising, bucketing, raw-text models .. imdb, reuters, word_lm (bucketing: tagging,
                   seq2seq, spoken_digits)
    explain.py     word attributions (integrated gradients, occlusion), the deletion
                   test of their faithfulness, HTML and PNG pages, their options .. imdb and reuters predict.py,
                   benchmarks
    embeddings.py  word vectors from unlabelled text (PPMI + SVD) ........... imdb, reuters (through text.py)
    chars.py       character corpora, vocabulary, validation tail, baselines .. char_lm, numpy_rnn
    reviews.py     the IMDB archive: find, read (only the splits asked), verify .. imdb, word_lm
    generation.py  writing one token per step, carrying the state; sampling .. char_lm, word_lm
    pretrained.py  a language model's encoder, vocabulary and settings handed to a
                   classifier: save, load, check, copy weights .............. word_lm, imdb
    ranges.py      how far an input lies outside the training values: flag or refuse .. engines, sine,
                   weather, stocks
    series.py      dated CSV rows read and checked (rows named), scaling from training days,
                   forecast windows and origins, date splits ............... weather, stocks
    plots.py       training curves; score against class frequency ........... every example; reuters, tagging
"""

import importlib.util
import os

SHOW_TF_LOGS = "RNN_EXAMPLES_TF_LOGS"  # =1: show TensorFlow's C++ log lines (see quiet.py)
BACKENDS = ("tensorflow", "jax", "torch")  # Keras 3's backends that train; its numpy and openvino only predict


def check_backend(environ=os.environ):
    """The backend named by KERAS_BACKEND (None when unset: Keras then reads ~/.keras/keras.json, else
    TensorFlow); SystemExit with one line when it is not one these examples train on, or is not installed.
    Keras reads the variable once, when it is first imported: it cannot be an option of a script."""
    name = environ.get("KERAS_BACKEND")
    if name is None:
        return None
    if name not in BACKENDS:
        raise SystemExit(
            f"error: KERAS_BACKEND={name!r} is not a backend these examples train on: one of {', '.join(BACKENDS)}"
        )
    if importlib.util.find_spec(name) is None:  # each backend's package has the backend's name
        raise SystemExit(f"error: KERAS_BACKEND={name}, but {name} is not installed: make setup-backends")
    return name


def tf_logs_shown():
    return os.environ.get(SHOW_TF_LOGS, "") not in ("", "0")


# TensorFlow's C++ log lines after its start-up (the start-up lines themselves: quiet.py). Level 3 hides its
# "E" lines too: they are notices such as "oneDNN supports DT_BOOL only on platforms with AVX-512. Falling
# back to the default", not failures; a real failure reaches Python as an exception.
if not tf_logs_shown():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
