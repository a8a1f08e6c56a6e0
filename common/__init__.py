"""Shared code for the RNN examples: models, data, training, plots, results.

Copy this folder with any one example folder and that example runs on its own.
"""

import os

# TensorFlow prints pages of C++ start-up notices (CUDA probing, CPU flags)
# before any of our output; hide them unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
