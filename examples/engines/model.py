"""The network: the last cycles of an engine's sensors -> its remaining useful life in cycles."""

import keras

from common.models import output_head, recurrent_stack
from common.training import adam


@keras.saving.register_keras_serializable(package="rnn_examples")
class SensorOffsetNoise(keras.layers.Layer):
    """In training only, shifts each sensor of a window by one random amount, drawn once for the whole window
    (normal, `stddev`, in scaled units); at inference the identity.

    NASA's engines start from different, unknown levels of wear and manufacture, so where a sensor sits says
    less about an engine's wear than its curve does. Shifting whole windows makes a level the model leaned on
    unreliable in training and leaves the curves as they were (noise drawn for every cycle instead drowns them:
    measured in the README).
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev, self.seed = stddev, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        batch, _, features = keras.ops.shape(inputs)
        offsets = keras.random.normal((batch, 1, features), stddev=self.stddev, seed=self.seed_generator)
        return inputs + keras.ops.cast(offsets, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


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
    sensor_noise=0.0,
    seed=None,
    name=None,
):
    """(batch, window, features) scaled sensors -> (batch, 1) remaining useful life in cycles; compiled.

    In training only, `sensor_noise` shifts each window's sensors (SensorOffsetNoise: a standard deviation in
    scaled units, seeded with `seed`; 0: none). A convolution of `conv_filters` (0: none), each output reading
    `conv_kernel` neighbouring cycles -> `num_layers` (bidirectional) recurrent layers of `units` (the last
    returns its final state: (batch, units), or 2 x units read both ways) -> Dense(units, relu) -> one output, a
    fraction of `rul_cap` -> times `rul_cap`.
    Loss: mean squared error in cycles. With `weight_averaging` (a momentum; 0: off), validation and checkpoints
    use a moving average of the weights. `name`: the model's (an ensemble's members need their own).
    """
    inputs = keras.Input((window, features), name="cycles")
    x = inputs
    if sensor_noise:
        x = SensorOffsetNoise(sensor_noise, seed=seed, name="sensor_offsets")(x)
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
    model = keras.Model(inputs, rul, name=name or f"rul_{cell}")
    model.compile(
        optimizer=adam(learning_rate, clipnorm, weight_averaging),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    return model
