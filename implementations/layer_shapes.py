"""What the array backends' layers (numpy, numba) accept, and the shapes they return: one owner.

Each check raises ValueError with the one line the layer contract promises (tests/test_resnet_layers.py
holds every hand-written backend to it); the loops backend words its own, for its FlatTensor and RowsTensor.
"""

from __future__ import annotations


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length along one axis: ``floor((size + 2*padding - kernel) / stride) + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_output(x_shape: tuple, w_shape: tuple, stride: int, padding: int) -> tuple[int, int]:
    """(Ho, Wo) of a convolution of x (N, C, H, W) with w (K, C, R, S)."""
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"conv2d: x must be (N, C, H, W) and w (K, C, R, S), got {x_shape} and {w_shape}")
    _, channels, height, width = x_shape
    _, w_channels, kernel_h, kernel_w = w_shape
    if w_channels != channels:
        raise ValueError(f"conv2d: input has {channels} channels, weight expects {w_channels}")
    out_h = conv_output_size(height, kernel_h, stride, padding)
    out_w = conv_output_size(width, kernel_w, stride, padding)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"conv2d: a {height}x{width} input is smaller than the {kernel_h}x{kernel_w} kernel with "
                         f"padding {padding}")
    return out_h, out_w


def batchnorm_count(x_shape: tuple, gamma_shape: tuple) -> int:
    """The values per channel (N*H*W) of a batch norm of x (N, C, H, W) with gamma (C,); at least 2."""
    if len(x_shape) != 4 or tuple(gamma_shape) != (x_shape[1],):
        raise ValueError(f"batchnorm: x must be (N, C, H, W) with gamma (C,), got {x_shape} and {gamma_shape}")
    count = x_shape[0] * x_shape[2] * x_shape[3]
    if count < 2:
        raise ValueError(f"batchnorm in training mode needs more than one value per channel, got {count}")
    return count


def maxpool2d_output(x_shape: tuple, kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """(Ho, Wo) of a max pool of x (N, C, H, W) over ``kernel`` x ``kernel`` windows."""
    if len(x_shape) != 4:
        raise ValueError(f"maxpool2d: x must be (N, C, H, W), got {x_shape}")
    if 2 * padding > kernel:
        raise ValueError(f"maxpool2d: padding {padding} must be at most half the kernel {kernel}")
    _, _, height, width = x_shape
    out_h = conv_output_size(height, kernel, stride, padding)
    out_w = conv_output_size(width, kernel, stride, padding)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"maxpool2d: a {height}x{width} input is smaller than the {kernel}x{kernel} window")
    return out_h, out_w


def check_global_avgpool(x_shape: tuple) -> None:
    if len(x_shape) != 4:
        raise ValueError(f"global_avgpool: x must be (N, C, H, W), got {x_shape}")
