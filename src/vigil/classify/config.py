"""The classifier's configuration file (TOML): which model, how to feed it, what it says.

```toml
[model]
name = "agency-model-3"        # shown in the report beside the file's SHA-256
path = "model.onnx"            # relative to this file
size = [224, 224]              # input width, height (pictures are resized to it)
layout = "NCHW"                # or "NHWC"
colour = "RGB"                 # or "BGR"
scale = 255.0                  # pixel / scale, then (value - mean) / std per channel
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
labels = ["other", "priority"] # one per output column
priority = "priority"          # the label whose value orders the queue
softmax = false                # apply a softmax to the outputs first
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.errors import UsageError


@dataclass(frozen=True)
class ClassifierConfig:
    """A checked classifier configuration (see the module docstring)."""

    name: str
    path: Path
    width: int
    height: int
    layout: str = "NCHW"
    colour: str = "RGB"
    scale: float = 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    labels: tuple[str, ...] = ()
    priority: str = ""
    softmax: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The settings as recorded with a run (the model by name, not by path)."""
        return {
            "name": self.name,
            "size": [self.width, self.height],
            "layout": self.layout,
            "colour": self.colour,
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
            "labels": list(self.labels),
            "priority": self.priority,
            "softmax": self.softmax,
        }


def _three(value: Any, key: str) -> tuple[float, float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise UsageError(f"classifier config: {key} must be a list of 3 numbers")
    return (float(value[0]), float(value[1]), float(value[2]))


def load_config(path: Path) -> ClassifierConfig:
    """Read and check a classifier configuration file.

    Args:
        path: The TOML file.

    Returns:
        The configuration; the model path resolved against the file's folder.

    Raises:
        UsageError: naming the first setting that is missing or wrong.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read classifier config {path}: {exc}") from exc
    model = data.get("model")
    if not isinstance(model, dict):
        raise UsageError(f"classifier config {path}: no [model] table")
    for key in ("name", "path", "size", "labels", "priority"):
        if key not in model:
            raise UsageError(f"classifier config {path}: [model] needs {key!r}")
    size = model["size"]
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(type(v) is int and 1 <= v <= 4096 for v in size)
    ):
        raise UsageError("classifier config: size must be [width, height], 1 to 4096 each")
    labels = model["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise UsageError("classifier config: labels must be a list of names")
    if model["priority"] not in labels:
        raise UsageError(f"classifier config: priority {model['priority']!r} is not a label")
    layout = model.get("layout", "NCHW")
    colour = model.get("colour", "RGB")
    if layout not in ("NCHW", "NHWC") or colour not in ("RGB", "BGR"):
        raise UsageError("classifier config: layout is NCHW or NHWC, colour RGB or BGR")
    std = _three(model.get("std", [1, 1, 1]), "std")
    scale = model.get("scale", 255.0)
    if not isinstance(scale, int | float) or scale <= 0 or 0 in std:
        raise UsageError("classifier config: scale and std must be non-zero numbers")
    return ClassifierConfig(
        name=str(model["name"])[:200],
        path=(Path(path).parent / str(model["path"])).resolve(),
        width=size[0],
        height=size[1],
        layout=layout,
        colour=colour,
        scale=float(scale),
        mean=_three(model.get("mean", [0, 0, 0]), "mean"),
        std=std,
        labels=tuple(labels),
        priority=model["priority"],
        softmax=bool(model.get("softmax", False)),
    )
