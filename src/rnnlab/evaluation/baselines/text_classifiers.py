"""Character n-gram classifiers of short texts (names), the baselines of a character RNN.

Each name becomes the TF-IDF weights of its character 1- to 3-grams (scikit-learn's
``char_wb`` analyzer, which marks the start and end of a name; case kept, as a capital marks
the start), classified by logistic regression or by multinomial naive Bayes on the n-gram
counts. Each one's single hyperparameter (the inverse regularisation C, the smoothing alpha) is
chosen on the validation split by accuracy + macro-F1, as one would tune the RNN; the chosen
value is reported.
"""

import numpy as np

from rnnlab.tasks.names import scores

Labelled = tuple[list[str], np.ndarray]


def evaluate_baselines(
    train: Labelled, val: Labelled, test: Labelled, num_classes: int
) -> dict[str, dict[str, float]]:
    """Fit on ``train``, choose on ``val``, and score on ``test``: every baseline's metrics."""
    # Imported here: scikit-learn takes seconds to import, and every training imports this module.
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB

    results = {}
    majority = np.bincount(train[1], minlength=num_classes).argmax()
    results["majority_class"] = scores(test[1], np.full(len(test[1]), majority), num_classes)

    candidates = {
        "tfidf_logistic_regression": (
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=False),
            "C", [1.0, 3.0, 10.0, 30.0],
            lambda C: LogisticRegression(C=C, max_iter=2000),
        ),
        "ngram_naive_bayes": (
            CountVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=False),
            "alpha", [0.01, 0.03, 0.1, 0.3, 1.0],
            lambda alpha: MultinomialNB(alpha=alpha),
        ),
    }  # fmt: skip
    for name, (vectorizer, parameter, grid, make) in candidates.items():
        features = vectorizer.fit(train[0])
        train_x, val_x, test_x = (features.transform(part[0]) for part in (train, val, test))

        fitted = {value: make(value).fit(train_x, train[1]) for value in grid}

        def validation(value, fitted=fitted, val_x=val_x):
            predicted = fitted[value].predict(val_x)
            return sum(scores(val[1], predicted, num_classes).values())

        best = max(grid, key=validation)
        predicted = fitted[best].predict(test_x)
        results[name] = {**scores(test[1], predicted, num_classes), parameter: best}
    return results
