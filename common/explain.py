"""Which words made a text classifier decide, and whether that explanation is true.

Chapter: 004 §9.5 (how to explain an RNN's predictions).

Two ways to give every word of a text a score, "how much did this word push
the output up (or down)?", for the saved end-to-end models that read raw text
(`common.text.raw_text_model`: IMDB, Reuters):

- Integrated gradients (Sundararajan et al. 2017): walk in a straight line
  from a baseline (every word's embedding replaced by the padding token's,
  the mask kept, so the network still reads as many steps) to the text's own
  embeddings, average the gradient of the output along the way, and multiply
  by the distance walked. The scores then add up to f(text) - f(baseline)
  ("completeness"), up to the error of the Riemann sum, which is reported.
- Occlusion: delete each word in turn and measure how far the output falls.
  Every one-word-shorter text goes through the network in one batch.

An explanation can look convincing and still be false. `deletion_drops`
measures it: delete the k words an explanation ranks highest and see how far
the predicted class's probability falls, against deleting k random words.
"""

import html
import inspect
import re
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf  # the text's words: strings are TensorFlow's on every backend
from keras import ops

from common import cli
from common.gradients import value_and_gradients
from common.models import MaskedGlobalMaxPooling1D  # noqa: F401  (registers layers the saved models use)
from common.plots import plt
from common.text import clean_text  # noqa: F401  (registers the cleaning inside the saved models)

PAD, UNKNOWN = 0, 1  # TextVectorization's ids for padding and out-of-vocabulary words


@dataclass
class Explanation:
    """One explained text: the words the model read and how much each pushed the explained output."""

    words: list  # after the model's own cleaning and truncation: what it actually read
    known: np.ndarray  # per word: in the vocabulary (an unknown word is read as [UNK])
    scores: np.ndarray  # per word: how much it raised the output (negative: lowered it)
    probability: float  # the explained output on the whole text
    output_name: str  # e.g. "positive" or a topic
    method: str  # "integrated gradients" or "occlusion"
    seconds: float
    baseline_probability: float | None = None  # integrated gradients: the output on the baseline

    @property
    def completeness_error(self):
        """Integrated gradients: |sum of scores - (f(text) - f(baseline))|; None for occlusion."""
        if self.baseline_probability is None:
            return None
        return abs(float(self.scores.sum()) - (self.probability - self.baseline_probability))

    def top_words(self, count, sign=1):
        """The `count` words with the largest scores (sign=1) or the most negative ones (sign=-1)."""
        order = np.argsort(-sign * self.scores, kind="stable")[:count]
        return [(self.words[i], float(self.scores[i])) for i in order if sign * self.scores[i] > 0]


def _chain_after(model, layer_name):
    """The layers `model` applies after `layer_name`, in order; ValueError unless they form a single path.

    The example classifiers are chains (embedding -> dropout -> RNN -> pooling -> output), so running
    these layers on embedding vectors reproduces the model from that point on.
    """
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"model {model.name!r} has no layer named {layer_name!r} to explain from")
    chain = model.layers[names.index(layer_name) + 1 :]
    previous = model.get_layer(layer_name)
    for layer in chain:
        # A loaded model also lists the mask among a layer's inputs (after the tensor it transforms).
        if keras.tree.flatten(layer.input)[0] is not previous.output:
            raise ValueError(f"model {model.name!r} is not a single chain of layers after {layer_name!r}")
        previous = layer
    return [(layer, "mask" in inspect.signature(layer.call).parameters) for layer in chain]


def _run_chain(chain, x, mask):
    """Apply a chain of layers to `x`, handing each the mask the previous one produced (as Keras would)."""
    for layer, takes_mask in chain:
        output = layer(x, mask=mask) if takes_mask else layer(x)
        mask = layer.compute_mask(x, mask)
        x = output
    return x


def remove_positions(ids, positions):
    """Token ids without those at `positions`; a text left with nothing reads as one unknown word.

    (The network needs at least one real step: with none, max pooling over time has nothing to take.)
    """
    kept = np.delete(np.asarray(ids), list(positions))
    return kept if len(kept) else np.array([UNKNOWN], dtype=np.asarray(ids).dtype)


class TextExplainer:
    """Explains the outputs of a saved raw-text classifier (vectorize -> truncate -> token-id model) word by
    word. The token-id model may be one network or an average of several (Reuters' ensemble); each network
    must start with a layer named "embedding".
    """

    def __init__(self, end_to_end, output_names, batch_size=128):
        self.vectorizer = end_to_end.get_layer("vectorize")
        self.max_length = end_to_end.get_layer("truncate").max_length
        self.classifier = next(layer for layer in end_to_end.layers if isinstance(layer, keras.Model))
        members = [layer for layer in self.classifier.layers if isinstance(layer, keras.Model)]
        if members and not isinstance(self.classifier.layers[-1], keras.layers.Average):
            raise ValueError(f"{self.classifier.name!r} combines several networks, but not by averaging them")
        networks = members or [self.classifier]
        try:
            self.networks = [
                (network.get_layer("embedding"), _chain_after(network, "embedding")) for network in networks
            ]
            self.not_a_chain = None
        except ValueError:  # e.g. Reuters --tf-idf: the words also reach the output by a second path
            self.networks = []
            self.not_a_chain = f"{self.classifier.name!r} is not an embedding followed by a single chain of layers"
        self.output_names = list(output_names)
        self.batch_size = batch_size
        config = self.vectorizer.get_config()
        self.standardize = config["standardize"]
        if not (self.standardize is None or callable(self.standardize)) or config["split"] != "whitespace":
            raise ValueError(
                "only vectorizers with a custom (or no) standardisation and whitespace split are supported"
            )
        self._predict = lambda ids: self.classifier(ids, training=False)
        self._path_outputs = self._path_outputs_and_gradients
        if keras.backend.backend() == "tensorflow":  # compiled once; shapes vary from text to text, left open
            self._predict = tf.function(self._predict, reduce_retracing=True)
            self._path_outputs = tf.function(self._path_outputs, reduce_retracing=True)

    # --- What the model reads ---

    def read(self, text):
        """(words, ids): the words of `text` after the model's cleaning, cut to its maximum length, and their
        ids (1 for a word outside the vocabulary)."""
        cleaned = tf.constant([text])
        if self.standardize is not None:
            cleaned = self.standardize(cleaned)
        words = [word.decode("utf-8") for word in tf.strings.split(cleaned)[0].numpy()[: self.max_length]]
        ids = ops.convert_to_numpy(self.vectorizer(tf.constant([text])))[0, : len(words)].astype("int32")
        return words, ids

    def check_output(self, output):
        """ValueError for an output index the model does not have."""
        if not 0 <= output < len(self.output_names):
            raise ValueError(f"output {output} does not exist: the model has {len(self.output_names)} outputs")

    def probabilities(self, sequences, output):
        """The model's output `output` for each token-id sequence (any lengths; padded per batch)."""
        results = []
        for start in range(0, len(sequences), self.batch_size):
            batch = keras.utils.pad_sequences(sequences[start : start + self.batch_size], padding="post")
            batch = ops.convert_to_tensor(batch, dtype="int32")
            results.append(ops.convert_to_numpy(self._predict(batch))[:, output])
        return np.concatenate(results).astype("float64")

    # --- The two methods ---

    def check_method(self, method):
        """ValueError for a method that does not exist, or that cannot explain this model."""
        if method not in ("integrated_gradients", "occlusion"):
            raise ValueError(f"unknown method {method!r}: integrated_gradients or occlusion")
        if method == "integrated_gradients" and self.not_a_chain:  # the path would leave the other inputs out
            raise ValueError(
                f"integrated gradients walk the embeddings only; {self.not_a_chain}: use --method occlusion"
            )

    def explain(self, text, output=0, method="integrated_gradients", steps=64):
        """An `Explanation` of output `output` for `text`; ValueError when the model knows none of its words."""
        self.check_output(output)
        words, ids = self.read(text)
        if not np.any(ids > UNKNOWN):
            what = "has no words" if not words else "has no word the model knows"
            raise ValueError(f"nothing to explain: the text {what} (after cleaning and truncation)")
        self.check_method(method)
        started = time.perf_counter()
        if method == "integrated_gradients":
            scores, probability, baseline = self.integrated_gradients(ids, output, steps)
        else:
            scores, probability, baseline = (*self.occlusion(ids, output), None)
        return Explanation(
            words=words,
            known=ids > UNKNOWN,
            scores=scores,
            probability=probability,
            output_name=self.output_names[output],
            method=method.replace("_", " "),
            seconds=time.perf_counter() - started,
            baseline_probability=baseline,
        )

    def _path_outputs_and_gradients(self, ids, alphas, output):
        """Outputs at each point alpha of the straight path baseline -> text, and the integrated gradients.

        ids: (words,) int32; alphas: (points,) float32. Returns (attributions (words,), outputs (points,)).
        The attributions average the gradients over all points, so the caller passes only the Riemann points.
        """
        mask = ops.broadcast_to((ids > PAD)[None, :], (ops.shape(alphas)[0], ops.shape(ids)[0]))  # at every point
        paths, differences = [], []
        for embedding, _ in self.networks:
            vectors = ops.take(embedding.embeddings, ids, axis=0)  # (words, dim)
            differences.append(vectors - embedding.embeddings[PAD])  # the baseline is the padding vector
            paths.append(embedding.embeddings[PAD] + alphas[:, None, None] * differences[-1][None])  # (points, ...)

        def mean_output(*paths):
            """(sum over the points, the points' outputs): an ensemble's output is its networks' mean."""
            outputs = [
                _run_chain(chain, path, mask)[:, output] for (_, chain), path in zip(self.networks, paths, strict=True)
            ]
            mean = sum(outputs) / len(outputs)
            return ops.sum(mean), mean  # each point's output depends on its own path point only

        (_, outputs), gradients = value_and_gradients(mean_output, paths)
        attributions = sum(
            ops.sum(difference * ops.mean(gradient, axis=0), axis=-1)
            for difference, gradient in zip(differences, gradients, strict=True)
        )
        return attributions, outputs

    def integrated_gradients(self, ids, output, steps=64):
        """(scores per word, f(text), f(baseline)), by the midpoint rule with `steps` points on the path.

        The sum can miss f(text) - f(baseline) by more than its discretisation error: along the path the
        model's output can jump (measured on an IMDB review: a fall of 0.047 within an interval of alpha
        narrower than 5e-7, as the LSTM's state over 600 words switches from one course to another). No
        number of steps resolves such a jump in float32, so the remaining error is reported
        (`Explanation.completeness_error`), not hidden.
        """
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        ids = ops.convert_to_tensor(ids, dtype="int32")
        midpoints = ops.convert_to_tensor((np.arange(steps) + 0.5) / steps, dtype="float32")
        attributions, _ = self._path_outputs(ids, midpoints, output)
        _, ends = self._path_outputs(ids, ops.convert_to_tensor([0.0, 1.0]), output)
        ends = ops.convert_to_numpy(ends)
        return ops.convert_to_numpy(attributions).astype("float64"), float(ends[1]), float(ends[0])

    def occlusion(self, ids, output):
        """(scores per word, f(text)): a word's score is f(text) - f(text without that word)."""
        shorter = [remove_positions(ids, [position]) for position in range(len(ids))]
        probability = self.probabilities([ids], output)[0]
        return probability - self.probabilities(shorter, output), float(probability)

    # --- Is it true? ---

    def deletion_drops(self, ids, ranking, counts, output, sign=1):
        """How far sign * output falls when the first k positions of `ranking` are deleted, for k in `counts`.

        `sign` -1 measures the fall of 1 - output (a binary model that predicted the negative class).
        """
        before = self.probabilities([ids], output)[0]
        after = self.probabilities([remove_positions(ids, ranking[:count]) for count in counts], output)
        return sign * (before - after)


def faithfulness(explainer, texts, methods, counts=(1, 5, 10, 20), random_draws=3, output=0, steps=64, seed=0):
    """Deletion test of a binary classifier's explanations on `texts` (chapter 004 §9.5).

    For each text: the predicted class (output >= 0.5 or not), each method's ranking of words by how much
    they support that class, and the fall of that class's probability when the top k words are deleted;
    the same for `random_draws` random orders. Returns {"methods": {method: {"drops": (texts, counts),
    "seconds": (texts,)}}, "random": (texts, counts), "completeness": (texts, 2)}, the last holding integrated
    gradients' completeness error and |f(text) - f(baseline)|; texts the model cannot read (no known word) are
    skipped.
    """
    rng = np.random.default_rng(seed)
    drops = {method: [] for method in methods}
    seconds = {method: [] for method in methods}
    random_drops, completeness = [], []
    progress = keras.utils.Progbar(len(texts), unit_name="text")
    for number, text in enumerate(texts, start=1):
        progress.update(number)
        _, ids = explainer.read(text)
        if not np.any(ids > UNKNOWN):
            continue
        sign = 1 if explainer.probabilities([ids], output)[0] >= 0.5 else -1  # explain the predicted class
        for method in methods:
            explanation = explainer.explain(text, output, method, steps)
            ranking = np.argsort(-sign * explanation.scores, kind="stable")
            drops[method].append(explainer.deletion_drops(ids, ranking, counts, output, sign))
            seconds[method].append(explanation.seconds)
            if explanation.baseline_probability is not None:
                change = abs(explanation.probability - explanation.baseline_probability)
                completeness.append((explanation.completeness_error, change))
        orders = [rng.permutation(len(ids)) for _ in range(random_draws)]
        random_drops.append(
            np.mean([explainer.deletion_drops(ids, order, counts, output, sign) for order in orders], axis=0)
        )
    return {
        "methods": {
            method: {"drops": np.array(drops[method]), "seconds": np.array(seconds[method])} for method in methods
        },
        "random": np.array(random_drops),
        "completeness": np.array(completeness).reshape(-1, 2),
    }


# --- Showing an explanation ---


def _rgba(score, largest):
    """Green for a word that raised the output, red for one that lowered it; the larger |score|, the stronger."""
    strength = 0.0 if largest == 0 else min(abs(score) / largest, 1.0)
    red, green = (40, 170) if score > 0 else (220, 50)
    return (red, green, 60, 0.08 + 0.82 * strength if strength else 0.0)


def _css_colour(score, largest):
    red, green, blue, alpha = _rgba(score, largest)
    return f"rgba({red}, {green}, {blue}, {alpha:.2f})"


def explanation_html(explanation, text_title):
    """A self-contained HTML page: the probability at the top, each word on a background coloured by its
    score, a legend. Every piece of text is escaped, so a review containing markup is shown, never run."""
    largest = float(np.max(np.abs(explanation.scores), initial=0.0))
    spans = []
    for word, known, score in zip(explanation.words, explanation.known, explanation.scores, strict=True):
        note = "" if known else " (not in the vocabulary: read as [UNK])"
        spans.append(
            f'<span style="background:{_css_colour(score, largest)}" title="{score:+.4f}{note}"'
            f"{'' if known else ' class=unknown'}>{html.escape(word)}</span>"
        )
    completeness = ""
    if explanation.baseline_probability is not None:
        completeness = (
            f"<p>Baseline (every word replaced by padding): {explanation.baseline_probability:.3f}. The scores add up "
            f"to {explanation.scores.sum():+.4f}; f(text) - f(baseline) = "
            f"{explanation.probability - explanation.baseline_probability:+.4f}.</p>"
        )
    name = html.escape(explanation.output_name)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(text_title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 52em; margin: 2em auto; line-height: 2; }}
span {{ padding: 0.1em 0.15em; border-radius: 0.2em; }}
.unknown {{ text-decoration: underline dotted; }}
.legend span {{ margin-right: 1em; }}
</style></head><body>
<h1>P({name}) = {explanation.probability:.3f}</h1>
<p>{html.escape(explanation.method)}, {explanation.seconds:.2f} s. Hover over a word for its score.</p>
<p class="legend"><span style="background:{_css_colour(1, 1)}">raised P({name})</span>
<span style="background:{_css_colour(-1, 1)}">lowered it</span>
<span class="unknown">not in the vocabulary</span> (stronger colour: larger score; largest |score| {largest:.4f})</p>
{completeness}
<p>{" ".join(spans)}</p>
<p><small>What the model read: its own cleaning (lower case, no punctuation or markup), cut to its first
words. Scores belong to words, one at a time; how words act together is not shown.</small></p>
</body></html>
"""


def plot_explanation(explanation, path, width_chars=110, max_words=400):
    """The same picture as the HTML page, as a PNG (for a README): words wrapped in lines, coloured by score."""
    words, scores = explanation.words[:max_words], explanation.scores[:max_words]
    largest = float(np.max(np.abs(explanation.scores), initial=0.0))
    lines, line, used = [], [], 0
    for word, score in zip(words, scores, strict=True):
        if used + len(word) + 1 > width_chars and line:
            lines.append(line)
            line, used = [], 0
        line.append((word, score, used))
        used += len(word) + 1
    lines.append(line)
    figure = plt.figure(figsize=(width_chars * 0.085, 0.9 + 0.25 * len(lines)))
    figure.text(
        0.01,
        1 - 0.3 / figure.get_figheight(),
        f"P({explanation.output_name}) = {explanation.probability:.3f}   ({explanation.method}; "
        "green raised it, red lowered it)",
        fontsize=10,
        weight="bold",
        va="top",
    )
    for row, line in enumerate(lines):
        y = 1 - (0.75 + 0.25 * row) / figure.get_figheight()
        for word, score, column in line:
            red, green, blue, alpha = _rgba(score, largest)
            figure.text(
                0.01 + column / width_chars * 0.98,
                y,
                word,
                family="monospace",
                fontsize=9,
                va="top",
                bbox={"facecolor": (red / 255, green / 255, blue / 255, alpha), "edgecolor": "none", "pad": 1.0},
            )
    if len(explanation.words) > max_words:
        figure.text(0.01, 0.01, f"(first {max_words} of {len(explanation.words)} words)", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def page_name(number, text, words=6):
    """A file name for an input's page: its number and first words ("3-a-wonderful-film")."""
    slug = "-".join(re.findall(r"\w+", text.lower())[:words])[:60]
    return f"{number}-{slug}" if slug else str(number)


def write_explanation(explanation, folder, name, title):
    """`folder/name.html` and `folder/name.png`; returns the HTML path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"{name}.html"
    page.write_text(explanation_html(explanation, title), encoding="utf-8")
    plot_explanation(explanation, folder / f"{name}.png")
    return page


def print_top_words(explanation, count=8):
    """The words that raised and lowered the output most, with their scores."""
    for sign, heading in ((1, "raised"), (-1, "lowered")):
        words = explanation.top_words(count, sign)
        listed = ", ".join(f"{word} {score:+.3f}" for word, score in words) or "(none)"
        print(f"    {heading} P({explanation.output_name}): {listed}")


def add_explain_args(parser, default_folder):
    """predict.py's --explain (a switch: a folder option would swallow the text that follows it), --explain-dir,
    --method and --steps."""
    parser.add_argument(
        "--explain",
        action="store_true",
        help="explain each prediction word by word: print the words that weighed most and write an HTML page and "
        "a PNG per input into --explain-dir",
    )
    parser.add_argument(
        "--explain-dir", type=Path, default=default_folder, metavar="FOLDER", help="where --explain writes its pages"
    )
    parser.add_argument(
        "--method",
        choices=("integrated_gradients", "occlusion"),
        default="integrated_gradients",
        help="how --explain scores words (default: %(default)s)",
    )
    parser.add_argument(
        "--steps",
        type=cli.positive_int,
        default=64,
        help="integrated gradients: points on the path (default: %(default)s)",
    )


def explain_to_folder(explainer, text, output, folder, name, method="integrated_gradients", steps=64):
    """Explain one input, print its strongest words and write its page and picture; return the Explanation."""
    explanation = explainer.explain(text, output, method, steps)
    print_top_words(explanation)
    page = write_explanation(explanation, folder, name, title=" ".join(text.split()[:12]))
    detail = ""
    if explanation.baseline_probability is not None:
        detail = f"; the scores add up to within {explanation.completeness_error:.4f} of f(text) - f(baseline)"
    print(f"    wrote {page} and {page.with_suffix('.png').name} ({explanation.seconds:.1f} s{detail})")
    return explanation
