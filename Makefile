# The README's two set-up commands live here: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: demo test eval bench install clean corpus

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools<81' wheel
	# CPU torch first, so nothing below resolves a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/winloss demo

test: $(STAMP)
	$(BIN)/ruff check pipeline flows cli tests bench examples
	$(BIN)/python -m pytest -q

# WER and DER on examples/eval, and the stored demo analysis against examples/labels.jsonl (run `make demo` first).
eval: $(STAMP)
	$(BIN)/winloss eval asr
	$(BIN)/winloss eval diarization
	$(BIN)/winloss eval extraction

# Transcription speed of winloss against bare faster-whisper on Gong's call (figures: docs/PERFORMANCE.md).
bench: $(STAMP)
	$(BIN)/python bench/asr.py

# Regenerate the synthetic demo corpus (needs Debian's flite, festival, festvox-us-slt-hts, sox and ffmpeg).
corpus: $(STAMP)
	$(BIN)/python examples/make_corpus.py

clean:
	rm -rf $(VENV) .winloss
