"""common.ensemble: members trained one after another from their own seeds, resumed inside the member an
interruption stopped, and averaged into one model."""

import keras
import numpy as np
import pytest
from test_training import InterruptAt, RecordEpochs, tiny_data, tiny_model, tiny_run

from common.ensemble import average_models, member_histories, member_seed, train_ensemble


def test_member_one_has_the_runs_own_seed():
    assert [member_seed(42, index) for index in (1, 2, 3)] == [42, 43, 44]


def test_average_models_is_the_mean_of_its_members_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    members = [tiny_model() for _ in range(3)]
    averaged = average_models(members)
    x, _ = tiny_data()
    expected = np.mean([member(x) for member in members], axis=0)
    np.testing.assert_allclose(averaged(x), expected, rtol=1e-6)
    averaged.save(tmp_path / "e.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "e.keras")(x), expected, rtol=1e-6)
    assert average_models(members[:1]) is members[0]
    with pytest.raises(ValueError, match="at least one"):
        average_models([])


def test_ensemble_resumes_inside_the_member_it_was_training(tmp_path, capsys):
    """Ctrl-C in member 2 of 3: member 1 is loaded, member 2 goes on, member 3 starts; one run.json."""
    x, y = tiny_data()
    trained, seeds = {}, {}

    def fit_member(run, interrupt_in=None):
        def fit_one(model, folder, seed):
            recorder = RecordEpochs()
            extra = [InterruptAt(2)] if folder == interrupt_in else []
            callbacks = [*run.callbacks(patience=50, folder=folder), recorder, *extra]
            model.fit(x, y, validation_split=0.25, epochs=4, verbose=0, callbacks=callbacks)
            trained[folder] = recorder.epochs
            seeds[folder] = seed

        return fit_one

    run = tiny_run(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        train_ensemble(run, 3, lambda index: tiny_model(), fit_member(run, interrupt_in="member-2"))
    assert (tmp_path / "member-1" / "model.keras").exists() and (tmp_path / "backup" / "member-2").exists()
    first_weights = keras.models.load_model(tmp_path / "member-1" / "model.keras").get_weights()

    trained.clear()
    seeds.clear()
    resumed = tiny_run(tmp_path)
    models = train_ensemble(resumed, 3, lambda index: tiny_model(), fit_member(resumed))
    assert trained == {"member-2": [2, 3], "member-3": [0, 1, 2, 3]}  # member 1 was not trained again
    assert seeds == {"member-2": 2, "member-3": 3}  # the run's seed is 1: members 1, 2, 3 have seeds 1, 2, 3
    assert "member-1: trained before the interruption" in capsys.readouterr().out
    for loaded, saved in zip(models[0].get_weights(), first_weights, strict=True):
        np.testing.assert_array_equal(loaded, saved)
    assert not np.allclose(models[1].get_weights()[0], models[2].get_weights()[0])  # seeds differ

    record = resumed.finish({"mse": 0.5}, extra={"members": member_histories(resumed, 3)})
    assert [member["epochs_run"] for member in record["members"]] == [4, 4, 4]
    assert record["epochs_run"] is record["best_epoch"] is None  # the run itself trained nothing outside them
    assert record["parameters"] == 3 * tiny_model().count_params()  # every member's weights, not the last one's
    assert not (tmp_path / "backup").exists()
    assert (tmp_path / "member-3" / "history.png").exists()

    new_run = tiny_run(tmp_path)  # a new run starts without the old members
    train_ensemble(new_run, 1, lambda index: tiny_model(), fit_member(new_run))
    assert [folder.name for folder in tmp_path.glob("member-*")] == ["member-1"]


def test_the_model_fit_returns_is_the_member(tmp_path):
    """fit may hand back another model for the trained one (Run.local_model's copy after data-parallel training)."""
    run, replacement = tiny_run(tmp_path), tiny_model()
    models = train_ensemble(run, 2, lambda index: tiny_model(), lambda model, folder, seed: replacement)
    assert models == [replacement, replacement]
