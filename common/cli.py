"""Command-line options shared by the examples, so every `--help` reads alike.

Chapter: 004 §5 (the projects' training set-ups).

Types reject bad values at parse time with a message that names the option
and the accepted range, instead of a traceback deep inside TensorFlow.
"""

import argparse
import sys

from common.data import DamagedDataError, DataNotFoundError, decode_utf8, read_utf8
from common.models import CELLS, POOLING
from common.saving import SavedModelError
from common.training import DISTRIBUTE_CHOICES, OutputDirBusy, Run, default_output_dir


def _whole_number(text, minimum, requirement):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{requirement}, got {value}")
    return value


def positive_int(text):
    """argparse type: an integer >= 1."""
    return _whole_number(text, 1, "must be at least 1")


def non_negative_int(text):
    """argparse type: an integer >= 0 (e.g. a random seed)."""
    return _whole_number(text, 0, "must be 0 or more")


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text):
    """argparse type: a number > 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def non_negative_float(text):
    """argparse type: a finite number >= 0 (e.g. a power, where 0 turns something off)."""
    value = _number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of 0 or more, got {value}")
    return value


def fraction(text):
    """argparse type: a number in [0, 1)."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def weight(text):
    """argparse type: a number in (0, 1], e.g. the weight of the newest value in a moving average."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each default once: not where the help already explains it, nor an unset None."""

    def _get_help_string(self, action):
        if "(default:" in (action.help or "") or action.default is None:
            return action.help
        return super()._get_help_string(action)


def make_parser(description):
    """A parser whose help shows every default (the defaults are the real run)."""
    return argparse.ArgumentParser(description=description, formatter_class=DefaultsHelpFormatter)


def add_model_args(parser, *, cell="lstm", units=64, layers=1, dropout=0.0, bidirectional=False):
    group = parser.add_argument_group("model")
    group.add_argument("--cell", choices=tuple(CELLS), default=cell, help="recurrent cell type")
    group.add_argument("--units", type=positive_int, default=units, help="units per recurrent layer")
    group.add_argument("--layers", type=positive_int, default=layers, help="stacked recurrent layers")
    group.add_argument(
        "--bidirectional",
        action=argparse.BooleanOptionalAction,
        default=bidirectional,
        help="read the sequence in both directions (2x units features)",
    )
    group.add_argument("--dropout", type=fraction, default=dropout, help="dropout on each layer's inputs")
    group.add_argument(
        "--recurrent-dropout",
        type=fraction,
        default=0.0,
        help="dropout on the recurrent state; any value > 0 disables the fast cuDNN kernel on GPU",
    )
    return group


def model_options(args):
    """The options of add_model_args, named as build_model functions take them (common.models.recurrent_stack)."""
    return {
        "cell": args.cell,
        "units": args.units,
        "num_layers": args.layers,
        "bidirectional": args.bidirectional,
        "dropout": args.dropout,
        "recurrent_dropout": args.recurrent_dropout,
    }


def add_text_args(parser, *, max_tokens, max_length, embedding_dim, embedding_dropout, pooling, freeze_embeddings):
    """Options of the text classifiers: vocabulary, length, embedding and how a text is summarised."""
    group = parser.add_argument_group("text")
    group.add_argument("--max-tokens", type=positive_int, default=max_tokens, help="vocabulary size (most frequent)")
    group.add_argument("--max-length", type=positive_int, default=max_length, help="keep the first N tokens of a text")
    group.add_argument("--embedding-dim", type=positive_int, default=embedding_dim, help="word vector size")
    group.add_argument(
        "--pretrained-embeddings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start from word vectors learned (PPMI + SVD) on the training (and unlabelled) texts",
    )
    group.add_argument(
        "--freeze-embeddings",
        action=argparse.BooleanOptionalAction,
        default=freeze_embeddings,
        help="keep the pretrained word vectors fixed (only the RNN and output learn)",
    )
    group.add_argument("--embedding-dropout", type=fraction, default=embedding_dropout, help="dropout on word vectors")
    group.add_argument(
        "--pooling", choices=POOLING, default=pooling, help="final state, or mean or max over all real steps"
    )
    return group


def add_training_args(
    parser,
    *,
    epochs,
    batch_size,
    learning_rate=1e-3,
    patience=5,
    clipnorm=None,
    seed=42,
    weight_averaging=None,
    data_parallel=False,
):
    """The training options; `weight_averaging` (a momentum) also offers --weight-averaging with that default;
    `data_parallel` offers --distribute data-parallel (examples that train with training.fit_arrays)."""
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs", type=positive_int, default=epochs, help="maximum epochs (early stopping may end sooner)"
    )
    group.add_argument("--batch-size", type=positive_int, default=batch_size, help="global batch size (all replicas)")
    group.add_argument("--learning-rate", type=positive_float, default=learning_rate, help="Adam learning rate")
    group.add_argument("--patience", type=positive_int, default=patience, help="early-stopping patience in epochs")
    group.add_argument("--clipnorm", type=positive_float, default=clipnorm, help="clip each gradient to this norm")
    if weight_averaging is not None:
        group.add_argument(
            "--weight-averaging",
            type=fraction,
            default=weight_averaging,
            metavar="MOMENTUM",
            help="validate and keep an exponential moving average of the weights with this momentum "
            "(0.995: about the last 200 batches); 0 turns it off",
        )
    group.add_argument(
        "--seed", type=non_negative_int, default=seed, help="random seed for data order, splits and weights"
    )
    group.add_argument("--deterministic", action="store_true", help="deterministic TensorFlow ops (slower)")
    group.add_argument("--quick", action="store_true", help="tiny data, model and epochs: a smoke test, not a result")
    group.add_argument("--data-dir", help="data folder (default: $RNN_EXAMPLES_DATA, else data/ in this repository)")
    group.add_argument(
        "--output-dir", help="where to write the model, history, plots and run.json (default: outputs/NAME)"
    )
    group.add_argument(
        "--restart", action="store_true", help="discard an interrupted run in --output-dir instead of resuming it"
    )
    group.add_argument(
        "--distribute",
        choices=DISTRIBUTE_CHOICES if data_parallel else DISTRIBUTE_CHOICES[:2],
        default="none",
        help="mirrored: TensorFlow, every GPU of this machine"
        + (
            "; data-parallel: JAX backend, every device of every process started with KERAS_DISTRIBUTION_* set "
            "(README: several processes)"
            if data_parallel
            else ""
        ),
    )
    group.add_argument(
        "--mixed-precision", action="store_true", help="mixed float16 (fast on recent GPUs, slow on CPU)"
    )
    group.add_argument(
        "--tensorboard", action="store_true", help="also write TensorBoard logs to OUTPUT_DIR/tensorboard"
    )
    return group


class _NotGiven:
    def __repr__(self):
        return "<not given>"


NOT_GIVEN = _NotGiven()  # what an option holds during `parse` until the command line or a default fills it


def parse(parser, argv, name, quick=None, defaults=None):
    """Parse the command line once, then fill in the defaults that depend on it.

    An option the command line leaves out takes its value from `quick` on a
    --quick run (a smaller run: a smoke test, not a result), else from
    `defaults(options)` (defaults that depend on other options, e.g. tagging's
    --task), else the parser's default; an option given always wins, so a test can say
    `--quick --epochs 20`. `name` (a string, or a function of the options)
    names the output folder: outputs/NAME, or outputs/NAME-quick so that a
    smoke run never overwrites a real one.
    """
    # argparse fills in a default only where the namespace has no value yet; a marker shows what was not given.
    # (`_actions` is argparse's list of every option: the one way to know them all, private since Python 2.7.)
    options_with_defaults = [action for action in parser._actions if action.default is not argparse.SUPPRESS]
    marked = argparse.Namespace(**{action.dest: NOT_GIVEN for action in options_with_defaults})
    options = parser.parse_args(argv, marked)
    not_given = [action for action in options_with_defaults if getattr(options, action.dest) is NOT_GIVEN]
    for action in not_given:
        setattr(options, action.dest, action.default)
    later = {**(defaults(options) if defaults else {}), **(quick if quick and options.quick else {})}
    for action in not_given:
        if action.dest in later:
            setattr(options, action.dest, later[action.dest])
    if options.output_dir is None:
        options.output_dir = str(default_output_dir(name(options) if callable(name) else name, options.quick))
    return options


def show_defaults_by(parser, option, defaults):
    """Make --help say which defaults depend on `option`'s value (`defaults`: {value: {option: default}}, as
    given to `parse`): such an option's help ends "(default: pos off, chunk on, ...)"."""
    values = {name for choice in defaults.values() for name in choice}
    for action in parser._actions:  # (see parse)
        if action.dest in values:
            shown = [
                f"{choice} {_shown(choices.get(action.dest, action.default))}" for choice, choices in defaults.items()
            ]
            action.help = f"{action.help} (default: {', '.join(shown)}; by {option})"


def _shown(value):
    return {True: "on", False: "off", None: "none"}.get(value, value) if not isinstance(value, float) else value


def run_settings(namespace):
    """The `common.training.Run` arguments that `add_training_args` options set, as a dict of plain values.

    The one place where the shared training options meet `Run`, so each
    example's main() reads `Run(EXAMPLE, vars(args), **cli.run_settings(args), ...)`.
    """
    options = vars(namespace)
    names = ("output_dir", "seed", "quick", "restart", "deterministic", "mixed_precision", "distribute", "tensorboard")
    return {name: options[name] for name in names}


def read_inputs(arguments, file_path=None, lines=True):
    """What a predict / generate / forecast script works on: the command-line arguments, else the UTF-8 text
    of `file_path`, else standard input; with `lines`, one input per line of that text.

    Lines end at "\n" (or "\r\n") only: str.splitlines() would also cut a review at U+0085 or U+2028,
    which real reviews contain. Text that is not UTF-8 is refused with a clear error naming where it came
    from, never read as replacement characters that a model would then score.
    """
    try:
        if arguments:
            # Python keeps undecodable bytes of argv as lone surrogates; give them back and decode strictly.
            return [
                decode_utf8(text.encode("utf-8", errors="surrogateescape"), f"input {number}")
                for number, text in enumerate(arguments, start=1)
            ]
        raw = read_utf8(file_path) if file_path else _read_standard_input()
    except DamagedDataError as error:
        raise SystemExit(f"error: {error}") from None
    if not lines:
        return [raw]
    texts = [line.removesuffix("\r") for line in raw.split("\n")]
    return texts[:-1] if texts[-1] == "" else texts  # the newline that ends the last line starts no new one


def _read_standard_input():
    stream = getattr(sys.stdin, "buffer", None)  # bytes, so that invalid UTF-8 is seen, not replaced
    return decode_utf8(stream.read(), "standard input") if stream else sys.stdin.read()


def run(main):
    """Call an example's `main()` as a command: known failures become one clear line, not a traceback.

    A missing or damaged data set (the loaders' errors), a saved model or a file beside it that does not
    load (common.saving), or an output folder in use by another run prints what to do and exits with
    status 1; Ctrl-C says what running the same command again will do (common.training.Run) and exits
    with 130.
    """
    try:
        return main()
    except (DataNotFoundError, DamagedDataError, SavedModelError, OutputDirBusy) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        note = "interrupted"
        if Run.active is not None:
            Run.active.save_progress()
            note += f": {Run.active.interruption_note()}"
        print(f"\n{note}", file=sys.stderr)
        sys.exit(130)
