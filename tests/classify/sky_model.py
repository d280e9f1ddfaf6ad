"""A tiny benign ONNX model built in the tests: "sky vs ground".

Input ``image``: N x 3 x H x W float32 (NCHW). Output ``scores``: N x 2, column 0
("sky") the mean blue value of the top half, column 1 ("ground") one minus it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

WIDTH, HEIGHT = 64, 48
GROUND = (30, 120, 40)


def _const(name: str, values: list[int] | list[float], dtype: type = np.int64) -> onnx.NodeProto:
    return helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(np.array(values, dtype=dtype), name)
    )


def build_sky_model(path: Path, height: int = HEIGHT) -> bytes:
    """Write the model to ``path`` and return its bytes."""
    nodes = [
        _const("starts", [2, 0]),
        _const("ends", [3, height // 2]),
        _const("axes", [1, 2]),
        helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["top_blue"]),
        _const("mean_axes", [1, 2, 3]),
        helper.make_node("ReduceMean", ["top_blue", "mean_axes"], ["sky"], keepdims=0),
        _const("one_axis", [1]),
        helper.make_node("Unsqueeze", ["sky", "one_axis"], ["sky_col"]),
        _const("one", [1.0], np.float32),
        helper.make_node("Sub", ["one", "sky_col"], ["ground_col"]),
        helper.make_node("Concat", ["sky_col", "ground_col"], ["scores"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "sky-vs-ground",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, height, "W"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    path.write_bytes(data)
    return data


def landscape(
    blue: int, size: tuple[int, int] = (WIDTH, HEIGHT), horizon: float = 0.5
) -> Image.Image:
    """A plain landscape: sky of blue value ``blue`` over green ground from ``horizon``
    (a fraction of the height) down."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    line = round(height * horizon)
    pixels[:line] = (90, 140, blue)
    pixels[line:] = GROUND
    return Image.fromarray(pixels)


def write_config(folder: Path, model: str = "sky.onnx", **extra: str) -> Path:
    """A classifier config for the sky model (mean 100 and std 2 on blue, scale 1);
    ``extra`` replaces or adds settings (TOML values as text)."""
    settings = {
        "name": '"sky-vs-ground"',
        "path": f'"{model}"',
        "size": f"[{WIDTH}, {HEIGHT}]",
        "scale": "1.0",
        "mean": "[0, 0, 100]",
        "std": "[1, 1, 2]",
        "labels": '["sky", "ground"]',
        "priority": '"sky"',
        **extra,
    }
    lines = ["[model]", *(f"{k} = {v}" for k, v in settings.items())]
    path = folder / "classifier.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
