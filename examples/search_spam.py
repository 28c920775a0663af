"""Search architectures on the shipped e-mail sample and report accuracy.

Run: python examples/search_spam.py
"""

from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split

from skgnas import GensimNASClassifier, GensimVectorizer, load_spam_sample


def main():
    X, y = load_spam_sample(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0)
    nas = GensimNASClassifier(
        {"num_layers": [1, 2, 3],
         "layer_type": ["convolutional", "bag"],
         "activation": ["relu", "sigmoid"]},
        strategy="random", n_trials=6, cv=3, max_epochs=6,
        vectorizer=GensimVectorizer(max_len=200), n_jobs=-1,
        random_state=0, verbose=1,
    )
    nas.fit(X_train, y_train)
    print("best architecture:", nas.best_architecture_)
    print(classification_report(y_test, nas.predict(X_test), digits=3))


if __name__ == "__main__":
    main()
