"""Audio features inside the model: raw waveform in, normalised log-mel frames out, with a mask of the real frames.

Chapter 004 §6.2 (speech) and §9.3 (variable-length sequences: padding and
masking). Because the features are a layer, the saved model reads raw
samples: `predict.py` needs no feature code of its own, and training and use
can never disagree about them.

Everything here is `keras.ops`, so the saved model runs on TensorFlow, JAX
and PyTorch alike. The filter bank and the cosine transform are constant
matrices built with NumPy from TensorFlow's formulas (`tf.signal`, which
these layers used before: the tests check both give the same numbers).
"""

import keras
import numpy as np
from keras import ops

FRAME_LENGTH = 256  # samples: 32 ms at 8 kHz, the usual speech analysis window
FRAME_STEP = 128  # 16 ms between frames (half a window)
# JAX compiles the model once per input shape: batches padded to their longest recording each compiled anew
# (3 s a step on 2 CPU cores); lengths rounded up to whole blocks of 2,048 samples (256 ms) leave a few shapes.
# The padding is masked, so the answers do not change; the other backends pad no further than they need.
LENGTH_MULTIPLE = 2048 if keras.backend.backend() == "jax" else 1


@keras.saving.register_keras_serializable(package="spoken_digits")
class LogMelFrames(keras.layers.Layer):
    """(batch, samples) waveforms, 0-padded on the right (at least FRAME_LENGTH samples) -> (batch, frames, mels)
    normalised log-mel energies.

    The mask marks the frames that lie wholly inside each recording, which
    ends at its last non-zero sample. So a recording gets exactly the same
    real frames (and the same answer) alone or batched with longer ones:
    only frames that touch the padding differ, and those are masked. The
    per-mel mean and standard deviation of the training frames are set with
    `set_statistics` before training and saved with the model.
    """

    def __init__(self, sample_rate=8000, mels=40, low_hz=20.0, per_recording=True, cepstra=0, **kwargs):
        super().__init__(**kwargs)
        self.sample_rate, self.mels, self.low_hz, self.per_recording = sample_rate, mels, low_hz, per_recording
        self.cepstra = cepstra  # > 0: the first `cepstra` MFCCs instead of the log-mel bands (see `features`)
        self.supports_masking = True
        self.mel_matrix = mel_filter_bank(mels, FRAME_LENGTH // 2 + 1, sample_rate, low_hz, sample_rate / 2)
        self.cosine_matrix = mfcc_matrix(mels)

    def build(self, input_shape):
        width = self.cepstra or self.mels
        self.mean = self.add_weight(shape=(width,), initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=(width,), initializer="ones", trainable=False, name="std")

    def log_mel(self, audio):
        real, imaginary = ops.stft(audio, FRAME_LENGTH, FRAME_STEP, FRAME_LENGTH, window="hann", center=False)
        energies = ops.matmul(ops.square(real) + ops.square(imaginary), self.mel_matrix)
        return ops.log(energies + 1e-6)

    def features(self, audio):
        """Un-normalised frames: log-mel energies, or their first `cepstra` cepstral coefficients (MFCCs).

        The cepstrum (a cosine transform of the log-mel bands) keeps the
        spectrum's broad shape, the formants that say which vowel is spoken,
        in its first coefficients, and the fine ripple of the voice's pitch
        harmonics (which says who speaks) in the later ones: keeping only the
        first coefficients drops much of the speaker.
        """
        frames = self.log_mel(audio)
        if self.cepstra:
            frames = ops.matmul(frames, self.cosine_matrix[:, : self.cepstra])
        return frames

    def call(self, audio):
        frames = self.features(audio)
        if self.per_recording:
            frames = frames - masked_mean(frames, frame_mask(audio))
        return (frames - self.mean) / self.std

    def compute_mask(self, audio, mask=None):
        return frame_mask(audio)

    def compute_output_shape(self, input_shape):
        # Given, not traced: JAX cannot trace the STFT of a waveform whose length is unknown.
        batch, samples = input_shape
        frames = None if samples is None else 1 + (samples - FRAME_LENGTH) // FRAME_STEP
        return (batch, frames, self.cepstra or self.mels)

    def set_statistics(self, frames):
        """Per-mel mean and standard deviation from (frames, mels) un-normalised training frames."""
        self.mean.assign(frames.mean(axis=0))
        self.std.assign(np.maximum(frames.std(axis=0), 1e-3))

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "mels": self.mels,
            "low_hz": self.low_hz,
            "per_recording": self.per_recording,
            "cepstra": self.cepstra,
        }


@keras.saving.register_keras_serializable(package="spoken_digits")
class WarpFrequencies(keras.layers.Layer):
    """Training only: stretch or squeeze the mel axis of the whole batch by a random factor in [1 - warp, 1 + warp].

    A longer vocal tract puts every formant lower; stretching the spectrum
    along frequency imitates a speaker with another voice (vocal tract length
    perturbation), so five training voices cover more of the sixth's. The
    frames (and their mask) are left as they are; at inference it does
    nothing.
    """

    def __init__(self, warp=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.warp, self.seed = warp, seed
        self.supports_masking = True
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, frames, training=False):
        if not training or self.warp == 0:
            return frames
        factor = keras.random.uniform((), 1 - self.warp, 1 + self.warp, seed=self.generator)
        return ops.matmul(frames, warp_matrix(frames.shape[-1], factor))

    def compute_mask(self, frames, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "warp": self.warp, "seed": self.seed}


@keras.saving.register_keras_serializable(package="spoken_digits")
class MaskBands(keras.layers.Layer):
    """Training only (SpecAugment): blank `masks` random bands of mel channels and `masks` random spans of frames
    in each recording, to the training mean (0 after normalisation).

    A model that cannot count on any one band or moment has to use the
    whole picture, as it must for a voice whose formants lie elsewhere.
    Widths are drawn from 0 to `band_width` mel channels and `span_frames`
    frames (a fifth of the 40 bands; 80 ms, a third of a short digit); spans
    start within each recording's real frames. At inference it does nothing.
    """

    def __init__(self, masks=2, band_width=8, span_frames=5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.masks, self.band_width, self.span_frames, self.seed = masks, band_width, span_frames, seed
        self.supports_masking = True
        self.generator = keras.random.SeedGenerator(seed)

    def random_spans(self, batch, width, room, positions):
        """(batch, positions) 1.0 outside one span per recording: width in [0, width], start in [0, room - it)."""
        widths = ops.floor(keras.random.uniform((batch, 1), 0, width + 1, seed=self.generator))
        starts = ops.floor(keras.random.uniform((batch, 1), seed=self.generator) * ops.maximum(room - widths, 0.0))
        index = ops.cast(ops.arange(positions), "float32")[None, :]
        return 1.0 - ops.cast(ops.logical_and(index >= starts, index < starts + widths), "float32")

    def call(self, frames, training=False, mask=None):
        if not training or self.masks == 0:
            return frames
        batch, steps, mels = ops.shape(frames)[0], ops.shape(frames)[1], frames.shape[-1]
        real = ops.cast(mask, "float32") if mask is not None else ops.ones((batch, steps))
        lengths = ops.sum(real, axis=1)[:, None]  # real frames per recording: spans start among them
        keep = ops.ones_like(frames)
        for _ in range(self.masks):
            keep = keep * self.random_spans(batch, self.band_width, float(mels), mels)[:, None, :]
            keep = keep * self.random_spans(batch, self.span_frames, lengths, steps)[:, :, None]
        return frames * keep

    def compute_mask(self, frames, mask=None):
        return mask

    def get_config(self):
        return {
            **super().get_config(),
            "masks": self.masks,
            "band_width": self.band_width,
            "span_frames": self.span_frames,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="spoken_digits")
class ConvolveFrames(keras.layers.Layer):
    """A convolutional front end: (batch, frames, mels) -> (batch, frames, filters), each output seeing
    `kernel_size` neighbouring frames, the mask kept for the recurrent layers that follow.

    Local patterns across bands and a few frames (a formant's rise, a
    burst) are what a convolution finds wherever in frequency and time they
    sit; the GRUs then read their sequence. Padded frames are set to 0 first,
    so a recording's real frames get the same outputs alone or beside longer
    ones ("same" padding also sees zeros past the end).
    """

    def __init__(self, filters, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.supports_masking = True
        self.convolution = keras.layers.Conv1D(filters, kernel_size, padding="same", activation="relu")

    def build(self, input_shape):
        self.convolution.build(input_shape)  # (so that a loaded model has the weights to fill)

    def call(self, frames, mask=None):
        if mask is not None:
            frames = frames * ops.cast(mask, frames.dtype)[:, :, None]
        return self.convolution(frames)

    def compute_mask(self, frames, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


def frame_mask(audio):
    """(batch, frames) True for the frames that end at or before each recording's last non-zero sample.

    Written with keras.ops on slices only (no dynamic shapes), so Keras can also
    run it on the symbolic input while building the model.
    """
    positions = ops.cumsum(ops.ones_like(audio), axis=1)  # 1, 2, ... along each waveform
    lengths = ops.max(ops.where(ops.not_equal(audio, 0.0), positions, 0.0), axis=1, keepdims=True)
    frame_ends = positions[:, FRAME_LENGTH - 1 :: FRAME_STEP]  # the last sample of each STFT frame
    return ops.logical_or(frame_ends <= lengths, frame_ends == FRAME_LENGTH)  # the first frame always counts


def masked_mean(frames, mask):
    """(batch, 1, mels): each recording's mean frame over its real frames."""
    weights = ops.cast(mask, frames.dtype)[:, :, None]
    return ops.sum(frames * weights, axis=1, keepdims=True) / ops.sum(weights, axis=1, keepdims=True)


def hertz_to_mel(hertz):
    return 1127.0 * np.log1p(np.asarray(hertz, dtype="float64") / 700.0)  # the HTK mel scale, as tf.signal's


def mel_filter_bank(mels, spectrum_bins, sample_rate, low_hz, high_hz):
    """(spectrum_bins, mels) float32: triangular filters, evenly spaced on the mel scale from low_hz to high_hz,
    each rising from its lower neighbour's centre to its own and falling to its upper neighbour's (the DC bin
    gets no weight). The numbers of `tf.signal.linear_to_mel_weight_matrix`."""
    bin_mels = hertz_to_mel(np.linspace(0.0, sample_rate / 2, spectrum_bins)[1:])[:, None]
    edges = np.linspace(hertz_to_mel(low_hz), hertz_to_mel(high_hz), mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mels - lower) / (centre - lower)
    falling = (upper - bin_mels) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, mels)), weights]).astype("float32")


def mfcc_matrix(mels):
    """(mels, mels) float32: log-mel bands -> cepstral coefficients, the orthonormal DCT-II (coefficient k is
    a cosine of k half-periods across the bands). The numbers of `tf.signal.mfccs_from_log_mel_spectrograms`."""
    band, coefficient = np.meshgrid(np.arange(mels), np.arange(mels), indexing="ij")
    cosines = np.cos(np.pi * coefficient * (2 * band + 1) / (2 * mels))
    return (2 * cosines / np.sqrt(2 * mels)).astype("float32")


def warp_matrix(mels, factor):
    """(mels, mels) matrix that resamples a spectrum stretched by `factor` along the mel axis (a tensor).

    Output band j reads the input at (j + 0.5) / factor - 0.5 (bands' centres lined up, as image resizing
    does), linearly between its two neighbours; a stretched spectrum is cut at the top, a squeezed one is
    extended with its top band. The numbers of `tf.image.resize` (bilinear) to round(mels * factor) bands.
    """
    warped_mels = ops.round(mels * factor)
    output_band = ops.minimum(ops.cast(ops.arange(mels), "float32"), warped_mels - 1)
    source = ops.clip((output_band + 0.5) * (mels / warped_mels) - 0.5, 0.0, mels - 1.0)
    below = ops.floor(source)
    above = ops.minimum(below + 1, mels - 1.0)
    fraction = (source - below)[None, :]
    pick = lambda band: ops.transpose(ops.one_hot(ops.cast(band, "int32"), mels))  # noqa: E731 (input, output)
    return pick(below) * (1.0 - fraction) + pick(above) * fraction


def training_frames(layer, waveforms):
    """(frames, features) un-normalised frames of every recording (only those inside it: no padding)."""
    frames = frames_each(layer.features, waveforms)
    if layer.per_recording:
        frames = [recording - recording.mean(axis=0) for recording in frames]
    return np.concatenate(frames)


def frames_alone(transform, wave):
    """(frames, features) NumPy: `transform` (e.g. a LogMelFrames layer or its `log_mel`) of one recording, only
    the frames that lie inside it (not those of the padding that pad_batch may add)."""
    return frames_each(transform, [wave])[0]


def frames_each(transform, waveforms, batch_size=64):
    """[(frames, features) NumPy, one per recording, in the order given]: as `frames_alone`, computed in batches
    of similar length. A frame depends only on its own samples (the STFT is not centred), so the longer padding
    of a batch changes none of the frames kept, and one call per batch instead of per recording saves minutes
    on the data set's 3,000 recordings."""
    frames = [None] * len(waveforms)
    for chunk in batches_by_length(waveforms, batch_size):
        batch = ops.convert_to_numpy(transform(ops.convert_to_tensor(pad_batch([waveforms[i] for i in chunk]))))
        for index, recording in zip(chunk, batch, strict=True):
            frames[index] = recording[: 1 + (max(len(waveforms[index]), FRAME_LENGTH) - FRAME_LENGTH) // FRAME_STEP]
    return frames


def batches_by_length(waveforms, batch_size):
    """Index arrays, `batch_size` at most, of the recordings sorted by length: batches that need little padding."""
    order = np.argsort([len(wave) for wave in waveforms], kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def trim_silence(samples, floor_db=60.0):
    """The samples from the first to the last frame within `floor_db` of the loudest frame's energy.

    The data set's recordings are cut close around the word; a recording
    with a second of room noise before and after it would shift the
    per-recording mean the model subtracts, and with it the answer. Silence
    (all frames equally quiet) is returned as it is.
    """
    samples = np.asarray(samples, dtype="float32")
    if len(samples) <= FRAME_LENGTH:
        return samples
    starts = np.arange(0, len(samples) - FRAME_LENGTH + 1, FRAME_STEP)
    energy = np.array([np.mean(samples[start : start + FRAME_LENGTH] ** 2) for start in starts])
    loud = np.flatnonzero(energy >= energy.max() * 10 ** (-floor_db / 10)) if energy.max() > 0 else []
    if len(loud) == 0:
        return samples
    return samples[starts[loud[0]] : starts[loud[-1]] + FRAME_LENGTH]


def pad_batch(waveforms):
    """(batch, longest) float32, 0-padded on the right, to at least one frame (the model's shortest input) and to
    a whole number of LENGTH_MULTIPLE samples."""
    longest = max(FRAME_LENGTH, max(len(wave) for wave in waveforms))
    longest = -(-longest // LENGTH_MULTIPLE) * LENGTH_MULTIPLE
    batch = np.zeros((len(waveforms), longest), dtype="float32")
    for row, wave in zip(batch, waveforms, strict=True):
        row[: len(wave)] = wave
    return batch


def predict_waveforms(model, waveforms, batch_size=32):
    """(recordings, classes) probabilities, in the order given; batches of similar length to spare padding."""
    probabilities = [None] * len(waveforms)
    for chunk in batches_by_length(waveforms, batch_size):
        answers = model.predict_on_batch(pad_batch([waveforms[index] for index in chunk]))
        for index, answer in zip(chunk, np.asarray(answers), strict=True):
            probabilities[index] = answer
    return np.stack(probabilities)


# The quietest recording of the data set peaks 40 dB below full scale; a file 10 dB quieter still holds no speech
# (room noise, a muted microphone, digital silence).
QUIETEST_SPEECH_DBFS = -50.0


def speech_problem(samples, shortest_seconds, longest_seconds, sample_rate=8000):
    """Why a recording (silence already trimmed) cannot be one spoken digit, or None.

    Silence or near silence, and a sound much shorter than the shortest digit
    the model heard, hold no speech; a sound much longer than the longest is
    not one digit (ten minutes of "seven" repeated was heard as "8" at 0.998).
    """
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if peak <= 10 ** (QUIETEST_SPEECH_DBFS / 20):
        level = "no sound at all" if peak == 0 else f"its loudest sample is {20 * np.log10(peak):.0f} dB of full scale"
        return f"no speech found: silence or near silence ({level})"
    seconds = len(samples) / sample_rate
    if seconds < shortest_seconds / 2:
        return (
            f"no speech found: {seconds:.3f} s of sound; the shortest digit the model heard lasts "
            f"{shortest_seconds:.2f} s"
        )
    if seconds > 2 * longest_seconds:
        return (
            f"{seconds:.1f} s of sound, longer than any recording the model heard ({longest_seconds:.2f} s at "
            f"most): give one spoken digit per file"
        )
    return None


def decide(probabilities, threshold, not_a_digit):
    """(recordings,) answers from (recordings, digits + 1) probabilities: the best digit, or `not_a_digit` when
    that class wins or when the best digit's probability is below `threshold` (weak evidence)."""
    digits = probabilities[:, :not_a_digit]
    rejected = (probabilities.argmax(axis=1) == not_a_digit) | (digits.max(axis=1) < threshold)
    return np.where(rejected, not_a_digit, digits.argmax(axis=1))
