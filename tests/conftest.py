"""Shared test helpers: import paths, example loading, the offline data copies."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO_ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # as when a benchmark runs as a script: it imports its sibling tables.py
SHARED_DATA = Path(os.environ.get("RNN_EXAMPLES_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_module(path, name=None):
    """Import the Python file at `path` (an example's script, a benchmark) as a module."""
    spec = importlib.util.spec_from_file_location(name or f"script_{Path(path).stem}", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


_example_modules = {}  # (example, module) -> the module, for names that several examples use (model.py)


def load_example(name, module="train"):
    """Import examples/NAME/MODULE.py.

    The example's folder goes on sys.path first, as when it runs as a script,
    so its modules can import their siblings (e.g. bridge.py imports rnn).
    A module whose name no other example uses (tagging's crf.py, conll.py)
    is imported under that name, so the test gets the very module the
    example's scripts import: a second copy would register its Keras layers
    again, and a loaded model would then be of the other copy's classes.
    Modules whose names repeat across examples (train.py, model.py) get a
    unique name, and `import model` gives this example's model.py while
    its scripts are imported (each script keeps the names it imported).
    """
    folder = REPO_ROOT / "examples" / name
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    if len(list((REPO_ROOT / "examples").glob(f"*/{module}.py"))) == 1:
        return importlib.import_module(module)
    if module != "model" and (folder / "model.py").exists():
        sys.modules["model"] = load_example(name, "model")
    if (name, module) not in _example_modules:
        _example_modules[name, module] = load_module(folder / f"{module}.py", f"example_{name}_{module}")
    return _example_modules[name, module]


@pytest.fixture
def shared_data():
    """The folder of real data copies, or skip (with the reason) where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-data test: {SHARED_DATA} is absent (see data/README.md)")
    return SHARED_DATA


def run_python(arguments, backend):
    """`python ARGUMENTS` in a new process from the repository root, under KERAS_BACKEND=`backend` (Keras reads
    it once, at import, so another backend needs another process); the finished process."""
    environment = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, env=environment, cwd=REPO_ROOT)


def run_predict(script, model_dir, *arguments):
    """Run an example's predict.py on `arguments` with `--model-dir model_dir`, in a new process."""
    return subprocess.run(
        [sys.executable, str(script), "--model-dir", str(model_dir), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
    )
