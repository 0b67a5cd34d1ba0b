"""The demo corpus: package data, installed as `winloss.examples` (a wheel carries the text transcripts, calls.csv
and deals.csv; the audio stays in the repository)."""
