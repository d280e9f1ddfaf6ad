"""Video hashing throughput: vigil's hash_video at 1 fps against the naive path.

The naive path decodes every frame at full resolution with PyAV's default decoder
settings, converts each to RGB, and hashes the first frame of each second at full
resolution. Both run in the same process on the same generated benign clips
(``video_corpus.benchmark_set``, cached in /tmp). Prints seconds, real-time factors,
the speed-up, and how far vigil's frame hashes are from the naive path's.

Usage: python benchmarks/video_throughput.py [--clips N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))

from video_corpus import benchmark_set  # noqa: E402
from vigil.hashing.video import frame_pdq, hash_video  # noqa: E402


def naive_hash(path: Path) -> dict[int, str]:
    """Decode every frame, convert all to RGB, hash the first of each second."""
    hashes: dict[int, str] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        for frame in container.decode(stream):
            pixels = frame.to_ndarray(format="rgb24")
            second = int(float((frame.pts - start) * stream.time_base) + 1e-6)
            if second not in hashes:
                hashes[second] = frame_pdq(pixels)[0]
    return hashes


def main() -> None:
    """Run both paths over the clip set and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    args = parser.parse_args()
    clips = benchmark_set()[: args.clips]
    media_seconds = 0.0
    naive_time = vigil_time = 0.0
    distances: list[int] = []
    for clip in clips:
        started = time.perf_counter()
        naive = naive_hash(clip)
        naive_time += time.perf_counter() - started
        started = time.perf_counter()
        result = hash_video(clip)
        vigil_time += time.perf_counter() - started
        media_seconds += result.duration or 0.0
        for frame in result.frames:
            reference = naive.get(int(frame.timestamp))
            # Compare only frames both paths took (vigil prefers a keyframe inside the
            # second when there is one; the naive path always takes its first frame).
            if reference is not None and frame.timestamp == int(frame.timestamp):
                distances.append((int(frame.pdq, 16) ^ int(reference, 16)).bit_count())
    print(f"clips: {len(clips)}, media: {media_seconds:.1f} s")
    print(f"naive: {naive_time:.2f} s = {media_seconds / naive_time:.1f}x real time")
    print(f"vigil: {vigil_time:.2f} s = {media_seconds / vigil_time:.1f}x real time")
    print(f"speed-up vigil/naive: {naive_time / vigil_time:.1f}x (target >= 3x)")
    print(f"real-time target >= 20x: {'met' if media_seconds / vigil_time >= 20 else 'MISSED'}")
    mean = sum(distances) / max(1, len(distances))
    print(f"hash distance vigil vs naive: mean {mean:.1f}, max {max(distances, default=0)} bits"
          f" over {len(distances)} frames")


if __name__ == "__main__":
    main()
