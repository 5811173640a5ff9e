"""ResNet's input batch: a random one made from a seed, and what a step accepts (checked before any work)."""

from __future__ import annotations

import numpy as np

from .spec import IMAGE_CHANNELS, RESNET50, TOTAL_STRIDE, ResNetSpec, conv_output_size


def make_batch(spec: ResNetSpec, batch_size: int, seed: int, resolution: int = 224) -> tuple[np.ndarray, np.ndarray]:
    """A random batch: ``x`` (N, 3, resolution, resolution) float64 standard normal, ``y`` (N,) int64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, IMAGE_CHANNELS, resolution, resolution))
    y = rng.integers(0, spec.num_classes, size=batch_size)
    return x, y


def final_feature_size(height: int, width: int, spec: ResNetSpec = RESNET50) -> tuple[int, int]:
    """Spatial size (H, W) of the last stage's output for an H x W image."""
    sizes = []
    for size in (height, width):
        size = conv_output_size(conv_output_size(size, 7, 2, 3), 3, 2, 1)  # stem conv and max pool
        for _ in spec.blocks[1:]:
            size = conv_output_size(size, 3, 2, 1)
        sizes.append(size)
    return sizes[0], sizes[1]


def validate_batch(spec: ResNetSpec, x: np.ndarray, y: np.ndarray) -> None:
    """Raise ValueError naming the limit unless x is (N, 3, H, W) with H, W >= 32 and y holds N
    labels in [0, classes); checked before any work.

    32 is the network's total stride: below it the last stage would pool windows that lie mostly
    in the padding. Batch norm in training mode also needs more than one value per channel, so a
    single image needs H, W large enough that the last stage keeps at least 2 pixels (H or W >= 33).
    """
    if np.ndim(x) != 4:
        raise ValueError(f"ResNet input x must have shape (N, {IMAGE_CHANNELS}, H, W), got {tuple(np.shape(x))}")
    n, channels, height, width = x.shape
    if channels != IMAGE_CHANNELS:
        raise ValueError(f"ResNet input x must have {IMAGE_CHANNELS} channels (N, 3, H, W), got {channels}")
    if n < 1:
        raise ValueError("the batch is empty")
    if height < TOTAL_STRIDE or width < TOTAL_STRIDE:
        raise ValueError(f"ResNet input images must be at least {TOTAL_STRIDE}x{TOTAL_STRIDE} pixels "
                         f"(the network's total stride), got {height}x{width}")
    final_h, final_w = final_feature_size(height, width, spec)
    if n * final_h * final_w < 2:
        raise ValueError(f"batch norm in training mode needs more than one value per channel: a batch of {n} "
                         f"{height}x{width} images leaves {final_h}x{final_w} pixels per channel in the last "
                         "stage; use at least 2 images or larger ones")
    if not np.issubdtype(np.asarray(x).dtype, np.floating):
        raise ValueError(f"ResNet input x must be floating point, got dtype {np.asarray(x).dtype}")
    if np.ndim(y) != 1 or len(y) != n:
        raise ValueError(f"labels y must have shape ({n},), got {tuple(np.shape(y))}")
    if not np.issubdtype(np.asarray(y).dtype, np.integer):
        raise ValueError(f"labels y must be integers, got dtype {np.asarray(y).dtype}")
    if np.any(y < 0) or np.any(y >= spec.num_classes):
        raise ValueError(f"labels must lie in [0, {spec.num_classes}), got min {int(np.min(y))} max {int(np.max(y))}")
