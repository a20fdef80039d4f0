"""The voice routes on a real server: enrol a speaker of a scripted upload, list, rename,
merge, export/import, forget; a renewed token keeps the voices; another identity never
sees, changes or gets them."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.backend.conftest import auth
from tests.backend.test_errors import envelope, session, upload
from tests.live_server import LiveServer, start_server

from .conftest import DATA, reference


def identity(url: str) -> tuple[dict[str, str], str]:
    ident = {"X-Client-Id": str(uuid.uuid4()), "X-Client-Secret": uuid.uuid4().hex * 2}
    return ident, token_for(url, ident)


def token_for(url: str, ident: dict[str, str]) -> str:
    response = httpx.post(f"{url}/api/auth/anonymous-token", headers=ident)
    return str(envelope(response, 200, 0)["data"]["token"])


def call(method: str, url: str, token: str, status: int = 200, code: int = 0, **kw) -> dict:
    response = httpx.request(method, url, headers=auth(token), timeout=120, **kw)
    return envelope(response, status, code)


def test_voices_over_the_api(live_server: LiveServer) -> None:
    url = live_server.url
    alice, token = identity(url)
    sid = session(url, token)
    files = envelope(upload(url, token, sid, DATA / "conv_3spk_quiet.webm"), 200, 0)["data"]
    video_id = files["files"][0]["video_id"]
    _, script = reference("conv_3spk_quiet")
    script.video_id = video_id
    put = f"{url}/api/script/nemo_agent/me/{sid}"
    call("PUT", put, token, json={"script": script.to_dict(), "revision": 0})
    pedersen = next(s for s, p in script.people.items() if p == "pedersen")  # type: ignore[attr-defined]
    body = {"name": "Sheila", "session_id": sid, "video_id": video_id, "speaker": pedersen}
    voice = call("POST", f"{url}/api/voices/enrol", token, json=body)["data"]["voice"]
    assert (voice["name"], voice["files"], voice["centroids"]) == ("Sheila", 1, 1)
    lewis = next(s for s, p in script.people.items() if p == "lewis")  # type: ignore[attr-defined]
    call("POST", f"{url}/api/voices/enrol", token, json={**body, "name": "Lew", "speaker": lewis})
    call("POST", f"{url}/api/voices/lew/rename", token, json={"name": "Lewis"})
    call("POST", f"{url}/api/voices/Lewis/rename", token, 409, 409, json={"name": "sheila"})
    names = [v["name"] for v in call("GET", f"{url}/api/voices", token)["data"]["voices"]]
    assert names == ["Lewis", "Sheila"]

    # A renewed token of the same identity keeps the voices.
    renewed = token_for(url, alice)
    assert renewed != token
    assert len(call("GET", f"{url}/api/voices", renewed)["data"]["voices"]) == 2

    # Another identity: sees nothing, changes nothing, cannot enrol from alice's session.
    _, other = identity(url)
    assert call("GET", f"{url}/api/voices", other)["data"]["voices"] == []
    call("POST", f"{url}/api/voices/Sheila/forget", other, 404, 1002)
    call("POST", f"{url}/api/voices/Sheila/rename", other, 404, 1002, json={"name": "Mine"})
    call("POST", f"{url}/api/voices/enrol", other, 404, 1002, json=body)
    assert call("GET", f"{url}/api/voices-export", other)["data"]["voices"] == []

    exported = call("GET", f"{url}/api/voices-export", renewed)["data"]
    assert [len(v["centroids"][0]["vector"]) for v in exported["voices"]] == [192, 192]
    imported = call("POST", f"{url}/api/voices-import", other, json=exported)["data"]
    assert imported["imported"] == ["Lewis", "Sheila"]
    merged = call("POST", f"{url}/api/voices/Lewis/merge", renewed, json={"into": "Sheila"})
    assert merged["data"]["voice"]["centroids"] == 1  # one recording: its centroid refined
    assert call("POST", f"{url}/api/voices/sheila/forget", renewed)["data"] == {
        "forgotten": "Sheila"
    }
    assert call("GET", f"{url}/api/voices", renewed)["data"]["voices"] == []
    assert len(call("GET", f"{url}/api/voices", other)["data"]["voices"]) == 2  # its own copy
    bad = {"format": "something else", "voices": []}
    call("POST", f"{url}/api/voices-import", other, 422, 422, json=bad)


def test_voices_by_prompt(live_server: LiveServer) -> None:
    """'remember Speaker N as Sheila', 'who is Speaker N?', 'forget Sheila' on /run_sse."""
    from tests.backend.test_errors import run

    url = live_server.url
    _, token = identity(url)
    sid = session(url, token)
    files = envelope(upload(url, token, sid, DATA / "conv_3spk_quiet.webm"), 200, 0)["data"]
    _, script = reference("conv_3spk_quiet")
    script.video_id = files["files"][0]["video_id"]
    put = f"{url}/api/script/nemo_agent/me/{sid}"
    call("PUT", put, token, json={"script": script.to_dict(), "revision": 0})
    number = {p: sid_[1:] for sid_, p in script.people.items()}  # type: ignore[attr-defined]

    said = run(url, token, sid, f"remember Speaker {number['pedersen']} as Sheila").text
    assert "Remembered Sheila's voice" in said
    voices = call("GET", f"{url}/api/voices", token)["data"]["voices"]
    assert [v["name"] for v in voices] == ["Sheila"]
    state = call("GET", f"{url}/api/state/nemo_agent/me/{sid}/latest", token)["data"]["state"]
    assert state["script"]["speakers"][f"S{number['pedersen']}"] == "Sheila"
    assert "Sheila, 1.00" in run(url, token, sid, "who is Sheila?").text
    assert "not a voice I know" in run(url, token, sid, f"who is Speaker {number['juarez']}?").text
    assert "Forgot Sheila" in run(url, token, sid, "forget Sheila").text
    assert "Sheila is not a voice I know" in run(url, token, sid, "forget Sheila").text
    assert call("GET", f"{url}/api/voices", token)["data"]["voices"] == []


def test_a_new_job_names_a_remembered_voice(tmp_path_factory) -> None:
    """The worker names the speakers of a newly scripted file by the identity's voices."""
    server = start_server(tmp_path_factory.mktemp("voices-server"), "--diarizer", "campplus")
    try:
        _new_job_names(server.url)
    finally:
        server.stop()


def _new_job_names(url: str) -> None:
    _, token = identity(url)
    sid = session(url, token)
    # Sheila is remembered from one recording (the clip of conv_2spk_short) ...
    files = envelope(upload(url, token, sid, DATA / "conv_2spk_short.webm"), 200, 0)["data"]
    _, script = reference("conv_2spk_short")
    script.video_id = files["files"][0]["video_id"]
    call("PUT", f"{url}/api/script/nemo_agent/me/{sid}", token,
         json={"script": script.to_dict(), "revision": 0})  # fmt: skip
    pedersen = next(s for s, p in script.people.items() if p == "pedersen")  # type: ignore[attr-defined]
    body = {"name": "Sheila", "session_id": sid, "video_id": script.video_id, "speaker": pedersen}
    call("POST", f"{url}/api/voices/enrol", token, json=body)
    # ... and named in another recording, scripted from scratch.
    other = session(url, token)
    envelope(upload(url, token, other, DATA / "conv_3spk_quiet.webm"), 200, 0)
    message = {"app_name": "nemo_agent", "user_id": "me", "session_id": other,
               "new_message": {"parts": [{"text": "extract the script, 3 speakers"}]}}  # fmt: skip
    httpx.post(f"{url}/run_sse", json=message, headers=auth(token), timeout=600)
    for _ in range(600):
        state = call("GET", f"{url}/api/state/nemo_agent/me/{other}/latest", token)["data"]
        jobs = state["state"]["jobs"]
        if jobs and all(j["status"] in ("completed", "failed", "cancelled") for j in jobs):
            break
        time.sleep(1)
    assert [j["status"] for j in jobs] == ["completed"], jobs
    made = state["state"]["script"]
    named = [s for s, m in made["speaker_matches"].items() if m["voice"] == "Sheila"]
    assert len(named) == 1 and made["speakers"][named[0]] == "Sheila"
    assert list(made["speaker_matches"].values())[0]["confidence"] >= 0.5
    _, ref = reference("conv_3spk_quiet")
    hers = [(t["start_ms"], t["end_ms"]) for t in made["turns"] if t["speaker"] == named[0]]
    spans = [(t.start_ms, t.end_ms) for t in ref.turns if ref.people[t.speaker] == "pedersen"]  # type: ignore[attr-defined]
    overlap = sum(max(0, min(b, d) - max(a, c)) for a, b in hers for c, d in spans)
    assert overlap > 0.5 * sum(b - a for a, b in hers)  # Sheila's turns are pedersen's
    voices = call("GET", f"{url}/api/voices", token)["data"]["voices"]
    assert voices[0]["files"] == 2  # enrolled from one file, heard in another
