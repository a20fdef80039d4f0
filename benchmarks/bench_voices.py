"""Voice profiles on real voices across different recordings: the threshold and its rates.

Voices:

* speakerbox==1.2.0 (PyPI, MIT; see benchmarks/conversations.py): nine Seattle
  council members in five meetings -- a meeting is a recording (room, microphone,
  day).  TUNING people (herbold, mosqueda, sawant, strauss) choose the threshold;
  EVALUATION people (gonzalez, juarez, lewis, morales, pedersen) are only measured.
* asterisk-core-sounds 1.6.1 (Debian, CC-BY-SA-3.0; G.722, 16 kHz): Allison Smith
  recorded the English and the Spanish prompts (one person, two recordings), June
  Wallack the French, Carlo the Italian, and another woman the Russian.  June and
  Carlo tune; Allison and the Russian voice are measured.  Read from the unpacked
  packages under ``--asterisk`` (default .evaldata/src/x/usr/share/asterisk/sounds,
  where the packages missing there are downloaded with ``apt-get download`` and
  unpacked; a prompt set missing elsewhere stops the benchmark with one line).

A *recording* is one person's speech in one meeting (or one prompt set); its
speech is cut into pieces of PIECE_S seconds (at most PIECES per recording),
each piece a "speaker of a new file".  A piece's print is compared with
profiles made from the person's *other* recordings (one centroid per
recording, never the piece's own meeting), exactly as the engine matches.

Tuning (the written rule): over same-person-different-recording and
different-person (piece, profile) pairs of the tuning voices, the threshold
is the lowest similarity at which different-person pairs are accepted at most
1 % of the time.

Evaluation: each meeting (and prompt set) of the evaluation voices is a
file whose speakers are one piece of each person in it; the book holds every
evaluation person's profile from the other recordings, and the engine's
matching (Hungarian, threshold) names them.  Every speaker is counted twice:
with their own profile in the book (right-name: named as themselves;
false-name: named as someone else) and with it removed (false-name: named at
all).  Both full band and over the phone (the piece band-limited to 8 kHz
sampling; profiles stay full band).  95 % intervals are Wilson's.

``--narrowband`` makes every print, the profiles' too, from the speech
band-limited to 8 kHz sampling: a full-band piece and its phone copy then give
one print, so the two conditions are one (a variant measured against the
engine's full-band prints; docs/voices.md).

    python benchmarks/bench_voices.py            # prints the table (cached prints)
    python benchmarks/bench_voices.py --narrowband
    python benchmarks/bench_voices.py --asnorm     # the 4-fold figures, plain and AS-norm
    python benchmarks/bench_voices.py --mean       # the same, profiles scored by their mean
    python benchmarks/bench_voices.py --per-speaker  # thresholds set on speakers named wrongly
    python benchmarks/bench_voices.py --whole      # prints read in one pass, beside windows
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import wave
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import sameroom_sources  # noqa: E402
from benchmarks.conversations import EVALUATION, TUNING, cache_dir, phone_band, wheel_path  # noqa: E402
from tui.engine import voices  # noqa: E402

PIECE_S = 8.0
PIECES = 5
ASTERISK = (
    Path(__file__).resolve().parents[1]
    / ".evaldata"
    / "src"
    / "x"
    / "usr"
    / "share"
    / "asterisk"
    / "sounds"
)
#: prompt folder -> (person, recording); the same person in two folders is two recordings.
PROMPTS = {
    "en_US_f_Allison": ("allison", "ast-en"),
    "es_MX_f_Allison": ("allison", "ast-es"),
    "fr_CA_f_June": ("june", "ast-fr"),
    "it_IT_m_Carlo": ("carlo", "ast-it"),
    "ru_RU_f_IvrvoiceRU": ("ivr-ru", "ast-ru"),
}
TUNE_PEOPLE = (*TUNING, "june", "carlo")
EVAL_PEOPLE = (*EVALUATION, "allison", "ivr-ru")
PROMPT_S = 90.0  # seconds of prompts read per folder
ALL_PEOPLE = (*TUNE_PEOPLE, *EVAL_PEOPLE)
FOLDS = 4


def speakerbox() -> dict[tuple[str, str], np.ndarray]:
    """(person, meeting) -> that person's speech in that meeting."""
    with zipfile.ZipFile(wheel_path()) as wheel:
        inner = wheel.read("speakerbox/tests/data/diarized.zip")
    parts: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = defaultdict(list)
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        for name in sorted(archive.namelist()):
            bits = name.strip("/").split("/")
            if len(bits) < 3 or not bits[-1].endswith(".wav"):
                continue
            with wave.open(io.BytesIO(archive.read(name))) as w:
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            start = int(bits[-1].split("-")[0])
            parts[(bits[-2], bits[-3])].append((start, pcm.astype(np.float32) / 32768))
    return {
        k: np.concatenate([a for _, a in sorted(v, key=lambda t: t[0])]) for k, v in parts.items()
    }


def asterisk(folder: Path) -> dict[tuple[str, str], np.ndarray]:
    import av

    out = {}
    for sub, key in PROMPTS.items():
        pieces, total = [], 0.0
        for path in sorted((folder / sub).glob("*.g722")):
            if not sameroom_sources.is_speech_prompt(path.stem):
                continue  # a beep or a tone is no voice
            with av.open(str(path), format="g722") as c:
                r = av.AudioResampler(format="flt", layout="mono", rate=16000)
                audio = [x.to_ndarray().ravel() for f in c.decode(audio=0) for x in r.resample(f)]
            if audio:
                pieces.append(np.concatenate(audio))
                total += len(pieces[-1]) / 16000
            if total >= PROMPT_S:
                break
        if pieces:
            out[key] = np.concatenate(pieces)
    return out


def fetch_prompts(folder: Path) -> None:
    """Download and unpack the prompt packages missing under ``folder`` (the default only)."""
    missing = [sub for sub in PROMPTS if not (folder / sub).is_dir()]
    if missing and folder == ASTERISK:
        # .evaldata/src, where sameroom.py unpacks the others (all but Spanish) into x/;
        # a prompt folder's package is named by its language: es_MX_f_Allison -> -es-
        debs = sorted({f"asterisk-core-sounds-{sub.split('_')[0]}-g722" for sub in missing})
        sameroom_sources.fetch_debs(ASTERISK.parents[4], debs, unpack=True)
        missing = [sub for sub in PROMPTS if not (folder / sub).is_dir()]
    if missing:
        sys.exit(f"bench_voices: no prompt set {', '.join(missing)} under {folder}")


def prints(recordings: dict[tuple[str, str], np.ndarray], phone: bool, whole: bool = False) -> dict:
    """(person, recording) -> list of piece prints (cached on disk, for these recordings);
    ``whole``: each piece read in one pass, not in the engine's windows."""
    kind = f"{'_phone' if phone else ''}{'_whole' if whole else ''}"
    cache = cache_dir() / f"voice_prints{kind}_{int(PIECE_S)}x{PIECES}.npz"
    # Each recording's length too: the same names read from other prompts are other prints.
    made_from = np.array(sorted(f"{p}|{r}|{len(a)}" for (p, r), a in recordings.items()))
    if cache.exists():
        data = np.load(cache)
        if "__from__" in data.files and np.array_equal(data["__from__"], made_from):
            return {tuple(k.split("|")): list(data[k]) for k in data.files if k != "__from__"}
    out = {}
    step = int(PIECE_S * 16000)
    for (person, rec), audio in sorted(recordings.items()):
        vecs = []
        for a in range(0, min(len(audio), step * PIECES) - step // 2, step):
            piece = audio[a : a + step]
            piece = phone_band(piece) if phone else piece
            window = None if whole else voices.WINDOW_FRAMES
            found = voices.print_of(piece, [(0, len(piece) * 1000 // 16000)], window)
            if found is not None:
                vecs.append(found.vector)
        if vecs:
            out[(person, rec)] = vecs
        print(f"  {person:10s} {rec:14s} {len(vecs)} pieces", file=sys.stderr)
    arrays: dict[str, Any] = {f"{p}|{r}": np.array(v) for (p, r), v in out.items()}
    np.savez(cache, __from__=made_from, **arrays)
    return out


def profile(person: str, full: dict, but: str) -> voices.Profile:
    """``person``'s profile from every recording but ``but``: one centroid per recording."""
    book = None
    for (p, rec), vecs in sorted(full.items()):
        if p == person and rec != but:
            mean = voices.unit(np.mean(vecs, axis=0))
            book = voices.enrol(book, person, voices.Print(mean, PIECE_S * len(vecs)), rec)
    return book or voices.Profile(person, centroids=[])


#: (profile, print vector, the piece's person) -> score; the engine's: the best cosine.
Scorer = Any


def plain(prof: voices.Profile, vector: np.ndarray, person: str) -> float:
    return prof.score(vector)


def mean_of_centroids(prof: voices.Profile, vector: np.ndarray, person: str) -> float:
    """A profile's score as the mean cosine over its centroids (the engine: the best)."""
    if not prof.usable():
        return -1.0
    return float(np.mean([voices.unit(c.vector) @ voices.unit(vector) for c in prof.centroids]))


class AsNorm:
    """Adaptive score normalisation: each cosine (print e, centroid t) becomes
    0.5 * ((s - mu_e) / sd_e + (s - mu_t) / sd_t), mu and sd over the top ``k`` cosines
    of e (and of t) against a cohort of prints of people who are neither the piece's
    person nor the profile's; a profile's score is its best centroid's."""

    def __init__(self, full: dict, pool: tuple[str, ...], k: int = 20) -> None:
        self.k = k
        self.cohort = {
            person: np.array(
                [voices.unit(v) for (p, _), vecs in full.items() if p == person for v in vecs]
            )  # fmt: skip
            for person in pool
        }

    def _stats(self, vector: np.ndarray, leave: set[str]) -> tuple[float, float]:
        cohort = np.concatenate([m for p, m in self.cohort.items() if p not in leave])
        top = np.sort(cohort @ voices.unit(vector))[-self.k :]
        return float(top.mean()), float(top.std()) + 1e-6

    def __call__(self, prof: voices.Profile, vector: np.ndarray, person: str) -> float:
        if not prof.usable():
            return -1e9
        leave = {person, prof.name}
        mu_e, sd_e = self._stats(vector, leave)
        best = -1e9
        for centroid in prof.centroids:
            s = float(voices.unit(centroid.vector) @ voices.unit(vector))
            mu_t, sd_t = self._stats(centroid.vector, leave)
            best = max(best, 0.5 * ((s - mu_e) / sd_e + (s - mu_t) / sd_t))
        return best


def tune(
    full: dict, test: dict, people: tuple[str, ...], scorer: Scorer = plain
) -> tuple[float, int, int, float]:
    same: list[float] = []
    other: list[float] = []
    for (person, rec), vecs in test.items():
        if person not in people:
            continue
        for q in people:
            prof = profile(q, full, rec)
            if prof.centroids:
                (same if q == person else other).extend(scorer(prof, v, person) for v in vecs)
    other.sort(reverse=True)
    allowed = int(0.01 * len(other))  # at most 1 % of different-person pairs accepted
    threshold = math.ceil((other[allowed] + 1e-9) * 100) / 100
    accepted = float(np.mean(np.array(same) >= threshold))
    return threshold, len(same), len(other), accepted


def evaluate(
    full: dict,
    test: dict,
    people: tuple[str, ...],
    threshold: float,
    counted: tuple = (),
    scorer: Scorer = plain,
) -> dict:
    """Right- and false-name counts of the speakers in ``counted`` (default: all ``people``)."""
    counted = counted or people
    files: dict[str, list[str]] = defaultdict(list)
    for person, rec in test:
        if person in people:
            files[rec].append(person)
    right = right_n = false = false_n = 0
    for rec, present in sorted(files.items()):
        depth = max(len(test[(p, rec)]) for p in present)
        for k in range(depth):
            found = {p: voices.Print(test[(p, rec)][k], PIECE_S)
                     for p in present if k < len(test[(p, rec)])}  # fmt: skip
            book = [profile(q, full, rec) for q in people]
            named = voices.match(found, book, threshold, scorer_for(scorer, found))
            for p in [p for p in found if p in counted]:
                known = any(b.name == p and b.centroids for b in book)
                got = named.get(p, ("", 0))[0]
                if known:
                    right_n += 1
                    right += got == p
                false_n += 1
                false += bool(got) and got != p
            for p in [p for p in found if p in counted]:  # the file with p's profile forgotten
                without = [b for b in book if b.name != p]
                false_n += 1
                false += p in voices.match(found, without, threshold, scorer_for(scorer, found))
    return {"right": (right, right_n), "false": (false, false_n)}


def folds(people: tuple[str, ...], k: int = FOLDS) -> list[tuple[str, ...]]:
    """The people in ``k`` fixed groups (every k-th name, in sorted order)."""
    ordered = sorted(people)
    return [tuple(ordered[i::k]) for i in range(k)]


def tune_speakers(full: dict, people: tuple[str, ...], everyone: tuple[str, ...]) -> float:
    """The lowest threshold at which at most 1 % of ``people``'s speakers are named wrongly
    (their files, the book holding ``everyone``): the bar's own terms, not pairs'."""
    threshold = 0.30
    while threshold < 0.95:
        wrong, n = evaluate(full, full, everyone, threshold, counted=people)["false"]
        if wrong <= 0.01 * n:
            return threshold
        threshold = round(threshold + 0.01, 2)
    return threshold


def scorer_for(scorer: Scorer, found: dict[str, voices.Print]) -> Any:
    """The engine's match calls score(profile, vector): the piece's person found by its vector."""
    if scorer is plain:
        return None
    whose = {id(found_print.vector): person for person, found_print in found.items()}
    return lambda prof, vector: scorer(prof, vector, whose[id(vector)])


def cross_validated(full: dict, test: dict, people: tuple[str, ...], norm: str = "") -> dict:
    """Each group's speakers counted at the threshold the rule gives on the other groups."""
    total = {"right": [0, 0], "false": [0, 0]}
    chosen = []
    for held in folds(people):
        rest = tuple(p for p in people if p not in held)
        scorer: Scorer = plain
        if norm == "asnorm":
            scorer = AsNorm(full, rest)
        elif norm == "mean":
            scorer = mean_of_centroids
        if norm == "speakers":
            threshold = tune_speakers(full, rest, people)
        else:
            threshold = tune(full, full, rest, scorer)[0]
        chosen.append(threshold)
        result = evaluate(full, test, people, threshold, counted=held, scorer=scorer)
        for key in total:
            total[key][0] += result[key][0]
            total[key][1] += result[key][1]
    return {"right": tuple(total["right"]), "false": tuple(total["false"]), "thresholds": chosen}


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{100 * k / max(n, 1):5.1f} %  ({k}/{n}; 95 % CI {100 * lo:.1f}-{100 * hi:.1f} %)"


def show_folds(full: dict, test: dict, norm: str, label: str) -> None:
    """Print the 4-fold right- and false-name rates of one variant."""
    result = cross_validated(full, test, ALL_PEOPLE, norm=norm)
    print(f"{FOLDS}-fold by person, {label} (thresholds {result['thresholds']}):")
    print(f"  right-name {rate(*result['right'])}")
    print(f"  false-name {rate(*result['false'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asterisk", type=Path, default=ASTERISK)
    parser.add_argument(
        "--narrowband",
        action="store_true",
        help="every print from the speech band-limited to 8 kHz",
    )
    parser.add_argument(
        "--asnorm",
        action="store_true",
        help="the 4-fold figures with adaptive score normalisation beside the plain ones",
    )
    parser.add_argument(
        "--mean",
        action="store_true",
        help="the 4-fold figures with a profile scored by its centroids' mean cosine",
    )
    parser.add_argument(
        "--whole",
        action="store_true",
        help="the 4-fold figures with each print read in one pass beside the engine's windows",
    )
    parser.add_argument(
        "--per-speaker",
        action="store_true",
        help="the 4-fold figures with each fold's threshold set on speakers named wrongly",
    )
    args = parser.parse_args()
    fetch_prompts(args.asterisk)
    recordings = speakerbox()
    recordings.update(asterisk(args.asterisk))
    full = prints(recordings, phone=False)
    phone = prints(recordings, phone=True)
    if args.whole:
        whole = (prints(recordings, False, whole=True), prints(recordings, True, whole=True))
        for label, rule in (("pair rule", ""), ("speaker rule", "speakers")):
            for name, (f, p) in (("windows", (full, phone)), ("whole", whole)):
                for cond, test in (("full band", f), ("phone", p)):
                    show_folds(f, test, rule, f"{label}, {name} prints, {cond}")
        return
    if args.asnorm or args.mean or args.per_speaker:
        variant = "asnorm" if args.asnorm else "mean" if args.mean else "speakers"
        for label, test in (("full band", full), ("phone", phone)):
            for norm in ("", variant):
                show_folds(full, test, norm, f"{label}, {norm or 'plain'}")
        return
    conditions = (("full band", full), ("phone", phone))
    if args.narrowband:  # a full-band piece, band-limited, is its phone copy: one condition
        full = phone
        conditions = (("narrowband prints, full-band or phone file", phone),)
    threshold, n_same, n_other, accepted = tune(full, full, TUNE_PEOPLE)
    print(f"tuning voices: {', '.join(TUNE_PEOPLE)}")
    print(f"  same-person pairs {n_same}, different-person pairs {n_other}")
    print(f"  threshold {threshold:.2f} (engine: {voices.THRESHOLD:.2f}); "
          f"same-person pairs accepted {100 * accepted:.1f} %")  # fmt: skip
    for label, test in conditions:
        for which, people in (("tuning", TUNE_PEOPLE), ("evaluation", EVAL_PEOPLE)):
            result = evaluate(full, test, people, threshold)
            print(f"{which} voices, {label}, at the tuned {threshold:.2f}:")
            print(f"  right-name {rate(*result['right'])}")
            print(f"  false-name {rate(*result['false'])}")
    everyone = tune(full, full, ALL_PEOPLE)
    print(f"all {len(ALL_PEOPLE)} voices: the rule gives {everyone[0]:.2f} "
          f"({everyone[1]} same-person, {everyone[2]} different-person pairs)")  # fmt: skip
    for label, test in conditions:
        result = cross_validated(full, test, ALL_PEOPLE)
        print(f"{FOLDS}-fold by person, {label} (thresholds {result['thresholds']}):")
        print(f"  right-name {rate(*result['right'])}")
        print(f"  false-name {rate(*result['false'])}")
        result = evaluate(full, test, ALL_PEOPLE, voices.THRESHOLD)
        print(f"  at the engine's {voices.THRESHOLD:.2f}: right-name {rate(*result['right'])}")
        print(f"  {' ' * 20}false-name {rate(*result['false'])}")


if __name__ == "__main__":
    main()
