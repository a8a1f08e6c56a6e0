"""The Free Spoken Digit Dataset (FSDD): 3,000 recordings of the digits 0-9 by six speakers, read as waveforms.

The tagged release of the project's public repository is downloaded once
into the data directory, and only its recordings (names checked against the
published `{digit}_{speaker}_{index}.wav` layout) are extracted, with
tarfile's "data" filter: no paths outside the folder, no links, no devices.
WAV files are read with SciPy: 8/16/24/32-bit PCM or float, any sample rate
(resampled to 8 kHz), mono or mixed down to mono.
"""

import io
import re
import struct
import tarfile
import warnings
import zlib
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import signal
from scipy.io import wavfile

from common.data import DamagedDataError, DataNotFoundError, fetch

VERSION = "1.0.10"
FOLDER = f"free-spoken-digit-dataset-{VERSION}"
ARCHIVE = f"{FOLDER}.tar.gz"
URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v{VERSION}.tar.gz"
SAMPLE_RATE = 8000
DIGITS = 10
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
RECORDINGS_PER_RELEASE = 3000  # 6 speakers x 10 digits x 50 takes
RECOGNITION_FILE = "recognition.json"  # beside model.keras: rejection threshold, shortest and longest digit
TEST_TAKES = 5  # the official split: takes 0-4 of every digit and speaker are the test set
_NAME = re.compile(r"(?:^|/)recordings/(\d)_([a-z]+)_(\d+)\.wav$")


class AudioError(ValueError):
    """A file that is not a WAV recording this example can read; the message names the file and the fix."""


class Recording(NamedTuple):
    digit: int
    speaker: str
    take: int
    audio: np.ndarray  # float32 samples in [-1, 1] at SAMPLE_RATE


def parse_name(name):
    """(digit, speaker, take) from a path ending in recordings/{digit}_{speaker}_{take}.wav, or None."""
    match = _NAME.search(str(name).replace("\\", "/"))
    return (int(match[1]), match[2], int(match[3])) if match else None


def read_wav(data, source, sample_rate=SAMPLE_RATE):
    """float32 mono samples in [-1, 1] at `sample_rate` from the bytes of a WAV file; AudioError naming `source`
    otherwise.

    Any sample rate is read and resampled (a polyphase filter, which removes
    what lies above the new rate's Nyquist frequency before it could alias);
    8-, 16-, 24- and 32-bit PCM and 32/64-bit float samples, plain or
    "extensible" WAV (as 24-bit files usually are); more than one channel is
    mixed down by averaging. SciPy's reader, because the standard library's
    `wave` reads neither 24-bit extensible nor float files before Python 3.12.
    """
    if not data:
        raise AudioError(f"{source}: the file is empty")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", wavfile.WavFileWarning)
        try:
            rate, samples = wavfile.read(io.BytesIO(data))
        except (ValueError, struct.error, EOFError) as error:
            reason = str(error) or "it ends inside the WAV header"
            raise AudioError(f"{source}: not a readable PCM WAV file ({reason})") from None
    if any("EOF" in str(warning.message) for warning in caught):  # (other warnings: chunks it skips, e.g. LIST)
        raise AudioError(f"{source}: truncated: its header promises more samples than it holds")
    if samples.size == 0:
        raise AudioError(f"{source}: holds no samples")
    if rate <= 0:
        raise AudioError(f"{source}: its header gives a sample rate of {rate} Hz")
    samples = to_unit_range(samples)
    if not np.isfinite(samples).all():  # (only float WAV can hold them; the model would answer NaN)
        raise AudioError(f"{source}: holds samples that are not finite numbers (NaN or infinity): a damaged float WAV")
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    return resample(mono, rate, sample_rate)


def to_unit_range(samples):
    """float32 samples in [-1, 1] from integer PCM (8-bit unsigned, the rest signed; SciPy gives 24-bit samples
    in the top bytes of int32) or float samples (kept as they are)."""
    if samples.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return (samples.astype("float32") - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.integer):
        return samples.astype("float32") / float(-np.iinfo(samples.dtype).min)
    return samples.astype("float32")


def resample(samples, rate, target_rate=SAMPLE_RATE):
    """float32 `samples` recorded at `rate` Hz, resampled to `target_rate` (unchanged when they are equal)."""
    if rate == target_rate:
        return np.asarray(samples, dtype="float32")
    # up/down as a ratio of small numbers (80/441 for 44.1 kHz): exact for the usual rates, and within 0.1 % (an
    # inaudible change of pitch) for odd ones, whose exact ratio (8000/8001) would need an enormous filter
    ratio = Fraction(int(target_rate), int(rate)).limit_denominator(1000)
    return signal.resample_poly(samples, ratio.numerator, ratio.denominator).astype("float32")


def recordings_folder(data_dir, download=True):
    """data_dir/FOLDER/recordings, extracted from the release archive (downloaded first when missing)."""
    data_dir = Path(data_dir)
    folder = data_dir / FOLDER / "recordings"
    if folder.is_dir() and any(folder.glob("*.wav")):
        return folder
    archive = data_dir / ARCHIVE
    if not archive.exists():
        if not download:
            raise DataNotFoundError(
                f"{archive} not found. Download {URL} and save it as {archive}, "
                "or point --data-dir at a folder that holds it."
            )
        archive = fetch(ARCHIVE, URL, data_dir)
    extract_recordings(archive, data_dir)
    return folder


def extract_recordings(archive, data_dir):
    """Extract the archive's recordings (and nothing else) into data_dir/FOLDER/recordings; their count."""
    target = Path(data_dir) / FOLDER / "recordings"
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.isfile() and parse_name(member.name):
                    member.name = Path(member.name).name  # flat into recordings/, whatever the top folder
                    tar.extract(member, target, filter="data")
                    count += 1
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DamagedDataError(
            f"{archive} cannot be read ({error}); it is damaged or truncated. "
            f"Delete it and run again to download it from {URL}."
        ) from error
    if count == 0:
        raise DamagedDataError(f"{archive} holds no recordings named recordings/DIGIT_SPEAKER_TAKE.wav")
    return count


def load_recordings(data_dir, download=True, speakers=None):
    """Every recording of the data set (or of `speakers`), sorted by speaker, digit and take."""
    folder = recordings_folder(data_dir, download)
    recordings = []
    for path in sorted(folder.glob("*.wav")):
        parsed = parse_name(f"recordings/{path.name}")
        if parsed is None or (speakers and parsed[1] not in speakers):
            continue
        recordings.append(Recording(*parsed, read_wav(path.read_bytes(), path)))
    if not recordings:
        raise DataNotFoundError(f"{folder} holds no recordings named DIGIT_SPEAKER_TAKE.wav")
    return sorted(recordings, key=lambda recording: (recording.speaker, recording.digit, recording.take))


def official_split(recordings):
    """(train, test): takes 0-4 of every digit and speaker are the test set, as the data set's README says."""
    test = [recording for recording in recordings if recording.take < TEST_TAKES]
    return [recording for recording in recordings if recording.take >= TEST_TAKES], test


def speaker_split(recordings, speaker):
    """(train, test): every recording of `speaker` is the test set, the other speakers' are the training set."""
    if speaker not in {recording.speaker for recording in recordings}:
        raise ValueError(f"no recordings of speaker {speaker!r}")
    return (
        [recording for recording in recordings if recording.speaker != speaker],
        [recording for recording in recordings if recording.speaker == speaker],
    )
