"""Unit tests of common/cli.py, common/plots.py and benchmarks/tables.py."""

import argparse
import json
from pathlib import Path

import pytest

from common import cli
from common.plots import plot_history, plot_score_by_frequency

import tables


@pytest.mark.parametrize(
    "parse,text,message",
    [
        (cli.positive_int, "0", "must be at least 1"),
        (cli.positive_int, "2.5", "expected a whole number"),
        (cli.positive_float, "-1", "greater than 0"),
        (cli.positive_float, "abc", "expected a number"),
        (cli.fraction, "1", r"must be in \[0, 1\)"),
        (cli.non_negative_float, "-0.5", "finite number of 0 or more"),
        (cli.non_negative_float, "inf", "finite number of 0 or more"),
        (cli.non_negative_float, "nan", "finite number of 0 or more"),
        (cli.weight, "0", "greater than 0"),
        (cli.weight, "1.5", r"must be in \(0, 1\]"),
    ],
)
def test_argument_types_reject_bad_values(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)


def test_quick_defaults_yield_to_explicit_options():
    parser = cli.make_parser("x")
    cli.add_training_args(parser, epochs=30, batch_size=8)
    args = cli.parse(parser, ["--quick", "--epochs", "30"], "demo", {"epochs": 2, "batch_size": 4})
    assert (args.epochs, args.batch_size) == (30, 4)  # given (even as the default's value) beats --quick
    assert args.output_dir.endswith("outputs/demo-quick")
    assert cli.parse(parser, [], "demo", {"epochs": 2}).epochs == 30
    assert parser.get_default("epochs") == 30  # the parser is left as it was


def test_defaults_that_depend_on_another_option_yield_to_quick_and_to_the_command_line():
    parser = cli.make_parser("x")
    parser.add_argument("--task", choices=("a", "b"), default="a")
    parser.add_argument("--units", type=int, default=8)
    cli.add_training_args(parser, epochs=30, batch_size=8)
    by_task = {"a": {}, "b": {"units": 64, "epochs": 10}}
    options = {
        argv: cli.parse(parser, list(argv), lambda o: f"demo-{o.task}", {"epochs": 2}, lambda o: by_task[o.task])
        for argv in [(), ("--task", "b"), ("--task", "b", "--quick"), ("--task", "b", "--units", "8")]
    }
    assert [(o.units, o.epochs) for o in options.values()] == [(8, 30), (64, 10), (64, 2), (8, 10)]
    assert [Path(o.output_dir).name for o in options.values()] == ["demo-a", "demo-b", "demo-b-quick", "demo-b"]


def test_help_shows_each_default_once():
    parser = cli.make_parser("x")
    parser.add_argument("--units", type=int, default=64, help="units")
    parser.add_argument("--data-dir", help="data folder (default: data/)")
    parser.add_argument("--topic", help="a topic")
    text = " ".join(parser.format_help().split())
    assert "units (default: 64)" in text and "data folder (default: data/) " in text + " "
    assert text.count("(default:") == 2 and "(default: None)" not in text


def test_read_inputs_from_arguments_file_and_standard_input(tmp_path, monkeypatch):
    import io

    assert cli.read_inputs(["one", "two"], tmp_path / "ignored") == ["one", "two"]
    text = tmp_path / "reviews.txt"
    text.write_bytes("first\x85still first\u2028still first\r\nsecond\n\nfourth\n".encode())
    # Lines end at \n only: U+0085 and U+2028 occur inside real reviews.
    assert cli.read_inputs([], text) == ["first\x85still first\u2028still first", "second", "", "fourth"]
    assert cli.read_inputs([], text, lines=False) == [text.read_bytes().decode("utf-8")]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a\nb\n"), encoding="utf-8"))
    assert cli.read_inputs([]) == ["a", "b"]


@pytest.mark.parametrize(
    "source,message",
    [
        ("file", r"data.bin is not UTF-8 text \(byte 2: invalid start byte\)"),
        ("stdin", r"standard input is not UTF-8 text \(byte 2"),
        ("argument", r"input 2 is not UTF-8 text"),
        ("missing", r"cannot read .*absent.txt: No such file"),
    ],
)
def test_read_inputs_refuses_what_is_not_utf8_text(tmp_path, monkeypatch, source, message):
    import io

    binary = b"ok\xff\xfe"
    (tmp_path / "data.bin").write_bytes(binary)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(binary), encoding="utf-8"))
    arguments = {"argument": ["fine", binary.decode("utf-8", errors="surrogateescape")]}.get(source, [])
    path = {"file": tmp_path / "data.bin", "missing": tmp_path / "absent.txt"}.get(source)
    with pytest.raises(SystemExit, match=message):
        cli.read_inputs(arguments, path)


def test_plots_are_written(tmp_path):
    history = {"epoch": [0, 1], "loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "mae": [0.9, 0.6], "val_mae": [1, 0.8]}
    assert plot_history(history, tmp_path / "h.png").stat().st_size > 1000
    path = plot_score_by_frequency([10, 200, 3], [0.5, 0.9, 0.1], ["a", "b", "c"], tmp_path / "s.png", title="t")
    assert path.stat().st_size > 1000


def fake_record(example, quick=False):
    return {
        "example": example,
        "quick": quick,
        "command": f"python examples/{example}/train.py",
        "seed": 42,
        "wall_time_s": 160.0,  # the whole command; the table shows the RNN's 125 s
        "metrics": {"rnn_wall_time_s": 125.0},
        "device": {"hardware": "2 CPU cores (test)"},
        "versions": {"tensorflow": "x"},
        "results": [
            {
                "metric": "accuracy",
                "model": 0.9,
                "baseline": 0.8,
                "baseline_name": "tf-idf",
                "baseline_wall_time_s": 30.0,
            }
        ],
    }


def test_results_table_from_full_runs_only(tmp_path):
    outputs, store, readme = tmp_path / "outputs", tmp_path / "results", tmp_path / "README.md"
    for name, quick in (("imdb", False), ("imdb-quick", True)):
        (outputs / name).mkdir(parents=True)
        (outputs / name / "run.json").write_text(json.dumps(fake_record("imdb", quick)))
    readme.write_text(f"intro\n{tables.START}\nold\n{tables.END}\noutro\n")
    arguments = ["--outputs", str(outputs), "--results", str(store), "--readme", str(readme)]
    assert tables.main([*arguments, "--check"]) == 1
    assert tables.main(arguments) == 0
    text = readme.read_text()
    assert "| imdb | accuracy | 0.9000 | 0.8000 (tf-idf) |" in text and "2.1 min / 30 s" in text
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert [path.name for path in store.iterdir()] == ["imdb.json"]
    assert tables.main([*arguments, "--check"]) == 0


def test_a_recipe_run_with_other_seeds_shows_its_mean_and_range(tmp_path):
    """results/variants/NAME-seedN.json with NAME's recipe: the table gives the mean and range over all seeds;
    a record that differs in more than its seed is refused, naming it; NAME-seed1-OTHER is another recipe."""
    store, variants = tmp_path / "results", tmp_path / "results" / "variants"
    variants.mkdir(parents=True)

    def record(seed, accuracy, units=64):
        fake = fake_record("imdb")
        fake.update(seed=seed, config={"seed": seed, "units": units, "output_dir": f"/tmp/{seed}"})
        fake["results"][0]["model"] = accuracy
        return json.dumps(fake)

    (store / "imdb.json").write_text(record(42, 0.9))
    (variants / "imdb-seed1.json").write_text(record(1, 0.8))
    (variants / "imdb-seed2.json").write_text(record(2, 0.85))
    (variants / "imdb-seed1-units32.json").write_text(record(1, 0.1, units=32))
    table = tables.render_table(*tables.load_records(store))
    assert "| imdb | accuracy | 0.9000; 3 seeds: mean 0.8500 (0.8000-0.9000) |" in table
    # An option the record predates counts as the same recipe when the other run has it off, not when on.
    newer = json.loads(record(3, 0.95))
    newer["config"]["label_smoothing"] = 0.0
    (variants / "imdb-seed3.json").write_text(json.dumps(newer))
    assert "0.9000; 4 seeds: mean 0.8750 (0.8000-0.9500) |" in tables.render_table(*tables.load_records(store))
    newer["config"]["label_smoothing"] = 0.1
    (variants / "imdb-seed3.json").write_text(json.dumps(newer))
    with pytest.raises(ValueError, match="imdb-seed3.json is not imdb's recipe with another seed: label_smoothing"):
        tables.load_records(store)
    (variants / "imdb-seed3.json").write_text(record(3, 0.1, units=32))
    with pytest.raises(ValueError, match="imdb-seed3.json is not imdb's recipe with another seed: units differ"):
        tables.load_records(store)


def test_results_needs_markers(tmp_path):
    with pytest.raises(ValueError, match="markers"):
        tables.replace_between_markers("no markers", "table")


def test_a_negative_seed_is_refused_naming_the_option(capsys):
    parser = cli.make_parser("test")
    cli.add_training_args(parser, epochs=1, batch_size=1)
    with pytest.raises(SystemExit):
        parser.parse_args(["--seed", "-1"])
    assert "argument --seed: must be 0 or more, got -1" in capsys.readouterr().err
