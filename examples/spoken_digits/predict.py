"""Say which digit is spoken in WAV recordings, with the trained model (which reads the raw waveform).

Chapter: 004 §6.2 (speech recognition: using the trained model).
Run:     python examples/spoken_digits/predict.py FILE.wav ...
         python examples/spoken_digits/predict.py my_digit.wav --model-dir outputs/spoken_digits-speaker-theo

Prints one line per file: the digit and its probability, or "not a digit"
when the model hears no digit in it (noise, a tone, or evidence too weak).
The recordings are WAV files at any sample rate (resampled to the 8 kHz the
model heard), 8/16/24/32-bit PCM or float; stereo is mixed down to mono.
Silence before and after the word is cut off, as in the data set's
recordings (the model never heard long pauses). A file that cannot be read
(missing, empty, truncated, not a WAV) or holds no speech (silence, a
click), or far more than one digit's worth of sound, is reported on
standard error and skipped, and the exit status is then 1.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import sys
from pathlib import Path

from common import cli
from common.saving import load_for_use, read_sidecar
from common.training import default_output_dir

import audio  # noqa: F401  (registers the LogMelFrames layer that the saved model uses)
from audio import decide, predict_waveforms, speech_problem, trim_silence
from fsdd import DIGITS, RECOGNITION_FILE, AudioError, read_wav
from nonspeech import NOT_A_DIGIT

HOW_TO_TRAIN = "make example-spoken_digits"


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="WAV recordings (any sample rate, mono or stereo)")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=default_output_dir("spoken_digits", quick=False),
        help="a training run's outputs",
    )
    return parser.parse_args(argv)


def read_recording(path):
    """The file's samples, or AudioError naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise AudioError(f"{path}: cannot be read ({error.strerror})") from None
    return read_wav(data, path)


def load_recogniser(model_dir):
    """(model, recognition settings) of a training run's folder; a clear error for a missing, damaged or old one."""
    settings_path = Path(model_dir) / RECOGNITION_FILE
    model = load_for_use(Path(model_dir) / "model.keras", HOW_TO_TRAIN, settings_path)
    settings = read_sidecar(settings_path, HOW_TO_TRAIN, keys=("threshold", "shortest_s", "longest_s"))
    if model.output_shape[-1] != DIGITS + 1:
        raise SystemExit(
            f"error: {model_dir}/model.keras has no 'not a digit' answer (it was trained before there was one) "
            f"and would name a digit for any noise; train again with: {HOW_TO_TRAIN}"
        )
    return model, settings


def answer_line(path, probabilities, answer):
    if answer == NOT_A_DIGIT:
        best = int(probabilities[:NOT_A_DIGIT].argmax())
        return f"{path}\tnot a digit\t(the likeliest digit, {best}, has probability {probabilities[best]:.3f})"
    return f"{path}\tdigit {answer}\tprobability {probabilities[answer]:.3f}"


def main(argv=None):
    args = parse_args(argv)
    model, settings = load_recogniser(args.model_dir)
    readable, waveforms, failed = [], [], False
    for path in args.files:
        try:
            samples = trim_silence(read_recording(path))
            problem = speech_problem(samples, settings["shortest_s"], settings["longest_s"])
            if problem:
                raise AudioError(f"{path}: {problem}")
            waveforms.append(samples)
            readable.append(path)
        except AudioError as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
    answers = {}
    if waveforms:
        probabilities = predict_waveforms(model, waveforms)
        for path, row, answer in zip(
            readable, probabilities, decide(probabilities, settings["threshold"], NOT_A_DIGIT), strict=True
        ):
            answers[str(path)] = (int(answer), float(row[answer]))
            print(answer_line(path, row, int(answer)))
    if failed:
        sys.exit(1)
    return answers


if __name__ == "__main__":
    cli.run(main)
