"""Say which digit is spoken in WAV recordings, with the trained model (which reads the raw waveform).

Chapter: 004 §6.2 (speech recognition: using the trained model).
Run:     python examples/spoken_digits/predict.py FILE.wav ...
         python examples/spoken_digits/predict.py my_digit.wav --model-dir outputs/spoken_digits-speaker-theo

Prints one line per file: the digit and its probability. The recordings
must be PCM WAV at 8 kHz (as the Free Spoken Digit Dataset's); stereo is
mixed down to mono. Silence before and after the word is cut off, as in the
data set's recordings (the model never heard long pauses). A file that cannot be read (missing, empty, truncated,
not a WAV, another sample rate) is reported on standard error and skipped,
and the exit status is then 1.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import sys
from pathlib import Path

from common import cli
from common.saving import load_for_use
from common.training import default_output_dir

import audio  # noqa: F401  (registers the LogMelFrames layer that the saved model uses)
from audio import predict_waveforms, trim_silence
from fsdd import AudioError, read_wav


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="WAV recordings, 8 kHz")
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


def main(argv=None):
    args = parse_args(argv)
    model = load_for_use(args.model_dir / "model.keras", "make example-spoken_digits")
    readable, waveforms, failed = [], [], False
    for path in args.files:
        try:
            waveforms.append(trim_silence(read_recording(path)))
            readable.append(path)
        except AudioError as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
    answers = {}
    if waveforms:
        for path, probabilities in zip(readable, predict_waveforms(model, waveforms), strict=True):
            digit = int(probabilities.argmax())
            answers[str(path)] = (digit, float(probabilities[digit]))
            print(f"{path}\tdigit {digit}\tprobability {probabilities[digit]:.3f}")
    if failed:
        sys.exit(1)
    return answers


if __name__ == "__main__":
    cli.run(main)
