"""GensimNASClassifier: architecture search as a scikit-learn classifier."""

import contextlib
import functools
import json
import numbers
import shutil
import tempfile
import threading
import time
import warnings
from collections import Counter

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import (
    StratifiedGroupKFold,
    StratifiedKFold,
    check_cv,
)
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import _search as _sklearn_search
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state

from ._cache import count_trainings
from ._pickling import check_picklable
from ._space import SearchSpace
from ._strategies import Evaluator, _summary, batch_size_for, make_strategy
# After _strategies, which imports the strategy modules in order.
from ._halving import unknown_rank_by
from ._textnet import TextNetClassifier
from ._validation import (
    check_labels, check_positive_int, check_texts, is_positive_int,
)
from ._vectorizer import GensimVectorizer
from .exceptions import NotFittedYetError

__all__ = ["GensimNASClassifier"]


class _ArchitectureSearchCV(BaseSearchCV):
    """scikit-learn's search CV, with candidates chosen by a strategy.

    Everything else (parallel fits, scoring, ``error_score``, refit and the
    layout of ``cv_results_``) is scikit-learn's own.
    """

    _parameter_constraints = {
        **BaseSearchCV._parameter_constraints,
        "run_strategy": [callable],
        "select_best": [callable, None],
    }

    def __init__(self, estimator, run_strategy, *, scoring=None, n_jobs=None,
                 refit=True, cv=None, verbose=0, error_score=np.nan,
                 select_best=None):
        super().__init__(
            estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
            cv=cv, verbose=verbose, error_score=error_score,
            # Scoring each candidate on its own training fold would cost a
            # second prediction pass per fit; the search never uses it.
            return_train_score=False,
        )
        self.run_strategy = run_strategy
        self.select_best = select_best

    def __getstate__(self):
        # scikit-learn hands the search itself to every parallel fit (for
        # its callbacks). Workers never run the strategy, and its closure
        # holds the parallel pool, which cannot be pickled. The state is
        # a copy: the live search must keep its strategy.
        state = dict(super().__getstate__())
        state["run_strategy"] = None
        return state

    def _select_best_index(self, refit, refit_metric, results):
        # A strategy may restrict the choice to comparable rows (halving:
        # the last round); a user's callable refit always has the last word.
        if self.select_best is not None and not callable(refit):
            index = self.select_best(results, refit_metric)
            if index is not None:
                return index
        return super()._select_best_index(refit, refit_metric, results)

    def _run_search(self, evaluate_candidates, **kwargs):
        with _failures_checked_per_search() as failures:
            self.run_strategy(evaluate_candidates)
        if failures and all(error is not None for error in failures):
            raise ValueError(
                f"All {len(failures)} fits of the search failed, so no "
                f"candidate has a score; check the search space, or pass "
                f"error_score='raise' to see the first failure where it "
                f"happens.\n{_summary(Counter(failures))}"
            )


_hook = threading.local()
_hook_lock = threading.Lock()
_hook_users = 0


def _warn_per_batch(results, error_score):
    """scikit-learn's fit-failure check, judged per search, not per batch."""
    errors = getattr(_hook, "errors", None)
    if errors is None:  # a plain scikit-learn search in another thread
        return _sklearn_warn_or_raise(results, error_score)
    errors.extend(result["fit_error"] for result in results)
    failed = [r["fit_error"] for r in results if r["fit_error"] is not None]
    if failed:
        warnings.warn(
            f"{len(failed)} of {len(results)} fits failed; their scores are "
            f"error_score={error_score!r}. Pass error_score='raise' to stop "
            f"at the first failure.\n{_summary(Counter(failed))}",
            FitFailedWarning,
            stacklevel=2,
        )


_sklearn_warn_or_raise = _sklearn_search._warn_or_raise_about_fit_failures


@contextlib.contextmanager
def _failures_checked_per_search():
    """Judge fit failures over the whole search, not over one batch.

    scikit-learn raises as soon as every fit of one ``evaluate_candidates``
    call fails. Strategies send candidates in small batches, so a batch of
    one broken candidate would end the search and drop its rows. Inside this
    block such a batch only warns; the fit errors of this thread's search
    (None for successes) are collected in the yielded list, so the search
    can raise once, at the end, if nothing at all succeeded.
    """
    global _hook_users
    with _hook_lock:
        if _hook_users == 0:
            _sklearn_search._warn_or_raise_about_fit_failures = _warn_per_batch
        _hook_users += 1
    outer, _hook.errors = getattr(_hook, "errors", None), []
    try:
        with warnings.catch_warnings():
            # Results are reformatted after every batch, which would repeat
            # this note for every later batch; the failure was warned once.
            warnings.filterwarnings(
                "ignore", "One or more of the (test|train) scores are "
                "non-finite", UserWarning,
            )
            yield _hook.errors
    finally:
        _hook.errors = outer
        with _hook_lock:
            _hook_users -= 1
            if _hook_users == 0:
                _sklearn_search._warn_or_raise_about_fit_failures = (
                    _sklearn_warn_or_raise)

class GensimNASClassifier(ClassifierMixin, BaseEstimator):
    """Neural architecture search for text classification.

    ``fit`` learns Gensim word vectors from the training texts, then searches
    a space of PyTorch text networks (trained by skorch) with scikit-learn's
    search-CV machinery and refits the best one on all the data. The fitted
    estimator predicts on new raw text.

    Parameters
    ----------
    search_space : dict or list of dict, default=None
        Maps each searched setting to a list of values (or, for random
        search, a scipy.stats distribution), e.g. ``{'num_layers': [1, 2,
        3], 'layer_type': ['convolutional', 'recurrent'], 'activation':
        ['relu', 'sigmoid']}``. Keys are listed in :data:`skgnas.SEARCH_KEYS`
        and documented in ``docs/search_space.md``. Settings that do not
        apply to a candidate's layer type are dropped, so equivalent
        networks are trained once. ``None`` searches
        :data:`skgnas.DEFAULT_SEARCH_SPACE`.
    strategy : {'random', 'grid', 'evolution', 'bayes', 'halving'}, \
default='random'
        How candidates are chosen (see ``docs/strategies.md``):

        - ``'grid'``: every distinct candidate.
        - ``'random'``: ``n_trials`` distinct candidates drawn at random.
        - ``'evolution'``: regularised evolution; children of tournament
          winners differ in one setting.
        - ``'bayes'``: Optuna's TPE sampler, through ask and tell.
        - ``'halving'``: successive halving with epochs as the resource;
          rows of ``cv_results_`` carry their ``halving_round`` and the
          best candidate comes from the last round.
    n_trials : int, default=10
        Most distinct candidates evaluated (ignored by ``'grid'``). For
        ``'halving'``, the architectures started in its first round.
    cv : int or cross-validation splitter, default=3
        An int means shuffled, stratified folds seeded by ``random_state``.
    scoring : str, callable, list or dict, default=None
        Any scikit-learn scoring; ``None`` means accuracy.
    vectorizer : GensimVectorizer, default=None
        Word-vector settings shared by every candidate (searchable ones can
        still be varied through ``vectorizer__*`` keys). ``None`` means
        ``GensimVectorizer()``. Reachable as ``vectorizer__<name>`` in
        ``set_params``.
    max_epochs : int, default=40
        Most training epochs of each candidate; early stopping usually ends
        training sooner.
    batch_size : int, default=64
        Training batch size (searchable as ``batch_size``).
    patience : int or None, default=3
        Early-stopping patience of each candidate (``None``: no early
        stopping).
    device : str, default='cpu'
        Torch device for training and prediction.
    n_jobs : int, default=None
        Parallel candidate x fold fits, through joblib (so
        ``joblib.parallel_backend('dask')`` distributes them; see
        ``docs/cluster.md``). ``None`` means 1 unless in a joblib backend
        context.
    n_threads : int or None, default=1
        Torch threads of each candidate fit and of the refit. Float results
        depend on the thread count, so the default 1 gives the same scores
        serially and under every joblib backend (loky, Dask, Ray);
        parallelism comes from ``n_jobs``. ``None`` follows each worker's
        ``OMP_NUM_THREADS`` (its share of the cores, set by loky, Dask
        nannies and Ray), else torch's setting; see
        :class:`TextNetClassifier`.
    time_budget : float, default=None
        Seconds after which no new candidate starts; the search then ends
        normally with what has finished.
    strategy_options : dict, default=None
        Settings of the chosen strategy: ``population_size``,
        ``sample_size``, ``crossover_rate`` (evolution);
        ``n_startup_trials``, ``n_ei_candidates`` (bayes); ``eta``,
        ``min_epochs``, ``rank_by`` (halving: a metric of ``scoring`` that
        decides promotion, e.g. ``'neg_log_loss'``). See
        ``docs/strategies.md``.
    random_state : int, RandomState or None, default=None
        Seeds folds, candidate choice, Gensim and torch: the same int gives
        the same candidates, scores and best architecture.
    verbose : int, default=0
        - 0: silent.
        - 1: one line per evaluated candidate and a summary.
        - 2: also scikit-learn's search messages (and Optuna's log with
          ``strategy='bayes'``).
        - 3: also skorch's table of epochs for every fit.
    error_score : 'raise' or float, default=np.nan
        Score of a candidate whose fit fails; ``'raise'`` re-raises.
    refit : bool, str or callable, default=True
        Refit the best candidate on all the data (a metric name with
        multi-metric scoring), as in scikit-learn's searches.
    refit_networks : int, default=3
        Networks of the best architecture the refit trains, from different
        seeds on the same word vectors; predictions average their
        probabilities (``TextNetClassifier(n_networks=...)``). Candidates
        are scored with one network each. A single network's held-out
        accuracy varies with its seed by about as much as the search's
        candidates differ (0.989 to 0.993 on spam_assassin, 0.44 to 0.46 on
        brown_genre); three cost three refits and predict three times
        slower, and vary much less. 1 refits a single network.

    Attributes
    ----------
    best_architecture_ : dict
        Full settings of the best network, JSON-serialisable.
    best_params_ : dict
        Searched settings of the best candidate.
    best_score_ : float
        Its mean cross-validated score.
    best_index_ : int
        Its row in ``cv_results_``.
    best_estimator_ : TextNetClassifier
        The best candidate refitted on all the data, as
        ``refit_networks`` networks.
    cv_results_ : dict of ndarray
        scikit-learn's table of results, one row per distinct candidate.
    classes_ : ndarray
        Class labels, in their original type.
    n_vector_trainings_ : int
        Gensim trainings during the search and refit.
    search_time_ : float
        Wall-clock seconds of ``fit``.

    Examples
    --------
    >>> from skgnas import GensimNASClassifier, load_spam_sample
    >>> X, y = load_spam_sample(return_X_y=True)
    >>> nas = GensimNASClassifier(
    ...     {'num_layers': [1, 2], 'layer_type': ['convolutional', 'bag']},
    ...     n_trials=3, max_epochs=3, random_state=0,
    ... ).fit(X, y)  # doctest: +SKIP
    >>> nas.best_architecture_['layer_type']  # doctest: +SKIP
    'bag'
    """

    def __init__(
        self,
        search_space=None,
        *,
        strategy="random",
        n_trials=10,
        cv=3,
        scoring=None,
        vectorizer=None,
        max_epochs=40,
        batch_size=64,
        patience=3,
        device="cpu",
        n_jobs=None,
        n_threads=1,
        time_budget=None,
        strategy_options=None,
        random_state=None,
        verbose=0,
        error_score=np.nan,
        refit=True,
        refit_networks=3,
    ):
        self.search_space = search_space
        self.strategy = strategy
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.vectorizer = vectorizer
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.device = device
        self.n_jobs = n_jobs
        self.n_threads = n_threads
        self.time_budget = time_budget
        self.strategy_options = strategy_options
        self.random_state = random_state
        self.verbose = verbose
        self.error_score = error_score
        self.refit = refit
        self.refit_networks = refit_networks

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = self.random_state is None
        return tags

    def __setstate__(self, state):
        # Models saved before refit_networks existed refitted one network.
        super().__setstate__({"refit_networks": 1, **state})

    def _check_params(self):
        name = type(self).__name__
        check_positive_int(name, "n_trials", self.n_trials)
        if self.time_budget is not None and not (
            isinstance(self.time_budget, numbers.Real)
            and not isinstance(self.time_budget, bool)
            and self.time_budget > 0
        ):
            raise ValueError(
                f"{name}: time_budget expects a positive number of seconds "
                f"or None; received {self.time_budget!r}."
            )
        check_positive_int(name, "refit_networks", self.refit_networks)
        if not is_positive_int(self.verbose + 1 if isinstance(
                self.verbose, numbers.Integral) else None):
            raise ValueError(
                f"{name}: verbose expects an int >= 0; received "
                f"{self.verbose!r}."
            )
        if self.vectorizer is not None and not isinstance(
            self.vectorizer, GensimVectorizer
        ):
            raise TypeError(
                f"{name}: vectorizer expects a GensimVectorizer or None; "
                f"received {type(self.vectorizer).__name__}."
            )
        if self.n_threads is not None and not is_positive_int(
            self.n_threads
        ):
            raise ValueError(
                f"{name}: n_threads expects a positive int or None; "
                f"received {self.n_threads!r}."
            )
        # Checked whatever the backend, so a search that runs here also
        # runs on a cluster; the vector cache pickles the vectorizer even
        # in a serial search.
        check_picklable(name, {
            "vectorizer": self.vectorizer, "scoring": self.scoring,
            "cv": self.cv,
        })

    def _base_estimator(self, seed):
        vectorizer = clone(self.vectorizer or GensimVectorizer())
        return TextNetClassifier(
            vectorizer,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            patience=self.patience,
            device=self.device,
            n_threads=self.n_threads,
            random_state=seed,
            verbose=int(self.verbose >= 3),
        )

    def _check_cv(self, y, seed, grouped):
        if isinstance(self.cv, numbers.Integral) and not isinstance(
            self.cv, bool
        ):
            if self.cv < 2:
                raise ValueError(
                    f"{type(self).__name__}: cv expects an int >= 2 or a "
                    f"splitter; received {self.cv!r}."
                )
            splitter = StratifiedGroupKFold if grouped else StratifiedKFold
            return splitter(self.cv, shuffle=True, random_state=seed)
        return check_cv(self.cv, y, classifier=True)

    def fit(self, X, y, groups=None):
        """Search architectures on ``X``, ``y`` and refit the best one.

        Parameters
        ----------
        X : list, ndarray or pandas Series of str
            Training documents (``bytes`` are decoded as UTF-8).
        y : array-like of shape (n_samples,)
            Labels: str, int or bool.
        groups : array-like of shape (n_samples,), default=None
            Group of each document (e.g. its source). With an int ``cv``,
            folds then never split a group (``StratifiedGroupKFold``), so
            near-duplicate documents cannot inflate the CV scores that pick
            the architecture. Passed on to a splitter given as ``cv``.

        Returns
        -------
        self : GensimNASClassifier
        """
        started = time.monotonic()
        self._check_params()
        texts = check_texts(X)
        rng = check_random_state(self.random_state)
        cv_seed, strategy_seed, net_seed = rng.randint(2**31 - 1, size=3)
        if groups is not None and not hasattr(groups, "__len__"):
            raise TypeError(
                f"groups expects an array-like with one group per document "
                f"(list, numpy array or pandas Series); received "
                f"{type(groups).__name__}."
            )
        if groups is not None and len(groups) != len(texts):
            raise ValueError(
                f"groups has {len(groups)} entries but X has {len(texts)} "
                f"documents; give one group per document."
            )
        cv = self._check_cv(np.asarray(y) if not hasattr(y, "iloc") else y,
                            int(cv_seed), grouped=groups is not None)
        n_splits = cv.get_n_splits()
        stratified = isinstance(cv, (StratifiedKFold, StratifiedGroupKFold))
        y = check_labels(
            y, len(texts), min_per_class=n_splits if stratified else 1
        )

        base = self._base_estimator(int(net_seed))
        space = SearchSpace(self.search_space, base.get_params())
        strategy = make_strategy(
            self.strategy, space, self.n_trials, int(strategy_seed),
            self.strategy_options, verbose=self.verbose,
        )
        if getattr(strategy, "rank_by", None) is not None:
            # A single metric's own name means its column, 'score'.
            strategy.rank_by = _check_rank_by(strategy.rank_by, self.scoring)
        deadline = (
            started + self.time_budget if self.time_budget is not None
            else None
        )
        evaluators = []

        def run_strategy(evaluate_candidates):
            evaluator = Evaluator(
                evaluate_candidates, space, _score_key(self.scoring,
                                                       self.refit),
                batch_size=batch_size_for(effective_n_jobs(self.n_jobs),
                                          n_splits),
                deadline=deadline,
                report=self._report if self.verbose >= 1 else None,
            )
            evaluators.append(evaluator)
            strategy.run(evaluator)
            if evaluator.results is None:
                raise ValueError(
                    f"{type(self).__name__}: time_budget="
                    f"{self.time_budget!r} s ran out before the first "
                    f"candidate started; raise it."
                )

        cache_dir = tempfile.mkdtemp(prefix="skgnas-vectors-")
        base.set_params(vector_cache=cache_dir)
        search = _ArchitectureSearchCV(
            base, run_strategy, scoring=self.scoring, n_jobs=self.n_jobs,
            refit=self.refit, cv=cv, verbose=max(0, self.verbose - 1),
            error_score=self.error_score, select_best=strategy.select_best,
        )
        # An object array, not a list: joblib's Dask backend sends a
        # weak-referenceable argument to the cluster once and every fit
        # refers to it, where a list would be pickled into each fit.
        documents = np.empty(len(texts), dtype=object)
        documents[:] = texts
        try:
            if groups is None:
                search.fit(documents, y)
            else:
                search.fit(documents, y, groups=np.asarray(groups))
            if hasattr(search, "best_estimator_"):
                # On the refit's word vectors: no Gensim training more.
                search.best_estimator_.add_networks(
                    documents, y, self.refit_networks)
            n_trainings = count_trainings(cache_dir)
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)

        # Only now, with the search finished, replace earlier results.
        self._set_results(search, space, y, n_trainings)
        self.search_time_ = time.monotonic() - started
        if self.verbose >= 1:
            self._print_summary()
        return self

    def _set_results(self, search, space, y, n_trainings):
        self.cv_results_ = search.cv_results_
        self.multimetric_ = search.multimetric_
        self.scorer_ = search.scorer_
        self.n_splits_ = search.n_splits_
        self.n_vector_trainings_ = n_trainings
        for name in ("best_index_", "best_params_", "best_score_"):
            if hasattr(search, name):
                setattr(self, name, getattr(search, name))
            elif hasattr(self, name):
                delattr(self, name)
        if hasattr(search, "best_params_"):
            self.best_architecture_ = space.architecture(search.best_params_)
        if hasattr(search, "best_estimator_"):
            search.best_estimator_.set_params(vector_cache=None)
            self.best_estimator_ = search.best_estimator_
            self.classes_ = search.best_estimator_.classes_
        else:
            self.__dict__.pop("best_estimator_", None)
            self.classes_ = np.unique(y)

    def _report(self, candidate, score, n_done):
        shown = ", ".join(f"{k}={v!r}" for k, v in candidate.items())
        print(f"[skgnas] candidate {n_done}: score={score:.4f}  {shown}",
              flush=True)

    def _print_summary(self):
        n = len(self.cv_results_["params"])
        print(f"[skgnas] searched {n} candidates in {self.search_time_:.1f} s"
              f" ({self.n_vector_trainings_} word-vector trainings)")
        if hasattr(self, "best_architecture_"):
            print(f"[skgnas] best score {self.best_score_:.4f}: "
                  f"{json.dumps(self.best_architecture_)}", flush=True)

    def _final_estimator(self):
        if not hasattr(self, "best_estimator_"):
            if hasattr(self, "cv_results_"):
                raise NotFittedYetError(
                    f"This {type(self).__name__} was fitted with refit="
                    f"{self.refit!r}, so it holds no final model to predict "
                    f"with; fit with refit=True."
                )
            raise NotFittedYetError(
                f"This {type(self).__name__} is not fitted yet; call fit "
                f"with training texts and labels first."
            )
        return self.best_estimator_

    def predict(self, X):
        """Predicted labels of new raw texts, in the type of ``y``."""
        return self._final_estimator().predict(X)

    def predict_proba(self, X):
        """Class probabilities of new raw texts, columns as ``classes_``."""
        return self._final_estimator().predict_proba(X)

    def score(self, X, y, sample_weight=None):
        """Accuracy on ``X``, ``y``, or the search's refit metric."""
        self._final_estimator()
        if self.multimetric_ or self.scoring is None:
            return super().score(X, y, sample_weight=sample_weight)
        return self.scorer_(self.best_estimator_, check_texts(X), y)


def _score_key(scoring, refit):
    """The cv_results_ column that adaptive strategies optimise.

    A callable scoring may return one score or a dict of them, which only
    its results tell; for one, the column is chosen from the results.
    """
    if callable(scoring):
        return functools.partial(_column_of_callable, refit=refit)
    if isinstance(scoring, (list, tuple, set, dict)):
        if isinstance(refit, str):
            return f"mean_test_{refit}"
        first = sorted(scoring)[0] if not isinstance(scoring, dict) else (
            next(iter(scoring))
        )
        return f"mean_test_{first}"
    return "mean_test_score"


def _column_of_callable(results, refit):
    """The optimised column of a search whose scoring is a callable."""
    if "mean_test_score" in results:
        return "mean_test_score"
    if isinstance(refit, str):  # scikit-learn requires it to refit
        return f"mean_test_{refit}"
    # Without refit, the first metric the callable returned.
    return next(key for key in results if key.startswith("mean_test_"))


def _check_rank_by(rank_by, scoring):
    """Before any training: halving's ``rank_by`` must be a scoring metric.

    Returns the metric's name in ``cv_results_``: a single metric (a str,
    or accuracy for ``scoring=None``) may be named as itself or 'score'.
    """
    if rank_by is None or callable(scoring):
        return rank_by  # a callable may return any metrics; checked later
    multimetric = isinstance(scoring, (list, tuple, set, dict))
    if not multimetric and rank_by == (scoring or "accuracy"):
        return "score"
    names = sorted(scoring) if multimetric else ["score"]
    if rank_by not in names:
        raise unknown_rank_by(rank_by, names)
    return rank_by
