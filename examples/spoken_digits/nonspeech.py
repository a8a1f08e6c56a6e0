"""Sounds that are not speech (noise, tones, hum), for the model's eleventh answer: "not a digit".

A classifier trained on ten digits only has ten answers: given white noise,
the trained model said "7" with probability 0.999, and a 440 Hz tone "7" at
0.92. Its softmax says which digit fits best, not whether any does. So the
model learns an eleventh class from synthetic non-speech of a few kinds
(TRAINING_KINDS), and its false acceptances are measured on kinds it never
trained on (HELD_OUT_KINDS) as well, which says how far the rejection
generalises beyond what it was shown.
"""

import numpy as np

from fsdd import SAMPLE_RATE

NOT_A_DIGIT = 10  # the eleventh class
TRAINING_KINDS = ("white noise", "pink noise", "tone", "chord", "sweep", "hum")
HELD_OUT_KINDS = ("brown noise", "square wave", "clicks", "warbling tone")


def _coloured_noise(samples, rng, exponent):
    """Noise whose power falls as 1 / f ** exponent (0 white, 1 pink, 2 brown), made in the frequency domain."""
    spectrum = np.fft.rfft(rng.normal(size=samples))
    frequencies = np.maximum(np.fft.rfftfreq(samples), 1.0 / samples)
    return np.fft.irfft(spectrum / frequencies ** (exponent / 2), n=samples)


def _sound(kind, samples, rng):
    t = np.arange(samples) / SAMPLE_RATE
    if kind.endswith("noise"):
        return _coloured_noise(samples, rng, {"white noise": 0, "pink noise": 1, "brown noise": 2}[kind])
    if kind == "tone":
        return np.sin(2 * np.pi * rng.uniform(80, 3500) * t)
    if kind == "chord":
        return sum(np.sin(2 * np.pi * rng.uniform(100, 1500) * t + rng.uniform(0, 6.3)) for _ in range(3))
    if kind == "sweep":
        low, high = sorted(rng.uniform(100, 3500, size=2))
        return np.sin(2 * np.pi * (low * t + (high - low) * t**2 / (2 * t[-1] + 1e-9)))
    if kind == "hum":
        base = rng.choice([50.0, 60.0])
        return sum(np.sin(2 * np.pi * base * k * t) / k for k in range(1, 8))
    if kind == "square wave":
        return np.sign(np.sin(2 * np.pi * rng.uniform(100, 1000) * t))
    if kind == "clicks":
        clicks = np.zeros(samples)
        clicks[rng.choice(samples, size=max(1, samples // 400), replace=False)] = rng.choice([-1.0, 1.0])
        return clicks
    if kind == "warbling tone":
        return np.sin(2 * np.pi * rng.uniform(300, 1200) * t + 8 * np.sin(2 * np.pi * rng.uniform(3, 8) * t))
    raise ValueError(f"unknown kind of sound {kind!r}")


def non_speech(count, kinds, seed):
    """`count` float32 waveforms at 8 kHz, kinds in turn, lasting 0.3 to 1.2 s (as long as spoken digits),
    peaks between -26 and -1 dB of full scale, with a little white noise under them (as a microphone has)."""
    rng = np.random.default_rng(seed)
    sounds = []
    for index in range(count):
        samples = int(rng.uniform(0.3, 1.2) * SAMPLE_RATE)
        wave = _sound(kinds[index % len(kinds)], samples, rng)
        wave = wave / (np.abs(wave).max() + 1e-12) * 10 ** (rng.uniform(-26, -1) / 20)
        sounds.append((wave + rng.normal(0, 1e-3, samples)).astype("float32"))
    return sounds
