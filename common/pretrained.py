"""A pretrained language model's encoder, handed from the model that learned it to a classifier that starts from it.

Chapter: 004 §7.3 (pretrained models: word2vec, GloVe, ELMo) and §7.2. The
word language model (examples/word_lm) saves three files in its output folder:

    encoder.keras          token ids -> states: its Embedding and recurrent layers (plain Keras layers)
    vocabulary.json        the token of each id, as TextVectorization orders it (0 padding, 1 unknown)
    language_model.json    the settings they came from (sizes, cell, directions) and the model's metrics

A classifier (examples/imdb and examples/reuters, --pretrained DIR) takes its
sizes from them (`classifier_defaults`, `check_classifier_options`), reads
them with `adopt_language_model`, so that token ids mean the same in both
(the same vocabulary, the same standardisation), builds its layers with the
same sizes and names, and copies the weights with `transfer_weights`. Files
that are missing, damaged, or that disagree with each other are refused with
a clear message, never silently reused; so is a language model of another
corpus (its words are not the classifier's tokens).
"""

import json
from pathlib import Path

import keras

from common.saving import SavedModelError, read_sidecar
from common.text import clean_text, vectorizer_for

ENCODER_FILE = "encoder.keras"
VOCABULARY_FILE = "vocabulary.json"
SETTINGS_FILE = "language_model.json"
SHAPE_SETTINGS = ("vocab_size", "embedding_dim", "cell", "units", "layers", "bidirectional")
# A classifier's command-line options that the language model fixes, and the setting each comes from.
CLASSIFIER_OPTIONS = {
    "max_tokens": "vocab_size",
    "embedding_dim": "embedding_dim",
    "cell": "cell",
    "units": "units",
    "layers": "layers",
    "bidirectional": "bidirectional",
}


def how_to_make(corpus="imdb"):
    """The command that trains a language model of `corpus` (what an error about a missing or damaged one names)."""
    return "make example-word_lm" if corpus == "imdb" else f"python examples/word_lm/train.py --corpus {corpus}"


def save_encoder(folder, encoder, vocabulary, settings):
    """Write the three files (see the module docstring); `settings` must hold SHAPE_SETTINGS."""
    missing = [name for name in SHAPE_SETTINGS if name not in settings]
    if missing:
        raise ValueError(f"the encoder's settings lack {missing}")
    folder = Path(folder)
    encoder.save(folder / ENCODER_FILE)
    (folder / VOCABULARY_FILE).write_text(json.dumps(list(vocabulary), ensure_ascii=False))
    (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, default=float))


def read_settings(folder, corpus="imdb"):
    """language_model.json of a language model's folder (one of `corpus`, which a damaged file's error names):
    its sizes (SHAPE_SETTINGS) and metrics."""
    return read_sidecar(Path(folder) / SETTINGS_FILE, how_to_make(corpus), keys=SHAPE_SETTINGS)


def load_encoder(folder, corpus="imdb"):
    """(encoder model, vocabulary list, settings dict) from a language model's folder, checked for agreement.

    Raises SavedModelError naming the file when one is missing or damaged, or
    when the vocabulary, the settings and the encoder's layers disagree.
    """
    folder, command = Path(folder), how_to_make(corpus)
    settings = read_settings(folder, corpus)
    vocabulary = read_sidecar(folder / VOCABULARY_FILE, command)
    if not (folder / ENCODER_FILE).exists():
        raise SavedModelError(f"{folder / ENCODER_FILE} not found; make it with {command}")
    try:
        encoder = keras.models.load_model(folder / ENCODER_FILE)
    except Exception as error:  # a damaged or half-written file
        raise SavedModelError(
            f"{folder / ENCODER_FILE} cannot be loaded ({type(error).__name__}); train it again: {command}"
        ) from None
    check_agreement(encoder, vocabulary, settings, folder)
    return encoder, vocabulary, settings


def check_agreement(encoder, vocabulary, settings, folder):
    """SavedModelError unless the vocabulary, the settings and the encoder's layers describe one model."""
    embedding = encoder.get_layer("embedding")
    found = {
        "vocabulary.json entries": len(vocabulary),
        "embedding rows": embedding.input_dim,
        "embedding width": embedding.output_dim,
        "states": encoder.output.shape[-1],
    }
    expected = {
        "vocabulary.json entries": settings["vocab_size"],
        "embedding rows": settings["vocab_size"],
        "embedding width": settings["embedding_dim"],
        "states": settings["units"] * (2 if settings["bidirectional"] else 1),
    }
    wrong = {name: (found[name], expected[name]) for name in found if found[name] != expected[name]}
    problems = [f"{name}: {got} where the settings say {want}" for name, (got, want) in wrong.items()]
    if vocabulary[:2] != ["", "[UNK]"]:
        problems.append("vocabulary.json does not start with padding and the unknown token")
    if problems:
        raise SavedModelError(
            f"the language model in {folder} does not hold together ({'; '.join(problems)}); its files come from "
            "different runs or were changed. Train it again."
        )


def check_requested(settings, requested):
    """ValueError when what a classifier asks for (`requested`: {setting: value}) contradicts the settings of the
    language model it starts from (a pretrained classifier's vocabulary and sizes are the language model's)."""
    clashes = {name: value for name, value in requested.items() if settings[name] != value}
    if clashes:
        detail = ", ".join(f"{name} {value!r} asked, {settings[name]!r} saved" for name, value in clashes.items())
        raise ValueError(
            f"the language model does not match what was asked ({detail}): a pretrained classifier takes its "
            "vocabulary and sizes from the language model; leave those options out, or train a language model "
            "with them"
        )


def transfer_weights(encoder, model):
    """Copy every weighted layer of `encoder` into the layer of the same name in `model`; return the names."""
    copied = []
    for layer in encoder.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
            copied.append(layer.name)
    return copied


def corpus_of(settings):
    """The corpus a language model learned ("imdb" for those saved before the word_lm's --corpus option)."""
    return settings.get("corpus", "imdb")


def classifier_defaults(folder, corpus):
    """{classifier option: value} that a classifier of `corpus` fine-tuned from the language model in `folder` must
    use."""
    settings = read_settings(folder, corpus)
    return {option: settings[setting] for option, setting in CLASSIFIER_OPTIONS.items()}


def check_classifier_options(folder, options, corpus):
    """ValueError when the language model in `folder` learned another corpus than `corpus`, or when `options` (the
    classifier's parsed options) contradict its sizes (see check_requested)."""
    settings = read_settings(folder, corpus)
    if corpus_of(settings) != corpus:
        raise ValueError(
            f"the language model in {folder} learned the {corpus_of(settings)} corpus, not {corpus}: its words are "
            f"not this classifier's tokens; train one with {how_to_make(corpus)}"
        )
    check_requested(settings, {setting: getattr(options, option) for option, setting in CLASSIFIER_OPTIONS.items()})


def refuse_mismatched_language_model(parser, options, corpus):
    """For a classifier's parse_args: a usage error (parser.error, exit 2) naming the clash when `options.pretrained`
    names a language model that check_classifier_options refuses; nothing without --pretrained."""
    if options.pretrained:
        try:
            check_classifier_options(options.pretrained, options, corpus)
        except ValueError as error:
            parser.error(str(error))


def adopt_language_model(folder, corpus):
    """(encoder, vectoriser) of the language model of `corpus` in `folder`: its layers, and its vocabulary with the
    standardisation its text had (IMDB: clean_text; Reuters: none, the text is already tokens)."""
    encoder, vocabulary, settings = load_encoder(folder, corpus)
    print(f"language model {folder}: vocabulary {len(vocabulary):,}, {settings['cell']} of {settings['units']} units")
    standardize = clean_text if settings.get("standardize", "common.text.clean_text") else None
    return encoder, vectorizer_for(vocabulary, standardize=standardize)
