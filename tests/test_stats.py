"""The report's statistics against hand-computed values and scipy, and on the demo corpus against an independent
recount of its deals."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from scipy.stats import binomtest
from scipy.stats import fisher_exact as scipy_fisher
from winloss.pipeline.insight.insights import compute
from winloss.pipeline.insight.stats import Contrast, fisher_exact, wilson
from winloss.pipeline.storage.store import Store


def test_wilson_matches_hand_values_and_scipy():
    lo, hi = wilson(1, 7)  # by hand: p=1/7, z=1.96 -> centre 0.2694, half 0.2437
    assert (round(lo, 4), round(hi, 4)) == (0.0257, 0.5131)
    assert wilson(0, 0) is None
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0
    for k, n in [(0, 1), (3, 10), (10, 10), (17, 40), (1, 100)]:
        ref = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-9)


def test_fisher_matches_hand_values_and_scipy():
    # [[1, 6], [8, 4]]: with margins 7/12 and 9 wins, P(a) for a = 0..7; the tables at most as likely as a=1
    # are a=0 (0.0048) and a=1 (0.0505): two-sided p = 0.0573 (scipy agrees).
    assert fisher_exact(1, 6, 8, 4) == pytest.approx(0.057276, abs=1e-6)
    assert fisher_exact(0, 0, 0, 0) == 1.0
    for a, b, c, d in itertools.product([0, 1, 3, 7], [0, 2, 5], [0, 4, 6], [1, 3, 9]):
        assert fisher_exact(a, b, c, d) == pytest.approx(scipy_fisher([[a, b], [c, d]]).pvalue, rel=1e-9, abs=1e-12)


def test_contrast_figures_and_the_minimum_sample():
    lower = Contrast(with_won=1, with_lost=6, without_won=8, without_lost=4, min_sample=5, alpha=0.1)
    assert (lower.win_rate_with, lower.win_rate_without) == (0.1429, 0.6667)
    assert lower.lift == pytest.approx(0.2143, abs=1e-4)  # (1/7) / (8/12)
    assert lower.interval == (0.0257, 0.5131)
    assert lower.claim and lower.direction == "lower"  # p = 0.057 < alpha 0.1
    assert lower.model_copy(update={"alpha": 0.05}).direction == "no clear difference"
    few = Contrast(with_won=3, with_lost=1, without_won=2, without_lost=9, min_sample=5, alpha=0.1)
    assert not few.claim and few.direction == "too few deals"  # 4 closed deals with it: no claim, however stark
    nothing_without = Contrast(with_won=5, with_lost=5, without_won=0, without_lost=0, min_sample=5, alpha=0.1)
    assert nothing_without.lift is None and nothing_without.win_rate_without is None


def test_report_statistics_on_the_demo_corpus_match_an_independent_recount(script_corpus):
    store = Store(script_corpus.database_url)
    data = compute(store, None, None, 5, 1, 0.1, None)
    # Independent recount: deals and outcomes from the deals table, traits from the raw finding rows, in Python.
    outcome = {c.deal_id: c.outcome for c in store.calls_in_period(None, None) if c.deal_id}
    closed = {d for d, o in outcome.items() if o in ("won", "lost")}
    deals_with: dict[tuple, set[str]] = defaultdict(set)
    unanswered: dict[tuple, set[str]] = defaultdict(set)
    for r in store.finding_rows(None, None):
        if r.kind == "competitor" and r.role == "rep":
            continue
        variant = "" if r.kind != "message" else ("contradicted" if r.status == "contradicted" else "used")
        deals_with[(r.kind, r.label, variant)].add(r.deal_id)
        if r.kind == "objection" and not r.answered:
            unanswered[(r.kind, r.label, variant)].add(r.deal_id)
    rows = data.objections + data.competitors + [r for r in data.messages if r.variant != "missed"]
    assert len(rows) == len(deals_with)
    for row in rows:
        key = (row.kind, row.label, row.variant)
        w, wo = deals_with[key] & closed, closed - deals_with[key]
        c = row.contrast
        assert (c.with_won, c.with_lost, c.without_won, c.without_lost) == (
            sum(outcome[d] == "won" for d in w), sum(outcome[d] == "lost" for d in w),
            sum(outcome[d] == "won" for d in wo), sum(outcome[d] == "lost" for d in wo)), key
        assert c.p_value == pytest.approx(scipy_fisher([[c.with_won, c.with_lost],
                                                         [c.without_won, c.without_lost]]).pvalue, abs=1e-4)
        if row.kind == "objection":
            handled = w - unanswered[key]
            h = row.handled
            assert (h.with_won, h.with_lost, h.without_won, h.without_lost) == (
                sum(outcome[d] == "won" for d in handled), sum(outcome[d] == "lost" for d in handled),
                sum(outcome[d] == "won" for d in w - handled), sum(outcome[d] == "lost" for d in w - handled))
    # The planted patterns, counted by hand from examples/deals.csv and the scripts.
    quotient = next(r for r in data.competitors if r.label == "Quotient")
    assert (quotient.contrast.with_won, quotient.contrast.with_lost) == (1, 6)  # D-1008 won; 6 lost deals
    assert (quotient.contrast.without_won, quotient.contrast.without_lost) == (8, 3)  # 18 closed deals in all
    assert quotient.contrast.direction == "lower" and quotient.encounter_rate == round(7 / 22, 4)  # 22 deals
    price = next(r for r in data.objections if r.label == "price")
    assert price.handled.win_rate_with > price.handled.win_rate_without  # answered in wins, brushed off in losses
    used = next(r for r in data.messages if r.label == "forecast_accuracy" and r.variant == "used")
    missed = next(r for r in data.messages if r.label == "forecast_accuracy" and r.variant == "missed")
    assert used.contrast.win_rate_with > used.contrast.win_rate_without
    assert missed.deals + used.deals >= len(outcome) and missed.contrast.win_rate_with < used.contrast.win_rate_with
    for row in data.objections + data.competitors + data.messages:
        if not row.contrast.claim:
            assert row.contrast.direction == "too few deals"
