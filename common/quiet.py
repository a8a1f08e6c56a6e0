"""Start TensorFlow and Keras without their C++ start-up lines, so that the first lines a user sees are the example's.

    import common.quiet  # first import of every script (pyproject.toml's isort section "quiet" keeps it there)

TensorFlow 2.21 prints its start-up notices (oneDNN, "Could not find cuda
drivers", and, on a machine without a GPU, "E0000 ... failed call to cuInit:
INTERNAL: CUDA error") through Abseil's logging before it reads
TF_CPP_MIN_LOG_LEVEL, so that variable alone does not hide them (common/__init__.py
sets it for what comes later), and an "E" line that means nothing is wrong
reads like a failure to a new user.
Here TensorFlow is imported, and its devices listed, while the process's
standard error (file descriptor 2, where C++ writes) points at a temporary
file; if the import fails, what it printed is shown with the error. Nothing
else changes: the same devices are found and used (GPU included).

Set RNN_EXAMPLES_TF_LOGS=1 (SHOW_TF_LOGS) to see every line, as TensorFlow prints them.
"""

import os
import sys
import tempfile

from common import check_backend, tf_logs_shown


def held_back(action):
    """`action()`'s result, with whatever it writes to file descriptor 2 held back; replayed if it raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            return action()
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode("utf-8", errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _start_tensorflow():
    import keras  # noqa: F401  (loads its own TensorFlow libraries, which log again)
    import tensorflow as tf

    tf.config.list_physical_devices()  # probes CUDA: on a machine without a GPU, the cuInit "E" line


check_backend()  # before Keras is imported: it reads KERAS_BACKEND then
if not tf_logs_shown():
    held_back(_start_tensorflow)
