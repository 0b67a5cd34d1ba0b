"""Small-sample statistics for win rates: Wilson intervals, Fisher's exact test, lift, and the contrast of deals
with a trait against deals without it. Pure functions; no dependencies beyond the standard library."""

from __future__ import annotations

from math import comb, sqrt

from pydantic import BaseModel, computed_field

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; None when n is 0. Stays inside [0, 1] even at 0 or n successes."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test on [[a, b], [c, d]]: the probability, with the margins fixed, of
    a table at most as likely as the one observed (the convention scipy.stats.fisher_exact follows)."""
    row1, col1, n = a + b, a + c, a + b + c + d
    if n == 0:
        return 1.0
    total = comb(n, col1)

    def prob(x: int) -> float:
        return comb(row1, x) * comb(n - row1, col1 - x) / total

    observed = prob(a)
    lo, hi = max(0, col1 - (n - row1)), min(row1, col1)
    p = sum(q for x in range(lo, hi + 1) if (q := prob(x)) <= observed * (1 + 1e-7))
    return min(1.0, p)


def rate(won: int, lost: int) -> float | None:
    return won / (won + lost) if won + lost else None


def win_rate(won: int, lost: int) -> float | None:
    """The win rate of closed deals as reports show it (4 decimals); None without closed deals."""
    return _round(rate(won, lost))


class Contrast(BaseModel):
    """Closed deals with a trait (an objection, a competitor, a message delivered...) against those without."""

    with_won: int
    with_lost: int
    without_won: int
    without_lost: int
    min_sample: int
    alpha: float

    @computed_field
    @property
    def win_rate_with(self) -> float | None:
        return win_rate(self.with_won, self.with_lost)

    @computed_field
    @property
    def win_rate_without(self) -> float | None:
        return win_rate(self.without_won, self.without_lost)

    @computed_field
    @property
    def interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of the win rate with the trait."""
        ci = wilson(self.with_won, self.with_won + self.with_lost)
        return (round(ci[0], 4), round(ci[1], 4)) if ci else None

    @computed_field
    @property
    def lift(self) -> float | None:
        """Win rate with the trait over win rate without it; None when either is undefined or the latter is 0."""
        w, wo = rate(self.with_won, self.with_lost), rate(self.without_won, self.without_lost)
        return _round(w / wo) if w is not None and wo else None

    @computed_field
    @property
    def p_value(self) -> float:
        return round(fisher_exact(self.with_won, self.with_lost, self.without_won, self.without_lost), 4)

    @computed_field
    @property
    def claim(self) -> bool:
        """Enough closed deals on both sides to say anything at all."""
        return min(self.with_won + self.with_lost, self.without_won + self.without_lost) >= self.min_sample

    @computed_field
    @property
    def direction(self) -> str:
        """'higher' or 'lower' (win rate with the trait, significant at alpha), 'no clear difference', or
        'too few deals' below the minimum sample."""
        if not self.claim:
            return "too few deals"
        if self.p_value >= self.alpha:
            return "no clear difference"
        return "higher" if (self.win_rate_with or 0) > (self.win_rate_without or 0) else "lower"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
