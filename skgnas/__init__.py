"""skgnas: neural architecture search for text classification in scikit-learn.

``GensimNASClassifier`` learns Gensim word vectors from the training texts
and searches PyTorch text networks, trained by skorch, with scikit-learn's
search-CV machinery.
"""

from ._classifier import GensimNASClassifier
from ._datasets import load_corpus, load_spam_sample
from ._networks import TextNet
from ._space import DEFAULT_SEARCH_SPACE, SEARCH_KEYS, SearchSpace
from ._strategies import STRATEGIES
from ._textnet import TextNetClassifier
from ._tokenize import simple_tokenize, whitespace_tokenize
from ._vectorizer import GensimVectorizer

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SEARCH_SPACE",
    "GensimNASClassifier",
    "GensimVectorizer",
    "SEARCH_KEYS",
    "STRATEGIES",
    "SearchSpace",
    "TextNet",
    "TextNetClassifier",
    "load_corpus",
    "load_spam_sample",
    "simple_tokenize",
    "whitespace_tokenize",
]
