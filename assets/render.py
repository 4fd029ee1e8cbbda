#!/usr/bin/env python3
"""Renders terminal screens captured with colours (`tmux capture-pane -e -p`)
to one PNG: each screen in a window with its title, side by side.

    render.py OUT.png TITLE1 SCREEN1.ansi [TITLE2 SCREEN2.ansi ...]

Needs Pillow, DejaVu Sans Mono, and for CJK and emoji the Noto CJK and Noto
Color Emoji fonts when present (assets/screenshot.sh installs what it can).
"""

import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_SIZE = 15
CELL_W = 9
CELL_H = 19
PAD = 12
TITLE_H = 30
GAP = 22
MARGIN = 28

BG = (30, 32, 38)
FG = (200, 204, 212)
# xterm's 16 colours, as a dark theme shows them.
BASIC = [
    (40, 44, 52), (224, 108, 117), (152, 195, 121), (229, 192, 123),
    (97, 175, 239), (198, 120, 221), (86, 182, 194), (200, 204, 212),
    (92, 99, 112), (240, 128, 136), (172, 215, 141), (249, 212, 143),
    (117, 195, 255), (218, 140, 241), (106, 202, 214), (255, 255, 255),
]

FONT_PATHS = {
    "regular": ["/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"],
    "bold": ["/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"],
    "italic": ["/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Oblique.ttf"],
    "cjk": [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    ],
    "emoji": ["/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"],
}


def load(kind, size):
    for path in FONT_PATHS[kind]:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return None


def colour256(n):
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


def width(ch):
    if unicodedata.combining(ch) or ch in "\u200d\ufe0f":
        return 0
    if unicodedata.east_asian_width(ch) in "WF" or ord(ch) >= 0x1F300:
        return 2
    return 1


SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def parse(text):
    """Rows of cells: (text, fg, bg, bold, italic, dim)."""
    rows = []
    state = dict(fg=None, bg=None, bold=False, italic=False, dim=False, reverse=False)
    for line in text.split("\n"):
        row = []
        pos = 0
        for m in list(SGR.finditer(line)) + [None]:
            end = m.start() if m else len(line)
            for ch in line[pos:end]:
                w = width(ch)
                if w == 0 and row:
                    row[-1] = (row[-1][0] + ch,) + row[-1][1:]
                    continue
                fg, bg = state["fg"], state["bg"]
                if state["reverse"]:
                    fg, bg = (bg or BG), (fg or FG)
                row.append((ch, fg, bg, state["bold"], state["italic"], state["dim"], w))
                if w == 2:
                    row.append(None)
            if m is None:
                break
            pos = m.end()
            codes = [int(c) if c else 0 for c in m.group(1).replace(":", ";").split(";")]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    state.update(fg=None, bg=None, bold=False, italic=False, dim=False, reverse=False)
                elif c == 1:
                    state["bold"] = True
                elif c == 2:
                    state["dim"] = True
                elif c == 3:
                    state["italic"] = True
                elif c == 7:
                    state["reverse"] = True
                elif c == 22:
                    state["bold"] = state["dim"] = False
                elif c == 23:
                    state["italic"] = False
                elif c == 27:
                    state["reverse"] = False
                elif 30 <= c <= 37:
                    state["fg"] = BASIC[c - 30]
                elif 90 <= c <= 97:
                    state["fg"] = BASIC[c - 90 + 8]
                elif 40 <= c <= 47:
                    state["bg"] = BASIC[c - 40]
                elif 100 <= c <= 107:
                    state["bg"] = BASIC[c - 100 + 8]
                elif c == 39:
                    state["fg"] = None
                elif c == 49:
                    state["bg"] = None
                elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                    state["fg" if c == 38 else "bg"] = colour256(codes[i + 2])
                    i += 2
                elif c in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
                    state["fg" if c == 38 else "bg"] = tuple(codes[i + 2 : i + 5])
                    i += 4
                i += 1
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def draw_screen(img, x0, y0, cols, rows, cells, title, fonts):
    d = ImageDraw.Draw(img)
    w = cols * CELL_W + 2 * PAD
    h = TITLE_H + rows * CELL_H + 2 * PAD
    d.rounded_rectangle([x0, y0, x0 + w, y0 + h], radius=9, fill=BG, outline=(60, 63, 72))
    d.rounded_rectangle([x0, y0, x0 + w, y0 + TITLE_H], radius=9, fill=(44, 47, 56))
    d.rectangle([x0, y0 + TITLE_H - 9, x0 + w, y0 + TITLE_H], fill=(44, 47, 56))
    for i, c in enumerate([(237, 106, 94), (245, 191, 79), (98, 197, 84)]):
        cx = x0 + 18 + i * 20
        d.ellipse([cx - 6, y0 + 9, cx + 6, y0 + 21], fill=c)
    tw = d.textlength(title, font=fonts["bold"])
    d.text((x0 + (w - tw) / 2, y0 + 7), title, font=fonts["bold"], fill=(210, 212, 220))
    top = y0 + TITLE_H + PAD
    for r, row in enumerate(cells[:rows]):
        y = top + r * CELL_H
        for c, cell in enumerate(row[:cols]):
            if cell is None:
                continue
            ch, fg, bg, bold, italic, dim, cw = cell
            x = x0 + PAD + c * CELL_W
            if bg is not None:
                d.rectangle([x, y, x + cw * CELL_W - 1, y + CELL_H - 1], fill=bg)
            if ch == " ":
                continue
            colour = fg or FG
            if dim:
                colour = tuple(int(v * 0.6 + b * 0.4) for v, b in zip(colour, BG))
            base = ord(ch[0])
            if base >= 0x1F000 and fonts["emoji"] is not None:
                # Colour emoji come as 109-pixel bitmaps: scale to two cells.
                glyph = Image.new("RGBA", (136, 128), (0, 0, 0, 0))
                ImageDraw.Draw(glyph).text((0, 0), ch, font=fonts["emoji"], embedded_color=True)
                box = glyph.getbbox()
                if box:
                    glyph = glyph.crop(box)
                    size = CELL_H - 3
                    glyph = glyph.resize((size, size), Image.LANCZOS)
                    img.paste(glyph, (x + 1, y + 1), glyph)
                continue
            font = fonts["bold"] if bold else fonts["italic"] if italic else fonts["regular"]
            if base > 0x2000:
                # Symbols (✓, ●, ◌) are in the regular face only.
                font = fonts["regular"]
            if cw == 2 and fonts["cjk"] is not None:
                font = fonts["cjk"]
            d.text((x, y + 1), ch, font=font, fill=colour)
    return w, h


def main():
    out = sys.argv[1]
    pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
    fonts = {
        "regular": load("regular", FONT_SIZE),
        "bold": load("bold", FONT_SIZE),
        "italic": load("italic", FONT_SIZE),
        "cjk": load("cjk", FONT_SIZE - 1),
        "emoji": load("emoji", 109),
    }
    if fonts["regular"] is None:
        sys.exit("render.py: DejaVu Sans Mono is needed (Debian: fonts-dejavu-core)")
    fonts["bold"] = fonts["bold"] or fonts["regular"]
    fonts["italic"] = fonts["italic"] or fonts["regular"]
    screens = []
    for title, path in pairs:
        with open(path, encoding="utf-8") as f:
            screens.append((title, parse(f.read())))
    cols = max(len(row) for _, cells in screens for row in cells)
    rows = max(len(cells) for _, cells in screens)
    w = cols * CELL_W + 2 * PAD
    h = TITLE_H + rows * CELL_H + 2 * PAD
    img = Image.new("RGB", (2 * MARGIN + len(screens) * w + (len(screens) - 1) * GAP, 2 * MARGIN + h), (46, 50, 62))
    for i, (title, cells) in enumerate(screens):
        draw_screen(img, MARGIN + i * (w + GAP), MARGIN, cols, rows, cells, title, fonts)
    img.save(out)


if __name__ == "__main__":
    main()
