"""The network: the last trading days' returns, ranges and volume changes -> the next day's log return."""

import keras

from common.models import output_head, recurrent_stack
from common.training import adam


def build_model(
    window,
    features,
    *,
    return_mean=0.0,
    return_std=1.0,
    cell="gru",
    units=32,
    num_layers=1,
    bidirectional=False,
    dropout=0.1,
    recurrent_dropout=0.0,
    loss="huber",
    learning_rate=1e-3,
    clipnorm=1.0,
):
    """(batch, window, features) scaled days -> (batch, 1) the next day's log return; compiled.

    `num_layers` recurrent layers of `units` read the window; their last state feeds one linear output, turned
    back into a log return with the training days' mean and standard deviation (its sign is the forecast
    direction). Loss: "huber" (squared within one training standard deviation of the return, linear beyond, so
    that a crash such as October 1987's does not steer the fit) or "mse".
    """
    days = keras.Input((window, features), name="days")
    x = recurrent_stack(
        days, cell, units, num_layers, bidirectional=bidirectional, dropout=dropout, recurrent_dropout=recurrent_dropout
    )
    x = keras.layers.Dropout(dropout)(x)
    scaled = output_head(x, "regression", 1, name="scaled_return")
    log_return = keras.layers.Rescaling(return_std, return_mean, dtype="float32", name="log_return")(scaled)
    model = keras.Model(days, log_return, name=f"stocks_{cell}")
    model.compile(
        optimizer=adam(learning_rate, clipnorm),  # Adam's steps do not depend on the loss's scale
        loss=keras.losses.Huber(delta=return_std) if loss == "huber" else "mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    return model
