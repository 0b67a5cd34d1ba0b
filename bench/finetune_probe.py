"""Would a fine-tuned encoder detect objections better than the learned tracker? A probe, not the product's learner.

    .venv/bin/python bench/finetune_probe.py ../shared/data/dev/cb_dev --reviews 100 --seeds 0,1,2

For each seed: the same split and simulated reviewer as bench/learning.py, up to `--reviews` verdicts. Then two
detectors of objections among the customer turns of the calls nobody reviewed: the product's learned tracker
(logistic regression over MiniLM embeddings, surface signs, the playbook's similarities and the reviewed calls'
words) and MiniLM fine-tuned with a classification head on the same verdicts plus the playbook's examples. The
fine-tuned detector is built the way the tracker is: one model per fold of the verdicts (grouped by call), their
mean as the detector, and the threshold from their out-of-fold scores by the product's `operating_point` over the
reviewed calls' turns. Prints per seed: ROC AUC, the best recall any threshold reaches at precision >= 0.80 (what
the ranking allows), the precision, recall and F1 each delivers at its own threshold, and the seconds of fine-tuning.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning import ROOT, best_recall, delivered, load, review_until, reviewed_turns, split, turns_of
from winloss.pipeline.extract.learning import (
    SEED_WEIGHT,
    FindingKind,
    operating_point,
    seeds,
    unlabelled,
    verdicts,
)
from winloss.pipeline.playbook import load_playbook
from winloss.pipeline.providers.embed import build_embedder, minilm_path
from winloss.pipeline.settings import load_settings


class FineTuned:
    """MiniLM with a logistic head, every weight trained on the texts (binary cross-entropy, balanced classes)."""

    def __init__(self, texts: list[str], y: np.ndarray, weights: np.ndarray, epochs: int, seed: int):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.manual_seed(seed)
        order = random.Random(seed)
        self.model = SentenceTransformer(str(minilm_path()), device="cpu")
        self.head = torch.nn.Linear(self.model.get_embedding_dimension(), 1)
        optimiser = torch.optim.AdamW([{"params": self.model.parameters(), "lr": 3e-5},
                                       {"params": self.head.parameters(), "lr": 1e-2}])
        balance = torch.tensor((1 - y).sum() / max(1, y.sum()), dtype=torch.float32)
        rows = list(range(len(texts)))
        self.model.train()
        for _ in range(epochs):
            order.shuffle(rows)
            for start in range(0, len(rows), 16):
                batch = rows[start:start + 16]
                vectors = self.model(self.model.preprocess([texts[i] for i in batch]))["sentence_embedding"]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    self.head(vectors).squeeze(-1), torch.tensor(y[batch], dtype=torch.float32), reduction="none",
                    pos_weight=balance)
                loss = (loss * torch.tensor(weights[batch], dtype=torch.float32)).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.model.eval()

    def probabilities(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.no_grad():
            vectors = self.model.encode(texts, convert_to_tensor=True, batch_size=64)
            return torch.sigmoid(self.head(vectors).squeeze(-1)).numpy()


def main() -> None:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--playbook", type=Path, default=ROOT / "bench" / "playbooks" / "marketplace.toml")
    parser.add_argument("--reviews", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings(ROOT / "config" / "winloss.toml")
    target = settings.extraction.target_precision
    playbook = load_playbook(args.playbook)
    embedder = build_embedder(settings.embeddings.model_copy(update={"cache_size": 100_000}))
    transcripts, gold = load(args.folder)
    print("seed tracker:auc,recall@p0.8,P,R,F1 finetuned:auc,recall@p0.8,P,R,F1 finetune_s")
    for seed in map(int, args.seeds.split(",")):
        pool, scored = split(transcripts, seed)
        labels, learned = review_until(args.reviews, [], None, pool, gold, playbook, settings, embedder, seed)
        turns = [t for tr in scored for t in turns_of(tr)]
        truth = np.array([bool(gold[(t.call_id, t.index)]["objection"]) for t in turns])
        texts = [t.text for t in turns]
        detector = learned.detector(FindingKind.objection)
        tracker = detector.probabilities(texts, embedder, [t.reply for t in turns])
        said = verdicts(labels, FindingKind.objection)
        keys = list(said)
        y = np.array([said[k] for k in keys], dtype=float)
        positives, negatives = seeds(playbook)
        population = [k[2] for k in unlabelled(reviewed_turns(pool, labels), said, settings.extraction.min_words)]
        oof, on_test, on_population, seconds = np.zeros(len(y)), [], [], 0.0
        for train, held in GroupKFold(n_splits=args.folds).split(keys, y, [k[0] for k in keys]):
            t0 = time.perf_counter()
            model = FineTuned([keys[i][2] for i in train] + positives + negatives,
                              np.concatenate([y[train], np.ones(len(positives)), np.zeros(len(negatives))]),
                              np.concatenate([np.ones(len(train)), np.full(len(positives) + len(negatives),
                                                                            SEED_WEIGHT)]), args.epochs, seed)
            seconds += time.perf_counter() - t0
            oof[held] = model.probabilities([keys[i][2] for i in held])
            on_test.append(model.probabilities(texts))
            on_population.append(model.probabilities(population))
        tuned = np.mean(on_test, axis=0)
        threshold = operating_point(oof, y.astype(bool), np.concatenate([np.mean(on_population, axis=0), oof]),
                                    target)[0]
        row = [roc_auc_score(truth, tracker), best_recall(tracker, truth),
               *delivered(tracker, detector.threshold, truth),
               roc_auc_score(truth, tuned), best_recall(tuned, truth), *delivered(tuned, threshold, truth)]
        print(seed, " ".join(f"{v:.2f}" for v in row), f"{seconds:.0f}", flush=True)


if __name__ == "__main__":
    main()
