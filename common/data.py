"""Where data lives, and getting it there: download, cache and verification.

Chapter: 004 §7.2 (data sets). Every example finds its data the same way:

1. `--data-dir PATH` on the command line, else
2. the environment variable `RNN_EXAMPLES_DATA`, else
3. `data/` at the root of this repository.

Downloads go through `keras.utils.get_file` into that folder, checked against
a known checksum. Without network, a missing file is a `DataNotFoundError`
that names the file, its URL and where to put it.
"""

import hashlib
import os
from pathlib import Path

import keras

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV_VAR = "RNN_EXAMPLES_DATA"


class DataNotFoundError(FileNotFoundError):
    """A data set is missing and could not be downloaded."""


class DamagedDataError(ValueError):
    """A data set is present but incomplete, unreadable or in the wrong format."""


def resolve_data_dir(explicit=None):
    """The data directory: explicit option, else $RNN_EXAMPLES_DATA, else <repo>/data."""
    chosen = explicit or os.environ.get(DATA_ENV_VAR) or REPO_ROOT / "data"
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_hash(path, algorithm="sha256"):
    """Hex digest of a file, read in chunks so large archives need little memory."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_algorithm(checksum):
    """'md5' for 32 hex digits, 'sha256' for 64 (the two that data sets publish)."""
    algorithms = {32: "md5", 64: "sha256"}
    if len(checksum) not in algorithms:
        raise ValueError(f"checksum {checksum!r} is neither md5 (32 hex digits) nor sha256 (64)")
    return algorithms[len(checksum)]


def fetch(filename, url, data_dir, checksum=None):
    """Return the path of `filename` in `data_dir`, downloading it from `url` if needed.

    `checksum` is the published md5 or sha256 of the file. A present file
    whose checksum does not match is treated as a damaged download:
    `get_file` fetches it again, and if that fails the error says so.
    """
    data_dir = Path(data_dir)
    target = data_dir / filename
    if target.exists() and (checksum is None or file_hash(target, hash_algorithm(checksum)) == checksum):
        return target
    damaged = target.exists()
    try:
        downloaded = keras.utils.get_file(
            fname=filename, origin=url, file_hash=checksum, cache_dir=str(data_dir), cache_subdir=""
        )
    except Exception as error:  # get_file raises plain Exception for network errors
        problem = "is damaged (checksum mismatch) and" if damaged else "is missing and"
        raise DataNotFoundError(
            f"{target} {problem} could not be downloaded from {url} ({error}).\n"
            f"Download it by hand and put it at {target}, or point --data-dir / "
            f"${DATA_ENV_VAR} at a folder that holds it."
        ) from error
    return Path(downloaded)


def decode_utf8(raw, source):
    """`raw` bytes as text; a clear `DamagedDataError` naming `source` (a file, standard input) if not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DamagedDataError(
            f"{source} is not UTF-8 text (byte {error.start}: {error.reason}); convert it, e.g. with iconv"
        ) from None


def read_utf8(path):
    """The whole text of `path`; a clear `DamagedDataError` if it is missing, unreadable or not UTF-8."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise DamagedDataError(f"cannot read {path}: {error.strerror}") from None
    return decode_utf8(raw, path)


def _find_corpus(name, first_dir):
    """NLTK's own look-up (the zipped corpus, then a plain folder), in `first_dir` before NLTK's other folders.

    Per folder, not per form: a zipped copy in $NLTK_DATA must not win over a
    plain folder in the project's data directory.
    """
    import nltk

    for paths in ([str(first_dir)], None):  # None: every folder of nltk.data.path
        for resource in (f"corpora/{name}.zip/{name}/", f"corpora/{name}"):
            try:
                return nltk.data.find(resource, paths=paths)
            except LookupError:
                continue
    return None


def nltk_corpus(name, data_dir, download=None):
    """The root of NLTK corpus `name`, found under `<data_dir>/nltk_data` first, downloaded if missing.

    Chapter 001 reads Reuters with `nltk.corpus.reuters`; NLTK looks in the
    folders of `nltk.data.path` (which includes $NLTK_DATA). We put the
    project's own `nltk_data/` first, so the data directory rules above apply
    to NLTK corpora too. Pass the root to an NLTK corpus reader.
    """
    import nltk

    nltk_dir = Path(data_dir) / "nltk_data"
    if str(nltk_dir) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_dir))
    root = _find_corpus(name, nltk_dir)
    if root is None:
        nltk_dir.mkdir(parents=True, exist_ok=True)
        download = download or nltk.download
        if download(name, download_dir=str(nltk_dir), quiet=True, raise_on_error=False):
            root = _find_corpus(name, nltk_dir)
    if root is None:
        raise DataNotFoundError(
            f"the NLTK corpus {name!r} is missing and could not be downloaded.\n"
            f"Get it with:  python -m nltk.downloader -d {nltk_dir} {name}\n"
            f"or copy {name}.zip into {nltk_dir / 'corpora'}, "
            f"or set NLTK_DATA to a folder that holds corpora/{name}.zip."
        )
    return root
