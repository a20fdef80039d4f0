"""Worker processes: each keeps the ASR model loaded and runs one job at a time.

Started with ``multiprocessing`` *spawn* (no forked copy of the server's
threads or sockets); a worker polls the queue table, runs the engine with
progress and cancellation wired to the database, and dies with its server
(``PR_SET_PDEATHSIG`` on Linux, and a parent check otherwise), so a killed
server leaves no orphan writing behind it.  :class:`WorkerPool` in the
server process restarts a worker that died and fails or requeues its job.
"""

from __future__ import annotations

import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.backend import credits, events, jobs, voices_store
from tui.backend.errors import engine_reason
from tui.backend.store import Store
from tui.engine.writing import plural

if TYPE_CHECKING:
    from tui.engine.pipeline import Options
    from tui.engine.script import Script

log = logging.getLogger("reelscript.worker")

IDLE_POLL_S = 0.3
CANCEL_POLL_S = 0.5
PROGRESS_EVERY_S = 0.5
# Share of the whole job per stage, so ``progress`` grows steadily from 0 to 1.
STAGE_WEIGHTS = {
    "probing": 0.02,
    "decoding": 0.08,
    "vad": 0.05,
    "transcribing": 0.6,
    "diarizing": 0.2,
    "writing": 0.05,
}


def _die_with_parent(parent_pid: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    if os.getppid() != parent_pid:
        os._exit(1)


def _preload(model: str | None, diarizer: str) -> None:
    """Load the ASR model and the speaker encoder once, so every job of this worker starts warm.

    The engine caches both per process; labelling two seconds of silence
    loads the diarizer's encoder (and torch) here rather than in the first job.
    """
    try:
        import numpy as np

        from tui.engine import transcribe
        from tui.engine.diarize import get_diarizer

        transcribe.load_plan(model)
        if diarizer != "none":
            silence = np.zeros(2 * transcribe.SAMPLE_RATE, np.float32)
            get_diarizer(diarizer).diarize(silence, [], speech=[(0, 2000)])
    except Exception as exc:  # a job will report the same problem with its own message
        log.warning("model preload failed: %s", exc)


def worker_main(
    data_dir: str, model: str | None, parent_pid: int, max_bytes: int, diarizer: str = "builtin"
) -> None:
    """Entry point of a worker process."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    _no_process_locks()
    try:
        # ASR takes every core it gets; a lower priority keeps the API (health checks,
        # streams, uploads) answering at once while a job runs.
        os.nice(10)
    except OSError:
        pass
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    try:
        store = Store(Path(data_dir), create=False)
    except (OSError, sqlite3.Error) as exc:
        log.error("worker %s cannot open the data dir, stopping: %s", os.getpid(), exc)
        raise SystemExit(1) from None
    _preload(model, diarizer)
    while True:
        job = jobs.claim(store, os.getpid())
        if job is None:
            time.sleep(IDLE_POLL_S)
            continue
        run(store, job, model, max_bytes, diarizer)


def _no_process_locks() -> None:
    """Give tqdm (which faster-whisper creates, even with its bar off) a thread lock.

    Its default is a multiprocessing lock: a named semaphore that a worker
    stopped mid-job (SIGTERM, when the server stops) never unlinks, and that
    the resource tracker then reports as "leaked" at shutdown.
    """
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - faster-whisper depends on it
        return
    tqdm.set_lock(threading.RLock())


def _stage_start(stage: str) -> float:
    total = 0.0
    for name, weight in STAGE_WEIGHTS.items():
        if name == stage:
            return total
        total += weight
    return total


def run(
    store: Store, job: sqlite3.Row, model: str | None, max_bytes: int, diarizer: str = "builtin"
) -> None:
    """Run one claimed job to its end: completed, failed or cancelled."""
    from tui.engine.errors import Cancelled, EngineError
    from tui.engine.pipeline import transcribe_file

    engine_options = _engine_options(job, model, max_bytes, diarizer)
    info = json.loads(job["info"])
    name = info.get("name", job["video_id"])
    cancel, stop_watch = _watch_cancel(store, job)
    try:
        # Inside the try: a voice book that cannot be read fails this job, never the worker.
        book = voices_store.book_for_job(store, job)
        engine_options.voices = book.profiles() if book.any() else None
        script = transcribe_file(
            store.located(job["media"]),
            engine_options,
            progress=_Progress(store, job),
            cancel=cancel,
        )
    except Cancelled:
        _finish(store, job, "cancelled", message="Cancelled; no credits charged.")
        return
    except EngineError as exc:
        reason = _failure_reason(store, job, exc)
        _finish(
            store,
            job,
            "failed",
            error=f"{name}: {reason}",
            error_code=exc.api_code,
            message=f"Could not script {name}: {reason}",
        )
        return
    except Exception as exc:  # a bug: report it on the job, keep the worker alive
        log.exception("job %s failed", job["id"])
        _finish(
            store,
            job,
            "failed",
            error=f"internal error: {type(exc).__name__}: {exc}",
            error_code=500,
        )
        return
    finally:
        stop_watch.set()
    _complete(store, job, script, book, name, info, engine_options.task)


def _engine_options(job: sqlite3.Row, model: str | None, max_bytes: int, diarizer: str) -> Options:
    """The engine's :class:`~tui.engine.pipeline.Options` for a job's stored options."""
    from tui.engine.pipeline import Options

    options: dict[str, Any] = json.loads(job["options"] or "{}")
    language = options.get("language")
    return Options(
        language=None if language in (None, "", "auto") else language,
        model=options.get("model") or model,
        speakers=options.get("speakers"),
        min_speakers=options.get("min_speakers"),
        max_speakers=options.get("max_speakers"),
        max_bytes=max_bytes,
        task=str(options.get("task") or "transcribe"),
        diarizer=diarizer,
    )


def _watch_cancel(store: Store, job: sqlite3.Row) -> tuple[threading.Event, threading.Event]:
    """A thread that sets the first event once the job's cancel is asked for; the second
    event stops the thread."""
    cancel, stop_watch = threading.Event(), threading.Event()

    def watch() -> None:
        while not stop_watch.wait(CANCEL_POLL_S):
            if jobs.cancel_requested(store, job["id"], job["claim"]):
                cancel.set()
                return

    threading.Thread(target=watch, daemon=True, name="cancel-watch").start()
    return cancel, stop_watch


class _Progress:
    """The engine's progress callback: the job's stage, overall fraction and ETA, written
    at most every PROGRESS_EVERY_S per stage (always at a stage's end)."""

    def __init__(self, store: Store, job: sqlite3.Row) -> None:
        self.store, self.job = store, job
        self.last_t, self.last_stage = 0.0, ""  # when and what was last reported

    def __call__(self, stage: str, fraction: float, eta_s: float | None) -> None:
        now = time.monotonic()
        fraction = max(0.0, min(1.0, float(fraction)))
        if stage == self.last_stage and now - self.last_t < PROGRESS_EVERY_S and fraction < 1.0:
            return
        self.last_t, self.last_stage = now, stage
        overall = _stage_start(stage) + STAGE_WEIGHTS.get(stage, 0.0) * fraction
        job = self.job
        with self.store.tx() as db:
            cur = db.execute(
                "UPDATE jobs SET stage=?, progress=?, eta_s=? WHERE id=? AND claim=?",
                (stage, round(overall, 3), eta_s, job["id"], job["claim"]),
            )
            if cur.rowcount and job["invocation_id"]:
                events.add_progress(
                    self.store, db, job["invocation_id"], job["id"], stage, overall, eta_s
                )


def _failure_reason(store: Store, job: sqlite3.Row, exc: Exception) -> str:
    """The engine's reason, said of the user's file (the engine names the stored hash)."""
    if not store.located(job["media"]).exists():
        return (
            "the upload is no longer stored on the server (its session was idle longer"
            " than the server keeps files, or it was removed by hand): upload the file again"
        )
    return engine_reason(exc)


def _finish(store: Store, job: sqlite3.Row, status: str, **outcome: Any) -> None:
    """End the job as cancelled or failed, in one transaction."""
    with store.tx() as db:
        jobs.finish(store, db, job, status, claim_token=job["claim"], **outcome)


def _complete(
    store: Store,
    job: sqlite3.Row,
    script: Script,
    book: voices_store.VoiceBook,
    name: str,
    info: dict[str, Any],
    task: str,
) -> None:
    """Save the finished script and complete the job, unless it is no longer ours."""
    claim = job["claim"]
    # The stored media is named by its hash; exports should name the user's file.
    script.source = name
    data = script.to_dict()
    data["video_id"] = job["video_id"]
    duration = int(data.get("duration_ms") or info.get("duration_ms") or 0)
    with store.tx() as db:
        if db.execute("SELECT claim FROM jobs WHERE id=?", (job["id"],)).fetchone()[0] != claim:
            return  # no longer ours (the server restarted and requeued it): write nothing
        voices_store.after_job(store, book, job["video_id"], script, str(job["media"]))
        carried = _carry_names(store, job["video_id"], script)
        if carried:
            data["speakers"] = dict(script.speakers)
        saved = store.save_script(db, job["session_id"], data)
        assert saved is not None
        speakers = len({t["speaker"] for t in saved["turns"]})
        kept = f" Names kept from your edits: {', '.join(carried)}." if carried else ""
        jobs.finish(
            store,
            db,
            job,
            "completed",
            claim_token=claim,
            used=credits.cost_of(duration),
            result={
                "video_id": job["video_id"],
                "revision": saved["revision"],
                "speakers": speakers,
                "turns": len(saved["turns"]),
            },
            message=(
                f"The {'English translation' if task == 'translate' else 'script'}"
                f" of {name} is ready ({_spoken(saved)}): {plural(speakers, 'speaker')}, "
                f"{plural(len(saved['turns']), 'turn')}."
                if saved["turns"]
                else f"No speech was found in {name}; the script is empty."
            )
            + kept,
        )


def _carry_names(store: Store, video_id: str, script: Script) -> list[str]:
    """The names the user gave the file's speakers before, given again to the same voices
    of ``script`` (a new script of the same recording: scripted again, or translated).
    Called inside the job's transaction, which runs on ``store.db`` for both stores."""
    from tui.engine.script import Script, carry_names

    before = store.script(video_id)
    if before is None:
        return []
    return list(carry_names(Script.from_dict(before), script).values())


def _spoken(script: dict) -> str:
    """The language(s) of a finished script, for the job's message ("in Spanish", "from French")."""
    from tui.engine.formats.common import spoken_label
    from tui.engine.script import Script

    return spoken_label(Script.from_dict(script))


class WorkerPool:
    """Keeps ``count`` worker processes alive while the server runs."""

    def __init__(
        self,
        data_dir: Path,
        count: int,
        model: str | None,
        max_bytes: int,
        diarizer: str = "builtin",
    ) -> None:
        self.data_dir, self.count, self.model = data_dir, count, model
        self.diarizer = diarizer
        self.max_bytes = max_bytes
        self.ctx = multiprocessing.get_context("spawn")
        self.procs: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True, name="workers")

    def _spawn(self) -> Any:
        proc = self.ctx.Process(
            target=worker_main,
            args=(str(self.data_dir), self.model, os.getpid(), self.max_bytes, self.diarizer),
            daemon=True,
            name="reelscript-worker",
        )
        proc.start()
        return proc

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]
        self._thread.start()

    def _supervise(self) -> None:
        try:
            store = Store(self.data_dir, create=False)
        except (OSError, sqlite3.Error) as exc:
            log.error("workers are not supervised: %s", exc)
            return
        while not self._stop.wait(1.0):
            if store.replaced():
                # Removed under the server: a new worker could not open it (and must
                # not make a new one); the API goes on answering from what it has open.
                log.error("the data dir %s is gone: workers are not restarted", self.data_dir)
                return
            for index, proc in enumerate(self.procs):
                if proc.is_alive() or self._stop.is_set():
                    continue
                reason = f"its worker stopped unexpectedly, exit code {proc.exitcode}"
                log.error("worker %s died (%s)", proc.pid, proc.exitcode)
                jobs.recover(store, worker_pid=proc.pid, reason=reason)
                self.procs[index] = self._spawn()

    def stop(self) -> None:
        self._stop.set()
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=2)
