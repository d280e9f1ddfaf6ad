"""Helpers shared by test modules (importable because conftest puts tests/ on sys.path)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import VigilError

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
VIGIL = [sys.executable, "-m", "vigil"]


def run_vigil(args: list[str], home: Path, drop_read_override: bool = False) -> str:
    """Run the real CLI with ``VIGIL_HOME=home``; assert success; return its stdout.

    With ``drop_read_override`` a root process loses the right to read any file, so
    a file with mode 000 is unreadable as it would be for an ordinary user.
    """
    cmd = VIGIL + args
    if drop_read_override and os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    env = {**os.environ, "VIGIL_HOME": str(home)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


class InProcessVigil:
    """Runs the real ``vigil`` app in this process with one VIGIL_HOME (faster than a
    subprocess, for tests that call many commands)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(app, list(args), env={"VIGIL_HOME": str(self.home)})
        exit_code = result.exit_code
        # As vigil.cli.main does: a VigilError becomes its exit code.
        if isinstance(result.exception, VigilError):
            exit_code = result.exception.exit_code
        assert exit_code == code, (args, result.output, result.exception)
        return result.output


def load_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` (the benchmarks share generators with the tests)."""
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", REPO / "benchmarks" / f"{name}.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def media_file(container: str, video: bool, audio: bool) -> bytes:
    """A short generated MP4/M4A/ASF file: grey frames and/or silence (PyAV)."""
    import io

    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        streams = []
        if video:
            v = out.add_stream("mpeg4" if container == "mp4" else "wmv2", rate=10)
            v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
            streams.append(v)
        if audio:
            codec = "wmav2" if container == "asf" else "aac"
            a = out.add_stream(codec, rate=22050, layout="mono")
            a.bit_rate = 64000
            streams.append(a)
        for i in range(10 if video else 0):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), "rgb24")
            for packet in streams[0].encode(frame):
                out.mux(packet)
        if audio:
            a = streams[-1]
            for i in range(10):
                samples = np.zeros((1, 1024), np.float32)
                frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 22050, i * 1024
                for packet in a.encode(frame):
                    out.mux(packet)
        for s in streams:
            for packet in s.encode(None):
                out.mux(packet)
    return buf.getvalue()
