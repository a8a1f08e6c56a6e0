"""The network: words, their characters (and POS tags) -> each word's tag scores (chapter 004 §5.2.3)."""

import keras
from keras import layers

from common.models import output_head, recurrent_stack
from common.training import adam

from conll import UNKNOWN
from crf import CRF, CRFTagger, iob_constraints
from tagger import CharacterWordEncoder, WordDropout


def build_model(
    vocabularies,
    *,
    training_tags=(),
    embedding_dim=100,
    word_dropout=0.0,
    char_encoder="rnn",
    char_embedding_dim=25,
    char_units=25,
    pos_input=False,
    pos_embedding_dim=16,
    cell="lstm",
    units=128,
    num_layers=1,
    bidirectional=True,
    dropout=0.3,
    recurrent_dropout=0.0,
    crf=False,
    learning_rate=2e-3,
    clipnorm=5.0,
    weight_averaging=0.0,
    name="tagger",
):
    """word ids (batch, words) + char ids (batch, words, chars) [+ POS ids] -> (batch, words, tags) logits; compiled.

    Chapter 004 §5.2.3: each word is its word vector (batch, words, embedding_dim) joined with a vector read
    from its characters (batch, words, 2 x char_units) (and, with `pos_input`, its POS tag's vector); a
    bidirectional LSTM reads the sentence both ways (batch, words, 2 x units); a Dense layer gives every
    word's tag scores. With `crf` a CRF layer (crf.py) scores whole tag sequences on top of them, and never
    moves from one tag to another in a way the IOB scheme forbids, unless the training sentences' tag
    sequences (`training_tags`) do. `vocabularies` (conll.Vocabularies) gives the sizes and the tags.
    """
    word_ids = keras.Input(shape=(None,), dtype="int32", name="word_ids")
    char_ids = keras.Input(shape=(None, None), dtype="int32", name="char_ids")
    read_ids = word_ids
    if word_dropout:
        read_ids = WordDropout(word_dropout, vocabularies.word_index[UNKNOWN], name="word_dropout")(word_ids)
    # mask_zero: padding words are skipped by the RNN and carry no weight in the loss and metrics.
    word_vectors = layers.Embedding(len(vocabularies.words), embedding_dim, mask_zero=True, name="word_embedding")(
        read_ids
    )
    spelling = CharacterWordEncoder(
        len(vocabularies.chars), char_embedding_dim, char_units, cell=cell, encoder=char_encoder, name="spelling"
    )(char_ids)
    inputs, features = [word_ids, char_ids], [word_vectors, spelling]
    if pos_input:
        pos_ids = keras.Input(shape=(None,), dtype="int32", name="pos_ids")
        inputs.append(pos_ids)
        features.append(
            layers.Embedding(len(vocabularies.pos_tags), pos_embedding_dim, mask_zero=True, name="pos_embedding")(
                pos_ids
            )
        )
    x = layers.Concatenate(name="word_features")(features)  # the word mask passes through
    # (dropout applies to each recurrent layer's inputs, this concatenation included)
    x = recurrent_stack(
        x,
        cell,
        units,
        num_layers,
        return_sequences=True,  # one label per word
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
    )
    x = layers.Dropout(dropout, name="output_dropout")(x)
    logits = output_head(x, "per_step", len(vocabularies.tags))  # (batch, words, tags), the mask still attached
    if crf:
        moves, starts = iob_constraints(vocabularies.tags, [vocabularies.model_tags(tags) for tags in training_tags])
        crf_layer = CRF(len(vocabularies.tags), forbidden_moves=moves, forbidden_starts=starts, name="crf")
        model = CRFTagger(inputs, crf_layer(logits), name=f"{name}_crf")
        loss = None  # CRFTagger.compute_loss: the CRF's negative log-likelihood
    else:
        model = keras.Model(inputs, logits, name=name)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(
        optimizer=adam(learning_rate, clipnorm, weight_averaging),
        loss=loss,
        # Keras weights it by the mask: padding is not counted. With a CRF it is the accuracy of each
        # word's best emission score, a cheap running sign of progress; the test scores use Viterbi.
        metrics=["accuracy"],
    )
    return model
