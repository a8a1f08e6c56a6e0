"""The Makefile's per-example targets really run their example (`make -n` prints the commands, runs nothing)."""

import shutil
import subprocess

import pytest

from common.data import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
EXAMPLES = sorted(path.parent.name for path in (REPO_ROOT / "examples").glob("*/train.py"))


def dry_run(*arguments):
    result = subprocess.run(["make", "-n", *arguments], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_and_smoke_targets_run_the_example(name):
    # A plain pattern rule on a .PHONY target is skipped by make: "Nothing to be done", nothing runs.
    assert f".venv/bin/python examples/{name}/train.py --epochs 1" in dry_run(f"example-{name}", "ARGS=--epochs 1")
    assert f".venv/bin/python examples/{name}/train.py --quick" in [line.strip() for line in dry_run(f"smoke-{name}")]


def test_smoke_covers_every_example():
    commands = "\n".join(dry_run("smoke"))
    for name in EXAMPLES:
        assert name in commands


def test_the_pretrained_imdb_target_trains_the_language_model_only_when_it_is_missing():
    commands = "\n".join(dry_run("example-imdb-pretrained"))
    assert "[ -e outputs/word_lm/encoder.keras ] || .venv/bin/python examples/word_lm/train.py" in commands
    assert ".venv/bin/python examples/imdb/train.py --pretrained outputs/word_lm" in commands
