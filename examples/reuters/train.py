"""Multi-label topic classification of Reuters newswires (ModApte, 90 topics) with bidirectional LSTMs.

Chapter: 001 §4 (NLTK Reuters + Keras Tokenizer/pad_sequences + Embedding +
         SimpleRNN), done as the multi-label task it is: one sigmoid per
         topic, binary cross-entropy, thresholds chosen on validation data.
         Three measured additions (README.md) take it past micro-F1 0.85
         in under 15 minutes on two CPU cores: outputs that start at their
         topic's base rate, validation and checkpoints on a moving average
         of the weights, and two such models averaged.
Run:     make example-reuters        (quick check: make smoke-reuters)
Results: see README.md (measured, with hardware and wall time)

Where this differs from the chapter's sketch: the sketch feeds one-hot
multi-class labels to a one-unit sigmoid and never defines its labels; a
story here can have several topics (grain + corn + wheat), so the output has
one sigmoid per topic and is scored with micro/macro F1 as in the literature.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import json
import time
import warnings
from pathlib import Path

import keras
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from common import cli
from common.data import resolve_data_dir
from common.ensemble import average_models, member_histories, train_ensemble
from common.plots import plot_score_by_frequency
from common.pretrained import (
    adopt_language_model,
    classifier_defaults,
    refuse_mismatched_language_model,
    transfer_weights,
)
from common.reuters import english_stopwords, load_split, most_frequent_topics, open_reader, unlabelled_stories
from common.text import (
    TruncateSequence,
    check_saved_text_models,
    encode,
    inverse_document_frequency,
    learn_word_vectors,
    make_vectorizer,
    raw_text_model,
    text_datasets,
    tf_idf_matrix,
)
from common.training import Run

from ensemble import base_rate_biases, rare_topic_weights
from model import build_model, logistic_regression_model
from scores import choose_threshold, multilabel_decisions, multilabel_scores

EXAMPLE = "reuters"
# A quick run: short stories, two epochs, two members, and an average of the weights over about ten steps (a quick
# run has a few dozen); from scratch also a smaller network (a pretrained one keeps the language model's sizes).
QUICK = {"max_length": 80, "epochs": 2, "members": 2, "weight_averaging": 0.9}
QUICK_SIZES = {"max_tokens": 2000, "embedding_dim": 16, "units": 16}


def sizes_and_defaults(options):
    """Defaults that depend on other options: with --pretrained the language model's sizes
    (common.pretrained.CLASSIFIER_OPTIONS), on a quick run from scratch QUICK_SIZES."""
    if options.pretrained:
        return classifier_defaults(options.pretrained, EXAMPLE)
    return QUICK_SIZES if options.quick else {}


def run_name(options):
    """The run's name: its output folder and results row (reuters, reuters-pretrained, reuters-tf-idf, ...)."""
    return EXAMPLE + "-pretrained" * bool(options.pretrained) + "-tf-idf" * bool(options.tf_idf)


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument(
        "--pretrained",
        type=Path,
        metavar="DIR",
        help="start every member from the word language model of the Reuters stories saved in DIR (python "
        "examples/word_lm/train.py --corpus reuters: outputs/word_lm-reuters): its vocabulary, embedding and "
        "recurrent layer, fine-tuned; the vocabulary and layer sizes then come from it; writes "
        "outputs/reuters-pretrained",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--topics", type=cli.positive_int, help="keep only the N most frequent topics (e.g. 10); default all 90"
    )
    data.add_argument("--remove-stopwords", action="store_true", help="drop NLTK's English stop words")
    data.add_argument(
        "--unlabelled-stories",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also learn word vectors from the ~10,000 Reuters-21578 stories outside ModApte (reuters21578.tar.gz); "
        "measured: better validation, worse test score (see README)",
    )
    data.add_argument(
        "--validation-fraction", type=cli.fraction, default=0.1, help="share of training stories held out"
    )
    data.add_argument(
        "--validation-split",
        choices=("random", "latest"),
        default="random",
        help="hold out a random share of the training stories, or the latest ones (file ids follow the wire's "
        "order; the test stories come after all of them)",
    )
    cli.add_text_args(
        parser,
        max_tokens=20_000,
        max_length=150,  # news puts the topic first (inverted pyramid); the rest costs time, adds little
        embedding_dim=64,
        embedding_dropout=0.3,
        pooling="max",
        freeze_embeddings=False,
    )
    cli.add_model_args(parser, cell="lstm", units=64, layers=1, dropout=0.2, bidirectional=True)
    parser.add_argument(
        "--tf-idf",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="average the RNN ensemble, half and half, with a logistic regression on the TF-IDF of the whole story "
        "(the baseline's model, fitted in seconds, saved inside the model): what the RNNs add to the words alone",
    )
    training = cli.add_training_args(
        parser, epochs=15, batch_size=32, learning_rate=4e-3, patience=4, weight_averaging=0.995
    )
    training.add_argument(
        "--rare-topic-weight",
        type=cli.non_negative_float,
        default=0.0,
        metavar="POWER",
        help="weigh each topic's positive stories in the loss by (stories of the most frequent topic / the topic's "
        "stories) ** POWER: 0 every story counts once; 0.5 a topic with a hundredth of the top topic's stories "
        "weighs its positives 10 times",
    )
    training.add_argument(
        "--members",
        type=cli.positive_int,
        default=3,
        help="train N models from seeds SEED, SEED+1, ... one after another and average their probabilities "
        "(an ensemble; 1 = a single model)",
    )
    args = cli.parse(parser, argv, run_name, quick=QUICK, defaults=sizes_and_defaults)
    refuse_mismatched_language_model(parser, args, EXAMPLE)  # another corpus, or an option contradicting its sizes
    return args


def load_data(args):
    """Token strings and 0/1 topic matrices for train / validation / test, and the topic names."""
    reader = open_reader(resolve_data_dir(args.data_dir))
    stopwords = english_stopwords(resolve_data_dir(args.data_dir)) if args.remove_stopwords else frozenset()
    _, train_texts, train_topics = load_split(reader, "training", stopwords)
    _, test_texts, test_topics = load_split(reader, "test", stopwords)
    topics = sorted(most_frequent_topics(train_topics, args.topics))
    if args.topics:  # the R(N) subsets keep only stories with one of the N topics
        keep = set(topics)
        train_texts, train_topics = _with_topics(train_texts, train_topics, keep)
        test_texts, test_topics = _with_topics(test_texts, test_topics, keep)
    if args.quick:  # a slice: a smoke test, not a result
        train_texts, train_topics, test_texts, test_topics = (
            train_texts[:1500],
            train_topics[:1500],
            test_texts[:500],
            test_topics[:500],
        )
    binarizer = MultiLabelBinarizer(classes=topics)
    train_labels = binarizer.fit_transform(train_topics).astype("float32")
    test_labels = binarizer.transform(test_topics).astype("float32")
    train_texts, val_texts, train_labels, val_labels = train_test_split(
        train_texts,
        train_labels,
        test_size=args.validation_fraction,
        random_state=args.seed,
        shuffle=args.validation_split == "random",  # "latest": the last stories, in file-id order
    )
    print(
        f"stories: train {len(train_texts)}, validation {len(val_texts)}, test {len(test_texts)}; topics {len(topics)}"
    )
    return topics, (train_texts, train_labels), (val_texts, val_labels), (test_texts, test_labels)


def texts_for_word_vectors(args, train_texts):
    """The training stories, plus (with --unlabelled-stories, not in --quick runs) the unlabelled Reuters-21578 ones."""
    texts = list(train_texts)
    if args.unlabelled_stories and not args.quick:
        data_dir = resolve_data_dir(args.data_dir)
        modapte = {int(fileid.split("/")[1]) for fileid in open_reader(data_dir).fileids()}  # every train/test story
        stopwords = english_stopwords(data_dir) if args.remove_stopwords else frozenset()
        unlabelled = unlabelled_stories(data_dir, modapte, stopwords)
        print(f"word vectors from {len(texts):,} training + {len(unlabelled):,} unlabelled stories")
        texts += unlabelled
    return texts


def _with_topics(texts, topic_lists, keep):
    pairs = [(text, [t for t in topics if t in keep]) for text, topics in zip(texts, topic_lists, strict=True)]
    pairs = [(text, topics) for text, topics in pairs if topics]
    return [text for text, _ in pairs], [topics for _, topics in pairs]


def evaluate(name, val_probabilities, val_labels, test_probabilities, test_labels, topics):
    """Threshold from validation only, then scores on test (and the validation micro-F1 at that threshold, what
    the choices of the README were made on: `validation_f1_micro`)."""
    threshold = choose_threshold(val_probabilities, val_labels)
    validation, _ = multilabel_scores(val_labels, multilabel_decisions(val_probabilities, threshold), topics)
    scores, per_topic = multilabel_scores(test_labels, multilabel_decisions(test_probabilities, threshold), topics)
    scores["validation_f1_micro"] = validation["f1_micro"]
    print(
        f"{name:<44} threshold {threshold:.2f}  validation micro-F1 {validation['f1_micro']:.4f}  test: micro-F1 "
        f"{scores['f1_micro']:.4f}  macro-F1 {scores['f1_macro']:.4f}  subset accuracy {scores['subset_accuracy']:.4f}"
    )
    return threshold, scores, per_topic


def logistic_regression():
    """One-vs-rest logistic regression on TF-IDF vectors, the baseline's settings: chosen on the validation stories
    (micro-F1), C (inverse regularisation) 10, 20, 50, 100 gave 0.893, 0.899, 0.903, 0.904."""
    return OneVsRestClassifier(LogisticRegression(C=100.0, max_iter=1000, solver="liblinear"))


def fit_quietly(classifier, features, labels):
    """`classifier` fitted on `features` and `labels`, without scikit-learn's warning for a constant topic."""
    with warnings.catch_warnings():
        # A topic with no training story (only in --quick slices) gets a constant "no"; that is the right answer.
        warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
        return classifier.fit(features, labels)


def tfidf_baseline(train, val, test, topics):
    """TF-IDF of words (of the whole story) + one-vs-rest logistic regression, thresholded the same way.

    Words alone gave validation micro-F1 0.899 against 0.884 with word pairs added.
    """
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(min_df=2, sublinear_tf=True)
    classifier = fit_quietly(logistic_regression(), vectorizer.fit_transform(train[0]), train[1])
    val_probabilities = classifier.predict_proba(vectorizer.transform(val[0]))
    test_probabilities = classifier.predict_proba(vectorizer.transform(test[0]))
    _, scores, _ = evaluate(
        "TF-IDF + logistic regression (one vs rest)", val_probabilities, val[1], test_probabilities, test[1], topics
    )
    return scores, time.perf_counter() - started


WHOLE_STORY = 100_000  # tokens: more than any story has (the longest ModApte story has 1,646)
CERTAIN_LOGIT = 30.0  # the answer to a topic that every (or no) training story has: sigmoid(30) = 1 - 1e-13


def fit_tf_idf_member(vectorizer, train):
    """The baseline's model on the RNNs' token ids (their vocabulary) of the whole story, as a Keras model
    (model.logistic_regression_model) to average with them (--tf-idf)."""
    sequences = encode(vectorizer, train[0], WHOLE_STORY)
    idf = inverse_document_frequency(sequences, vectorizer.vocabulary_size())
    classifier = fit_quietly(logistic_regression(), tf_idf_matrix(sequences, idf), train[1])
    coefficients = np.zeros((train[1].shape[1], len(idf)))
    intercepts = np.zeros(train[1].shape[1])
    for topic, estimator in enumerate(classifier.estimators_):
        if hasattr(estimator, "coef_"):
            coefficients[topic], intercepts[topic] = estimator.coef_[0], estimator.intercept_[0]
        else:  # scikit-learn's constant answer for a topic whose training labels are all equal
            intercepts[topic] = CERTAIN_LOGIT if estimator.y_ else -CERTAIN_LOGIT
    return logistic_regression_model(idf, coefficients, intercepts)


def build(args, vocab_size, num_topics, word_vectors, output_biases, positive_weights, index):
    """Ensemble member `index` (1, 2, ...)."""
    return build_model(
        vocab_size,
        num_topics,
        embedding_dim=args.embedding_dim,
        embedding_dropout=args.embedding_dropout,
        **cli.model_options(args),
        pooling=args.pooling,
        word_vectors=word_vectors,
        freeze_embeddings=args.freeze_embeddings,
        output_biases=output_biases,
        positive_weights=positive_weights,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        weight_averaging=args.weight_averaging,
        name=f"reuters_{args.cell}_{index}",
    )


def train_members(args, run, vectorizer, train, train_ds, val_ds, encoder=None):
    """The ensemble's members, each trained from its own seed (its embedding started from word vectors of the
    training stories, or its embedding and recurrent layer from the language model's `encoder`, 004 §7.3; its
    outputs at their topics' base rates, see base_rate_biases)."""
    word_vectors = None
    if args.pretrained_embeddings and encoder is None:
        texts = texts_for_word_vectors(args, train[0])
        word_vectors = learn_word_vectors(vectorizer, texts, args.embedding_dim, args.seed)
    output_biases = base_rate_biases(train[1])
    positive_weights = rare_topic_weights(train[1], args.rare_topic_weight) if args.rare_topic_weight else None

    def build_member(index):
        model = build(
            args, vectorizer.vocabulary_size(), train[1].shape[1], word_vectors, output_biases, positive_weights, index
        )
        if encoder is not None:  # every member starts from the same language model; seeds differ in the rest
            copied = transfer_weights(encoder, model)
            if index == 1:
                print(f"started from {args.pretrained}: " + ", ".join(copied))
        if index == 1:
            model.summary()
        return model

    def fit(model, folder, _seed):  # every member reads the stories in the order of the run's seed
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=args.epochs,
            shuffle=False,  # the dataset shuffles itself
            callbacks=run.callbacks(
                patience=args.patience,
                reduce_lr_patience=2,
                folder=folder,
                averaged_weights=bool(args.weight_averaging),
            ),
        )

    return train_ensemble(run, args.members, build_member, fit)


def predict_members(members, vectorizer, val, test, max_length):
    """[(validation, test) probabilities] of each member: each reads the stories once."""
    readers = [raw_text_model(vectorizer, member, max_length, name=f"{member.name}_end_to_end") for member in members]
    return [
        [reader.predict(np.array(texts, dtype=object), batch_size=256, verbose=0) for texts in (val[0], test[0])]
        for reader in readers
    ]


def score(predictions, val, test, topics, args, tf_idf_predictions=None):
    """Each member's scores (when there are several), then the ensemble's: (threshold, scores, per topic), and
    with --tf-idf also the RNN ensemble's scores alone (else None)."""
    member_scores = []
    if len(predictions) > 1:
        for index, (member_val, member_test) in enumerate(predictions, start=1):
            member_scores.append(evaluate(f"member {index} alone", member_val, val[1], member_test, test[1], topics)[1])
    # The ensemble's probabilities: the members' mean, what the saved model's Average layer computes.
    val_probabilities, test_probabilities = (np.mean(split, axis=0) for split in zip(*predictions, strict=True))
    name = f"{'bidirectional ' if args.bidirectional else ''}{args.cell} (RNN), {args.members} member(s)"
    rnn_alone = None
    if tf_idf_predictions is not None:  # the saved model averages the RNN ensemble and the TF-IDF member
        rnn_alone = evaluate(name, val_probabilities, val[1], test_probabilities, test[1], topics)[1]
        tf_idf_val, tf_idf_test = tf_idf_predictions
        evaluate("TF-IDF member (the whole story)", tf_idf_val, val[1], tf_idf_test, test[1], topics)
        val_probabilities = (val_probabilities + tf_idf_val) / 2
        test_probabilities = (test_probabilities + tf_idf_test) / 2
        name = "the RNNs and the TF-IDF member"
    ensemble = evaluate(name, val_probabilities, val[1], test_probabilities, test[1], topics)
    return member_scores, ensemble, rnn_alone


def write_per_topic(per_topic, topics, frequency, output_dir):
    """The ten most frequent topics' scores on screen; all topics' in per_topic.csv and f1_by_topic.png."""
    print(f"\n{'topic (10 most frequent)':<26}{'train docs':>11}{'precision':>10}{'recall':>8}{'F1':>7}")
    for index in np.argsort(-frequency)[:10]:
        row = per_topic[topics[index]]
        print(
            f"{topics[index]:<26}{int(frequency[index]):>11}{row['precision']:>10.3f}{row['recall']:>8.3f}"
            f"{row['f1-score']:>7.3f}"
        )
    print(f"(all {len(topics)} topics in {output_dir / 'per_topic.csv'})")
    plot_score_by_frequency(
        frequency,
        [per_topic[t]["f1-score"] for t in topics],
        topics,
        output_dir / "f1_by_topic.png",
        title="Test F1 per topic against its training frequency",
    )
    with open(output_dir / "per_topic.csv", "w") as handle:
        handle.write("topic,train_documents,precision,recall,f1,test_documents\n")
        for topic, count in zip(topics, frequency, strict=True):
            row = per_topic[topic]
            handle.write(
                f"{topic},{int(count)},{row['precision']:.4f},{row['recall']:.4f},{row['f1-score']:.4f},"
                f"{int(row['support'])}\n"
            )


def reader_length(args):
    """How many tokens of a story the saved model reads: with --tf-idf the whole story (the RNNs cut their part)."""
    return WHOLE_STORY if args.tf_idf else args.max_length


def with_tf_idf_member(rnns, tf_idf_member, max_length):
    """One model of token ids: the mean of the RNN ensemble's probabilities, on the first `max_length` ids, and
    the TF-IDF member's, on all of them."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    first_tokens = TruncateSequence(max_length, name="truncate_for_rnns")(token_ids)
    average = keras.layers.Average(name="average")([rnns(first_tokens), tf_idf_member(token_ids)])
    return keras.Model(token_ids, average, name=f"{rnns.name}_and_tf_idf")


def save(model, vectorizer, topics, threshold, test_texts, args, output_dir):
    """The averaged model (token ids in; the members' own checkpoints are in member-N/), the one that reads token
    strings, and its topics and threshold (predict.py's)."""
    export = raw_text_model(vectorizer, model, reader_length(args), name="reuters_end_to_end")
    model.save(output_dir / "model.keras")
    check_saved_text_models(output_dir, export, model, vectorizer, test_texts[:8], reader_length(args))
    (output_dir / "topics.json").write_text(
        json.dumps({"topics": topics, "threshold": threshold, "remove_stopwords": args.remove_stopwords}, indent=2)
    )


def report(scores, threshold, member_scores, rnn_alone, baseline, rnn_seconds, topics, args, run):
    baseline_scores, baseline_seconds = baseline
    metrics = {
        **scores,
        **({f"rnn_alone_{key}": rnn_alone[key] for key in ("f1_micro", "f1_macro")} if rnn_alone else {}),
        "threshold": threshold,
        **({"member_f1_micro": [member["f1_micro"] for member in member_scores]} if member_scores else {}),
        "rnn_wall_time_s": rnn_seconds,
        **{f"baseline_{key}": value for key, value in baseline_scores.items()},
        "baseline_wall_time_s": baseline_seconds,
        "topics": len(topics),
    }
    results = [
        {
            "metric": f"test {average}-F1 ({len(topics)} topics, ModApte)",
            "model": scores[f"f1_{average}"],
            "baseline": baseline_scores[f"f1_{average}"],
            "baseline_name": name,
            "baseline_wall_time_s": baseline_seconds,
        }
        for average, name in (("micro", "TF-IDF words + one-vs-rest logistic regression"), ("macro", "same baseline"))
    ]
    return run.finish(metrics, results, extra={"members": member_histories(run, args.members)})


def main(argv=None):
    args = parse_args(argv)
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), argv=argv, name=run_name(args))
    topics, train, val, test = load_data(args)  # NLTK's Reuters corpus, tokenised with NLTK
    encoder = None
    if args.pretrained:  # the language model's vocabulary (its text was tokenised as ours)
        encoder, vectorizer = adopt_language_model(args.pretrained, EXAMPLE)
    else:
        vectorizer = make_vectorizer(train[0], args.max_tokens, standardize=None)  # from training stories only
    train_ds, val_ds, _ = text_datasets(vectorizer, [train, val, test], args.max_length, args.batch_size, args.seed)
    members = train_members(args, run, vectorizer, train, train_ds, val_ds, encoder)
    model = average_models(members, name=f"reuters_{args.cell}_ensemble")
    # Threshold on validation, scores on test: each member alone, then the ensemble.
    predictions = predict_members(members, vectorizer, val, test, args.max_length)
    tf_idf_predictions = None
    if args.tf_idf:
        tf_idf_member = fit_tf_idf_member(vectorizer, train)
        tf_idf_predictions = predict_members([tf_idf_member], vectorizer, val, test, WHOLE_STORY)[0]
        model = with_tf_idf_member(model, tf_idf_member, args.max_length)
        run.parameters = model.count_params()  # the saved model's weights: the RNN members' and the linear half's
    member_scores, (threshold, scores, per_topic), rnn_alone = score(
        predictions, val, test, topics, args, tf_idf_predictions
    )
    rnn_seconds = time.perf_counter() - run.started  # start to test scores, as in the IMDB example
    baseline = tfidf_baseline(train, val, test, topics)
    write_per_topic(per_topic, topics, train[1].sum(axis=0) + val[1].sum(axis=0), run.output_dir)
    save(model, vectorizer, topics, threshold, test[0], args, run.output_dir)
    return report(scores, threshold, member_scores, rnn_alone, baseline, rnn_seconds, topics, args, run)


if __name__ == "__main__":
    cli.run(main)
