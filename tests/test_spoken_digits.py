"""Spoken digits (examples/spoken_digits): WAV reading, frame masks, the two splits, a quick run on tones in the
data set's layout, predict.py on good and bad files in a new process, and the real FSDD archive."""

import io
import json
import shutil
import tarfile
import wave

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example, run_predict
from scipy.io import wavfile

from common.saving import SavedModelError

fsdd = load_example("spoken_digits", "fsdd")
audio = load_example("spoken_digits", "audio")
train = load_example("spoken_digits", "train")
nonspeech = load_example("spoken_digits", "nonspeech")
augment = load_example("spoken_digits", "augment")
predict_script = load_example("spoken_digits", "predict")
model_module = load_example("spoken_digits", "model")

PREDICT = REPO_ROOT / "examples" / "spoken_digits" / "predict.py"
RATE = fsdd.SAMPLE_RATE


def wav_bytes(samples, sample_rate=fsdd.SAMPLE_RATE, channels=1):
    """A 16-bit PCM WAV file's bytes from float samples in [-1, 1] (the recordings' format)."""
    pcm = (np.clip(np.asarray(samples, dtype="float64"), -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def tone(hz, seconds, rng=None, amplitude=0.5):
    """A sine tone (with a little noise when `rng` is given)."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave_ = amplitude * np.sin(2 * np.pi * hz * t)
    return wave_ + (0.01 * rng.normal(size=t.size) if rng is not None else 0)


def digit_sound(digit, rng):
    """A made-up 'digit', shaped like a spoken vowel (so unlike the model's non-speech sounds: steady noise,
    tones, chords, sweeps, hum): the harmonics of a voice's pitch (100-200 Hz), loudest around a resonance
    whose frequency says the digit, swelling and fading (a Hann envelope); random length and loudness."""
    t = np.arange(int(rng.uniform(0.2, 0.45) * RATE)) / RATE
    pitch, resonance = rng.uniform(100, 200), 400 + 300 * digit + rng.normal(0, 20)
    harmonics = np.arange(1, int(3800 / pitch))
    weights = np.exp(-(((harmonics * pitch - resonance) / 150) ** 2))
    voice = (weights[:, None] * np.sin(2 * np.pi * pitch * harmonics[:, None] * t)).sum(axis=0)
    voice *= np.hanning(t.size) * rng.uniform(0.2, 0.6) / np.abs(voice).max()
    return voice + 0.01 * rng.normal(size=t.size)


def wav_with(samples, rate=RATE, channels=1, width=2):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes((np.asarray(samples) * 30000).astype("<i2").tobytes() if width == 2 else bytes(samples))
    return buffer.getvalue()


def float_wav(samples, rate=RATE):
    """A 32-bit float WAV file's bytes (which, unlike PCM, can hold NaN and infinity)."""
    buffer = io.BytesIO()
    wavfile.write(buffer, rate, np.asarray(samples, dtype="float32"))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """DATA_DIR holding the release archive, in the real layout, of 6 speakers x 10 tone 'digits' x 12 takes."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    with tarfile.open(folder / fsdd.ARCHIVE, "w:gz") as tar:
        for speaker in fsdd.SPEAKERS:
            for digit in range(10):
                for take in range(12):
                    data = wav_bytes(digit_sound(digit, rng))
                    info = tarfile.TarInfo(f"{fsdd.FOLDER}/recordings/{digit}_{speaker}_{take}.wav")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        readme = tarfile.TarInfo(f"{fsdd.FOLDER}/README.md")
        tar.addfile(readme, io.BytesIO(b""))
    return folder


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("spoken") / "out"
    options = [
        "--quick",
        "--epochs",
        "8",
        "--units",
        "24",
        "--data-dir",
        str(data_dir),
        "--output-dir",
        str(output_dir),
    ]
    return train.main(options), output_dir


# --- fsdd.py: WAV files, the archive, the splits ---


def test_wav_reading_tones_silence_lengths_and_stereo():
    for seconds in (0.05, 0.5, 1.3):
        samples = fsdd.read_wav(wav_bytes(tone(440, seconds)), "t.wav")
        assert samples.dtype == np.float32 and len(samples) == int(seconds * RATE)
        np.testing.assert_allclose(samples, tone(440, seconds), atol=1e-4)
    assert not fsdd.read_wav(wav_bytes(np.zeros(800)), "silence.wav").any()
    left, right = tone(440, 0.2), np.zeros(1600)
    stereo = np.stack([left, right], axis=1).reshape(-1)
    mixed = fsdd.read_wav(wav_bytes(stereo, channels=2), "stereo.wav")
    np.testing.assert_allclose(mixed, left / 2, atol=1e-4)


def dominant_hz(samples, rate=RATE):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()]


def pcm24(samples):
    """Little-endian 24-bit PCM bytes of float samples in [-1, 1]."""
    values = (np.asarray(samples) * (2**23 - 1)).astype("<i4")
    return values.view("u1").reshape(-1, 4)[:, :3].tobytes()


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("channels", [1, 2])
def test_any_sample_rate_depth_and_channels_is_read_at_8_khz_keeping_the_pitch(rate, width, channels):
    """A 1 kHz tone (0.6 s) recorded at 16-48 kHz, 8/16/24-bit, mono or stereo: 8 kHz samples, 1 kHz, same level."""
    seconds, hz = 0.6, 1000.0
    t = np.arange(int(seconds * rate)) / rate
    samples = np.repeat(0.5 * np.sin(2 * np.pi * hz * t), channels)
    frames = {1: ((samples + 1) * 127.5).astype("u1").tobytes(), 2: (samples * 32767).astype("<i2").tobytes()}
    frames[3] = pcm24(samples)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames[width])
    read = fsdd.read_wav(buffer.getvalue(), "x.wav")
    assert read.dtype == np.float32 and len(read) == pytest.approx(seconds * RATE, abs=1)
    assert dominant_hz(read) == pytest.approx(hz, abs=2)
    inner = read[200:-200]  # (the filter's edges ring)
    assert np.sqrt(np.mean(inner**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.03)


def test_resampling_keeps_what_lies_below_4_khz_and_removes_what_would_alias():
    """From 44.1 kHz: a 3 kHz tone stays 3 kHz; a 5 kHz tone (above the new Nyquist frequency, 4 kHz) would fold
    to 3 kHz if decimated naively; the filter removes it instead."""
    t = np.arange(44100) / 44100
    kept = fsdd.resample(np.sin(2 * np.pi * 3000 * t).astype("float32"), 44100)
    removed = fsdd.resample(np.sin(2 * np.pi * 5000 * t).astype("float32"), 44100)
    assert dominant_hz(kept) == pytest.approx(3000, abs=2)
    assert np.sqrt(np.mean(removed[200:-200] ** 2)) < 0.01


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "the file is empty"),
        (b"hello", "not a readable PCM WAV file"),
        (b"RIFF" + bytes(40), "not a readable PCM WAV file"),
        (wav_with(tone(440, 0.2))[:500], "truncated"),
        (wav_with(np.zeros(0)), "holds no samples"),
        (float_wav([0.1, np.nan, 0.2]), "not finite numbers"),
        (float_wav([0.1, np.inf, 0.2]), "not finite numbers"),
    ],
)
def test_bad_wav_files_get_a_clear_error(data, message):
    with pytest.raises(fsdd.AudioError, match=message):
        fsdd.read_wav(data, "x.wav")


def test_archive_extracts_only_recordings_and_splits_leave_nothing_on_both_sides(data_dir):
    recordings = fsdd.load_recordings(data_dir)
    assert len(recordings) == 6 * 10 * 12
    assert not (data_dir / fsdd.FOLDER / "README.md").exists()  # only recordings are extracted
    train_side, test = fsdd.official_split(recordings)
    assert {r.take for r in test} == set(range(5)) and min(r.take for r in train_side) == 5
    assert len(test) == 6 * 10 * 5
    fit, validation = train.split_validation(train_side)
    assert {r.take for r in validation} == {9} and len(fit) + len(validation) == len(train_side)
    keys = lambda rs: {(r.speaker, r.digit, r.take) for r in rs}  # noqa: E731
    assert not keys(train_side) & keys(test) and not keys(fit) & keys(validation)
    for speaker in fsdd.SPEAKERS:
        others, held_out = fsdd.speaker_split(recordings, speaker)
        assert {r.speaker for r in held_out} == {speaker} and speaker not in {r.speaker for r in others}
        assert len(others) + len(held_out) == len(recordings)
    with pytest.raises(ValueError, match="no recordings of speaker 'nobody'"):
        fsdd.speaker_split(recordings, "nobody")


def test_missing_and_damaged_archives_say_what_to_do(tmp_path):
    with pytest.raises(Exception, match="not found. Download https://github.com/Jakobovski"):
        fsdd.load_recordings(tmp_path, download=False)
    (tmp_path / fsdd.ARCHIVE).write_bytes(b"not a tar.gz")
    with pytest.raises(Exception, match="damaged or truncated"):
        fsdd.load_recordings(tmp_path, download=False)


# --- audio.py: features and masks ---


def test_frame_mask_marks_frames_inside_the_recording():
    short, long = tone(440, 0.1), tone(440, 0.3)
    batch = audio.pad_batch([short, long])
    mask = np.asarray(audio.frame_mask(batch))
    real_short = (len(short) - audio.FRAME_LENGTH) // audio.FRAME_STEP + 1
    real_long = (len(long) - audio.FRAME_LENGTH) // audio.FRAME_STEP + 1
    assert mask.shape == (2, real_long) and mask[0].sum() == real_short and mask[1].all()
    assert np.asarray(audio.frame_mask(audio.pad_batch([tone(440, 0.01)]))).tolist() == [[True]]  # one frame


def test_frames_computed_in_batches_are_each_recordings_own(per_batch=2):
    """The frames of recordings batched by length (padded to the batch's longest) are those of each alone,
    exactly as many as lie inside it, in the order given."""
    layer = audio.LogMelFrames(mels=20)
    rng = np.random.default_rng(0)
    waves = [rng.normal(size=n).astype("float32") for n in (3000, 100, 1600, 4100, audio.FRAME_LENGTH)]
    batched = audio.frames_each(layer.log_mel, waves, batch_size=per_batch)
    for samples, frames in zip(waves, batched, strict=True):
        unpadded = np.pad(samples, (0, max(0, audio.FRAME_LENGTH - len(samples))))[None]  # (one frame at least)
        alone = keras.ops.convert_to_numpy(layer.log_mel(keras.ops.convert_to_tensor(unpadded)))[0]
        inside = 1 + (max(len(samples), audio.FRAME_LENGTH) - audio.FRAME_LENGTH) // audio.FRAME_STEP
        assert frames.shape == (inside, 20)
        np.testing.assert_allclose(frames, alone[:inside], rtol=1e-5, atol=1e-5)
    assert [batch.tolist() for batch in audio.batches_by_length(waves, per_batch)] == [[1, 4], [2, 0], [3]]


def test_recurrent_dropout_reaches_the_network():
    """--recurrent-dropout changes the network (it was once accepted and ignored)."""
    model = model_module.build_model(20, cepstra=0, units=8, num_layers=2, recurrent_dropout=0.2)
    recurrent = [layer.forward_layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert len(recurrent) == 2 and all(layer.recurrent_dropout == 0.2 for layer in recurrent)


@pytest.mark.parametrize("conv_filters", [0, 6])
def test_prediction_does_not_change_when_batched_with_longer_recordings(conv_filters, tmp_path):
    """Alone or beside longer recordings, the same answer: with the convolutional front end too (it must not read
    the padding), and after saving and loading."""
    model = model_module.build_model(20, cepstra=0, units=8, num_layers=1, dropout=0.0, conv_filters=conv_filters)
    model.get_layer("log_mel").set_statistics(np.random.default_rng(0).normal(size=(50, 20)))
    rng = np.random.default_rng(1)
    short = digit_sound(3, rng)
    alone = model.predict(audio.pad_batch([short]), verbose=0)
    together = model.predict(audio.pad_batch([short, tone(900, 1.5, rng), tone(300, 0.8, rng)]), verbose=0)
    np.testing.assert_allclose(together[0], alone[0], atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(audio.pad_batch([short]), verbose=0), alone, atol=1e-6)


# --- train.py end to end, predict.py ---


def test_quick_run_learns_and_writes_its_artifacts(trained):
    record, output_dir = trained
    for name in ("model.keras", "history.csv", "history.png", "spectrograms.png", "confusion.png", "run.json"):
        assert (output_dir / name).exists(), name
    assert record["metrics"]["accuracy"] > 0.5  # chance is 0.1
    assert record["data"]["counts"] == {"train": 360, "validation": 60, "test": 300}


def predict(output_dir, *files):
    return run_predict(PREDICT, output_dir, *files)


def test_predict_in_a_new_process_matches_the_model_and_rejects_bad_files(trained, data_dir, tmp_path):
    _, output_dir = trained
    recordings = fsdd.load_recordings(data_dir)[:6]
    paths = []
    for number, recording in enumerate(recordings):
        paths.append(tmp_path / f"r{number}.wav")
        paths[-1].write_bytes(wav_bytes(recording.audio))
    model = keras.models.load_model(output_dir / "model.keras")
    in_memory = audio.predict_waveforms(model, [fsdd.read_wav(path.read_bytes(), path) for path in paths])
    threshold = json.loads((output_dir / fsdd.RECOGNITION_FILE).read_text())["threshold"]
    expected = audio.decide(in_memory, threshold, nonspeech.NOT_A_DIGIT)
    # the check: a 44.1 kHz copy (as a CD or a phone writes) gets the original's answer
    copies = [tmp_path / f"cd{number}.wav" for number in range(len(paths))]
    for copy, recording in zip(copies, recordings, strict=True):
        copy.write_bytes(wav_bytes(fsdd.resample(recording.audio, RATE, 44100), 44100))
    good = predict(output_dir, *paths, *copies)
    assert good.returncode == 0, good.stderr
    lines = good.stdout.strip().splitlines()
    answers = [
        nonspeech.NOT_A_DIGIT if "not a digit" in line else int(line.split("\t")[1].split()[1]) for line in lines
    ]
    assert answers[len(paths) :] == answers[: len(paths)]
    answers, lines = answers[: len(paths)], lines[: len(paths)]
    assert answers == expected.tolist() and (expected < 10).sum() >= 4
    for line, row, answer in zip(lines, in_memory, expected, strict=True):
        if answer < 10:
            assert abs(float(line.split("\t")[2].split()[1]) - row[answer]) < 1e-3

    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio")
    bad = predict(output_dir, paths[0], tmp_path / "empty.wav", tmp_path / "text.wav")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert len(bad.stdout.strip().splitlines()) == 1  # the good file is still answered
    for expected in ("empty.wav: the file is empty", "text.wav: not a readable"):
        assert expected in bad.stderr
    missing = predict(tmp_path / "no-model", paths[0])
    assert missing.returncode == 1 and "make example-spoken_digits" in missing.stderr


def test_no_answer_on_silence_and_not_a_digit_on_noise(trained, tmp_path):
    """The issue's cases: silence, 3 samples, a whisper of noise, minutes of sound: no speech found (on standard
    error, exit status 1); white noise, a 440 Hz tone, pink noise: "not a digit" (at least two of the three
    from this small model), never a digit said with confidence by default."""
    _, output_dir = trained
    rng = np.random.default_rng(5)
    files = {
        "silence.wav": np.zeros(RATE),
        "three.wav": np.full(3, 0.5),
        "whisper.wav": 0.0003 * rng.normal(size=RATE),
        "minutes.wav": np.tile(digit_sound(7, rng), 200),
        "noise.wav": 0.3 * rng.normal(size=RATE // 2),  # (as long as the longest of these test "digits")
        "tone.wav": tone(440, 0.5),
        "pink.wav": nonspeech.non_speech(1, ("pink noise",), seed=9)[0][: RATE // 2],
    }
    for name, samples in files.items():
        (tmp_path / name).write_bytes(wav_bytes(samples))
    result = predict(output_dir, *(tmp_path / name for name in files))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for name, reason in (
        ("silence.wav", "no speech found: silence or near silence (no sound at all)"),
        ("three.wav", "no speech found: 0.000 s of sound"),
        ("whisper.wav", "no speech found: silence or near silence (its loudest sample is -"),
        ("minutes.wav", "44.2 s of sound, longer than any recording the model heard (0.45 s at most)"),
    ):
        assert f"{name}: {reason}" in result.stderr, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[0].rsplit("/", 1)[-1] for line in lines] == ["noise.wav", "tone.wav", "pink.wav"]
    assert sum("\tnot a digit\t" in line for line in lines) >= 2, lines


def test_a_model_folder_from_before_the_rejection_is_refused(trained, tmp_path):
    _, output_dir = trained
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / fsdd.RECOGNITION_FILE).write_text(json.dumps({"threshold": 0.5, "shortest_s": 0.1, "longest_s": 2}))
    ten = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])  # ten answers, as the old models had
    ten.save(folder / "model.keras")
    with pytest.raises(SystemExit, match="has no 'not a digit' answer .* train again with: make example-spoken"):
        predict_script.main([str(tmp_path / "any.wav"), "--model-dir", str(folder)])
    shutil.copy(output_dir / "model.keras", folder / "model.keras")
    (folder / fsdd.RECOGNITION_FILE).write_text('{"threshold": 0.')
    with pytest.raises(SavedModelError, match="recognition.json is damaged"):
        predict_script.main([str(tmp_path / "any.wav"), "--model-dir", str(folder)])


def test_rejection_rule_and_threshold():
    probabilities = np.array(
        [[0.9, 0.05] + [0] * 8 + [0.05], [0.3, 0.2] + [0] * 8 + [0.5], [0.4, 0.35] + [0] * 8 + [0.25]]
    )
    assert audio.decide(probabilities, 0.45, 10).tolist() == [0, 10, 10]  # the 11th class wins; evidence too weak
    assert audio.decide(probabilities, 0.3, 10).tolist() == [0, 10, 0]
    confident = np.tile(probabilities[:1], (100, 1))
    assert train.rejection_threshold(confident) == 0.5  # never above 0.5
    spread = np.concatenate([confident, np.tile([[0.2] + [0.0] * 9 + [0.8]], (3, 1))])
    assert train.rejection_threshold(spread) == pytest.approx(0.2)  # 1 % of validation digits may fall below


# --- the real archive ---


def test_real_archive_has_3000_recordings_of_6_speakers(shared_data, tmp_path):
    archive = shared_data / fsdd.ARCHIVE
    if not archive.exists():
        pytest.skip(f"real-data test: {archive} is absent (see data/README.md)")
    (tmp_path / fsdd.ARCHIVE).symlink_to(archive)
    recordings = fsdd.load_recordings(tmp_path, download=False)
    assert len(recordings) == fsdd.RECORDINGS_PER_RELEASE
    counts = {}
    for recording in recordings:
        counts[recording.speaker, recording.digit] = counts.get((recording.speaker, recording.digit), 0) + 1
    assert sorted({speaker for speaker, _ in counts}) == list(fsdd.SPEAKERS)
    assert set(counts.values()) == {50} and len(counts) == 60
    train_side, test = fsdd.official_split(recordings)
    assert (len(train_side), len(test)) == (2700, 300)


def test_leaving_each_speaker_out_runs_six_folds_and_keeps_the_other_options(data_dir, tmp_path):
    assert train.without_option(
        ["--quick", "--test-speaker", "all", "--test-speaker=theo", "--epochs", "1"], "--test-speaker"
    ) == [
        "--quick",
        "--epochs",
        "1",
    ]
    options = [
        "--quick",
        "--epochs",
        "1",
        "--units",
        "8",
        "--data-dir",
        str(data_dir),
        "--output-dir",
        str(tmp_path / "x"),
    ]
    records = train.main([*options, "--test-speaker", "all"])
    assert list(records) == list(fsdd.SPEAKERS)
    for speaker, record in records.items():
        assert record["data"]["test_speaker"] == speaker and record["data"]["counts"]["test"] == 10 * 12
        assert record["config"]["epochs"] == 1 and record["config"]["units"] == 8
        assert record["config"]["output_dir"] == str(tmp_path / "x" / f"speaker-{speaker}")
    summary = json.loads((tmp_path / "x" / "run.json").read_text())  # the six folds' record, for the results table
    accuracies = [record["metrics"]["accuracy"] for record in records.values()]
    assert summary["example"] == "spoken_digits-speaker-all" and "--test-speaker all" in summary["command"]
    assert summary["metrics"]["accuracy"] == pytest.approx(np.mean(accuracies))
    assert summary["results"][0]["model"] == pytest.approx(np.mean(accuracies))
    assert summary["metrics"]["accuracy_by_speaker"] == {s: r["metrics"]["accuracy"] for s, r in records.items()}
    # run again (as after an interruption): the finished folds are not trained again
    again = train.main([*options, "--test-speaker", "all"])
    assert {s: r["started_at"] for s, r in again.items()} == {s: r["started_at"] for s, r in records.items()}


def test_leave_one_speaker_out_never_trains_or_validates_on_the_held_out_speaker(data_dir):
    recordings = fsdd.load_recordings(data_dir)
    for speaker in fsdd.SPEAKERS:
        train_side, test = fsdd.speaker_split(recordings, speaker)
        fitted, validation = train.split_validation(train_side)
        assert {r.speaker for r in test} == {speaker}
        assert speaker not in {r.speaker for r in fitted} | {r.speaker for r in validation}
        assert len(fitted) + len(validation) + len(test) == len(recordings)


def batches_of(dataset):
    return [(np.asarray(x), np.asarray(y)) for x, y in dataset]


def test_training_audio_is_augmented_anew_each_epoch_and_validation_never():
    """On the pipeline train.py gives model.fit: two passes over the training dataset differ (other speeds,
    other noise, other batches) but keep every label; a new pipeline with the same seed repeats them; the
    validation dataset holds exactly the recorded samples, the same on every pass."""
    rng = np.random.default_rng(3)
    waves = [digit_sound(digit % 10, rng).astype("float32") for digit in range(40)]
    labels = np.arange(40) % 10
    args = train.parse_args(["--speed", "0.15", "--noise-snr", "10", "--batch-size", "8", "--seed", "4"])
    training, validation = train.datasets(waves, labels, waves, labels, args)
    first, second = batches_of(training), batches_of(training)
    assert sorted(np.concatenate([y for _, y in first])) == sorted(labels)
    assert sorted(np.concatenate([y for _, y in second])) == sorted(labels)
    lengths = lambda passed: sorted(int(np.count_nonzero(row)) for x, _ in passed for row in x)  # noqa: E731
    assert lengths(first) != lengths(second) != sorted(len(w) for w in waves)  # speeds differ
    again, _ = train.datasets(waves, labels, waves, labels, args)
    for (x1, y1), (x2, y2) in zip(first, batches_of(again), strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    for _ in range(2):
        seen = {}
        for x, y in batches_of(validation):
            for row, label in zip(x, y, strict=True):
                seen[tuple(row[: np.flatnonzero(row)[-1] + 1])] = label
        assert seen == {tuple(w): label for w, label in zip(waves, labels, strict=True)}


def test_speed_perturbation_moves_pitch_and_length_together():
    fast = augment.speed_perturb(tone(1000, 1.0).astype("float32"), 1.2)
    assert len(fast) == pytest.approx(RATE / 1.2, abs=1) and dominant_hz(fast) == pytest.approx(1200, abs=3)
    assert augment.speed_perturb(tone(1000, 0.1), 1.0).tolist() == tone(1000, 0.1).astype("float32").tolist()
    noisy = augment.add_noise(tone(1000, 1.0), 10.0, np.random.default_rng(0))
    snr = 10 * np.log10(np.mean(tone(1000, 1.0) ** 2) / np.mean((noisy - tone(1000, 1.0)) ** 2))
    assert snr == pytest.approx(10.0, abs=0.3)


def test_spec_augment_blanks_bands_and_spans_only_while_training():
    frames = np.random.default_rng(0).normal(size=(16, 30, 20)).astype("float32") + 5.0  # no zeros of its own
    mask = np.zeros((16, 30), dtype=bool)
    mask[:, :12] = True  # 12 real frames, the rest padding
    layer = audio.MaskBands(masks=2, band_width=6, span_frames=4, seed=1)
    np.testing.assert_array_equal(np.asarray(layer(frames, training=False, mask=mask)), frames)
    masked = np.asarray(layer(frames, training=True, mask=mask))
    blank = masked == 0
    assert blank.any() and np.array_equal(masked[~blank], frames[~blank])
    blank_bands = blank.all(axis=1)  # (recordings, mels): a whole band blanked
    assert 0 < blank_bands.sum(axis=1).max() <= 2 * 6
    blank_frames = blank.all(axis=2)  # (recordings, frames): a whole frame blanked
    assert blank_frames.sum(axis=1).max() <= 2 * 4 and not blank_frames[:, 12:].any()  # spans among real frames
    assert not np.array_equal(masked, np.asarray(layer(frames, training=True, mask=mask)))  # new draws per call


@pytest.mark.parametrize(
    "options,message",
    [(["--warp", "0.1"], "--warp stretches mel bands: use it with --cepstra 0"), (["--cepstra", "41"], "more than")],
)
def test_options_that_do_not_fit_the_features_are_refused(options, message, capsys):
    with pytest.raises(SystemExit):
        train.parse_args(options)
    assert message in capsys.readouterr().err
    assert train.parse_args(["--warp", "0.1", "--cepstra", "0"]).warp == 0.1


def test_frequency_warping_only_while_training():
    frames = np.random.default_rng(0).normal(size=(2, 7, 20)).astype("float32")
    layer = audio.WarpFrequencies(0.2, seed=1)
    np.testing.assert_array_equal(np.asarray(layer(frames, training=False)), frames)
    warped = np.asarray(layer(frames, training=True))
    assert warped.shape == frames.shape and not np.allclose(warped, frames)
    assert np.asarray(audio.WarpFrequencies(0.0)(frames, training=True)).tolist() == frames.tolist()


@pytest.mark.parametrize("mels, low_hz", [(40, 20.0), (20, 300.0)])
def test_the_keras_ops_features_are_tensorflow_signals_numbers(mels, low_hz):
    """The filter bank, the cosine transform and the STFT written with NumPy and keras.ops (so that every backend
    runs them) give what tf.signal gave, which trained the recorded models."""
    import tensorflow as tf

    expected = tf.signal.linear_to_mel_weight_matrix(mels, audio.FRAME_LENGTH // 2 + 1, RATE, low_hz, RATE / 2)
    filters = audio.mel_filter_bank(mels, audio.FRAME_LENGTH // 2 + 1, RATE, low_hz, RATE / 2)
    np.testing.assert_allclose(filters, expected, atol=1e-5)  # tf.signal works in float32, NumPy in float64
    log_mels = np.random.default_rng(0).normal(size=(2, 5, mels)).astype("float32")
    np.testing.assert_allclose(
        log_mels @ audio.mfcc_matrix(mels), tf.signal.mfccs_from_log_mel_spectrograms(log_mels), atol=1e-5
    )
    layer = audio.LogMelFrames(RATE, mels, low_hz)
    waves = audio.pad_batch([tone(440, 0.3), tone(1200, 0.5)])
    spectrum = tf.signal.stft(waves, audio.FRAME_LENGTH, audio.FRAME_STEP, window_fn=tf.signal.hann_window)
    energies = tf.tensordot(tf.square(tf.abs(spectrum)), expected, 1)
    np.testing.assert_allclose(np.asarray(layer.log_mel(waves)), tf.math.log(energies + 1e-6), atol=1e-4)


@pytest.mark.parametrize("factor", [0.8, 0.93, 1.0, 1.07, 1.2])
def test_frequency_warping_resamples_as_image_resizing_did(factor):
    frames = np.random.default_rng(1).normal(size=(2, 7, 40)).astype("float32")
    import tensorflow as tf

    warped_mels = round(40 * factor)
    image = tf.image.resize(frames[..., None], (7, warped_mels))[..., 0].numpy()
    top = np.repeat(image[:, :, -1:], max(40 - warped_mels, 0), axis=2)
    expected = np.concatenate([image, top], axis=2)[:, :, :40]
    np.testing.assert_allclose(frames @ np.asarray(audio.warp_matrix(40, factor)), expected, atol=1e-5)


def test_recording_mean_is_taken_over_real_frames_only():
    layer = audio.LogMelFrames(RATE, 20)
    layer.build((None, None))
    short = tone(440, 0.2)
    alone = np.asarray(layer(audio.pad_batch([short])))[0]
    np.testing.assert_allclose(alone.mean(axis=0), 0, atol=1e-4)  # statistics 0/1: only the recording's mean is off
    padded = np.asarray(layer(audio.pad_batch([short, tone(440, 1.0)])))[0][: len(alone)]
    np.testing.assert_allclose(padded, alone, atol=1e-4)


def test_silence_around_the_word_is_trimmed():
    word = tone(440, 0.3, np.random.default_rng(0)).astype("float32")
    padded = np.concatenate([np.zeros(8000), word, np.zeros(16000)])
    trimmed = audio.trim_silence(padded)
    assert len(word) - audio.FRAME_LENGTH <= len(trimmed) <= len(word) + 2 * audio.FRAME_LENGTH
    assert np.abs(trimmed).max() == pytest.approx(np.abs(word).max())
    np.testing.assert_array_equal(audio.trim_silence(np.zeros(4000)), np.zeros(4000))
    np.testing.assert_array_equal(audio.trim_silence(word[:100]), word[:100])
