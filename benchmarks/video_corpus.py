"""The benchmark set of benign generated clips (see ``vigil.synthetic_video``).

Run ``python benchmarks/video_corpus.py [DIR]`` to (re)build it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vigil.synthetic_video import write_clip

BENCH_DIR = Path("/tmp/vigil-video-bench")


def benchmark_set(directory: Path = BENCH_DIR, count: int = 20) -> list[Path]:
    """Build (once) the benchmark clips: 720p and 1080p H.264, 9 s each, mixed GOPs.

    Half the clips use a 1 s keyframe interval (as phones record), half the encoder
    default of 250 frames (as much web video is).

    Args:
        directory: cache directory; existing clips are reused.
        count: number of clips.

    Returns:
        The clip paths.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        width, height = (1920, 1080) if index % 4 == 3 else (1280, 720)
        gop = 30 if index % 2 == 0 else None
        path = directory / f"clip{index:02d}-{height}p-gop{gop or 250}.mp4"
        if not path.exists():
            partial = path.with_suffix(".part.mp4")
            write_clip(
                partial,
                width=width,
                height=height,
                seconds=9.0,
                fps=30,
                seed=1000 + index,
                gop=gop,
                bit_rate=4_000_000,
            )
            partial.rename(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH_DIR
    for clip in benchmark_set(target):
        print(clip)
