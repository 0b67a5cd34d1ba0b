"""Calls in object storage: a manifest of s3:// URLs, read from a real S3-compatible server (moto in server mode,
on loopback) through s3fs, analysed like the same files on disk."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .conftest import CONFIG, EXAMPLES

NAMES = ["call_01.txt", "call_02.txt", "call_05.txt"]
BUCKET = "winloss-calls"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on a free loopback port, with dummy credentials in the environment; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    mp = pytest.MonkeyPatch()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        mp.setenv(key, value)
    mp.delenv("AWS_ENDPOINT_URL", raising=False)
    try:
        yield f"http://{host}:{port}"
    finally:
        mp.undo()
        server.stop()


@pytest.fixture()
def bucket(s3):
    """An empty bucket holding the demo transcripts NAMES; yields a boto3 client on it."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3)
    client.create_bucket(Bucket=BUCKET)
    for name in NAMES:
        client.upload_file(str(EXAMPLES / "scripts" / name), BUCKET, f"2026/10/{name}")
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def manifest(folder: Path, paths: dict[str, str]) -> Path:
    """calls.csv naming each demo call by `paths[name]`, with the demo's date, rep and deal."""
    rows = {Path(r["path"]).stem: r for r in csv.DictReader((EXAMPLES / "calls.csv").open())}
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "calls.csv"
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "date", "rep", "account", "deal_id"])
        for name, path in paths.items():
            row = rows[Path(name).stem]
            writer.writerow([path, row["date"], row["rep"], row["account"], row["deal_id"]])
    return out


def settings_for(tmp: Path, endpoint: str):
    from winloss.pipeline.settings import load_settings

    settings = load_settings(CONFIG, data_dir=tmp / "data")
    return settings.model_copy(update={"storage": settings.storage.model_copy(update={"s3_endpoint_url": endpoint})})


def analyse(settings, calls: Path):
    from winloss.flows.analyze import analyze_calls

    return analyze_calls(settings, [], manifest=calls, deals=EXAMPLES / "deals.csv", allow_outside=True)


def findings(settings) -> list[str]:
    """Every stored finding, without the call id (the same call from disk and from S3 has different ids)."""
    from winloss.pipeline.storage.store import Store

    rows = Store(settings.database_url).findings()
    return sorted(json.dumps(f.model_dump(mode="json", exclude={"call_id"}), sort_keys=True) for f in rows)


def test_s3_calls_analysed_like_files_on_disk(s3, bucket, tmp_path):
    from winloss.pipeline.models import call_key
    from winloss.pipeline.storage.store import Store

    urls = {n: f"s3://{BUCKET}/2026/10/{n}" for n in NAMES}
    settings = settings_for(tmp_path / "s3", s3)
    outcomes = analyse(settings, manifest(tmp_path / "s3", urls))
    assert [o.status for o in outcomes] == ["analysed"] * 3, [o.problem for o in outcomes]
    assert [o.path for o in outcomes] == list(urls.values())
    stored = {c.path: c for c in Store(settings.database_url).stored_calls()}
    assert set(stored) == set(urls.values())
    for url in urls.values():  # the id stands for the URL and the deal, as a file's for its path and deal
        assert stored[url].call_id == call_key(url, stored[url].deal_id)
        assert stored[url].media == "transcript" and stored[url].deal_id

    local = settings_for(tmp_path / "disk", s3)
    on_disk = {n: str(EXAMPLES / "scripts" / n) for n in NAMES}
    assert [o.status for o in analyse(local, manifest(tmp_path / "disk", on_disk))] == ["analysed"] * 3
    assert findings(settings) == findings(local) and findings(settings)

    # the content hash is stable: nothing to do again; a rewritten object is analysed again, the others not
    calls = manifest(tmp_path / "s3", urls)
    assert [o.status for o in analyse(settings, calls)] == ["unchanged"] * 3
    before = {c.path: c.content_hash for c in Store(settings.database_url).stored_calls()}
    text = (EXAMPLES / "scripts" / NAMES[0]).read_text() + "Customer: One more thing, the price is too high.\n"
    bucket.put_object(Bucket=BUCKET, Key=f"2026/10/{NAMES[0]}", Body=text.encode())
    again = analyse(settings, calls)
    assert [o.status for o in again] == ["analysed", "unchanged", "unchanged"]
    after = {c.path: c.content_hash for c in Store(settings.database_url).stored_calls()}
    assert after[urls[NAMES[0]]] != before[urls[NAMES[0]]] and after[urls[NAMES[1]]] == before[urls[NAMES[1]]]
    assert {o.call_id for o in again} == {c.call_id for c in stored.values()}  # same calls, no new ids

    # an object removed from the bucket is the manifest's missing call, named by its URL
    bucket.delete_object(Bucket=BUCKET, Key=f"2026/10/{NAMES[2]}")
    gone = analyse(settings, calls)
    assert [(o.path, o.status) for o in gone][2] == (urls[NAMES[2]], "missing")


def test_unreadable_objects_fail_alone_naming_the_url(s3, bucket, tmp_path):
    bucket.put_object(Bucket=BUCKET, Key="empty.txt", Body=b"")
    bucket.put_object(Bucket=BUCKET, Key="noise.txt", Body=b"\xff\xfe not text \x00")
    urls = {NAMES[0]: f"s3://{BUCKET}/2026/10/{NAMES[0]}", NAMES[1]: f"s3://{BUCKET}/no/such/call.txt",
            NAMES[2]: f"s3://{BUCKET}/empty.txt", "call_03.txt": f"s3://{BUCKET}/noise.txt"}
    settings = settings_for(tmp_path, s3)
    outcomes = {o.path: o for o in analyse(settings, manifest(tmp_path, urls))}
    assert outcomes[urls[NAMES[0]]].status == "analysed"
    assert outcomes[urls[NAMES[1]]].status == "failed" and "object not found" in outcomes[urls[NAMES[1]]].problem
    assert "empty object" in outcomes[urls[NAMES[2]]].problem
    noise = outcomes[urls["call_03.txt"]]
    assert noise.status == "failed" and "UTF-8" in noise.problem and "winloss-object-" not in noise.problem


def test_manifest_keeps_object_urls_whole(tmp_path):
    from winloss.pipeline.errors import BadInputError
    from winloss.pipeline.ingest.crm import load_manifest
    from winloss.pipeline.ingest.objects import ObjectURL

    rows = load_manifest(manifest(tmp_path, {"call_01.txt": "s3://b/k/call_01.txt", "call_02.txt": "call_02.txt"}))
    assert rows.rows[0].path == "s3://b/k/call_01.txt" and isinstance(rows.rows[0].path, ObjectURL)
    assert rows.rows[0].path.suffix == ".txt" and rows.rows[1].path == tmp_path / "call_02.txt"
    with pytest.raises(BadInputError, match="s3://bucket-only"):
        load_manifest(manifest(tmp_path, {"call_01.txt": "s3://bucket-only"}))


def test_unreachable_storage_does_not_make_stored_calls_missing(s3, bucket, tmp_path, monkeypatch):
    """A run whose object storage does not answer fails the calls, naming the server; it does not report the
    stored calls missing, so `--prune` cannot forget them."""
    from winloss.pipeline.storage.store import Store

    urls = {NAMES[0]: f"s3://{BUCKET}/2026/10/{NAMES[0]}"}
    settings = settings_for(tmp_path, s3)
    calls = manifest(tmp_path, urls)
    assert [o.status for o in analyse(settings, calls)] == ["analysed"]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries of a refused connection, not needed here
    down = settings.model_copy(update={"storage": settings.storage.model_copy(
        update={"s3_endpoint_url": "http://127.0.0.1:9"})})
    from winloss.flows.analyze import analyze_calls

    outcomes = analyze_calls(down, [], manifest=calls, deals=EXAMPLES / "deals.csv", allow_outside=True, prune=True)
    assert [o.status for o in outcomes] == ["failed"] and "did not answer" in outcomes[0].problem
    assert [c.path for c in Store(settings.database_url).stored_calls()] == [urls[NAMES[0]]]
