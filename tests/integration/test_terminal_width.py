"""The web terminal measures wide characters as a real terminal does (issue 22, item 4): with xterm.js's
Unicode 11 widths (what the web terminal activates, ``web/src/terminal/unicode.ts``) a line with emoji and
CJK characters at 80 columns wraps into the same rows as in tmux, and every character is as wide as pyte
(``wcwidth``) makes it. (pyte itself does not wrap a wide character that meets the last column, as tmux and
xterm.js do, so its rows are not the reference for that case.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from wcwidth import wcwidth

ADDON = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "@xterm" / "addon-unicode11" / "lib"
# 💡 two cells wide puts 训 (two cells) at the last column of the first row: it must go to the second row
LINE = (
    "💡 Tip: For seamless cloud uploads and versioning, try installing litmodels 🚀 训练损失下降了 "
    "日本語のテキスト 한국어 텍스트 — epoch 3/10 🔥🔥 loss=0.123 精度=98.7% ✅ done 🎉 " * 2
).rstrip()
COLUMNS = 80

# Wraps a line as xterm.js does: a character that does not fit in the columns left goes to the next row
# (a wide one at the last column leaves that cell empty); a zero-width one joins the one before.
WRAP = r"""
const { Unicode11Addon } = require(process.argv[1] + "/addon-unicode11.js");
let provider;
new Unicode11Addon().activate({ unicode: { register: (p) => { provider = p; } } });
const line = process.argv[2], cols = Number(process.argv[3]);
const rows = [""], widths = [];
let col = 0;
for (const ch of line) {
  const w = provider.wcwidth(ch.codePointAt(0));
  widths.push([ch, w]);
  if (w > 0 && col + w > cols) { rows.push(""); col = 0; }
  rows[rows.length - 1] += ch;
  col += w;
}
console.log(JSON.stringify({ rows, widths }));
"""


def xterm_layout(line: str) -> tuple[list[str], list[tuple[str, int]]]:
    node = shutil.which("node")
    if node is None or not ADDON.is_dir():
        pytest.skip("node and web/node_modules (npm ci in web/) are needed")
    out = subprocess.run(
        [node, "-e", WRAP, str(ADDON), line, str(COLUMNS)], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(out.stdout)
    return [row.rstrip() for row in result["rows"]], [(ch, w) for ch, w in result["widths"]]


def tmux_rows(line: str, tmp_path: Path) -> list[str]:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is needed")
    text = tmp_path / "line.txt"
    text.write_text(line + "\nEND-OF-LINE\n")
    sock = str(tmp_path / "tmux.sock")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("TMUX", None)
    subprocess.run(
        [tmux, "-S", sock, "-u", "-f", "/dev/null", "new-session", "-d", "-x", str(COLUMNS), "-y", "20",
         f"cat {text}; sleep 60"],
        check=True, env=env, timeout=30,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            shown = subprocess.run(
                [tmux, "-S", sock, "capture-pane", "-p"], capture_output=True, text=True, env=env, timeout=30
            ).stdout
            if "END-OF-LINE" in shown or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        subprocess.run([tmux, "-S", sock, "kill-server"], env=env, timeout=30, check=False)
    rows = shown.split("END-OF-LINE")[0].splitlines()
    return [row.rstrip() for row in rows if row.strip()]


def test_a_line_with_emoji_and_cjk_wraps_in_the_web_terminal_as_in_tmux(tmp_path: Path) -> None:
    rows, _widths = xterm_layout(LINE)
    expected = tmux_rows(LINE, tmp_path)
    assert len(expected) >= 3  # the line does wrap, several times
    assert expected[1].startswith("训")  # the case in point: a wide character meeting the last column
    assert rows == expected


def test_every_character_is_as_wide_in_the_web_terminal_as_in_pyte() -> None:
    _rows, widths = xterm_layout(LINE)
    assert [w for _ch, w in widths] == [wcwidth(ch) for ch, _w in widths]
    assert dict(widths)["💡"] == 2
