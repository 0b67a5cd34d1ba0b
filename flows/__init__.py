"""Prefect flows over pipeline functions: per-call fan-out, retries, the weekly report and its schedule."""
