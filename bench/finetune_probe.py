"""Would a fine-tuned encoder rank objections better than the learned tracker? A probe, not the product's learner.

    .venv/bin/python bench/finetune_probe.py ../shared/data/dev/cb_dev --reviews 100 --seeds 0,1

For each seed: the same split and simulated reviewer as bench/learning.py, up to `--reviews` verdicts; then, on the
calls nobody reviewed, two rankings of customer turns: the product's learned tracker (logistic regression over
MiniLM embeddings, surface signs and the playbook's similarities) and SetFit-style contrastive fine-tuning of MiniLM
on the same verdicts (pairs of same/different verdict, cosine loss, one epoch) followed by a logistic regression on
its embeddings. Prints, per seed: ROC AUC, the best recall any threshold reaches at precision >= 0.80 (an oracle
threshold: what the ranking allows, not what the tracker delivers) and the fine-tuning seconds.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning import ROOT, load, review_until, split
from winloss.pipeline.extract.learning import FindingKind, seeds, verdicts
from winloss.pipeline.models import Role
from winloss.pipeline.playbook import load_playbook
from winloss.pipeline.providers.embed import build_embedder, minilm_path
from winloss.pipeline.settings import load_settings


def best_recall(scores: np.ndarray, truth: np.ndarray, precision: float = 0.8) -> float:
    best = 0.0
    for t in np.unique(scores):
        chosen = scores >= t
        if truth[chosen].mean() >= precision:
            best = max(best, truth[chosen].sum() / truth.sum())
    return best


def fine_tuned(texts: list[str], y: np.ndarray, iterations: int, seed: int):
    """MiniLM fine-tuned on pairs of the texts: same verdict towards 1, different towards 0 (SetFit's recipe)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_path()), device="cpu")
    rng = random.Random(seed)
    yes, no = [i for i in range(len(texts)) if y[i]], [i for i in range(len(texts)) if not y[i]]
    pairs = [p for _ in range(iterations) for i in range(len(texts))
             for p in ((i, rng.choice(yes if y[i] else no), 1.0), (i, rng.choice(no if y[i] else yes), 0.0))]
    rng.shuffle(pairs)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-5)
    model.train()
    for start in range(0, len(pairs), 16):
        batch = pairs[start:start + 16]
        a = model(model.preprocess([texts[i] for i, _, _ in batch]))["sentence_embedding"]
        b = model(model.preprocess([texts[j] for _, j, _ in batch]))["sentence_embedding"]
        loss = torch.nn.functional.mse_loss(torch.nn.functional.cosine_similarity(a, b),
                                            torch.tensor([target for _, _, target in batch]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return model


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--playbook", type=Path, default=ROOT / "bench" / "playbooks" / "marketplace.toml")
    parser.add_argument("--reviews", type=int, default=100)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--iterations", type=int, default=5, help="pairs per labelled turn and verdict (SetFit: 20)")
    args = parser.parse_args()
    settings = load_settings(ROOT / "config" / "winloss.toml")
    playbook = load_playbook(args.playbook)
    embedder = build_embedder(settings.embeddings.model_copy(update={"cache_size": 100_000}))
    transcripts, gold = load(args.folder)
    print("seed tracker_auc tracker_recall@p0.8 finetuned_auc finetuned_recall@p0.8 finetune_s")
    for seed in map(int, args.seeds.split(",")):
        pool, scored = split(transcripts, seed)
        labels, learned = review_until(args.reviews, [], None, pool, gold, playbook, settings, embedder, seed)
        turns = [(tr.call_id, u) for tr in scored for u in tr.utterances if u.role is Role.customer]
        truth = np.array([bool(gold[(c, u.index)]["objection"]) for c, u in turns])
        texts = [u.text for _, u in turns]
        tracker = learned.detector(FindingKind.objection).probabilities(texts, embedder)
        said = verdicts(labels, FindingKind.objection)
        positives, negatives = seeds(playbook)
        train_texts = [k[2] for k in said] + positives + negatives
        y = np.array(list(said.values()) + [True] * len(positives) + [False] * len(negatives))
        t0 = time.perf_counter()
        model = fine_tuned(train_texts, y, args.iterations, seed)
        seconds = time.perf_counter() - t0
        head = LogisticRegression(class_weight="balanced", max_iter=3000).fit(
            model.encode(train_texts, normalize_embeddings=True), y)
        tuned = head.predict_proba(model.encode(texts, normalize_embeddings=True))[:, 1]
        print(f"{seed} {roc_auc_score(truth, tracker):.3f} {best_recall(tracker, truth):.2f} "
              f"{roc_auc_score(truth, tuned):.3f} {best_recall(tuned, truth):.2f} {seconds:.0f}", flush=True)


if __name__ == "__main__":
    main()
