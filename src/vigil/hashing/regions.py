"""Region signatures: what a lab bank stores of a picture so that crops, small turns,
letterboxed and inset copies of it can still be found.

A signature is computed on the picture's luma scaled to ``SIDE`` pixels on its longer
side (so a copy at any size is seen at the same detail):

- ORB keypoints (OpenCV: FAST corners with an orientation, 256-bit rotated BRIEF
  descriptors), the strongest ``features`` of them. They survive shifts, crops, small
  turns and rescaling, which a whole-picture hash like PDQ does not.
- PDQ of the picture's centre window (``CENTRE`` of each side). A match found by
  keypoints is only accepted when the copy, turned back onto the known picture by the
  transform the keypoints give, has a centre within a PDQ distance of this one: two
  independent tests, so that a few keypoints that happen to agree cannot make a match.

A signature holds no pixels: keypoint positions, 32-byte descriptors and one PDQ.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vigil.hashing import pdq_core

SIDE = 512
BANK_FEATURES = 256
QUERY_FEATURES = 500
# The centre window, as (start, end) shares of each side: crops of up to 20% (off-centre)
# and a 5-degree turn's black corners stay outside it.
CENTRE = (0.2, 0.8)
DESCRIPTOR_BYTES = 32
# The centre PDQ is taken on the frame reduced this much (cheap to turn back at a query).
WARP_REDUCTION = 4

cv2.setNumThreads(1)  # scans run one worker per core; OpenCV's own threads would fight them


@dataclass(frozen=True)
class RegionSignature:
    """The keypoints and centre PDQ of one picture (coordinates in the scaled frame).

    Attributes:
        width: width of the scaled frame (longer side ``SIDE``).
        height: height of the scaled frame.
        points: N x 2 float32 keypoint positions (x, y).
        descriptors: N x 32 uint8 ORB descriptors, row i for point i.
        centre: 16x16 bool PDQ bits of the centre window.
        centre_quality: PDQ quality (0-100) of the centre window.
    """

    width: int
    height: int
    points: np.ndarray
    descriptors: np.ndarray
    centre: np.ndarray
    centre_quality: int


def scaled_grey(pixels: np.ndarray) -> np.ndarray:
    """Luma of ``pixels`` (H x W x 3 uint8, or H x W luma) scaled to ``SIDE`` on its
    longer side, as uint8."""
    if pixels.ndim == 3:
        grey = cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)
    else:
        grey = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    h, w = grey.shape
    factor = SIDE / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    method = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(grey, size, interpolation=method)


def reduced_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of a ``width`` x ``height`` frame reduced by ``WARP_REDUCTION``."""
    return max(1, width // WARP_REDUCTION), max(1, height // WARP_REDUCTION)


def reduce(grey: np.ndarray) -> np.ndarray:
    """A scaled frame reduced by ``WARP_REDUCTION`` (area average)."""
    size = reduced_size(grey.shape[1], grey.shape[0])
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def centre_bits(grey: np.ndarray) -> tuple[np.ndarray, int]:
    """PDQ bits (16x16 bool) and quality of the centre window of a reduced frame."""
    h, w = grey.shape
    lo, hi = CENTRE
    window = grey[round(h * lo) : round(h * hi), round(w * lo) : round(w * hi)]
    block, quality = pdq_core.hash_grey(window.astype(np.float32))
    return block > np.median(block), quality


def keypoints(grey: np.ndarray, features: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``features`` strongest ORB keypoints of a scaled frame: (N x 2 float32
    positions, N x 32 uint8 descriptors); N may be 0 on a flat picture."""
    orb = cv2.ORB_create(nfeatures=features, fastThreshold=10)
    found, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or not found:
        return np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8)
    points = np.array([k.pt for k in found], dtype=np.float32)
    return points, descriptors


def region_signature(pixels: np.ndarray, features: int = BANK_FEATURES) -> RegionSignature:
    """The region signature of one decoded picture.

    Args:
        pixels: H x W x 3 uint8 RGB or H x W luma (``Decoded.pixels``).
        features: how many keypoints to keep: ``BANK_FEATURES`` for a picture that goes
            into a bank, ``QUERY_FEATURES`` for one that is looked up.
    """
    grey = scaled_grey(pixels)
    points, descriptors = keypoints(grey, features)
    centre, quality = centre_bits(reduce(grey))
    return RegionSignature(grey.shape[1], grey.shape[0], points, descriptors, centre, quality)
