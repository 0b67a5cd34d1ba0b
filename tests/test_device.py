"""Where models run: the selection logic, checked on the CPU with the GPU counts given."""

from winloss.pipeline.fingerprint import fingerprint
from winloss.pipeline.providers.device import Placement, cuda_devices_for_ctranslate2, torch_device, whisper_placement


def test_auto_takes_a_gpu_in_float16_when_ctranslate2_sees_one():
    assert whisper_placement("auto", "float32", cuda_devices=1) == Placement("cuda", "float16")
    assert whisper_placement("auto", "int8_float16", cuda_devices=2) == Placement("cuda", "int8_float16")
    assert whisper_placement("auto", "float32", cuda_devices=0) == Placement("cpu", "float32")
    assert whisper_placement("cpu", "int8", cuda_devices=4) == Placement("cpu", "int8")


def test_embeddings_follow_torch_and_auto_asks_ctranslate2():
    assert torch_device("auto", has_cuda=True) == "cuda"
    assert torch_device("auto", has_cuda=False) == "cpu"
    assert torch_device("cpu", has_cuda=True) == "cpu"
    found = cuda_devices_for_ctranslate2()
    assert whisper_placement("auto", "float32").device == ("cuda" if found else "cpu")


def test_where_a_model_runs_is_not_part_of_what_a_call_depends_on(settings, playbook):
    moved = settings.model_copy(update={"transcription": settings.transcription.model_copy(update={"device": "cuda"}),
                                        "embeddings": settings.embeddings.model_copy(update={"device": "cuda"})})
    assert fingerprint(moved, playbook) == fingerprint(settings, playbook)
