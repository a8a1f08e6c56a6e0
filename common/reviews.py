"""The IMDB Large Movie Review Dataset v1.0: find it, read it, verify it.

Chapter: 004 §5.3.1 (the IMDB data) and §7.2 (data sets for language models):
the sentiment classifier (examples/imdb) reads the labelled reviews; the word
language model (examples/word_lm) reads the training and unlabelled reviews
only, never a test review.

Maas et al. (2011): 25,000 training and 25,000 test reviews, half positive,
half negative, one review per file in aclImdb/{train,test}/{pos,neg}/ID_RATING.txt.
The training and test reviews are about different movies; line ID of
urls_{pos,neg}.txt names the movie of review ID, which lets validation hold
out whole movies too.

It is read from an extracted `aclImdb/` folder in the data directory if there
is one, else straight from the archive (downloaded if missing). Either way the
file counts are checked, so a partial or damaged copy stops the run with a
clear message instead of training silently on part of the data.
"""

import re
import tarfile
import zlib
from pathlib import Path

from common.data import DamagedDataError, fetch

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
MD5 = "7c2ac02c03563afcf9b574c7e56c153a"  # of Stanford's archive; repacked copies differ
ARCHIVE = "aclImdb_v1.tar.gz"
FOLDER = "aclImdb"
SPLITS = ("train", "test")
LABELS = ("neg", "pos")  # label 0, label 1
REVIEWS_PER_FOLDER = 12_500
UNLABELLED_REVIEWS = 50_000  # train/unsup: no label; word vectors and the language model learn from them
_REVIEW = re.compile(r"(?:^|/)aclImdb/(train|test)/(neg|pos|unsup)/(\d+)_\d+\.txt$")
_URLS = re.compile(r"(?:^|/)aclImdb/(train|test)/urls_(neg|pos)\.txt$")


def _wanted(name, splits):
    """Whether `name` is a review or url list of one of `splits`."""
    match = _REVIEW.search(name) or _URLS.search(name)
    return bool(match) and match.group(1) in splits


def _files(source, splits):
    """(relative name, bytes reader) for every review and url list of `splits` in a folder copy or an archive;
    the files of other splits are never read."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            name = f"aclImdb/{path.relative_to(source).as_posix()}"
            if _wanted(name, splits) and path.is_file():
                yield name, path.read_bytes
        return
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                if member.isfile() and _wanted(member.name, splits):
                    content = tar.extractfile(member).read()
                    yield member.name, lambda content=content: content
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DamagedDataError(
            f"{source} cannot be read ({error}); it is damaged or truncated. "
            f"Delete it and run again to download it from {URL}."
        ) from error


def _read(source, splits):
    """{split: {label: {review id: text}}} and {split: {label: [movie url per id]}}, for `splits` only."""
    reviews = {split: {label: {} for label in LABELS} for split in splits}
    reviews["train"]["unsup"] = {}
    urls = {split: {label: [] for label in LABELS} for split in splits}
    for name, read in _files(source, splits):
        if match := _REVIEW.search(name):
            split, label, review_id = match.groups()
            reviews[split][label][int(review_id)] = read().decode("utf-8", errors="replace")
        elif match := _URLS.search(name):
            split, label = match.groups()
            urls[split][label] = read().decode("utf-8").split()
    return reviews, urls


def _verify(reviews, source, require_unlabelled):
    counts = {f"{split}/{label}": len(texts) for split, labels in reviews.items() for label, texts in labels.items()}
    if require_unlabelled and counts["train/unsup"] == 0:
        raise DamagedDataError(
            f"{source} has no unlabelled reviews (aclImdb/train/unsup/*.txt, {UNLABELLED_REVIEWS:,} expected): "
            "the language model learns from them. Use the complete aclImdb_v1.tar.gz "
            f"from {URL} (delete this copy and run again to download it)."
        )
    expected = {folder: REVIEWS_PER_FOLDER for folder in counts} | {"train/unsup": UNLABELLED_REVIEWS}
    if counts["train/unsup"] == 0:  # a copy without the unlabelled reviews is still a complete labelled set
        expected["train/unsup"] = 0
    wrong = {folder: count for folder, count in counts.items() if count != expected[folder]}
    if wrong:
        found = ", ".join(f"{folder}: {count}" for folder, count in wrong.items())
        raise DamagedDataError(
            f"{source} is incomplete: expected {REVIEWS_PER_FOLDER:,} reviews in each of "
            f"train/test x pos/neg (and {UNLABELLED_REVIEWS:,} or none in train/unsup), found {found}. "
            "Delete it and run again to download "
            f"a fresh copy from {URL}, or put a complete aclImdb_v1.tar.gz in the data folder."
        )


def load_reviews(data_dir, splits=SPLITS, require_unlabelled=False):
    """{split: (texts, labels, movies)} for each of `splits` (train, test), and {"unlabelled": texts}.

    Labels are 0 = negative, 1 = positive. `splits=("train",)` never reads a
    test review (the language model's corpus); `require_unlabelled` refuses
    a copy without train/unsup.

    `movies` names each review's movie (its IMDB URL), or the review itself
    where the copy has no urls_*.txt. No network is touched when a folder or
    archive is already in `data_dir`.
    """
    data_dir = Path(data_dir)
    source = data_dir / FOLDER
    if not source.is_dir():
        source = data_dir / ARCHIVE
        if not source.exists():
            source = fetch(ARCHIVE, URL, data_dir, checksum=MD5)
    unknown = set(splits) - set(SPLITS)
    if unknown or "train" not in splits:
        raise ValueError(f"splits must include 'train' and be among {SPLITS}, got {splits}")
    reviews, urls = _read(source, splits)
    _verify(reviews, source, require_unlabelled)
    unlabelled = [text for _, text in sorted(reviews["train"]["unsup"].items())]
    labelled = 2 * REVIEWS_PER_FOLDER * len(splits)
    print(f"read {labelled:,} labelled ({'/'.join(splits)}) and {len(unlabelled):,} unlabelled reviews from {source}")
    data = {"unlabelled": unlabelled}
    for split in splits:
        texts, labels, movies = [], [], []
        for label_index, label in enumerate(LABELS):
            for review_id, text in sorted(reviews[split][label].items()):
                texts.append(text)
                labels.append(label_index)
                known = review_id < len(urls[split][label])
                movies.append(urls[split][label][review_id] if known else f"{split}/{label}/{review_id}")
        data[split] = (texts, labels, movies)
    return data
