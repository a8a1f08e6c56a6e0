"""The network: the last cycles of an engine's sensors -> its remaining useful life in cycles."""

import keras

from common.models import output_head, recurrent_stack
from common.training import adam


def build_model(
    window,
    features,
    *,
    rul_cap=125,
    cell="gru",
    units=64,
    num_layers=2,
    bidirectional=False,
    dropout=0.2,
    recurrent_dropout=0.0,
    learning_rate=2e-3,
    clipnorm=1.0,
    weight_averaging=0.99,
    conv_filters=0,
    conv_kernel=5,
):
    """(batch, window, features) scaled sensors -> (batch, 1) remaining useful life in cycles; compiled.

    A convolution of `conv_filters` (0: none), each output reading `conv_kernel` neighbouring cycles ->
    `num_layers` (bidirectional) recurrent layers of `units` (the last returns its final state: (batch, units), or
    2 x units read both ways) -> Dense(units, relu) -> one output, a fraction of `rul_cap` -> times `rul_cap`.
    Loss: mean squared error in cycles. With `weight_averaging` (a momentum; 0: off), validation and checkpoints
    use a moving average of the weights.
    """
    inputs = keras.Input((window, features), name="cycles")
    x = inputs
    if conv_filters:  # local shapes of the sensor curves over a few cycles, wherever they sit in the window
        x = keras.layers.Conv1D(conv_filters, conv_kernel, padding="same", activation="relu", name="convolve")(x)
    x = recurrent_stack(
        x,
        cell,
        units,
        num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
    )
    x = keras.layers.Dense(units, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout)(x)
    # The head predicts a fraction of the cap (values near 1, as the initial weights suit); the model says cycles.
    rul = keras.layers.Rescaling(rul_cap, dtype="float32", name="in_cycles")(output_head(x, "regression", 1))
    model = keras.Model(inputs, rul, name=f"rul_{cell}")
    model.compile(
        optimizer=adam(learning_rate, clipnorm, weight_averaging),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    return model
