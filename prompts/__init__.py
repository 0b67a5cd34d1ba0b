"""The LLM prompts, one pair of files per task (README.md): package data, installed as `winloss.prompts`."""
