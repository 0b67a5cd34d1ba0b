"""What each part of the learner and each review strategy is worth after 100 reviews, on the same reviewed turns.

    .venv/bin/python bench/learners.py ../shared/data/dev/cb_dev --reviews 100

For each split (bench/learning.py's), a simulated reviewer answers `--reviews` suggestions the product's way (half
least sure, half drawn at random). Each learner variant trains on those verdicts with the product's cross-validation
and threshold rule (learning.cross_validated, learning.operating_point) and is scored on the customer turns of the
calls nobody reviewed. The strategy rows train the product's learner on what a reviewer shown only the least-sure or
only random suggestions would have answered.

Prints per row, as means over the splits: the delivered P R F1 (and the worst split's F1), the best recall any
threshold reaches at the precision target (`recall@target`: what the ranking allows, whatever sets the threshold),
and ROC AUC. Where `recall@target` is short of what F1 0.75 needs (0.71 at precision 0.80), no threshold rule can
reach it: the ranking has to change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning import best_recall, delivered, options, review_until, reviewed_turns, setting_up, split, turns_of
from winloss.pipeline.extract.learning import (
    REGULARISATION,
    SEED_WEIGHT,
    WORDS_WEIGHT,
    Features,
    FindingKind,
    Prior,
    Turn,
    cross_validated,
    operating_point,
    seeds,
    surface,
    unlabelled,
    verdicts,
)
from winloss.pipeline.extract.sentences import split_sentences
from winloss.pipeline.extract.suggest import candidates, drawn, least_sure
from winloss.pipeline.models import Role


@dataclass(frozen=True)
class Place:
    """Where a customer turn sits in its call: the turn before it (usually the rep's) and its rank among the
    customer's turns. A playbook example has no place: an empty turn before it, rank 0."""

    before: str = ""
    position: float = 0.0
    first: bool = False


def places(transcripts: dict) -> dict[Turn, Place]:
    out = {}
    for tr in transcripts.values():
        customer = [u for u in tr.utterances if u.role is Role.customer]
        for rank, u in enumerate(customer):
            before = tr.utterances[u.index - 1].text if u.index else ""
            out[(tr.call_id, u.index, u.text)] = Place(before, rank / max(1, len(customer) - 1), rank == 0)
    return out


Extra = Callable[[list[Turn], dict[Turn, Place]], np.ndarray]


def turn_before(embedder) -> Extra:
    """The turn before: its embedding and surface signs (an offer with a figure, a question)."""
    def extra(keys, where):
        before = [where.get(k, Place()).before for k in keys]
        return np.hstack([embedder.embed([b or "." for b in before]), np.stack([surface(b) for b in before])])
    return extra


def position(keys, where) -> np.ndarray:
    """The turn's place among the customer's turns, and whether it is the first (a greeting, an opening question)."""
    return np.array([[where.get(k, Place()).position, where.get(k, Place()).first] for k in keys], dtype=float)


def sentence_prior(embedder, prior: Prior) -> Extra:
    """The playbook's similarities at the turn's most objection-like sentence, not only the whole turn's."""
    def extra(keys, where):
        return np.stack([prior(embedder.embed(split_sentences(k[2]) or [k[2]])).max(axis=0) for k in keys])
    return extra


@dataclass(frozen=True)
class Variant:
    name: str
    extra: Extra | None = None
    c: float = REGULARISATION
    seed_weight: float = SEED_WEIGHT
    words: float = WORDS_WEIGHT  # how much the reviewed calls' words weigh (0: not at all)
    replies: bool = True  # whether the learner reads the rep's reply to each turn (False: every reply unknown)


def evaluate(variant: Variant, labels, pool, scored, gold, where, playbook, embedder, settings):
    """(P, R, F1, recall@target, AUC) of the variant trained on `labels`, on the scored calls' customer turns."""
    from sklearn.metrics import roc_auc_score

    said = verdicts(labels, FindingKind.objection)
    keys = list(said)
    positives, negatives = seeds(playbook)
    seed_keys = [("", -1, t) for t in [*positives, *negatives]]
    turns_of_reviewed = reviewed_turns(pool, labels)
    featurise = Features.of(playbook, embedder, [k[2] for k in (*turns_of_reviewed, *keys)],
                            [t.reply for t in turns_of_reviewed if t.reply is not None])
    reply_of = {t[:3]: t.reply for t in turns_of_reviewed}
    featurise = replace(featurise, words=replace(featurise.words, weight=variant.words))

    def x(rows: list[Turn]) -> np.ndarray:
        base = featurise([k[2] for k in rows], embedder,
                         [reply_of.get(k[:3]) for k in rows] if variant.replies else None)
        return np.hstack([base, variant.extra(rows, where)]) if variant.extra and rows else base

    y = np.array([said[k] for k in keys], dtype=int)
    oof, models = cross_validated(x(keys), y, np.array([k[0] for k in keys]), x(seed_keys),
                                  np.array([1] * len(positives) + [0] * len(negatives)), c=variant.c,
                                  seed_weight=variant.seed_weight)

    def score(rows: list[Turn]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        features = x(rows)
        return np.mean([m.predict_proba(features)[:, 1] for m in models], axis=0)

    population = unlabelled(turns_of_reviewed, said, settings.extraction.min_words)
    target = settings.extraction.target_precision
    threshold = operating_point(oof, y.astype(bool), np.concatenate([score(population), oof]), target)[0]
    turns = [t for tr in scored for t in turns_of(tr)]
    reply_of.update({t[:3]: t.reply for t in turns})
    truth = np.array([bool(gold[(k[0], k[1])]["objection"]) for k in turns])
    scores = score(turns)
    return (*delivered(scores, threshold, truth), best_recall(scores, truth, target), roc_auc_score(truth, scores))


def only(order: str):
    """A reviewer shown only the least-sure suggestions, or only random ones (suggest.suggestions' signature)."""
    def pick(extractor, transcripts, limit, seen, salt=""):
        pool = candidates(extractor, transcripts, seen)
        return (least_sure(pool) if order == "least sure" else drawn(pool, salt))[:limit]
    return pick


def main() -> None:
    parser = options(__doc__)
    parser.add_argument("--reviews", type=int, default=100)
    args = parser.parse_args()
    settings, playbook, embedder, transcripts, gold = setting_up(args)
    prior = Prior.of(playbook, embedder)
    where = places(transcripts)
    variants = [Variant("product (MiniLM, surface signs, playbook similarities, the reviewed calls' words, the rep's "
                        "reply)"),
                Variant("without the rep's reply", replies=False),
                Variant("without the reviewed calls' words", words=0.0),
                Variant("the words weigh 1", words=1.0),
                Variant("+ the turn before", turn_before(embedder)),
                Variant("+ place in the call", position),
                Variant("+ most objection-like sentence", sentence_prior(embedder, prior)),
                Variant("C 0.3", c=0.3), Variant("C 3", c=3.0),
                Variant("no playbook examples", seed_weight=0.0), Variant("examples weigh 2", seed_weight=2.0)]
    strategies = {"least-sure suggestions only": only("least sure"), "random suggestions only": only("random")}
    rows: dict[str, list] = {}
    for seed in range(args.seeds):
        pool, scored = split(transcripts, seed)
        common = (gold, where, playbook, embedder, settings)
        labels, _ = review_until(args.reviews, [], None, pool, gold, playbook, settings, embedder, seed)
        for v in variants:
            rows.setdefault(v.name, []).append(evaluate(v, labels, pool, scored, *common))
        for name, pick in strategies.items():
            shown, _ = review_until(args.reviews, [], None, pool, gold, playbook, settings, embedder, seed, pick)
            rows.setdefault(name, []).append(evaluate(variants[0], shown, pool, scored, *common))
    print(f"# {args.folder} · {args.reviews} reviews · {args.seeds} splits · target precision "
          f"{settings.extraction.target_precision}")
    print("P R F1 F1_lowest_split recall@target AUC  learner or strategy")
    for name, runs in rows.items():
        a = np.array(runs)
        print(f"{a[:, 0].mean():.2f} {a[:, 1].mean():.2f} {a[:, 2].mean():.2f} {a[:, 2].min():.2f} "
              f"{a[:, 3].mean():.2f} {a[:, 4].mean():.3f}  {name}")


if __name__ == "__main__":
    main()
