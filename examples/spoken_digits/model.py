"""The network: a waveform -> the ten digits' and "not a digit"'s probabilities (chapter 004 §6.2, §9.3)."""

import keras

from common.models import output_head, pool_over_time, recurrent_stack
from common.training import adam

from audio import ConvolveFrames, LogMelFrames, MaskBands, WarpFrequencies
from fsdd import DIGITS, SAMPLE_RATE


def build_model(
    mels=40,
    *,
    cepstra=13,
    recording_mean=True,
    warp=0.0,
    spec_augment=0,
    conv_filters=0,
    cell="gru",
    units=64,
    num_layers=2,
    bidirectional=True,
    dropout=0.4,
    recurrent_dropout=0.0,
    pooling="mean",
    learning_rate=2e-3,
    clipnorm=1.0,
    seed=None,
):
    """(batch, samples) waveform at 8 kHz, 0-padded on the right -> (batch, 11) probabilities: the ten digits,
    then "not a digit" (nonspeech.NOT_A_DIGIT); compiled.

    LogMelFrames: (batch, frames, mels) log-mel frames, or their first `cepstra` cepstral coefficients (MFCCs),
    normalised with the training frames' statistics (set them with `set_statistics`, see train.py), and the
    mask of the real frames -> (training only: a warp of the mel axis, masked bands and frames) -> (optional: a
    convolution over 5 frames) -> `num_layers` (bidirectional) recurrent layers of `units`: (batch, frames,
    2 x units) -> the mean over the real frames -> softmax over 11 answers.
    """
    audio = keras.Input((None,), name="audio")
    frames = LogMelFrames(SAMPLE_RATE, mels, recording_mean, cepstra=cepstra, name="log_mel")(audio)  # and the mask
    frames = WarpFrequencies(warp, seed, name="warp_frequencies")(frames)  # training only
    frames = MaskBands(spec_augment, seed=seed, name="mask_bands")(frames)  # training only
    if conv_filters:
        frames = ConvolveFrames(conv_filters, name="convolve_frames")(frames)
    x = recurrent_stack(
        frames,
        cell,
        units,
        num_layers,
        return_sequences=True,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
    )
    x = keras.layers.Dropout(dropout)(pool_over_time(x, pooling))
    model = keras.Model(audio, output_head(x, "multiclass", DIGITS + 1), name=f"digits_{cell}")
    model.compile(optimizer=adam(learning_rate, clipnorm), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
