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


@pytest.mark.parametrize(
    ("target", "lm_dir", "lm_options", "classifier"),
    [
        ("example-imdb-pretrained", "outputs/word_lm", "", "imdb"),
        ("example-reuters-pretrained", "outputs/word_lm-reuters", " --corpus reuters", "reuters"),
    ],
)
def test_a_pretrained_target_trains_its_language_model_only_when_it_is_missing(target, lm_dir, lm_options, classifier):
    commands = "\n".join(dry_run(target))
    assert f"[ -e {lm_dir}/encoder.keras ] || .venv/bin/python examples/word_lm/train.py{lm_options}" in commands
    assert f".venv/bin/python examples/{classifier}/train.py --pretrained {lm_dir}" in commands
