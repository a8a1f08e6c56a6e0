"""Speech: recognise spoken digits from raw audio with a bidirectional RNN over MFCC frames (FSDD).

Chapter: 004 §6.2 (speech recognition) and §9.3 (variable-length sequences: padding and masking).
Run:     make example-spoken_digits            (quick check: make smoke-spoken_digits)
         python examples/spoken_digits/train.py --test-speaker all   (leave-one-speaker-out, six runs)
Use:     python examples/spoken_digits/predict.py FILE.wav ...
Results: see README.md (measured, with hardware and wall time)

The model reads the waveform itself: a layer that computes log-mel frames
and their first 13 cepstral coefficients (MFCCs), normalised with the
training frames' statistics, then a masked bidirectional GRU stack, an
average over the real frames and a softmax over the ten digits and "not a
digit". Two evaluations: the data set's official split (the same six
speakers on both sides) and leave-one-speaker-out (a voice the model never
heard), each beside logistic regression on the mean and spread of the
log-mel frames. Augmentations of the training audio (speed, noise, masks)
are options, measured in the README.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from common import cli
from common.data import resolve_data_dir
from common.models import POOLING
from common.plots import plt, save_figure
from common.saving import check_round_trip
from common.text import bucketed_dataset
from common.training import BACKUP_DIR, RUN_RECORD, Run

from audio import (
    decide,
    frames_alone,
    frames_each,
    predict_waveforms,
    training_frames,
    trim_silence,
)
from augment import AugmentedTraining
from fsdd import DIGITS, RECOGNITION_FILE, SAMPLE_RATE, SPEAKERS, load_recordings, official_split, speaker_split
from model import build_model
from nonspeech import HELD_OUT_KINDS, NOT_A_DIGIT, TRAINING_KINDS, non_speech

EXAMPLE = "spoken_digits"
VALIDATION_EVERY = 10  # every tenth take of the training side (takes 9, 19, ...) validates
TEST_NON_SPEECH = 100  # non-speech test sounds of each family (trained kinds, held-out kinds)


def add_augmentation_args(parser):
    """Changes to the training audio (never validation or test audio), drawn anew every epoch."""
    augmentation = parser.add_argument_group("augmentation (training audio only; new draws every epoch)")
    augmentation.add_argument(
        "--speed",
        type=cli.fraction,
        default=0.0,
        help="play each training recording at a random speed within 1 +- this (pitch, formants and tempo move "
        "together: other voices; 0: off)",
    )
    augmentation.add_argument(
        "--noise-snr",
        type=float,
        default=None,
        help="add white noise at a random signal-to-noise ratio from this to 20 dB more (default: off)",
    )
    augmentation.add_argument(
        "--spec-augment",
        type=cli.non_negative_int,
        default=0,
        help="blank this many random mel bands and this many spans of frames in each training recording "
        "(SpecAugment; 0: off)",
    )
    augmentation.add_argument(
        "--warp",
        type=cli.fraction,
        default=0.0,
        help="stretch the mel axis of each training batch by a random factor within 1 +- this (0: off; "
        "imitates other voices, see README)",
    )


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument(
        "--test-speaker",
        choices=(*SPEAKERS, "all"),
        help="leave this speaker out for testing (all: each of the six in turn); "
        "default: the official split (takes 0-4 of every speaker are the test set)",
    )
    data.add_argument("--mels", type=cli.positive_int, default=40, help="mel bands of the spectrogram")
    data.add_argument(
        "--cepstra",
        type=cli.non_negative_int,
        default=13,
        help="feed the model the first N cepstral coefficients (MFCCs) of the log-mel frames instead of the bands "
        "(0: the bands; 13 recognises new voices best, see README)",
    )
    data.add_argument(
        "--recording-mean",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="subtract each recording's mean log-mel frame (removes the constant colouring of a voice or microphone)",
    )
    cli.add_model_args(parser, cell="gru", units=64, layers=2, dropout=0.4, bidirectional=True)
    model = parser.add_argument_group("model")
    model.add_argument("--pooling", choices=POOLING, default="mean", help="summary of the frames' states")
    model.add_argument(
        "--conv-filters",
        type=cli.non_negative_int,
        default=0,
        help="a convolution over 5 frames with this many filters before the recurrent layers (0: none)",
    )
    add_augmentation_args(parser)
    cli.add_training_args(parser, epochs=40, batch_size=32, learning_rate=2e-3, patience=8, clipnorm=1.0)
    args = cli.parse(
        parser,
        argv,
        lambda options: f"{EXAMPLE}-speaker-{options.test_speaker}" if options.test_speaker else EXAMPLE,
        quick={"units": 16, "layers": 1, "mels": 20, "epochs": 3},
    )
    if args.warp and args.cepstra:
        # the warp stretches the mel axis; on cepstral coefficients it would mix unrelated numbers
        parser.error("--warp stretches mel bands: use it with --cepstra 0 (the model reads MFCCs by default)")
    if args.cepstra > args.mels:
        parser.error(f"--cepstra {args.cepstra} is more than the {args.mels} mel bands they are computed from")
    return args


def split_validation(recordings):
    """(training, validation) of the training side: every tenth take validates."""
    validates = [recording.take % VALIDATION_EVERY == VALIDATION_EVERY - 1 for recording in recordings]
    return (
        [recording for recording, held in zip(recordings, validates, strict=True) if not held],
        [recording for recording, held in zip(recordings, validates, strict=True) if held],
    )


def datasets(x_train, y_train, x_val, y_val, args):
    """(training, validation) datasets: training audio augmented anew every epoch (as the options say), validation
    audio exactly as recorded, in batches of similar length."""
    training = AugmentedTraining(x_train, y_train, args.batch_size, args.seed, args.speed, args.noise_snr)
    return training.dataset(), bucketed_dataset(x_val, y_val, args.batch_size, False, args.seed)


def with_non_speech(waveforms, labels, kinds, seed):
    """The recordings and labels with a tenth as many non-speech sounds of `kinds` added, labelled NOT_A_DIGIT."""
    sounds = non_speech(max(1, len(waveforms) // DIGITS), kinds, seed)
    return [*waveforms, *sounds], np.concatenate([labels, np.full(len(sounds), NOT_A_DIGIT)])


def rejection_threshold(digit_probabilities, false_rejections=0.01):
    """The best-digit probability below which an answer is "not a digit": low enough that at most
    `false_rejections` of the validation digits fall under it, and at most 0.5 (below it, the other answers
    together are likelier than the best digit)."""
    best = np.asarray(digit_probabilities)[:, :NOT_A_DIGIT].max(axis=1)
    return float(min(0.5, np.quantile(best, false_rejections)))


def summary_features(layer, waveforms):
    """(recordings, 2 * mels): each recording's log-mel mean and standard deviation over time (the baseline's)."""
    return np.stack(
        [np.concatenate([frames.mean(axis=0), frames.std(axis=0)]) for frames in frames_each(layer.log_mel, waveforms)]
    )


def plot_spectrograms(layer, recordings, path):
    """One recording per digit: its normalised frames (log-mel bands or MFCCs), as the recurrent layers read them."""
    figure, axes = plt.subplots(2, 5, figsize=(15, 5.5), sharey=True)
    for digit, axis in enumerate(axes.flat):
        recording = next(r for r in recordings if r.digit == digit)
        image = frames_alone(layer, recording.audio).T
        axis.imshow(image, origin="lower", aspect="auto", cmap="magma")
        axis.set_title(f"'{digit}' ({recording.speaker}, {len(recording.audio) / SAMPLE_RATE:.2f} s)")
        axis.set_xlabel("frame (16 ms)")
    what = ("cepstral coefficient", "MFCC frames") if layer.cepstra else ("mel band", "log-mel spectrograms")
    for axis in axes[:, 0]:
        axis.set_ylabel(what[0])
    figure.suptitle(f"{what[1]}, normalised with the training frames' statistics")
    save_figure(figure, path)


def plot_confusion(true, predicted, title, path):
    """Spoken digit (rows) against the answer (columns: the ten digits, then "not a digit", marked x)."""
    matrix = np.zeros((DIGITS, DIGITS + 1), dtype=int)
    np.add.at(matrix, (true, predicted), 1)
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            color = "white" if count > matrix.max() / 2 else "black"
            axis.text(column, row, count, ha="center", va="center", color=color, fontsize=8)
    axis.set_xticks(range(DIGITS + 1), [*map(str, range(DIGITS)), "x"])
    axis.set_yticks(range(DIGITS))
    axis.set_xlabel("answer (x: not a digit)")
    axis.set_ylabel("spoken digit")
    axis.set_title(title)
    save_figure(figure, path)


def arrays(recordings):
    return [recording.audio for recording in recordings], np.array([recording.digit for recording in recordings])


def load_data(args):
    """The recordings split (official, or one speaker left out), validation from the training side, each part with
    "not a digit" sounds: synthetic non-speech, one class's worth beside training and validation; for the test,
    sounds of the trained kinds and of kinds never trained on (false acceptances of both are reported)."""
    recordings = load_recordings(resolve_data_dir(args.data_dir))
    if args.test_speaker:
        train_side, test = speaker_split(recordings, args.test_speaker)
        protocol = f"leave {args.test_speaker} out (trained on the other {len(SPEAKERS) - 1} speakers)"
    else:
        train_side, test = official_split(recordings)
        protocol = "official split (takes 0-4 of every digit and speaker)"
    train, validation = split_validation(train_side)
    counts = {"train": len(train), "validation": len(validation), "test": len(test)}
    print(f"{len(recordings):,} recordings; {protocol}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    (x_train, y_train), (x_val, y_val), test_arrays = map(arrays, (train, validation, test))
    return {
        "train": with_non_speech(x_train, y_train, TRAINING_KINDS, args.seed + 1),
        "validation": with_non_speech(x_val, y_val, TRAINING_KINDS, args.seed + 2),
        "validation digits": x_val,  # (what the rejection threshold is calibrated on)
        "test": test_arrays,
        "test recordings": test,
        "non-speech": {
            "trained_kinds": non_speech(TEST_NON_SPEECH, TRAINING_KINDS, args.seed + 3),
            "held_out_kinds": non_speech(TEST_NON_SPEECH, HELD_OUT_KINDS, args.seed + 4),
        },
        "training lengths": [len(trim_silence(recording.audio)) / SAMPLE_RATE for recording in train],
        "protocol": protocol,
        "counts": counts,
    }


def build(args, training_audio):
    """The model, its features normalised with the statistics of the training audio's frames."""
    model = build_model(
        args.mels,
        cepstra=args.cepstra,
        recording_mean=args.recording_mean,
        warp=args.warp,
        spec_augment=args.spec_augment,
        conv_filters=args.conv_filters,
        **cli.model_options(args),
        pooling=args.pooling,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        seed=args.seed,
    )
    features = model.get_layer("log_mel")
    features.set_statistics(training_frames(features, training_audio))
    return model


def train(model, data, args, run):
    training, validation = datasets(*data["train"], *data["validation"], args)
    model.fit(
        training,
        validation_data=validation,
        epochs=args.epochs,
        shuffle=False,  # the training batches are drawn anew every epoch
        callbacks=run.callbacks(patience=args.patience, reduce_lr_patience=3),
    )


def calibrate(model, data, output_dir):
    """The weakest evidence a digit answer needs (from the validation digits) and the lengths of the training
    digits, written for predict.py; the threshold."""
    lengths = data["training lengths"]
    recognition = {
        "threshold": rejection_threshold(predict_waveforms(model, data["validation digits"])),
        "shortest_s": min(lengths),
        "longest_s": max(lengths),
    }
    (output_dir / RECOGNITION_FILE).write_text(json.dumps(recognition, indent=1))
    return recognition["threshold"]


def test(model, data, threshold, batch_size, run):
    """The test digits' answers, accuracy and false rejections; the non-speech's false acceptances."""
    x_test, y_test = data["test"]
    probabilities = predict_waveforms(model, x_test, batch_size)
    predicted = decide(probabilities, threshold, NOT_A_DIGIT)
    tested = {
        "predicted": predicted,
        "accuracy": float(np.mean(predicted == y_test)),
        "false_rejection": float(np.mean(predicted == NOT_A_DIGIT)),
        "false_acceptance": {
            kind: float(np.mean(decide(predict_waveforms(model, sounds), threshold, NOT_A_DIGIT) != NOT_A_DIGIT))
            for kind, sounds in data["non-speech"].items()
        },
        "rnn_seconds": time.perf_counter() - run.started,
    }
    check_round_trip(
        run.output_dir / "model.keras", probabilities[:64], answer=lambda loaded: predict_waveforms(loaded, x_test[:64])
    )
    return tested


def baseline(features, data):
    """Logistic regression on each recording's log-mel mean and spread: (test accuracy, held-out non-speech
    accepted as a digit, seconds)."""
    started = time.perf_counter()
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    classifier.fit(summary_features(features, data["train"][0]), data["train"][1])
    accuracy = float(classifier.score(summary_features(features, data["test"][0]), data["test"][1]))
    held_out = summary_features(features, data["non-speech"]["held_out_kinds"])
    acceptance = float(np.mean(classifier.predict(held_out) != NOT_A_DIGIT))
    return accuracy, acceptance, time.perf_counter() - started


def report(tested, baseline_scores, threshold, data, args, run):
    baseline_accuracy, baseline_acceptance, baseline_seconds = baseline_scores
    protocol, false_acceptance = data["protocol"], tested["false_acceptance"]
    print(f"test accuracy ({protocol}): RNN {tested['accuracy']:.4f}, baseline {baseline_accuracy:.4f}")
    print(
        f"'not a digit' (threshold {threshold:.2f}): test digits rejected {tested['false_rejection']:.3f}; "
        "non-speech accepted as a digit: "
        + ", ".join(f"{kind.replace('_', ' ')} {rate:.3f}" for kind, rate in false_acceptance.items())
    )
    results = [
        {
            "metric": f"test accuracy, {protocol}",
            "model": tested["accuracy"],
            "baseline": baseline_accuracy,
            "baseline_name": "logistic regression on each recording's log-mel mean and standard deviation",
            "baseline_wall_time_s": round(baseline_seconds, 1),
        },
        {
            "metric": "non-speech of kinds never trained on, answered as a digit (lower is better)",
            "model": false_acceptance["held_out_kinds"],
            "baseline": baseline_acceptance,
            "baseline_name": "the same logistic regression, also trained with the eleventh class",
            "baseline_wall_time_s": round(baseline_seconds, 1),
        },
    ]
    metrics = {
        "accuracy": tested["accuracy"],
        "baseline_accuracy": baseline_accuracy,
        "false_rejection_rate": tested["false_rejection"],
        **{f"false_acceptance_{kind}": rate for kind, rate in false_acceptance.items()},
        "baseline_false_acceptance_held_out_kinds": baseline_acceptance,
        "rejection_threshold": threshold,
        "rnn_wall_time_s": round(tested["rnn_seconds"], 1),
    }
    extra = {"data": {"protocol": protocol, "test_speaker": args.test_speaker, "counts": data["counts"]}}
    return run.finish(metrics, results, extra=extra)


def main(argv=None):
    args = parse_args(argv)
    if args.test_speaker == "all":
        return leave_each_speaker_out(argv)
    name = f"{EXAMPLE}-speaker-{args.test_speaker}" if args.test_speaker else EXAMPLE
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), monitor="val_accuracy", mode="max", argv=argv, name=name)
    data = load_data(args)
    with run.scope():
        model = build(args, data["train"][0])
    model.summary()
    train(model, data, args, run)
    threshold = calibrate(model, data, run.output_dir)
    tested = test(model, data, threshold, args.batch_size, run)
    features = model.get_layer("log_mel")
    baseline_scores = baseline(features, data)
    plot_spectrograms(features, data["test recordings"], run.output_dir / "spectrograms.png")
    plot_confusion(data["test"][1], tested["predicted"], f"test, {data['protocol']}", run.output_dir / "confusion.png")
    return report(tested, baseline_scores, threshold, data, args, run)


def without_option(argv, option):
    """`argv` without `option VALUE` and `option=VALUE`."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == option:
            skip = True
        elif not argument.startswith(f"{option}="):
            kept.append(argument)
    return kept


def finished_fold(argv):
    """The run record of this fold when an earlier `--test-speaker all` finished it with the same options, else None.

    So an interrupted `all` resumes where it stopped instead of training the finished folds again.
    """
    args = parse_args(argv)
    folder = Path(args.output_dir)
    if args.restart or (folder / BACKUP_DIR).exists() or not (folder / RUN_RECORD).exists():
        return None
    record = json.loads((folder / RUN_RECORD).read_text())
    config = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    if record.get("config") != config:
        return None
    print(f"{folder}: this fold finished before with the same options; its record is reused")
    return record


def leave_each_speaker_out(argv):
    """Six runs, one per held-out speaker (each in its own folder, resumable), then their accuracies and mean,
    written as a run record of their own (outputs/spoken_digits-speaker-all/run.json, or --output-dir's)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    summary_dir = Path(parse_args(argv).output_dir)
    explicit_dir = any(a.startswith("--output-dir") for a in argv)
    argv = without_option(argv, "--test-speaker")
    records = {}
    for speaker in SPEAKERS:
        # by default each fold has its own folder (outputs/spoken_digits-speaker-NAME); under --output-dir, a subfolder
        folder = ["--output-dir", f"{summary_dir}/speaker-{speaker}"] if explicit_dir else []
        fold = [*without_option(argv, "--output-dir"), *folder, "--test-speaker", speaker]
        records[speaker] = finished_fold(fold) or main(fold)
    summary = speakers_summary(records, ["--test-speaker", "all", *argv])
    print(f"\n{'held-out speaker':<18}{'RNN':>8}{'baseline':>10}")
    for speaker, record in records.items():
        print(f"{speaker:<18}{record['metrics']['accuracy']:>8.4f}{record['metrics']['baseline_accuracy']:>10.4f}")
    metrics = summary["metrics"]
    print(f"{'mean':<18}{metrics['accuracy']:>8.4f}{metrics['baseline_accuracy']:>10.4f}   (worst: {metrics['worst']})")
    summary_dir.mkdir(parents=True, exist_ok=True)
    (summary_dir / RUN_RECORD).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"[{summary['example']}] wrote {summary_dir / RUN_RECORD}")
    return records


def speakers_summary(records, argv):
    """One run record for the six folds: mean accuracies (the RNN's, the baseline's), every speaker's, the summed
    wall times (the results table reads it like any other run's)."""
    first = next(iter(records.values()))
    accuracy = {speaker: record["metrics"]["accuracy"] for speaker, record in records.items()}
    baseline = {speaker: record["metrics"]["baseline_accuracy"] for speaker, record in records.items()}
    baseline_seconds = sum(record["results"][0]["baseline_wall_time_s"] for record in records.values())
    mean, baseline_mean = float(np.mean(list(accuracy.values()))), float(np.mean(list(baseline.values())))
    return {
        "example": f"{EXAMPLE}-speaker-all",
        "command": " ".join(["python", f"examples/{EXAMPLE}/train.py", *argv]),
        "argv": argv,
        "config": {key: value for key, value in first["config"].items() if key not in ("test_speaker", "output_dir")},
        "seed": first["seed"],
        "quick": first["quick"],
        "started_at": min(record["started_at"] for record in records.values()),
        "wall_time_s": round(sum(record["wall_time_s"] for record in records.values()), 1),
        "fold_wall_time_s": {speaker: record["wall_time_s"] for speaker, record in records.items()},
        "device": first["device"],
        "versions": first["versions"],
        "metrics": {
            "accuracy": mean,
            "baseline_accuracy": baseline_mean,
            "worst": min(accuracy, key=accuracy.get),
            "accuracy_by_speaker": accuracy,
            "baseline_accuracy_by_speaker": baseline,
            "rnn_wall_time_s": round(sum(record["metrics"]["rnn_wall_time_s"] for record in records.values()), 1),
        },
        "results": [
            {
                "metric": f"test accuracy, mean over the {len(records)} held-out speakers (leave-one-speaker-out)",
                "model": mean,
                "baseline": baseline_mean,
                "baseline_name": first["results"][0]["baseline_name"],
                "baseline_wall_time_s": round(baseline_seconds, 1),
            }
        ],
    }


if __name__ == "__main__":
    cli.run(main)
