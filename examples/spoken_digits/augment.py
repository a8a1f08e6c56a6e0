"""Training audio drawn afresh every epoch: each recording sped up or slowed down, with noise added.

Chapter 004 §6.2 (speech). Five training voices are few: a sixth speaker's
voice is lower or higher, faster or slower, and recorded in another room.
Speed perturbation (resampling a recording as if played faster or slower)
moves its pitch and its formants together and changes its tempo, the
augmentation most speech recognisers train with; noise at a random
signal-to-noise ratio imitates other microphones and rooms. Each epoch draws
new factors from a generator seeded with (seed, epoch), so a run is
repeatable and every epoch differs. Only training audio is augmented:
validation and test audio go through `common.text.bucketed_dataset` as it is.
"""

import numpy as np
import tensorflow as tf

from audio import pad_batch
from fsdd import resample

SPEED_STEPS = 100  # speed factors are multiples of 1/100


def speed_perturb(samples, factor):
    """`samples` played `factor` times as fast (1.1: 10 % shorter, every frequency 10 % higher): read as if
    recorded at `factor` times the rate, then resampled like any other recording."""
    return resample(samples, int(round(SPEED_STEPS * factor)), SPEED_STEPS)


def add_noise(samples, snr_db, rng):
    """`samples` plus white noise `snr_db` decibels below their mean power (silence stays silence)."""
    power = float(np.mean(np.square(samples)))
    noise = rng.normal(0.0, np.sqrt(power * 10 ** (-snr_db / 10)), size=len(samples))
    return (samples + noise).astype("float32")


def shuffled(items, rng):
    return [items[index] for index in rng.permutation(len(items))]


class AugmentedTraining:
    """Batches of training waveforms for `model.fit`, augmented anew on every pass (every epoch).

    speed: factors drawn uniformly from [1 - speed, 1 + speed] (0: off).
    noise_snr: white noise at a signal-to-noise ratio drawn uniformly from
    [noise_snr, noise_snr + 20] dB (None: off).
    Batches hold recordings of similar length (sorted by a jittered length,
    so their company changes between epochs) in a shuffled order, 0-padded on
    the right as `common.text.bucketed_dataset` pads them.
    """

    def __init__(self, waveforms, labels, batch_size, seed, speed=0.0, noise_snr=None):
        self.waveforms, self.labels = list(waveforms), np.asarray(labels)
        self.batch_size, self.seed, self.speed, self.noise_snr = batch_size, seed, speed, noise_snr
        self.epoch = 0  # passes drawn so far

    def augment(self, samples, rng):
        if self.speed:
            samples = speed_perturb(samples, rng.uniform(1 - self.speed, 1 + self.speed))
        if self.noise_snr is not None:
            samples = add_noise(samples, rng.uniform(self.noise_snr, self.noise_snr + 20), rng)
        return samples

    def batches(self, epoch):
        """[(padded waveforms, labels), ...] of pass `epoch` (the same for the same seed and epoch)."""
        rng = np.random.default_rng([self.seed, epoch])
        waves = [self.augment(samples, rng) for samples in self.waveforms]
        jittered = np.array([len(samples) for samples in waves]) * rng.uniform(0.9, 1.1, len(waves))
        order = np.argsort(jittered)
        chunks = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        return [(pad_batch([waves[i] for i in chunk]), self.labels[chunk]) for chunk in shuffled(chunks, rng)]

    def __iter__(self):
        """One pass: the next epoch's batches."""
        epoch, self.epoch = self.epoch, self.epoch + 1
        yield from self.batches(epoch)

    def dataset(self):
        """A tf.data.Dataset that draws a new pass each time it is iterated (Keras iterates it once per epoch)."""
        count = -(-len(self.waveforms) // self.batch_size)
        signature = (
            tf.TensorSpec((None, None), tf.float32),
            tf.TensorSpec((None, *self.labels.shape[1:]), tf.as_dtype(self.labels.dtype)),
        )
        generated = tf.data.Dataset.from_generator(self.__iter__, output_signature=signature)
        return generated.apply(tf.data.experimental.assert_cardinality(count)).prefetch(1)
