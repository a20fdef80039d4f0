"""Captions drawn for burning into video: Noto fonts, safe-area layout, a luma+alpha overlay.

A caption is white bold text with a dark outline on a translucent dark box,
centred in the frame's safe area: near the bottom of a landscape frame, and
above the bottom band of a vertical one (where Shorts, Reels and TikTok put
their own buttons and text).  Text is set with Pillow (FreeType, with raqm for
Arabic shaping) in the Noto fonts of Debian's ``fonts-noto-cjk`` (Latin, Greek,
Cyrillic, CJK, kana, hangul) and ``fonts-noto-core`` (Arabic, Hebrew,
Devanagari, Thai), a run of characters at a time, each run in the font that
covers its script.

The overlay is grey-only (white, black and their mixes), so it is blended into
a YUV frame's luma and pulled to neutral in its chroma, with no colour
conversion of the frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from tui.engine.errors import EngineError

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"))
CJK_FONT = "NotoSansCJK-Bold.ttc"
#: Face of the CJK collection by language (the Han glyphs differ by region).
CJK_FACE = {"ja": 0, "ko": 1, "zh": 2, "zh-tw": 3, "zh-hk": 4}
DEFAULT_FACE = 2
#: Scripts the CJK font does not cover: (first, last) code points -> font file.
SCRIPT_FONTS = (
    ((0x0590, 0x05FF), "NotoSansHebrew-Bold.ttf"),
    ((0xFB1D, 0xFB4F), "NotoSansHebrew-Bold.ttf"),
    ((0x0600, 0x08FF), "NotoSansArabic-Bold.ttf"),
    ((0xFB50, 0xFDFF), "NotoSansArabic-Bold.ttf"),
    ((0xFE70, 0xFEFF), "NotoSansArabic-Bold.ttf"),
    ((0x0900, 0x097F), "NotoSansDevanagari-Bold.ttf"),
    ((0x0E00, 0x0E7F), "NotoSansThai-Bold.ttf"),
)
RTL_FONTS = {"NotoSansHebrew-Bold.ttf", "NotoSansArabic-Bold.ttf"}
FONT_PACKAGES = "fonts-noto-cjk and fonts-noto-core"

RAQM = features.check("raqm")


@dataclass(frozen=True)
class Layout:
    """Where and how large captions are drawn in a ``width`` x ``height`` frame."""

    width: int
    height: int
    font_px: int
    max_text_w: int
    bottom: int  # the caption box's lowest row
    max_line: int  # characters per line for the cue cutter

    @classmethod
    def for_frame(cls, width: int, height: int) -> Layout:
        if height > width:  # vertical: above the bottom UI band (about a quarter of the height)
            return cls(width, height, round(width * 0.062), round(width * 0.80),
                       round(height * 0.74), 28)  # fmt: skip
        return cls(width, height, round(height * 0.058), round(width * 0.80),
                   round(height * 0.92), 42)  # fmt: skip


def font_path(name: str) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise EngineError(
        f"the captions font {name} is missing: install the Debian packages {FONT_PACKAGES} "
        f"(apt-get install {FONT_PACKAGES.replace(' and ', ' ')})"
    )


def check_fonts() -> None:
    """Raise the one-line EngineError naming the packages when a caption font is missing."""
    for name in {CJK_FONT, *(font for _, font in SCRIPT_FONTS)}:
        font_path(name)


@functools.lru_cache(maxsize=24)
def _font(name: str, size: int, face: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if RAQM else ImageFont.Layout.BASIC
    index = face if name == CJK_FONT else 0
    return ImageFont.truetype(str(font_path(name)), size, index=index, layout_engine=engine)


def _font_of(char: str) -> str | None:
    """The font file for ``char``; None for the CJK font (the default)."""
    code = ord(char)
    for (first, last), name in SCRIPT_FONTS:
        if first <= code <= last:
            return name
    return None


def runs(line: str) -> list[tuple[str, str]]:
    """``line`` cut into (text, font file) runs, in visual order.

    Spaces and punctuation stay with the run before them.  A line whose first
    letter is Arabic or Hebrew reads right to left: its runs are laid out from
    the right (a Latin name inside it still reads left to right).
    """
    out: list[tuple[str, str]] = []
    for char in line:
        name = _font_of(char)
        if name is None and out and (not char.isalnum()):
            name = out[-1][1]  # neutral characters join the run they follow
        name = name or CJK_FONT
        if out and out[-1][1] == name:
            out[-1] = (out[-1][0] + char, name)
        else:
            out.append((char, name))
    first = next((name for text, name in out if any(c.isalpha() for c in text)), CJK_FONT)
    if first in RTL_FONTS:
        out.reverse()
    return out


def _direction(name: str) -> str | None:
    if not RAQM:
        return None
    return "rtl" if name in RTL_FONTS else "ltr"


def _shown(text: str, name: str) -> str:
    # Without raqm, right-to-left text is at least put in reading order (unshaped).
    return text[::-1] if name in RTL_FONTS and not RAQM else text


def line_width(line: str, size: int, face: int = DEFAULT_FACE) -> float:
    return sum(
        _font(name, size, face).getlength(_shown(text, name), direction=_direction(name))
        for text, name in runs(line)
    )


@dataclass
class Overlay:
    """A caption ready to blend: luma (0..255, full range), alpha (0..255), at (x, y)."""

    x: int
    y: int
    luma: np.ndarray
    alpha: np.ndarray


def draw_caption(lines: list[str], layout: Layout, language: str = "") -> Overlay:
    """Draw ``lines`` as one caption for a frame of ``layout``'s size."""
    face = CJK_FACE.get(language.lower(), DEFAULT_FACE)
    size = layout.font_px
    widest = max((line_width(line, size, face) for line in lines), default=0.0)
    if widest > layout.max_text_w:  # a long line shrinks its caption rather than spill
        # In steps of 1/16 (few sizes, so few fonts are loaded, however long the video).
        size = max(8, size * math.floor(16 * layout.max_text_w / widest) // 16)
    stroke = max(1, round(size * 0.08))
    pad = round(size * 0.35)
    ascent, descent = _font(CJK_FONT, size, face).getmetrics()
    line_h = round((ascent + descent) * 1.05)
    widths = [line_width(line, size, face) for line in lines]
    box_w = int(max(widths, default=0) + 2 * pad + 2 * stroke)
    box_h = line_h * len(lines) + 2 * pad
    box_w, box_h = min(box_w + box_w % 2, layout.width), box_h + box_h % 2
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle(
        (0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 150)
    )
    text = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    pen = ImageDraw.Draw(text)
    for row, (line, width) in enumerate(zip(lines, widths, strict=True)):
        x = (box_w - width) / 2
        y = pad + row * line_h
        for part, name in runs(line):
            font = _font(name, size, face)
            shown = _shown(part, name)
            # Every run sits on the CJK font's baseline, whatever its own font's ascent.
            dy = ascent - font.getmetrics()[0]
            pen.text(
                (x, y + dy),
                shown,
                font=font,
                fill=(255, 255, 255, 255),
                stroke_width=stroke,
                stroke_fill=(0, 0, 0, 255),
                direction=_direction(name),
            )
            x += font.getlength(shown, direction=_direction(name))
    image = Image.alpha_composite(image, text)
    pixels = np.asarray(image)
    x0 = (layout.width - box_w) // 2 // 2 * 2
    y0 = max(0, (layout.bottom - box_h) // 2 * 2)
    return Overlay(x0, y0, pixels[..., 0].copy(), pixels[..., 3].copy())


class Blender:
    """Blends an :class:`Overlay` into yuv420p video frames, in place.

    All in 16-bit integers: ``pixel * (255 - a) + colour * a + 127`` is at most
    255 * 255 + 127 = 65,152, and the division by 255 is an add and a shift
    that is exact up to there.
    """

    def __init__(self, overlay: Overlay, width: int, height: int) -> None:
        h = min(overlay.luma.shape[0], height - overlay.y) // 2 * 2
        w = min(overlay.luma.shape[1], width - overlay.x) // 2 * 2
        self.x, self.y, self.w, self.h = overlay.x, overlay.y, w, h
        alpha = overlay.alpha[:h, :w].astype(np.uint16)
        # Video luma is limited range (16..235).
        luma = 16 + overlay.luma[:h, :w].astype(np.uint16) * 219 // 255
        self.keep = 255 - alpha
        self.luma_part = luma * alpha + 127
        chroma = alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).astype(np.uint16)
        self.chroma_keep = 255 - chroma
        self.chroma_part = 128 * chroma + 127
        self.work = np.empty((h, w), np.uint16)

    def blend(self, frame: Any) -> None:
        """Draw the caption into ``frame`` (a yuv420p ``av.VideoFrame``)."""
        frame.make_writable()  # never write into a buffer the decoder still refers to
        x, y, w, h = self.x, self.y, self.w, self.h
        luma = plane_array(frame.planes[0])[y : y + h, x : x + w]
        _mix(luma, self.keep, self.luma_part, self.work)
        work = self.work[: h // 2, : w // 2]
        for index in (1, 2):
            part = plane_array(frame.planes[index])[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2]
            _mix(part, self.chroma_keep, self.chroma_part, work)


def _mix(pixels: np.ndarray, keep: np.ndarray, part: np.ndarray, work: np.ndarray) -> None:
    """``pixels = (pixels * keep + part) / 255`` in place (``part`` holds the +127 rounding)."""
    np.multiply(pixels, keep, out=work)
    work += part
    work += 1 + (work >> 8)
    np.right_shift(work, 8, out=work)
    pixels[...] = work


def plane_array(plane: Any) -> np.ndarray:
    """A writable view of one plane of a video frame, without its row padding."""
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]
