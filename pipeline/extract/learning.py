"""Trackers that learn from the user's labels: a logistic regression per finding kind over a turn's sentence embedding,
a few surface signs, the playbook's similarities, the reviewed calls' own words and the rep's reply (`Features`),
trained on the user's verdicts, the playbook's examples as positives and the built-in non-objections as negatives.
Below `extraction.min_labels` a kind keeps the zero-shot engine.

Its operating threshold is the lowest one at which the precision the tracker is expected to have on the turns it will
judge (`population`: the customer turns of the reviewed calls) reaches
`extraction.target_precision`. Expected, not counted on the reviewed turns themselves: half of those are the tracker's
hardest cases (suggest.py), so their precision is lower than the calls', and a threshold set on them came out far too
high on some splits (recall 0.02 on one, bench/learning.py). Instead the cross-validated scores are calibrated into
probabilities (`_calibration`: a sigmoid of the learner's logit whose slope is held near 1) and averaged over the
population's turns above each threshold.

Why logistic regression: on real negotiations (bench/learning.py, docs/ACCURACY.md) it reached the F1 of heavier
learners at 100 labels, trains in well under a second on the CPU, and its probabilities rank sentences for review.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain

import numpy as np
from winloss.pipeline.extract.negatives import not_objections
from winloss.pipeline.models import ANY_LABEL, CustomerTurn, FindingKind, Label, Utterance
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.providers.embed import Embedder
from winloss.pipeline.settings import ExtractionSettings

_FIGURE = re.compile(r"\d|\$|£|€|\b(?:hundred|thousand|grand|bucks|dollars|percent)\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no|never|can't|cannot|won't|don't|doesn't|isn't|wouldn't|couldn't)\b|n't\b",
                       re.IGNORECASE)
_CONTRAST = re.compile(r"\b(?:but|though|although|however|still|only|just)\b", re.IGNORECASE)
PRIOR_SCALE = 3.0  # similarities vary over ~0.3; scaled to weigh like the embedding's few strongest directions
SEED_WEIGHT = 0.5  # a playbook example counts half a reviewed sentence: it is the user's words, not their calls
WORDS_WEIGHT = 2.0  # against the embedding's unit length: weight 1 and 2 were measured (Words)
WORDS_VOCABULARY = 3000  # the most frequent words and word pairs of the reviewed calls that the learner may weigh
REGULARISATION = 1.0  # logistic regression's C: 0.3 and 3 ranked no better at 100 reviews (bench/learners.py)
# The precision the threshold must reach is its bootstrap lower quantile at half a standard error below the estimate
# (the normal's 0.31 quantile): enough to stop a lucky calibration, not so much that recall halves.
CONFIDENCE_QUANTILE = 0.31
SLOPE_PRIOR = 0.15  # how far the calibration's slope may stray from the learner's own scale (_calibration)
BOOTSTRAPS = 200
Turn = tuple[str, int, str]  # (call id, utterance index, text): a turn as labels and the store name it


def surface(text: str) -> np.ndarray:
    """Signs an embedding blurs: a figure (a counter-offer, a budget), a question, a negation, a contrast, length."""
    stripped = text.strip()
    return np.array([bool(_FIGURE.search(text)), stripped.endswith("?"), bool(_NEGATION.search(text)),
                     bool(_CONTRAST.search(text)), min(len(stripped.split()), 40) / 40], dtype=np.float32)


@dataclass(frozen=True)
class Prior:
    """What the playbook already says, as features: similarity to each objection category's closest example, to the
    closest non-objection, and the difference (the zero-shot engine's margin). With few labels these carry most of
    the decision (bench/learning.py: F1 0.71 against 0.68 at 50 reviews); the embedding refines it as labels grow."""

    categories: list[np.ndarray]
    negatives: np.ndarray

    @classmethod
    def of(cls, playbook: Playbook, embedder: Embedder) -> Prior:
        return cls([embedder.embed(c.examples) for c in playbook.objections],
                   embedder.embed(not_objections(playbook)))

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        if not self.categories:
            return np.zeros((len(vectors), 0), dtype=np.float32)
        per_category = np.stack([(vectors @ c.T).max(axis=1) for c in self.categories], axis=1)
        negative = (vectors @ self.negatives.T).max(axis=1)
        margin = per_category.max(axis=1) - negative
        return PRIOR_SCALE * np.hstack([per_category, negative[:, None], margin[:, None]])


@dataclass(frozen=True)
class Words:
    """The reviewed calls' own words as features: TF-IDF of words and word pairs (figures, "$" and "?" count as
    words), over the vocabulary that two of the texts it was fitted on share: the turns the tracker learns from and
    judges, and the playbook's examples. A general-purpose embedding blurs what a domain's words say ("lower",
    "deliver", "firm"); with the user's verdicts the learner weighs them. Rows have unit length, as the embeddings
    do, times `weight` (WORDS_WEIGHT). On the dev set at 100 reviews (bench/learners.py, the same verdicts for each
    row) the best recall at precision 0.80 rose from 0.62 to 0.70 and F1 by 0.03 to 0.06, at weight 2 more than at 1
    (docs/ACCURACY.md)."""

    vectorizer: object | None = None  # a fitted TfidfVectorizer; None: too few texts share a word
    weight: float = 0.0

    @classmethod
    def of(cls, texts: list[str]) -> Words:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=WORDS_VOCABULARY, sublinear_tf=True,
                                     token_pattern=r"(?u)\b\w+\b|[$€£?]")
        try:
            return cls(vectorizer.fit(texts), WORDS_WEIGHT)
        except ValueError:  # no word in two texts: nothing to learn from words yet
            return cls()

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.vectorizer is None or not texts:
            width = len(self.vectorizer.vocabulary_) if self.vectorizer is not None else 0
            return np.zeros((len(texts), width), dtype=np.float32)
        return self.weight * self.vectorizer.transform(texts).toarray().astype(np.float32)


@dataclass(frozen=True)
class Replies:
    """The rep's reply to a turn as features, as the turn's own are made (embedding, surface signs, words from the
    replies' own vocabulary), and whether the rep replied at all. How a rep answers tells what the customer said: a
    defence of the price, a concession, a counter-offer answer resistance; a confirmation answers a question. On the
    dev set at 100 reviews the best recall at precision 0.80 rose from 0.68 to 0.78 on the same verdicts
    (bench/learners.py, docs/ACCURACY.md).

    A reply nobody knows (None: a playbook example, a labelled turn of a call not in the store, a call in which
    nobody is the rep) gets `unknown`, the mean of the known replies' rows, so it pulls the learner no way."""

    words: Words = field(default_factory=Words)
    unknown: np.ndarray | None = None  # None: no reply was known when fitted, and replies add no columns

    @classmethod
    def of(cls, replies: Sequence[str], embedder: Embedder) -> Replies:
        """Fitted on the known replies of the turns learned from and judged ("" where the rep did not reply)."""
        if not replies:
            return cls()
        fitted = cls(Words.of(list(dict.fromkeys(r for r in replies if r))))
        return replace(fitted, unknown=fitted._rows(list(replies), embedder).mean(axis=0))

    def _rows(self, replies: list[str], embedder: Embedder) -> np.ndarray:
        said = np.array([bool(r) for r in replies], dtype=bool)
        vectors = np.zeros((len(replies), embedder.dimensions), dtype=np.float32)
        if said.any():
            vectors[said] = embedder.embed([r for r in replies if r])
        signs = np.stack([surface(r) if r else np.zeros(5, dtype=np.float32) for r in replies])
        return np.hstack([vectors, signs, self.words(replies), (~said)[:, None].astype(np.float32)])

    def __call__(self, replies: Sequence[str | None], embedder: Embedder) -> np.ndarray:
        if self.unknown is None:
            return np.zeros((len(replies), 0), dtype=np.float32)
        if not replies:
            return np.zeros((0, len(self.unknown)), dtype=np.float32)
        rows = self._rows([r or "" for r in replies], embedder)
        rows[[r is None for r in replies]] = self.unknown
        return rows


@dataclass(frozen=True)
class Features:
    """A turn as the learner sees it: its embedding, its surface signs, the playbook's similarities, its words, and
    the rep's reply to it."""

    prior: Prior
    words: Words = field(default_factory=Words)
    replies: Replies = field(default_factory=Replies)

    @classmethod
    def of(cls, playbook: Playbook, embedder: Embedder, texts: Sequence[str],
           replies: Sequence[str] = ()) -> Features:
        """Features whose vocabularies come from `texts` (the turns learned from and judged) and the playbook's
        examples, and from `replies` (the known replies to those turns)."""
        return cls(Prior.of(playbook, embedder), Words.of(list(dict.fromkeys([*texts, *chain(*seeds(playbook))]))),
                   Replies.of(replies, embedder))

    def __call__(self, texts: list[str], embedder: Embedder,
                 replies: Sequence[str | None] | None = None) -> np.ndarray:
        """Rows for `texts`; `replies`: the rep's reply to each (None, or no list: unknown)."""
        vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dimensions), dtype=np.float32)
        signs = np.stack([surface(t) for t in texts]) if texts else np.zeros((0, 5), dtype=np.float32)
        answered = self.replies(replies if replies is not None else [None] * len(texts), embedder)
        return np.hstack([vectors, signs, self.prior(vectors), self.words(texts), answered])


@dataclass(frozen=True)
class Detector:
    """Is this sentence a finding of the kind? A learned linear model and its operating threshold."""

    kind: FindingKind
    features: Features
    coef: np.ndarray  # one row per cross-validation fold: the models whose scores set the threshold
    intercept: np.ndarray
    threshold: float
    precision: float | None  # expected on the reviewed calls' other turns at the threshold (operating_point)
    recall: float | None

    def probabilities(self, texts: list[str], embedder: Embedder,
                      replies: Sequence[str | None] | None = None) -> np.ndarray:
        """The chance that each turn is a finding; `replies`: the rep's reply to each (None: unknown)."""
        if not texts:
            return np.zeros(0)
        logits = self.features(texts, embedder, replies) @ self.coef.T + self.intercept
        return _sigmoid(logits).mean(axis=1)


@dataclass(frozen=True)
class TrackerStatus:
    """What `winloss trackers` shows for one kind: which engine decides, on how many labels, how precise."""

    kind: FindingKind
    mode: str  # "learned" or "zero-shot"
    labels: int
    yes: int
    no: int
    threshold: float | None = None
    precision: float | None = None
    recall: float | None = None
    note: str = ""


@dataclass
class LearnedTrackers:
    detectors: dict[FindingKind, Detector] = field(default_factory=dict)
    confirmed: dict[FindingKind, dict[str, list[str]]] = field(default_factory=dict)
    status: list[TrackerStatus] = field(default_factory=list)
    # (kind, call id, utterance index, text) -> (is it one, its label if known): what reviewers said of a turn
    judged: dict[tuple[str, str, int, str], tuple[bool, str | None]] = field(default_factory=dict)

    def verdict(self, kind: FindingKind, call_id: str, utterance: Utterance) -> tuple[bool, str | None] | None:
        """What a reviewer said of this very turn (None: nobody judged it)."""
        return self.judged.get((kind.value, call_id, utterance.index, utterance.text))

    def detector(self, kind: FindingKind) -> Detector | None:
        return self.detectors.get(kind)

    def examples(self, kind: FindingKind) -> dict[str, list[str]]:
        """Sentences a reviewer confirmed, by label (category or message id)."""
        return self.confirmed.get(kind, {})


def digest(labels: list[Label]) -> str:
    """What the learned trackers depend on, for the analysis fingerprint: every verdict, not who gave it or when.

    Not the population their threshold and vocabulary are set on (the reviewed calls' turns): it changes only when a
    reviewed call is transcribed again, which moves them by a hair, and a worker of a cluster run that read it after
    such a change would otherwise refuse every call as if the labels had changed."""
    import hashlib

    keys = sorted((lb.kind.value, lb.label, lb.verdict, lb.call_id, lb.utterance_index, lb.text) for lb in labels)
    return hashlib.sha256(repr(keys).encode()).hexdigest()[:16] if keys else ""


def verdicts(labels: list[Label], kind: FindingKind) -> dict[Turn, bool]:
    """Is each labelled sentence a finding of `kind` at all? Yes on any label says yes; no on ANY_LABEL says no; a
    no on one category alone says nothing about the kind (it may be another category). `labels` in the order they
    were given (the store's order): when a reviewer changed their mind, the latest answer counts."""
    out: dict[Turn, bool] = {}
    for lb in labels:
        if lb.kind is not kind:
            continue
        key = (lb.call_id, lb.utterance_index, lb.text)
        if lb.verdict:
            out[key] = True
        elif lb.label == ANY_LABEL:
            out[key] = False
    return out


def seeds(playbook: Playbook) -> tuple[list[str], list[str]]:
    """(positives, negatives) of objections that the playbook and winloss know before any label."""
    return [e for c in playbook.objections for e in c.examples], not_objections(playbook)


def _fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, c: float = REGULARISATION):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x, y, sample_weight=weights)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _calibration(scores: np.ndarray, truth: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """From a logit of the learner's probability to the chance that a turn is a finding: a sigmoid `a * logit + b`
    fitted to the out-of-fold `scores` and `truth` (Platt's), its slope `a` held near 1 (the learner's own scale) by
    a normal prior of standard deviation SLOPE_PRIOR; the shift `b` is free (class weights, the playbook's examples
    and the reviewers' mix of yes and no all move it).

    Platt's free slope flattened on the splits whose reviewed turns were the most ambiguous (uncertainty sampling
    picks turns whose verdict the score does not settle): 0.6 on the worst of 20 splits at 100 reviews, where the
    others were near 1, and the threshold shot up until recall fell to 0.04. With more verdicts the data outweigh
    the prior, as they should: at 400 reviews the learner's slope is nearer 0.9, and a slope fixed at 1 let precision
    fall to 0.77 (docs/ACCURACY.md)."""
    from scipy.optimize import minimize

    z, y = _logit(scores), truth.astype(float)
    weight = 1 / SLOPE_PRIOR ** 2

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        u = p[0] * z + p[1]
        error = _sigmoid(u) - y
        return (float(np.sum(np.logaddexp(0, u) - y * u) + weight / 2 * (p[0] - 1) ** 2),
                np.array([error @ z + weight * (p[0] - 1), error.sum()]))

    a, b = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return lambda logits: _sigmoid(a * logits + b)


def operating_point(scores: np.ndarray, truth: np.ndarray, population: np.ndarray,
                    target: float) -> tuple[float, float | None, float | None]:
    """(threshold, precision, recall) from out-of-fold `scores` of the labelled turns with their `truth`, and the
    detector's scores of the `population` it will judge: the lowest threshold at which the expected precision over
    the population's turns above it reaches `target`, judged by its bootstrap lower quantile (CONFIDENCE_QUANTILE);
    else the threshold of the best lower quantile. Precision and recall are the calibrated expectations over the
    population; where the target was not reached, precision is the lower quantile, so a tracker short of the target
    never shows a figure that meets it. 0.5 with no estimate when the labels hold only one verdict."""
    if truth.all() or not truth.any():
        return 0.5, None, None
    ranked = np.sort(population)[::-1]
    z, n = _logit(ranked), np.arange(1, len(ranked) + 1)
    rng = np.random.default_rng(0)
    curves = []
    for _ in range(BOOTSTRAPS):
        pick = rng.integers(0, len(truth), len(truth))
        if truth[pick].all() or not truth[pick].any():
            continue
        curves.append(np.cumsum(_calibration(scores[pick], truth[pick])(z)) / n)
    chance = _calibration(scores, truth)(z)
    # with a verdict on very few turns every resample can miss it: then the estimate has no spread to bound it by
    lower = np.quantile(np.array(curves), CONFIDENCE_QUANTILE, axis=0) if curves else np.cumsum(chance) / n
    # a threshold falls between two different scores: turns that tie are all in or all out
    ends = np.r_[ranked[1:] < ranked[:-1], True]
    reached = np.flatnonzero((lower >= target) & ends)
    cut = reached.max() if len(reached) else int(np.flatnonzero(ends)[np.argmax(lower[ends])])
    precision = float(chance[:cut + 1].mean()) if len(reached) else float(min(chance[:cut + 1].mean(), lower[cut]))
    # the detector files a turn whose probability is above the threshold (trackers.py: p - threshold > 0)
    below = ranked[cut + 1] if cut + 1 < len(ranked) else 0.0
    threshold = (ranked[cut] + below) / 2 if ranked[cut] > below else float(np.nextafter(ranked[cut], -1))
    return float(threshold), precision, float(chance[:cut + 1].sum() / chance.sum())


def cross_validated(x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed_x: np.ndarray, seed_y: np.ndarray,
                    folds: int = 5, c: float = REGULARISATION,
                    seed_weight: float = SEED_WEIGHT) -> tuple[np.ndarray, list]:
    """Out-of-fold probabilities for the labelled rows, and the fold models. The seeds are in every training fold.

    The fold models together are the detector, and their out-of-fold scores calibrate its threshold
    (operating_point), whereas one model refit on every label scores more confidently than they did and overshot the
    threshold (on the dev set, precision 0.76 where 0.80 was estimated)."""
    from sklearn.model_selection import GroupKFold

    out = np.zeros(len(y))
    models = []
    for train, test in GroupKFold(n_splits=min(folds, len(set(groups)))).split(x, y, groups):
        tx, ty = np.vstack([x[train], seed_x]), np.concatenate([y[train], seed_y])
        w = np.concatenate([np.ones(len(train)), np.full(len(seed_y), seed_weight)])
        model = _fit(tx, ty, w, c)
        out[test] = model.predict_proba(x[test])[:, 1]
        models.append(model)
    return out, models


def unlabelled(population: Sequence[CustomerTurn], said: dict[Turn, bool], min_words: int) -> list[CustomerTurn]:
    """The population's turns nobody labelled that the tracker judges (at least `min_words` words)."""
    return [t for t in population if (t.call_id, t.index, t.text) not in said and len(t.text.split()) >= min_words]


def train_detector(kind: FindingKind, labels: list[Label], playbook: Playbook, embedder: Embedder,
                   settings: ExtractionSettings,
                   population: Sequence[CustomerTurn] = ()) -> tuple[Detector | None, TrackerStatus]:
    """The kind's detector and its status. `population`: the customer turns of the reviewed calls with the rep's
    reply to each, a sample of the turns it will judge, whose words make its vocabularies and whose scores set the
    threshold; a labelled turn's reply comes from there (unknown when its call is not). A labelled turn counts with
    its out-of-fold score, as a model that never saw it scores it: leaving the labelled turns out instead left the
    turns the tracker was surest of, and at 400 reviews the threshold fell until precision was 0.63."""
    said = verdicts(labels, kind)
    yes = sum(said.values())
    no = len(said) - yes
    status = TrackerStatus(kind=kind, mode="zero-shot", labels=len(said), yes=yes, no=no)
    if len(said) < settings.min_labels or min(yes, no) < max(2, settings.min_labels // 4):
        need = f"{settings.min_labels} reviewed sentences, at least {max(2, settings.min_labels // 4)} of each verdict"
        return None, replace(status, note=f"learns after {need}")
    keys = list(said)
    reply_of = {(t.call_id, t.index, t.text): t.reply for t in population}
    replies = [reply_of.get(k) for k in keys]
    featurise = Features.of(playbook, embedder, [k[2] for k in (*population, *keys)],
                            [t.reply for t in population if t.reply is not None])
    x = featurise([k[2] for k in keys], embedder, replies)
    y = np.array([said[k] for k in keys], dtype=int)
    positives, negatives = seeds(playbook)
    seed_x = featurise([*positives, *negatives], embedder)
    seed_y = np.array([1] * len(positives) + [0] * len(negatives), dtype=int)
    groups = np.array([k[0] for k in keys])
    if len(set(groups)) < 2:  # one call: folds by sentence instead
        groups = np.arange(len(keys))
    oof, models = cross_validated(x, y, groups, seed_x, seed_y)
    detector = Detector(kind=kind, features=featurise, coef=np.stack([m.coef_[0] for m in models]).astype(np.float32),
                        intercept=np.array([m.intercept_[0] for m in models]), threshold=0.5, precision=None,
                        recall=None)
    others = unlabelled(population, said, settings.min_words)
    scores = np.concatenate([detector.probabilities([t.text for t in others], embedder, [t.reply for t in others]),
                             oof])
    threshold, precision, recall = operating_point(oof, y.astype(bool), scores, settings.target_precision)
    detector = replace(detector, threshold=threshold, precision=precision, recall=recall)
    note = "" if precision is not None and precision >= settings.target_precision else (
        f"below the precision target {settings.target_precision:.2f}: review more suggestions")
    return detector, TrackerStatus(kind=kind, mode="learned", labels=len(said), yes=yes, no=no, threshold=threshold,
                                   precision=precision, recall=recall, note=note)


def confirmed_examples(labels: list[Label], kind: FindingKind) -> dict[str, list[str]]:
    """Sentences confirmed under a label (not ANY_LABEL), minus those a later verdict took back."""
    latest: dict[tuple[str, int, str, str], Label] = {}
    for lb in labels:
        if lb.kind is kind and lb.label != ANY_LABEL:
            latest[(lb.call_id, lb.utterance_index, lb.text, lb.label)] = lb
    out: dict[str, list[str]] = {}
    for lb in latest.values():
        if lb.verdict:
            out.setdefault(lb.label, []).append(lb.text)
    return out


def train(labels: list[Label], playbook: Playbook, embedder: Embedder, settings: ExtractionSettings,
          population: Sequence[CustomerTurn] = ()) -> LearnedTrackers:
    """Every kind's tracker from the labels there are (objections learn a detector; every kind's confirmed
    sentences join its examples). `population`: the customer turns of the reviewed calls (train_detector)."""
    learned = LearnedTrackers()
    for kind in (FindingKind.objection, FindingKind.message):
        learned.confirmed[kind] = confirmed_examples(labels, kind)
    confirmed = {(lb.call_id, lb.utterance_index, lb.text): lb.label for lb in labels
                 if lb.kind is FindingKind.objection and lb.verdict and lb.label != ANY_LABEL}
    for (call_id, index, text), verdict in verdicts(labels, FindingKind.objection).items():
        category = confirmed.get((call_id, index, text))
        learned.judged[(FindingKind.objection.value, call_id, index, text)] = (verdict, category)
    detector, status = train_detector(FindingKind.objection, labels, playbook, embedder, settings, population)
    if detector:
        learned.detectors[FindingKind.objection] = detector
    learned.status.append(status)
    return learned
