"""The IMDB Large Movie Review Dataset v1.0: find it, read it, verify it.

Maas et al. (2011): 25,000 training and 25,000 test reviews, half positive,
half negative, one review per file in aclImdb/{train,test}/{pos,neg}/.
It is read from an extracted `aclImdb/` folder in the data directory if there
is one, else straight from the archive (downloaded if missing). Either way the
file counts are checked, so a partial or damaged copy stops the run with a
clear message instead of training silently on part of the data.
"""

import re
import tarfile
import zlib
from pathlib import Path

from common.data import fetch

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
MD5 = "7c2ac02c03563afcf9b574c7e56c153a"  # of Stanford's archive; repacked copies differ
ARCHIVE = "aclImdb_v1.tar.gz"
FOLDER = "aclImdb"
LABELS = ("neg", "pos")  # label 0, label 1
REVIEWS_PER_FOLDER = 12_500
_REVIEW_PATH = re.compile(r"(?:^|/)aclImdb/(train|test)/(neg|pos)/\d+_\d+\.txt$")


class DamagedDataError(ValueError):
    """The data set is there but incomplete or unreadable."""


def _empty():
    return {split: {label: [] for label in LABELS} for split in ("train", "test")}


def _read_folder(folder):
    reviews = _empty()
    for split in reviews:
        for label in LABELS:
            directory = folder / split / label
            paths = sorted(directory.glob("*.txt")) if directory.is_dir() else []
            reviews[split][label] = [path.read_text(encoding="utf-8", errors="replace") for path in paths]
    return reviews


def _read_archive(archive):
    """Read the review files straight from the .tar.gz, without extracting 100,000 files."""
    reviews = _empty()
    named = _empty()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                match = _REVIEW_PATH.search(member.name)
                if match and member.isfile():
                    split, label = match.groups()
                    text = tar.extractfile(member).read().decode("utf-8", errors="replace")
                    named[split][label].append((member.name, text))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DamagedDataError(
            f"{archive} cannot be read ({error}); it is damaged or truncated. "
            f"Delete it and run again to download it from {URL}."
        ) from error
    for split in reviews:
        for label in LABELS:
            reviews[split][label] = [text for _, text in sorted(named[split][label])]
    return reviews


def _verify(reviews, source):
    counts = {f"{split}/{label}": len(texts) for split, labels in reviews.items() for label, texts in labels.items()}
    wrong = {folder: count for folder, count in counts.items() if count != REVIEWS_PER_FOLDER}
    if wrong:
        found = ", ".join(f"{folder}: {count}" for folder, count in wrong.items())
        raise DamagedDataError(
            f"{source} is incomplete: expected {REVIEWS_PER_FOLDER:,} reviews in each of "
            f"train/test x pos/neg, found {found}. Delete it and run again to download "
            f"a fresh copy from {URL}, or put a complete aclImdb_v1.tar.gz in the data folder."
        )


def load_reviews(data_dir):
    """{'train': (texts, labels), 'test': (texts, labels)}, labels 0 = negative, 1 = positive.

    No network is touched when a folder or archive is already in `data_dir`.
    """
    data_dir = Path(data_dir)
    if (data_dir / FOLDER).is_dir():
        source = data_dir / FOLDER
        reviews = _read_folder(source)
    else:
        source = data_dir / ARCHIVE
        if not source.exists():
            source = fetch(ARCHIVE, URL, data_dir, checksum=MD5)
        reviews = _read_archive(source)
    _verify(reviews, source)
    print(f"read {2 * 2 * REVIEWS_PER_FOLDER:,} reviews from {source}")
    return {
        split: ([text for label in LABELS for text in labels[label]],
                [index for index, label in enumerate(LABELS) for _ in labels[label]])
        for split, labels in reviews.items()
    }
