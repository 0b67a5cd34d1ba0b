"""What the stored calls say: statistics, insights, scorecards, summaries and the per-deal view."""
