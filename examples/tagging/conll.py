"""CoNLL-2000 and CoNLL-2002 (NLTK's `conll2000`, `conll2002`): sentences of (word, POS tag, IOB tag), and ids.

Chapter 004 §5.2.1 prepares tagged sentences for a sequence labeller. NLTK's
`nltk.corpus.conll2000` is a `ConllChunkCorpusReader` over `train.txt`
(8,936 sentences) and `test.txt` (2,012), one "word POS chunk" line per token
and a blank line between sentences. `nltk.corpus.conll2002` (§6.1.4, named
entities) is the same reader over `esp.*` (Spanish) and `ned.*` (Dutch):
"word POS entity" lines, entities PER, ORG, LOC, MISC in IOB2 tags, each
language in `.train`, `.testa` (validation) and `.testb` (test). We build
the same readers from the folder NLTK finds in the project's data
directory, so tests can point them at small corpora of their own.
"""

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
from nltk.corpus.reader import ConllChunkCorpusReader

from common.data import DamagedDataError, nltk_corpus

TASK_COLUMN = {"pos": 1, "chunk": 2, "ner": 2}  # which column of (word, POS, IOB tag) is the label
LANGUAGES = {"es": "esp", "nl": "ned"}  # --language -> the CoNLL-2002 file prefix
LANGUAGE_NAMES = {"es": "Spanish", "nl": "Dutch"}
DOCUMENT_START = "-DOCSTART-"  # the Dutch files mark each article with a token of this word; not text
PAD, UNKNOWN = "<pad>", "<unk>"  # id 0 is padding (masked), id 1 any word/character not in the vocabulary
TAG_SCHEMES = ("iob", "iobes")  # how span labels are written for training; scoring and output stay IOB2
MAX_WORD_CHARS = 20  # longer words keep their first 20 characters: 99.9% of CoNLL-2000 words are shorter
VOCABULARIES_FILE = "vocabularies.json"
_DIGIT = re.compile(r"\d")


def task_name(task, language=None):
    """The name of a task's runs and output folder: "pos", "chunk", "ner-es", "ner-nl"."""
    return f"{task}-{language}" if task == "ner" else task


def corpus_title(task, language=None):
    """How tables and plots name the data: "CoNLL-2000", "CoNLL-2002 Spanish"."""
    return f"CoNLL-2002 {LANGUAGE_NAMES[language]}" if task == "ner" else "CoNLL-2000"


def corpus_files(task, language=None):
    """(NLTK corpus, {"train", "test"[, "validation"]: file}) of a task; CoNLL-2000 has no validation file."""
    if task == "ner":
        prefix = LANGUAGES[language]
        return "conll2002", {"train": f"{prefix}.train", "validation": f"{prefix}.testa", "test": f"{prefix}.testb"}
    return "conll2000", {"train": "train.txt", "test": "test.txt"}


def file_encoding(root, fileid):
    """UTF-8, or Latin-1 for a file that is not valid UTF-8: NLTK's copy of CoNLL-2002 is UTF-8, the shared
    task's original files are Latin-1 (and Latin-1 text with accents is practically never valid UTF-8)."""
    try:
        with root.join(fileid).open() as stream:
            stream.read().decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    except OSError:
        return "utf-8"  # missing or unreadable: load_split reports it
    return "utf-8"


def open_reader(data_dir, task="pos", language=None):
    """The reader `nltk.corpus.conll2000` (or `conll2002`) would give, rooted in our data directory."""
    name, files = corpus_files(task, language)
    root = nltk_corpus(name, data_dir)
    fileids = list(files.values())
    encodings = [(re.escape(fileid), file_encoding(root, fileid)) for fileid in fileids]
    chunk_types = ("LOC", "PER", "ORG", "MISC") if name == "conll2002" else ("NP", "VP", "PP")
    return ConllChunkCorpusReader(root, fileids, chunk_types, encoding=encodings)


def load_split(reader, fileid):
    """[(words, pos tags, IOB tags)] of one file, each a tuple of strings; document-start marks left out."""
    try:
        sentences = [
            tuple(zip(*[token for token in sentence if token[0] != DOCUMENT_START], strict=True))
            for sentence in reader.iob_sents(fileid)
        ]
    except (OSError, ValueError) as error:  # a missing file, or a line without three columns
        raise DamagedDataError(f"cannot read {fileid} of the corpus at {reader.root}: {error}") from None
    sentences = [sentence for sentence in sentences if sentence]
    if not sentences:
        raise DamagedDataError(f"{fileid} of the corpus at {reader.root} holds no sentences")
    return sentences


def load_splits(data_dir, task, language=None):
    """{"train", "test"[, "validation"]: sentences} of a task, read from the project's data directory."""
    _, files = corpus_files(task, language)
    reader = open_reader(data_dir, task, language)
    return {split: load_split(reader, fileid) for split, fileid in files.items()}


def normalise(word):
    """Word-vocabulary key: lower case, every digit 0 ("1987" and "1986" share a vector).

    Case and exact spelling are not lost: the character encoder sees the word as written.
    """
    return _DIGIT.sub("0", word.lower())


class Vocabularies:
    """Words (normalised), characters and tags <-> ids; saved beside the model as JSON.

    With `tag_scheme="iobes"` the model's tags are IOBES (`to_iobes`):
    `encode_tags` takes IOB2 tags and `decode_tags` gives them back as IOB2,
    so the rest of the code, the scores and predict.py see IOB2 only.
    """

    def __init__(self, words, chars, tags, pos_tags, tag_scheme="iob"):
        if tag_scheme not in TAG_SCHEMES:
            raise ValueError(f"tag_scheme={tag_scheme!r} is not one of {', '.join(map(repr, TAG_SCHEMES))}")
        self.words, self.chars, self.tags, self.pos_tags = list(words), list(chars), list(tags), list(pos_tags)
        self.tag_scheme = tag_scheme
        self.word_index = {word: i for i, word in enumerate(self.words)}
        self.char_index = {char: i for i, char in enumerate(self.chars)}
        self.tag_index = {tag: i for i, tag in enumerate(self.tags)}
        self.pos_index = {tag: i for i, tag in enumerate(self.pos_tags)}

    @classmethod
    def from_sentences(cls, sentences, column, min_count=2, tagged=None, tag_scheme="iob"):
        """Words seen `min_count` times in `sentences`, most frequent first (ties alphabetical); every
        character; every tag of `tagged` (default: `sentences`) in `tag_scheme`, sorted; and the POS tags as
        an input vocabulary (for chunking with POS input).

        Rarer words share the unknown vector, which therefore gets trained.
        Pass the whole training file as `tagged` so that a tag too rare to
        reach the training part still has an output.
        """
        word_counts = Counter(normalise(word) for words, *_ in sentences for word in words)
        words = sorted((w for w, n in word_counts.items() if n >= min_count), key=lambda w: (-word_counts[w], w))
        chars = sorted({char for words, *_ in sentences for word in words for char in word})
        tags = sorted({tag for sentence in (tagged or sentences) for tag in in_scheme(sentence[column], tag_scheme)})
        pos_tags = sorted({tag for sentence in sentences for tag in sentence[1]})
        return cls([PAD, UNKNOWN, *words], [PAD, UNKNOWN, *chars], tags, [PAD, UNKNOWN, *pos_tags], tag_scheme)

    def encode_words(self, words):
        """(n,) word ids and (n, min(longest word, MAX_WORD_CHARS)) character ids, 0-padded on the right."""
        word_ids = np.array([self.word_index.get(normalise(word), 1) for word in words], dtype=np.int32)
        width = min(max(len(word) for word in words), MAX_WORD_CHARS)
        char_ids = np.zeros((len(words), width), dtype=np.int32)
        for row, word in enumerate(words):
            char_ids[row, : len(word[:width])] = [self.char_index.get(char, 1) for char in word[:width]]
        return word_ids, char_ids

    def encode_inputs(self, words, pos_tags=None):
        """The model's inputs for one sentence: (word ids, char ids), plus POS ids when `pos_tags` is given."""
        word_ids, char_ids = self.encode_words(words)
        if pos_tags is None:
            return word_ids, char_ids
        return word_ids, char_ids, np.array([self.pos_index.get(tag, 1) for tag in pos_tags], dtype=np.int32)

    def model_tags(self, tags):
        """A sentence's tags (IOB2 for chunks and entities) as the model writes them: in this tag scheme."""
        return in_scheme(tags, self.tag_scheme)

    def encode_tags(self, tags):
        return np.array([self.tag_index[tag] for tag in self.model_tags(tags)], dtype=np.int32)

    def decode_tags(self, ids):
        """Tag ids -> tags, IOB2 again for an IOBES model."""
        tags = [self.tags[i] for i in ids]
        return to_iob(tags) if self.tag_scheme == "iobes" else tags

    def save(self, path):
        saved = {"words": self.words, "chars": self.chars, "tags": self.tags, "pos_tags": self.pos_tags}
        Path(path).write_text(json.dumps({**saved, "tag_scheme": self.tag_scheme}))

    @classmethod
    def load(cls, path):
        try:
            saved = json.loads(Path(path).read_text(encoding="utf-8"))
            # (files saved before tag schemes existed are IOB)
            return cls(saved["words"], saved["chars"], saved["tags"], saved["pos_tags"], saved.get("tag_scheme", "iob"))
        except (OSError, ValueError, KeyError) as error:
            raise DamagedDataError(f"cannot read the vocabularies {path}: {error}") from None


class MostFrequentTagger:
    """The baseline: each word's most frequent training tag; words never seen get the most frequent tag overall."""

    def __init__(self, sentences, column):
        counts = {}
        for sentence in sentences:
            for word, tag in zip(sentence[0], sentence[column], strict=True):
                counts.setdefault(word, Counter())[tag] += 1
        self.best = {word: tag_counts.most_common(1)[0][0] for word, tag_counts in counts.items()}
        overall = Counter(tag for sentence in sentences for tag in sentence[column])
        self.default = overall.most_common(1)[0][0]

    def tag(self, words):
        return [self.best.get(word, self.default) for word in words]


def iob_chunks(tags):
    """The chunks (or entities) of one sentence's IOB tags, as a set of (start, end, type), `end` exclusive.

    Chapter 004 §5.2 (sequence labelling). As the CoNLL evaluation script
    (conlleval) reads tags: a chunk starts at B-X, or at I-X that does not
    continue a chunk of type X; it ends before O, B-*, or a tag of another type.
    """
    chunks, start, kind = set(), None, None
    for position, tag in enumerate([*tags, "O"]):  # the sentinel "O" closes a chunk at the end
        prefix, _, tag_type = tag.partition("-")
        continues = prefix == "I" and tag_type == kind
        if kind is not None and not continues:
            chunks.add((start, position, kind))
            kind = None
        if prefix in ("B", "I") and not continues:
            start, kind = position, tag_type
    return chunks


def to_iobes(tags):
    """IOB2 tags -> IOBES: a one-word chunk is S-X, a longer one B-X I-X ... E-X (chunks as conlleval reads
    them, so `to_iob` gives back the same chunks). The tagger then also learns where each chunk ends."""
    written = ["O"] * len(tags)
    for start, end, kind in iob_chunks(tags):
        if end - start == 1:
            written[start] = f"S-{kind}"
        else:
            written[start:end] = [f"B-{kind}", *[f"I-{kind}"] * (end - start - 2), f"E-{kind}"]
    return written


def in_scheme(tags, tag_scheme):
    """IOB2 tags as `tag_scheme` writes them (a list)."""
    return to_iobes(tags) if tag_scheme == "iobes" else list(tags)


def to_iob(tags):
    """IOBES tags -> IOB2: S-X is B-X, E-X is I-X; IOB2 tags pass unchanged."""
    return [{"S-": "B-", "E-": "I-"}.get(tag[:2], tag[:2]) + tag[2:] for tag in tags]


def breaks_iob(previous, tag, iobes=False):
    """Whether `tag` may not follow `previous` (a sentence's first tag follows "O").

    IOB2: I-X only continues a chunk of type X, so it may follow only B-X or
    I-X (not O I-PER, B-LOC I-ORG). IOBES (`iobes=True`): I-X and E-X
    likewise, and an open chunk (B-X, I-X) must go on with I-X or E-X (not
    B-PER O, I-LOC S-PER).
    """
    inside = previous[:2] in ("B-", "I-")
    continues = tag[:2] in (("I-", "E-") if iobes else ("I-",))
    if continues:
        return not (inside and previous[2:] == tag[2:])
    return iobes and inside


def invalid_transitions(tags):
    """How many times an I-X tag follows a tag that is neither B-X nor I-X (e.g. O I-PER, B-LOC I-ORG).

    IOB2 data never does this; a softmax per word can, a CRF learns not to.
    (conlleval reads such an I-X as the start of a new chunk.)
    """
    return sum(1 for previous, tag in zip(["O", *tags[:-1]], tags, strict=True) if breaks_iob(previous, tag))


def chunk_scores(true_sentences, predicted_sentences):
    """Chunk-level precision, recall and F1, overall and per chunk (or entity) type (conlleval's numbers).

    A predicted chunk counts only when its span and its type both match a
    true chunk; token accuracy would reward getting most of a chunk right.
    """
    if len(true_sentences) != len(predicted_sentences):
        raise ValueError(f"{len(true_sentences)} true sentences but {len(predicted_sentences)} predicted")
    true_chunks, predicted_chunks = set(), set()
    for index, (true_tags, predicted_tags) in enumerate(zip(true_sentences, predicted_sentences, strict=True)):
        if len(true_tags) != len(predicted_tags):
            raise ValueError(f"sentence {index}: {len(true_tags)} true tags but {len(predicted_tags)} predicted")
        true_chunks |= {(index, *chunk) for chunk in iob_chunks(true_tags)}
        predicted_chunks |= {(index, *chunk) for chunk in iob_chunks(predicted_tags)}

    def prf(true, predicted):
        correct = len(true & predicted)
        precision = correct / len(predicted) if predicted else 0.0
        recall = correct / len(true) if true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": len(true)}

    types = sorted({chunk[3] for chunk in true_chunks | predicted_chunks})
    per_type = {
        kind: prf({c for c in true_chunks if c[3] == kind}, {c for c in predicted_chunks if c[3] == kind})
        for kind in types
    }
    return prf(true_chunks, predicted_chunks), per_type


def spans(words, tags):
    """The sentence with each chunk or entity in brackets: "El [PER Felipe González] habló ."."""
    chunks = sorted(iob_chunks(tags))
    starts, ends = {start: kind for start, _, kind in chunks}, {end for _, end, _ in chunks}
    pieces = []
    for position, word in enumerate([*words, None]):
        if position in ends:
            pieces[-1] += "]"
        if position in starts:
            pieces.append(f"[{starts[position]}")
        if word is not None:
            pieces.append(word)
    return " ".join(pieces)
