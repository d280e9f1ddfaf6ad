"""What scoring costs per picture: `vigil classify` of a scanned case of generated
1024x768 JPEG landscapes, with a tiny model and with a small convolutional one.

Each `vigil classify` runs as its own process (wall time and peak RSS from ``wait4``),
on a case of N pictures and on one of N/5, so that the fixed start-up cost (Python,
onnxruntime, the model) cancels out: per picture = (t(N) - t(N/5)) / (0.8 N). The
in-process split of one picture's cost (decode and resize, model run) is printed too.

Models (built here with the ``onnx`` package, benign, random weights for the second):
``sky`` is the tests' "sky vs ground" (64x48 input, a mean); ``conv`` is three 3x3
stride-2 convolutions (16, 32, 64 channels), a global average and a 64x2 dense layer
on a 224x224 input, about the cost of a small mobile network's first layers.

    nice -n 10 python benchmarks/classify.py [--pictures 500]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from store_proof import SRC, run  # benchmarks/ is on the path when run as a script

sys.path.insert(0, str(SRC))
sys.path.insert(0, str(SRC.parent / "tests" / "classify"))
from sky_model import build_sky_model, write_config  # noqa: E402

from vigil.classify.config import load_config  # noqa: E402
from vigil.classify.model import Classifier  # noqa: E402


def build_conv_model(path: Path) -> None:
    """Three strided 3x3 convolutions, global average, dense 64x2; 224x224 NCHW input."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    weights, nodes, previous, channels = [], [], "image", 3
    for n, width in enumerate((16, 32, 64)):
        w = rng.normal(0, 0.1, (width, channels, 3, 3)).astype(np.float32)
        weights += [numpy_helper.from_array(w, f"w{n}"),
                    numpy_helper.from_array(np.zeros(width, np.float32), f"b{n}")]
        nodes += [
            helper.make_node("Conv", [previous, f"w{n}", f"b{n}"], [f"c{n}"], strides=[2, 2],
                             pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
            helper.make_node("Relu", [f"c{n}"], [f"r{n}"]),
        ]
        previous, channels = f"r{n}", width
    weights += [numpy_helper.from_array(rng.normal(0, 0.1, (64, 2)).astype(np.float32), "dw"),
                numpy_helper.from_array(np.zeros(2, np.float32), "db")]
    nodes += [
        helper.make_node("GlobalAveragePool", [previous], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Gemm", ["flat", "dw", "db"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes, "conv", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                      ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 2])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def evidence(count: int) -> Path:
    """``count`` generated 1024x768 JPEG landscapes (cached under /tmp)."""
    from vigil.demo import draw_landscape

    folder = Path(f"/tmp/classify-bench-{count}")
    if not (folder / ".complete").exists():
        folder.mkdir(exist_ok=True)
        for i in range(count):
            out = io.BytesIO()
            draw_landscape(5000 + i, (1024, 768)).save(out, "JPEG", quality=88)
            (folder / f"IMG_{i:05d}.jpg").write_bytes(out.getvalue())
        (folder / ".complete").write_text("")
    return folder


def split(config: Path, folder: Path, count: int = 50) -> tuple[float, float]:
    """In-process milliseconds per picture: (decode and resize, model run)."""
    classifier = Classifier(load_config(config))
    pictures = [p.read_bytes() for p in sorted(folder.glob("*.jpg"))[:count]]
    start = time.perf_counter()
    rows = [classifier.prepare(data) for data in pictures]
    middle = time.perf_counter()
    classifier.score(rows)
    end = time.perf_counter()
    return (middle - start) * 1000 / count, (end - middle) * 1000 / count


def main() -> None:
    """Build the cases and models, run `vigil classify`, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=500)
    args = parser.parse_args()
    big, small = args.pictures, args.pictures // 5
    with tempfile.TemporaryDirectory(prefix="classify-bench-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        build_sky_model(work / "sky.onnx")
        sky = write_config(work)
        conv_dir = work / "conv"
        conv_dir.mkdir()
        build_conv_model(conv_dir / "conv.onnx")
        conv = write_config(conv_dir, model="conv.onnx", size="[224, 224]", scale="255.0",
                            mean="[0.485, 0.456, 0.406]", std="[0.229, 0.224, 0.225]",
                            softmax="true", name='"conv"')
        for count in (small, big):
            folder = evidence(count)
            run(SRC, home, "scan", str(folder), "--case", f"C{count}", "--exhibit", "E", "-q")
        print(f"load before: {os.getloadavg()[0]:.2f}; cases of {small} and {big} pictures")
        print("| model | classify N/5 | classify N | per picture | peak RSS | in-process "
              "decode+resize / model |")
        print("|---|---|---|---|---|---|")
        for name, config in (("sky 64x48", sky), ("conv 224x224", conv)):
            t_small, _rss = run(SRC, home, "classify", f"C{small}", "--config", str(config))
            t_big, rss = run(SRC, home, "classify", f"C{big}", "--config", str(config))
            per = (t_big - t_small) * 1000 / (big - small)
            prep, model = split(config, evidence(big))
            print(f"| {name} | {t_small:.1f} s | {t_big:.1f} s | {per:.1f} ms | {rss:.0f} MB "
                  f"| {prep:.1f} / {model:.1f} ms |", flush=True)
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
