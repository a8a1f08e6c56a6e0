"""The network: a window of raw values -> the next `horizon` raw values (chapter 000 §4, 003 §4)."""

import keras
from keras import layers

from common.models import output_head, recurrent_stack

OPTIMIZERS = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}  # rmsprop is chapter 000's


def build_model(
    window,
    horizon,
    mean,
    variance,
    *,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    activation="tanh",
    optimizer="adam",
    learning_rate=2e-3,
    clipnorm=None,
):
    """Raw values (batch, window, 1) -> the next `horizon` raw values (batch, horizon); compiled.

    normalise ((v - mean) / sqrt(variance)) -> `num_layers` recurrent layers of `units` -> Dense(horizon) ->
    denormalise. Chapter 000 §4 / 003 §4: recurrent layers read the window, a Dense layer gives one output per
    future step ("direct" multi-step). The training segment's mean and variance live in the model, so the
    saved model takes raw values and returns raw values.
    """
    values = keras.Input(shape=(window, 1), name="values")
    x = layers.Normalization(axis=None, mean=mean, variance=variance, name="normalise")(values)
    x = recurrent_stack(
        x,
        cell,
        units,
        num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        activation=activation,  # relu (chapter 003) gives up the cuDNN kernel
    )
    x = output_head(x, "regression", horizon)  # (batch, horizon): one output per future step
    forecast = layers.Normalization(
        axis=None, mean=mean, variance=variance, invert=True, dtype="float32", name="denormalise"
    )(x)
    model = keras.Model(values, forecast, name=f"sine_{cell}")
    model.compile(
        optimizer=OPTIMIZERS[optimizer](learning_rate=learning_rate, clipnorm=clipnorm), loss="mse", metrics=["mae"]
    )
    return model
