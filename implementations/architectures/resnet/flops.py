"""ResNet's FLOPs and MACs, counted analytically: one per multiply and one per add."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .parameters import param_count, param_shapes, weight_decay_names
from .spec import IMAGE_CHANNELS, ResNetSpec, conv_output_size


@dataclass(frozen=True)
class ConvShape:
    """One convolution of the network at a given input size: channels, kernel, stride, output size."""

    name: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    out_h: int
    out_w: int

    def macs(self, batch_size: int) -> int:
        return batch_size * self.out_h * self.out_w * self.out_channels * self.in_channels * self.kernel ** 2

    def output_elements(self, batch_size: int) -> int:
        return batch_size * self.out_h * self.out_w * self.out_channels


def conv_shapes(spec: ResNetSpec, resolution: int) -> list[ConvShape]:
    """Every convolution (each followed by a batch norm) in forward order, for square images."""
    size = conv_output_size(resolution, 7, 2, 3)
    convs = [ConvShape("conv1", IMAGE_CHANNELS, spec.stem_width, 7, 2, size, size)]
    size = conv_output_size(size, 3, 2, 1)  # max pool
    for block in spec.block_plans():
        out = conv_output_size(size, 3, block.stride, 1)
        convs.append(ConvShape(f"{block.name}.conv1", block.in_channels, block.width, 1, 1, size, size))
        convs.append(ConvShape(f"{block.name}.conv2", block.width, block.width, 3, block.stride, out, out))
        convs.append(ConvShape(f"{block.name}.conv3", block.width, block.out_channels, 1, 1, out, out))
        if block.has_downsample:
            convs.append(ConvShape(f"{block.name}.downsample.0", block.in_channels, block.out_channels, 1,
                                   block.stride, out, out))
        size = out
    return convs


def _maxpool_output(spec: ResNetSpec, resolution: int) -> int:
    """Values the stem's max pool outputs per image (H * W * channels), for square images."""
    size = conv_output_size(conv_output_size(resolution, 7, 2, 3), 3, 2, 1)
    return size * size * spec.stem_width


def step_flops_split(spec: ResNetSpec, batch_size: int, resolution: int = 224) -> dict[str, int]:
    """Analytic FLOPs of one training step, split ``{"forward", "backward", "update"}``.

    Forward: a convolution 2*MACs; batch norm 7 per element (mean 1, centre 1, variance 2,
    scale and shift 3 with the scale folded); relu 1 per element; max pool kernel^2 - 1
    comparisons per output; the residual add 1 per element; global average pool 1 per input
    element; the classifier 2*N*features*classes + N*classes; softmax cross-entropy 5 per logit.
    Backward: a convolution's weight gradient 2*MACs and input gradient 2*MACs, except the stem
    (the image needs no gradient); batch norm 7 per element (two reductions 3, the input
    gradient 4); relu 1; max pool 1 per output (routing to the argmax); the residual branch
    gradients meet in one add per element; the pool 1 per input element; the classifier's weight
    2*N*features*classes, bias N*classes and input 2*N*features*classes gradients.
    Update: SGD with momentum 4 per trainable parameter (v = mu*v + g, p -= lr*v) plus weight
    decay 2 per decayed parameter (g += wd*p).
    """
    n = batch_size
    convs = conv_shapes(spec, resolution)
    bn_elements = sum(conv.output_elements(n) for conv in convs)
    # relu follows every batch norm but the block's last (conv3) and the shortcut's, and each
    # block's residual add, whose output it reads.
    block_outputs = sum(conv.output_elements(n) for conv in convs if conv.name.endswith(".conv3"))
    relu_elements = sum(conv.output_elements(n) for conv in convs
                        if not conv.name.endswith((".conv3", ".downsample.0"))) + block_outputs
    pooled = _maxpool_output(spec, resolution) * n
    avgpool_inputs = [conv for conv in convs if conv.name.endswith(".conv3")][-1].output_elements(n)
    fc_products = 2 * n * spec.features * spec.num_classes
    logits = n * spec.num_classes
    forward = (sum(2 * conv.macs(n) for conv in convs) + 7 * bn_elements + relu_elements + 8 * pooled
               + block_outputs + avgpool_inputs + fc_products + logits + 5 * logits)
    conv_backward = sum((2 if conv.name != "conv1" else 1) * 2 * conv.macs(n) for conv in convs)
    # Each block's input feeds both the residual branch and the shortcut: their gradients add.
    block_inputs = sum(n * conv.out_h * conv.out_w * conv.in_channels for conv in convs if conv.name.endswith(".conv1"))
    backward = (conv_backward + 7 * bn_elements + relu_elements + pooled + block_inputs + avgpool_inputs
                + 2 * fc_products + logits)
    shapes = param_shapes(spec)
    decayed = sum(int(np.prod(shapes[name])) for name in weight_decay_names(spec))
    update = 4 * param_count(spec) + 2 * decayed
    return {"forward": forward, "backward": backward, "update": update}


def step_flops(spec: ResNetSpec, batch_size: int, resolution: int = 224) -> int:
    """Analytic FLOPs of one training step (forward + backward + update); see :func:`step_flops_split`."""
    return sum(step_flops_split(spec, batch_size, resolution).values())


def forward_macs(spec: ResNetSpec, batch_size: int, resolution: int = 224) -> int:
    """Multiply-adds of the forward convolutions and classifier (4.09e9 per 224x224 image)."""
    return (sum(conv.macs(batch_size) for conv in conv_shapes(spec, resolution))
            + batch_size * spec.features * spec.num_classes)


def step_macs(spec: ResNetSpec, batch_size: int, resolution: int = 224) -> int:
    """Multiply-adds in the products of one step: forward, weight gradients, input gradients
    (none for the stem convolution)."""
    convs = conv_shapes(spec, resolution)
    fc = batch_size * spec.features * spec.num_classes
    return sum((3 if conv.name != "conv1" else 2) * conv.macs(batch_size) for conv in convs) + 3 * fc
