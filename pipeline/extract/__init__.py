"""Extractors turn a Transcript into findings with Evidence; all engines share the schema in models.py."""

from winloss.pipeline.extract.base import Extractor, Findings, build_extractor
from winloss.pipeline.extract.grounding import ground

__all__ = ["Extractor", "Findings", "build_extractor", "ground"]
