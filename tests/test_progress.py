"""Progress: a live line per stage on a terminal, sparse log lines in Dagster, nothing in pipes."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from pin_assets.cli import main
from pin_assets.core.progress import LogSink, Progress, TerminalLine, format_duration, terminal_progress, track
from tests.conftest import REPO, make_text_pdf


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class ListLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)


def test_describe_counts_rate_and_time_left() -> None:
    progress = Progress("parse", 10)
    assert progress.describe() == "parse: 0/10 documents"
    progress.started -= 2.0  # two seconds in
    progress.advance(4)
    assert 1.9 < progress.rate <= 2.0
    text = progress.describe()
    assert text.startswith("parse: 4/10 documents, 2.0/s, ") and text.endswith(" left"), text
    assert 2.9 < progress.remaining_s < 3.1
    progress.finish()
    assert progress.describe().startswith("parse: 4/10 documents in 2 s, ")
    unknown = Progress("ingest", None, unit="files")
    unknown.advance(3)
    assert unknown.remaining_s is None and "left" not in unknown.describe()
    assert [format_duration(s) for s in (0.4, 59, 61, 3725)] == ["0 s", "59 s", "1 min 01 s", "1 h 02 min"]


def test_log_sink_logs_every_n_and_at_the_end() -> None:
    log = ListLog()
    with Progress("render", 5, sinks=(LogSink(log, every=2),)) as progress:
        for _ in range(5):
            progress.advance()
    assert [line.split(",")[0] for line in log.lines] == [
        "render: 2/5 documents", "render: 4/5 documents", "render: 5/5 documents in 0 s"]


def test_terminal_line_only_on_a_terminal() -> None:
    piped = io.StringIO()
    with terminal_progress(piped) as drawing, track("parse", 3) as progress:
        progress.advance(3)
    assert drawing is False and piped.getvalue() == ""

    tty = FakeTerminal()
    with terminal_progress(tty) as drawing:
        with track("parse", 3) as progress:
            for _ in range(3):
                progress.advance()
        with track("render", 1) as progress:
            progress.advance()
    assert drawing is True
    lines = tty.getvalue().split("\n")
    assert lines[0].startswith("\rparse: 0/3 documents") and "\rparse: 3/3 documents in " in lines[0]
    assert "\rrender: 1/1 documents in " in lines[1] and lines[2] == ""
    with track("signals", 1) as progress:  # after the command, stages draw nothing
        progress.advance()
    assert tty.getvalue().count("\n") == 2


def test_terminal_line_is_throttled() -> None:
    tty = FakeTerminal()
    sink = TerminalLine(tty, min_interval_s=60)
    progress = Progress("parse", 1000, sinks=(sink,))
    for _ in range(999):
        progress.advance()
    assert tty.getvalue().count("\r") == 1  # only the first draw; the next is due in a minute or at the end
    progress.advance()
    assert tty.getvalue().count("\r") == 2


def test_convert_pipe_has_no_progress_line(tmp_path: Path) -> None:
    pdf = tmp_path / "one.pdf"
    pdf.write_bytes(make_text_pdf("Piped output stays plain", 1))
    result = CliRunner().invoke(main, ["convert", str(pdf), "-o", str(tmp_path / "out"), "--format", "png"])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "convert:" not in result.output


def test_convert_on_a_terminal_draws_one_live_line(tmp_path: Path) -> None:
    """`pin convert` under a real pseudo-terminal: per-file lines stay whole, the progress line ends the output."""
    inputs = []
    for index in range(2):
        path = tmp_path / f"doc{index}.pdf"
        path.write_bytes(make_text_pdf(f"Terminal document number {index}", 1))
        inputs.append(str(path))
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pin_assets.cli", "convert", *inputs, "-o", str(tmp_path / "out"), "--format", "png"],
        stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path, env=env, close_fds=True,
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    assert process.wait(timeout=30) == 0, output
    text = output.decode()
    assert "\rconvert: 0/2 documents" in text and "\rconvert: 2/2 documents in " in text, text
    for index in range(2):
        line = next(part for part in text.replace("\r\n", "\n").split("\n") if f"doc{index}.pdf ->" in part)
        assert line.split("\r")[-1].lstrip("\x1b[K").startswith(inputs[index]), repr(line)
