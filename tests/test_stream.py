"""Long calls stream: the audio is read in chunks cut in silence, and a chunked call gives the transcript, the
speakers and the roles that the whole call gives. Real audio, real Whisper tiny.en and resemblyzer; chunks of a
few seconds stand in for the ten minutes a real call is read in."""

from itertools import pairwise

import numpy as np
import pytest
from winloss.pipeline.evaluation.speech import der, read_rttm, wer
from winloss.pipeline.ingest import diarize as diarize_module
from winloss.pipeline.ingest.audio import SAMPLE_RATE, AudioFile, decode
from winloss.pipeline.ingest.diarize import ResemblyzerEncoder, turns_from_prints, voice_prints
from winloss.pipeline.ingest.transcribe import audio_call, transcribe_audio
from winloss.pipeline.ingest.transcribe.audio_call import map_speech
from winloss.pipeline.ingest.vad import speech_regions
from winloss.pipeline.models import Role


@pytest.mark.parametrize("name, chunk_s", [("jfk.wav", 3.0), ("stereo_diarization.wav", 1.5),
                                           ("pyannote_sample.wav", 7.0)])
def test_chunks_put_together_are_the_decoded_file(data_dir, name, chunk_s):
    whole = decode(data_dir / name)
    chunks = list(AudioFile(data_dir / name, chunk_s=chunk_s).chunks())
    assert len(chunks) == int(np.ceil(whole.duration / chunk_s))
    for before, after in pairwise(chunks):
        assert after.start == pytest.approx(before.start + before.duration)
    for c, channel in enumerate(whole.channels):
        np.testing.assert_array_equal(np.concatenate([chunk.channels[c] for chunk in chunks]), channel)


def test_a_chunked_call_transcribes_like_the_whole_call(engines, data_dir):
    whole = transcribe_audio("jfk", decode(data_dir / "jfk.wav"), engines.transcriber, ("rep", "customer"), 300)
    streamed = AudioFile(data_dir / "jfk.wav", chunk_s=3.0)
    speech = map_speech(streamed, 300)
    assert speech.whole is None  # several chunks: the audio is read again, not kept
    chunked = transcribe_audio("jfk", streamed, engines.transcriber, ("rep", "customer"), 300, speech=speech)
    # Speech is gathered across chunks into full Whisper windows, so 11 s decode as one, as the whole file does;
    # only the regions' edges, found again where a chunk ended, may differ by a VAD frame.
    text = " ".join(u.text for u in chunked.utterances)
    assert wer(" ".join(u.text for u in whole.utterances), text) <= 0.05, text
    assert wer((data_dir / "jfk.reference.txt").read_text(), text) <= 0.05, text
    assert chunked.duration == whole.duration


def test_speech_is_decoded_chunk_by_chunk_once_enough_has_come(engines, data_dir, monkeypatch):
    monkeypatch.setattr(audio_call, "DECODE_SPEECH_S", 4.0)
    decodes = []
    transcriber = engines.transcriber
    monkeypatch.setattr(transcriber, "segments", lambda audio, regions: decodes.append(len(audio)) or
                        type(transcriber).segments(transcriber, audio, regions))
    tr = transcribe_audio("jfk", AudioFile(data_dir / "jfk.wav", chunk_s=3.0), transcriber, ("rep", "customer"), 300)
    assert len(decodes) >= 2 and max(decodes) < 11 * SAMPLE_RATE  # several decodes, none of the whole call
    text = " ".join(u.text for u in tr.utterances)
    assert wer((data_dir / "jfk.reference.txt").read_text(), text) <= 0.15, text  # short windows: less context
    starts = [u.start for u in tr.utterances]
    assert starts == sorted(starts) and tr.utterances[-1].end <= tr.duration


def test_a_chunked_stereo_call_keeps_its_roles(engines, data_dir):
    refs = dict(line.split("\t") for line in (data_dir / "stereo_diarization.refs.tsv").read_text().splitlines()[1:])
    tr = transcribe_audio("st", AudioFile(data_dir / "stereo_diarization.wav", chunk_s=1.5), engines.transcriber,
                          ("rep", "customer"), 300)
    said = {role: " ".join(u.text for u in tr.utterances if u.role is role) for role in (Role.rep, Role.customer)}
    assert wer(refs["left"], said[Role.rep]) <= 0.2, said
    assert wer(refs["right"], said[Role.customer]) <= 0.2, said


def test_a_chunked_mono_call_is_diarized_from_every_chunks_voice_prints(engines, data_dir):
    source = AudioFile(data_dir / "pyannote_sample.wav", chunk_s=7.0)
    speech = map_speech(source, 300, ResemblyzerEncoder())
    regions = speech.regions[0]
    assert {r for r, _ in speech.where} <= set(range(len(regions)))
    assert all(regions[r][0] <= t <= regions[r][1] for r, t in speech.where)  # prints sit in their region
    tr = transcribe_audio("phone", source, engines.transcriber, ("rep", "customer"), 300,
                          encoder=ResemblyzerEncoder(), speech=speech)
    spans = [(u.start, u.end, u.speaker) for u in tr.utterances]
    result = der(read_rttm(data_dir / "pyannote_sample.rttm"), spans)
    assert result.der <= 0.25, result  # the whole call: 0.056 on diarizer turns; utterance spans are coarser
    assert len({u.speaker for u in tr.utterances}) == 2


def test_a_long_calls_voice_prints_are_clustered_on_a_sample(monkeypatch, data_dir):
    """Past MAX_WARD windows, Ward runs on an even sample and every window joins the nearest centroid: the turns
    stay as good (the phone sample's 86 windows, sampled down to a third, stand in for a two-hour call)."""
    audio = decode(data_dir / "pyannote_sample.wav").channels[0]
    regions = speech_regions(audio, 300)
    found = voice_prints(audio, regions, ResemblyzerEncoder())
    reference = read_rttm(data_dir / "pyannote_sample.rttm")
    monkeypatch.setattr(diarize_module, "MAX_WARD", len(found[1]) // 3)
    turns = turns_from_prints(regions, found)
    assert der(reference, [(s, e, f"S{k}") for s, e, k in turns]).der <= 0.1  # measured 0.069; all windows 0.056


def test_speech_is_never_cut_at_a_chunk_boundary(data_dir):
    """Every region found chunk by chunk is one the whole-file VAD also finds, give or take its padding."""
    whole = speech_regions(decode(data_dir / "pyannote_sample.wav").channels[0], 300)
    chunked = map_speech(AudioFile(data_dir / "pyannote_sample.wav", chunk_s=7.0), 300).regions[0]
    spoken = sum(b - a for a, b in whole)
    assert sum(b - a for a, b in chunked) == pytest.approx(spoken, rel=0.05)
    for a, b in chunked:
        assert any(a >= wa - 0.35 and b <= wb + 0.35 for wa, wb in whole), (a, b)
    assert len(chunked) == pytest.approx(len(whole), abs=2)


def test_the_language_check_gets_the_first_speech(data_dir):
    speech = map_speech(AudioFile(data_dir / "jfk.wav", chunk_s=3.0), 300)
    assert 5 * SAMPLE_RATE < len(speech.first_speech) <= 11 * SAMPLE_RATE
