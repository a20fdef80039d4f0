"""Benchmark the captioned export against plain re-encoding of the same video.

    python benchmarks/bench_captions.py [--video PATH] [--runs 3] [--frames 1080p,1080x1920]

Builds the 3-minute multi-speaker benchmark video of ``bench_pipeline.py``
(640x360, 10 frames per second, from the test media's voices) unless given
one, scripts it once with the real pipeline (default options), then for each
frame times, alternating, ``--runs`` times each:

* captioned: ``formats.write(script, "captioned", ...)``, the export itself;
* plain: the same render of the same video with an empty script: the same
  decode, fit, libx264 settings (veryfast, CRF 21, yuv420p, faststart) and
  audio copy, and no captions -- the floor any captioned render stands on.

Each run is a fresh process that times only the render (wall and CPU
seconds, and its peak memory).  Prints the medians and their ratio.

    python benchmarks/bench_captions.py --memory

renders 1- and 10-minute videos (the same voices; the first minute scripted
and that script repeated every minute) at their own 640x360 size, and prints
each render's peak memory: equal figures show that frames are streamed,
whatever the length.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pipeline import build_talk  # noqa: E402

_SCRIPT = """
import json, sys
from tui.engine.pipeline import Options, transcribe_file
script = transcribe_file(sys.argv[1], Options())
open(sys.argv[2], "w").write(json.dumps(script.to_dict()))
"""

_RENDER = """
import json, sys, time
from pathlib import Path
from tui.engine import formats
from tui.engine.script import Script
video, script_json, resolution, out, captions = sys.argv[1:6]
script = Script.from_dict(json.loads(Path(script_json).read_text()))
if captions == "none":
    script.turns = []
wall, cpu = time.perf_counter(), time.process_time()
formats.write(script, "captioned", Path(out), source_media=Path(video), resolution=resolution)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, from the parent's size at fork.
status = Path("/proc/self/status").read_text().split("VmHWM:")[1]
peak = int(status.split()[0]) / 1024
print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak}))
"""


def _render(video: Path, script: Path, resolution: str, out: Path, captions: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, str(video), str(script), resolution, str(out),
         "with" if captions else "none"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def _cues_on_screen(script_json: Path, resolution: str, seconds: float) -> float:
    """The share of the video's time that shows a caption."""
    from tui.engine.formats.caption_draw import Layout
    from tui.engine.formats.captioned import frame_size
    from tui.engine.formats.subtitles import build_cues
    from tui.engine.script import Script

    script = Script.from_dict(json.loads(script_json.read_text()))
    layout = Layout.for_frame(*frame_size(resolution, (640, 360)))
    cues = build_cues(script, layout.max_line)
    return sum(c.end_ms - c.start_ms for c in cues) / 1000 / seconds


def memory(folder: Path) -> None:
    from tui.engine.script import Script

    video = folder / "talk-1min.mp4"
    build_talk(video, 60)
    script_json = folder / "script-1min.json"
    subprocess.run([sys.executable, "-c", _SCRIPT, str(video), str(script_json)], cwd=ROOT,
                   check=True)  # fmt: skip
    one = json.loads(script_json.read_text())
    for minutes in (1, 10):
        long_video = folder / f"talk-{minutes}min.mp4"
        if minutes > 1:
            build_talk(long_video, 60 * minutes)
        turns = [
            {**t, "start_ms": t["start_ms"] + m * 60_000, "end_ms": t["end_ms"] + m * 60_000,
             "words": [{**w, "s": w["s"] + m * 60_000, "e": w["e"] + m * 60_000}
                       for w in t["words"]]}
            for m in range(minutes) for t in one["turns"]
        ]  # fmt: skip
        long_json = folder / f"script-{minutes}min.json"
        long_json.write_text(json.dumps(Script.from_dict({**one, "turns": turns}).to_dict()))
        out = folder / f"mem-{minutes}"
        out.mkdir(exist_ok=True)
        run = _render(long_video, long_json, "source", out, True)
        print(f"{minutes:>2} min at 640x360: {run['wall']:.1f} s, peak {run['peak_mb']:.0f} MB",
              flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", default="1080p,1080x1920")
    ap.add_argument("--memory", action="store_true", help="peak memory, 1 vs 10 minutes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.memory:
            memory(folder)
            return
        video = args.video
        if video is None:
            video = folder / "talk-3min.mp4"
            build_talk(video, 180)
        with av.open(str(video)) as c:
            seconds = c.duration / av.time_base
            stream = c.streams.video[0]
            size = f"{stream.codec_context.width}x{stream.codec_context.height}"
            frames = round(seconds * float(stream.average_rate))
            rate = float(stream.average_rate)
        print(f"video: {video.name}, {seconds / 60:.1f} min, {size}, {rate:g} fps, {frames} frames")
        script_json = folder / "script.json"
        subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(video), str(script_json)], cwd=ROOT, check=True
        )
        for resolution in args.frames.split(","):
            shown = _cues_on_screen(script_json, resolution, seconds)
            times: dict[bool, list[dict]] = {True: [], False: []}
            for _ in range(args.runs):
                for captions in (True, False):  # alternate, so load drifts hit both alike
                    out = folder / f"out-{resolution}-{captions}"
                    out.mkdir(exist_ok=True)
                    times[captions].append(_render(video, script_json, resolution, out, captions))
            med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu", "peak_mb")}
                   for k, v in times.items()}  # fmt: skip
            cap, plain = med[True], med[False]
            print(
                f"{resolution:>9}: captioned {cap['wall']:6.1f} s wall {cap['cpu']:6.1f} s CPU "
                f"(peak {cap['peak_mb']:.0f} MB), plain re-encode {plain['wall']:6.1f} s wall "
                f"{plain['cpu']:6.1f} s CPU (peak {plain['peak_mb']:.0f} MB); ratio "
                f"{cap['wall'] / plain['wall']:.2f} wall, {cap['cpu'] / plain['cpu']:.2f} CPU; "
                f"{frames / cap['wall']:.0f} frames/s; captions on screen {shown:.0%} of the time; "
                f"runs: {[round(r['wall'], 1) for r in times[True]]} vs "
                f"{[round(r['wall'], 1) for r in times[False]]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
