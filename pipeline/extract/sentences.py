"""Sentences of an utterance: the unit the extractor embeds, and the pieces an utterance's index vector is made of."""

from __future__ import annotations

import re

import numpy as np
import sentencex
from winloss.pipeline.providers.embed import Embedder

# sentencex's English abbreviations include words that end many a spoken sentence: "me." (Maine), "no." (number),
# "ok." (Oklahoma), "mm." (millimetre). Before a capital they end the sentence: "Works for me. Thanks".
_SPOKEN_END = re.compile(r"\b(?i:me|no|ok|mm)\.(?=\s+[A-Z])")


def split_sentences(text: str, language: str = "en") -> list[str]:
    """The sentences of `text`, as exact substrings of it (so quotes stay verbatim).

    sentencex knows decimals and abbreviations ("a 2.5 percent lift", "Dr. Smith", "$1,800.00", "etc.)"), which a
    split at every period cut in two. It is as fast as that regex (811 demo utterances: 1.9 ms against 1.2 ms;
    pysbd took 600 ms, syntok 170 ms, nupunkt 116 ms), which matters: the offline engine splits every utterance of
    every call.
    """
    out = []
    for piece in sentencex.segment(language, text):
        start = 0
        for m in _SPOKEN_END.finditer(piece) if language == "en" else ():
            out.append(piece[start:m.end()].strip())
            start = m.end()
        out.append(piece[start:].strip())
    return [s for s in out if s]


# `\s*[,;:]\s+|\s+[-\u2013\u2014]+\s+`, but a break is only tried where a run of spaces starts or at the mark itself:
# tried inside a long run of spaces, the leading `\s` rescanned the rest of the run from every position (quadratic;
# 7 s on 20k spaces). A match of the old pattern never began inside a run, so the splits are the same.
_CLAUSE_BREAK = re.compile(r"(?<!\s)\s*[,;:]\s+|[,;:]\s+|(?<!\s)\s+[-\u2013\u2014]+\s+")
MAX_CLAUSES = 6
MAX_SENTENCE_CLAUSES = 40  # beyond this no one is speaking: see clause_runs


def clause_runs(sentence: str, min_words: int = 3) -> list[str]:
    """The runs of adjacent clauses in a sentence (split at commas, semicolons, colons and dashes), besides the
    whole sentence, of at least `min_words` words each.

    An ASR system punctuates as it hears: "Something our customers tell us, pricing is per team, not per seat"
    is one sentence to it where a script has two, and the lead-in dilutes the claim's embedding. Scoring a
    sentence by its best run lets the claim stand on its own. Sentences of more than MAX_CLAUSES clauses give
    only the runs that drop clauses from one end; those of more than MAX_SENTENCE_CLAUSES (a comma-separated list
    of a megabyte is no sentence anyone said, and all its runs together would be quadratic in its length) only the
    runs of up to MAX_CLAUSES clauses at either end.
    """
    parts = [p for p in _CLAUSE_BREAK.split(sentence.strip()) if p]
    if len(parts) < 2:
        return []
    n = len(parts)
    spans = ([(i, j) for i in range(n) for j in range(i + 1, n + 1) if (i, j) != (0, n)] if n <= MAX_CLAUSES
             else [(i, n) for i in range(1, n)] + [(0, j) for j in range(1, n)] if n <= MAX_SENTENCE_CLAUSES
             else [(i, n) for i in range(n - MAX_CLAUSES, n)] + [(0, j) for j in range(1, MAX_CLAUSES + 1)])
    runs = (", ".join(parts[i:j]) for i, j in spans)
    return list(dict.fromkeys(r for r in runs if len(r.split()) >= min_words))


def text_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """One unit vector per text: the word-weighted mean of its sentences' vectors.

    Analysis has just embedded those sentences (the embedder's cache holds them), so indexing a call costs
    almost no model time; embedding each multi-sentence utterance again as a whole was a fifth of all ingest
    embedding. A one-sentence text gets exactly its sentence's vector.
    """
    parts = [split_sentences(t) or [t] for t in texts]
    flat = [s for p in parts for s in p]
    if not flat:
        return np.zeros((0, embedder.dimensions), dtype=np.float32)
    vectors = embedder.embed(flat)
    weights = np.array([len(s.split()) or 1 for s in flat], dtype=np.float32)
    out, i = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32), 0
    for row, p in enumerate(parts):
        out[row] = (vectors[i: i + len(p)] * weights[i: i + len(p), None]).sum(axis=0)
        i += len(p)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
