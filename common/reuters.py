"""Reuters-21578 (ApteMod, NLTK's `reuters` corpus): documents, topics, tokens.

Chapter 001 reads this corpus with `nltk.corpus.reuters`. That object is a
lazy `CategorizedPlaintextCorpusReader` over `corpora/reuters` with the
ModApte split in the file ids (`training/NNN`, `test/NNN`) and the topics of
each document in `cats.txt`. We build the same reader here from the folder
that NLTK finds in the project's data directory, so the data-directory rules
(`--data-dir`, $RNN_EXAMPLES_DATA, $NLTK_DATA) hold and tests can point it at
a small corpus of their own.
"""

import html
import re
import tarfile
from collections import Counter

import nltk
from nltk.corpus.reader import CategorizedPlaintextCorpusReader, WordListCorpusReader

from common.data import DamagedDataError, fetch, nltk_corpus

# Figures ("155,221", "5.93", "1986/87") are one token; words are runs of letters/digits; any other
# character is a token of its own (and dropped below). A regular expression: no model to download.
_TOKENIZER = nltk.tokenize.RegexpTokenizer(r"\d+(?:[.,/]\d+)*|\w+|[^\w\s]")
_NUMBER = re.compile(r"^\d+(?:[.,/]\d+)*$")
NUMBER_TOKEN = "<num>"  # every figure's one token


def open_reader(data_dir):
    """The reader `nltk.corpus.reuters` would give, rooted in our data directory."""
    root = nltk_corpus("reuters", data_dir)
    return CategorizedPlaintextCorpusReader(root, r"(training|test)/.*", cat_file="cats.txt", encoding="ISO-8859-2")


def english_stopwords(data_dir):
    """NLTK's English stop-word list (179 words), downloaded like a corpus when missing."""
    return set(WordListCorpusReader(nltk_corpus("stopwords", data_dir), ["english"]).words())


def tokenize(text, stopwords=frozenset()):
    """Lower-cased NLTK word/punctuation tokens; numbers become <num>, punctuation is dropped.

    Figures ("155,221", "5.93") matter less than their presence, so they
    share one token. Returns one space-separated string, the input
    format of the Keras `TextVectorization` layer with whitespace splitting.
    """
    tokens = []
    for token in _TOKENIZER.tokenize(text.lower()):
        if _NUMBER.match(token):
            tokens.append(NUMBER_TOKEN)
        elif token.isalnum() and token not in stopwords:
            tokens.append(token)
    return " ".join(tokens)


def load_split(reader, split, stopwords=frozenset()):
    """(file ids, token strings, topic lists) of the ModApte `training` or `test` split."""
    fileids = sorted((f for f in reader.fileids() if f.startswith(f"{split}/")), key=lambda f: int(f.split("/")[1]))
    if not fileids:
        raise ValueError(f"the Reuters corpus at {reader.root} has no {split}/ documents")
    texts = [tokenize(reader.raw(fileid), stopwords) for fileid in fileids]
    return fileids, texts, [sorted(reader.categories(fileid)) for fileid in fileids]


def most_frequent_topics(topic_lists, limit=None):
    """Topics by training frequency (ties alphabetical), all of them or the `limit` most frequent."""
    counts = Counter(topic for topics in topic_lists for topic in topics)
    ranked = sorted(counts, key=lambda topic: (-counts[topic], topic))
    return ranked[:limit] if limit else ranked


# The 22 SGML files of Reuters-21578 Distribution 1.0, the source of NLTK's ApteMod copy.
SGML_ARCHIVE = "reuters21578.tar.gz"
SGML_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/reuters21578-mld/reuters21578.tar.gz"
_STORY = re.compile(r'<REUTERS[^>]*NEWID="(\d+)"[^>]*>(.*?)</REUTERS>', re.S)
_TITLE_AND_BODY = re.compile(r"<TITLE>(.*?)</TITLE>|<BODY>(.*?)</BODY>", re.S)


def unlabelled_stories(data_dir, exclude_ids, stopwords=frozenset()):
    """Token strings of the Reuters-21578 stories outside ModApte, for word vectors only (no topics).

    ModApte keeps 10,789 of the 21,578 stories; the rest (no topics, or
    outside the split's dates) are unlabelled news of the same wire and the
    same months: more text to learn word vectors from, as IMDB's unlabelled
    reviews are. `exclude_ids` are the NEWIDs of every ModApte story (its
    NLTK file ids, `training/NNN` and `test/NNN`), so no test story, and no
    training story a second time, enters. Downloaded like the other data sets.
    """
    archive = fetch(SGML_ARCHIVE, SGML_URL, data_dir)  # repacked copies exist: no single checksum to check
    texts = []
    try:
        with tarfile.open(archive) as tar:
            members = sorted(
                (m for m in tar.getmembers() if re.search(r"reut2-\d{3}\.sgm$", m.name)), key=lambda m: m.name
            )
            for member in members:
                sgml = tar.extractfile(member).read().decode("latin-1")
                for newid, story in _STORY.findall(sgml):
                    if int(newid) in exclude_ids:
                        continue
                    parts = [title or body for title, body in _TITLE_AND_BODY.findall(story)]
                    if parts:
                        texts.append(tokenize(html.unescape("\n".join(parts)), stopwords))
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DamagedDataError(
            f"{archive} is not a readable Reuters-21578 archive ({error}); delete it to fetch again"
        ) from None
    if not members:
        raise DamagedDataError(f"{archive} holds no reut2-NNN.sgm files: it is not the Reuters-21578 distribution")
    return [text for text in texts if text]
