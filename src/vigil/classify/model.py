"""Run an ONNX model over pictures: decode, resize, normalise, score (onnxruntime)."""

from __future__ import annotations

import hashlib
import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from vigil.classify.config import ClassifierConfig
from vigil.errors import UsageError
from vigil.hashing.decode import DEFAULT_MAX_PIXELS


class Classifier:
    """One loaded model and its configuration.

    The model file is read once; ``sha256`` is its digest, recorded with every run.
    """

    def __init__(self, config: ClassifierConfig) -> None:
        import onnxruntime

        self.config = config
        try:
            model_bytes = config.path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read the classifier model {config.path}: {exc}") from exc
        self.sha256 = hashlib.sha256(model_bytes).hexdigest()
        options = onnxruntime.SessionOptions()
        # One thread: the machine's cores belong to the scan and the other users.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                model_bytes, options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise UsageError(f"{config.path} is not a usable ONNX model: {exc}") from exc
        first = self.session.get_inputs()[0]
        self.input_name = first.name
        self.batch_one = first.shape[0] == 1
        self.priority_at = config.labels.index(config.priority)
        self._mean = np.array(config.mean, dtype=np.float32)
        self._std = np.array(config.std, dtype=np.float32)

    def prepare(self, data: bytes) -> np.ndarray:
        """One picture as the model's input row (float32, configured layout).

        Raises:
            ValueError: if the bytes are not a picture that decodes.
        """
        c = self.config
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                image = Image.open(io.BytesIO(data))
                if image.width * image.height > DEFAULT_MAX_PIXELS:
                    raise ValueError(f"picture of {image.width}x{image.height} is too large")
                if image.format == "JPEG":
                    image.draft("RGB", (c.width, c.height))
                image.load()
                image = ImageOps.exif_transpose(image).convert("RGB")
            except ValueError:
                raise
            except Exception as exc:  # noqa: BLE001 - Pillow raises many types
                raise ValueError(f"not a decodable picture: {exc}") from exc
        if image.size != (c.width, c.height):
            image = image.resize((c.width, c.height), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32)
        if c.colour == "BGR":
            pixels = pixels[:, :, ::-1]
        pixels = (pixels / np.float32(c.scale) - self._mean) / self._std
        return pixels.transpose(2, 0, 1) if c.layout == "NCHW" else pixels

    def score(self, rows: list[np.ndarray]) -> list[float]:
        """The priority label's value for each prepared picture.

        Raises:
            UsageError: if the model's output does not have one column per label.
        """
        if not rows:
            return []
        batches = [[r] for r in rows] if self.batch_one else [rows]
        out: list[float] = []
        for batch in batches:
            (values,) = self.session.run(None, {self.input_name: np.stack(batch)})[:1]
            values = np.asarray(values, dtype=np.float64).reshape(len(batch), -1)
            if values.shape[1] != len(self.config.labels):
                raise UsageError(
                    f"the model gives {values.shape[1]} outputs per picture; the config "
                    f"names {len(self.config.labels)} labels"
                )
            if self.config.softmax:
                shifted = np.exp(values - values.max(axis=1, keepdims=True))
                values = shifted / shifted.sum(axis=1, keepdims=True)
            out.extend(float(v) for v in values[:, self.priority_at])
        return out
