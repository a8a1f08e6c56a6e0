"""The network: the last days of weather -> the next days' maximum temperature, and whether it rains tomorrow."""

import keras

from common.models import output_head, recurrent_layer, recurrent_stack
from common.training import adam


def build_model(
    window,
    features,
    horizon=7,
    *,
    temperature_mean=0.0,
    temperature_std=1.0,
    cell="gru",
    units=32,
    num_layers=1,
    bidirectional=False,
    dropout=0.1,
    recurrent_dropout=0.0,
    rain_weight=1.0,
    from_today=None,
    decoder=False,
    learning_rate=2e-3,
    clipnorm=1.0,
):
    """(batch, window, features) scaled days -> {"temp_max": (batch, horizon) °C, "rain": (batch, 1) P(rain
    tomorrow)}; compiled.

    `num_layers` recurrent layers of `units` read the window; their last state feeds two heads: `horizon` outputs
    ("direct" multi-step: one per lead day; with `decoder`, a second recurrent layer reads that state once per
    lead day and writes the days in turn, its own state carrying them), turned back into °C with the training
    days' mean and standard deviation, and a sigmoid. Loss: mean absolute error in °C (what is reported) plus
    `rain_weight` x binary cross-entropy.
    """
    days = keras.Input((window, features), name="days")
    x = recurrent_stack(
        days, cell, units, num_layers, bidirectional=bidirectional, dropout=dropout, recurrent_dropout=recurrent_dropout
    )
    x = keras.layers.Dropout(dropout)(x)
    if decoder:
        steps = keras.layers.RepeatVector(horizon)(x)  # the summary of the window, once per lead day
        steps = recurrent_layer(cell, units, return_sequences=True, name="decoder")(steps)
        scaled = keras.layers.Reshape((horizon,), name="scaled_temp_max")(output_head(steps, "regression", 1, "day"))
    else:
        scaled = output_head(x, "regression", horizon, name="scaled_temp_max")
    if from_today is not None:  # the head writes the change from today's (scaled) value, feature `from_today`
        scaled = keras.ops.add(scaled, days[:, -1, from_today : from_today + 1])
    temp_max = keras.layers.Rescaling(temperature_std, temperature_mean, dtype="float32", name="temp_max")(scaled)
    rain = output_head(x, "binary", name="rain")
    model = keras.Model(days, {"temp_max": temp_max, "rain": rain}, name=f"weather_{cell}")
    model.compile(
        optimizer=adam(learning_rate, clipnorm),
        loss={"temp_max": "mae", "rain": "binary_crossentropy"},
        loss_weights={"temp_max": 1.0, "rain": rain_weight},
        metrics={"temp_max": ["mae"], "rain": ["accuracy"]},
    )
    return model
