"""ResNet-50 (v1.5), described once.

The network is torchvision's ``resnet50()``: a 7x7/2 stem convolution, batch norm, relu and a
3x3/2 max pool; four stages of bottleneck blocks ``[3, 4, 6, 3]`` (1x1 reduce, 3x3, 1x1 expand by
4); global average pooling and a fully connected classifier. "v1.5" puts a stage's stride on the
3x3 convolution rather than the first 1x1 (He et al. 2015 put it on the 1x1; torchvision and
NVIDIA moved it, which costs more FLOPs and gains accuracy). The first block of every stage
projects its shortcut with a strided 1x1 convolution and batch norm (``downsample``).

Parameters are a dict of NumPy arrays with torchvision's ``state_dict`` names and layouts
(``conv1.weight`` (64, 3, 7, 7), ``bn1.weight``, ``bn1.running_mean``, ``bn1.num_batches_tracked``,
``layer1.0.conv1.weight``, ``layer1.0.downsample.0.weight``, ``fc.weight`` (classes, 2048), ...), so
weights move between backends and torchvision unchanged. Convolutions have no bias.

A training step runs batch norm in training mode: batch statistics normalize, and the running
statistics move by momentum 0.1 towards the batch mean and the unbiased batch variance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .. import hooks
from .limits import NO_LIMITS, StepLimits
from .verification import VerificationSpec

# Every stage after the first halves the feature map, and the stem halves it twice: 32 in all.
TOTAL_STRIDE = 32
BN_MOMENTUM = 0.1
BN_EPS = 1e-5
IMAGE_CHANNELS = 3
_BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


@dataclass(frozen=True)
class ResNetSpec:
    """Bottleneck blocks per stage, the stages' inner widths, the expansion and the classes.

    ``widths[i]`` is the width of stage i's 1x1-reduce and 3x3 convolutions; its blocks output
    ``widths[i] * expansion`` channels. The stem outputs ``widths[0]`` channels, as torchvision's
    ``inplanes = 64``.
    """

    blocks: tuple[int, ...] = (3, 4, 6, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    expansion: int = 4
    num_classes: int = 1000

    def __post_init__(self) -> None:
        if len(self.blocks) != len(self.widths) or not self.blocks:
            raise ValueError(f"ResNet needs one width per stage, got blocks {self.blocks} and widths {self.widths}")
        for value in (*self.blocks, *self.widths, self.expansion, self.num_classes):
            if int(value) < 1:
                raise ValueError(f"every ResNet size must be a positive integer, got {self}")

    @property
    def stem_width(self) -> int:
        return self.widths[0]

    @property
    def features(self) -> int:
        """Channels entering the classifier."""
        return self.widths[-1] * self.expansion

    def block_plans(self) -> list[BlockPlan]:
        """Every bottleneck block in order, with its channels and stride."""
        plans = []
        in_channels = self.stem_width
        for stage, (count, width) in enumerate(zip(self.blocks, self.widths)):
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                out_channels = width * self.expansion
                plans.append(BlockPlan(f"layer{stage + 1}.{index}", in_channels, width, out_channels, stride,
                                       has_downsample=index == 0))
                in_channels = out_channels
        return plans


@dataclass(frozen=True)
class BlockPlan:
    """One bottleneck block: 1x1 in->width, 3x3/stride width->width, 1x1 width->out, plus shortcut.

    The first block of every stage projects its shortcut (a strided 1x1 conv and batch norm),
    also in stage 1 where only the channels change (64 -> 256), as torchvision does.
    """

    name: str
    in_channels: int
    width: int
    out_channels: int
    stride: int
    has_downsample: bool


RESNET50 = ResNetSpec()


def _bn_shapes(prefix: str, channels: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.{suffix}": (() if suffix == "num_batches_tracked" else (channels,)) for suffix in _BN_SUFFIXES}


def param_shapes(spec: ResNetSpec) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter and buffer, in torchvision's ``state_dict`` order."""
    shapes: dict[str, tuple[int, ...]] = {"conv1.weight": (spec.stem_width, IMAGE_CHANNELS, 7, 7)}
    shapes.update(_bn_shapes("bn1", spec.stem_width))
    for block in spec.block_plans():
        shapes[f"{block.name}.conv1.weight"] = (block.width, block.in_channels, 1, 1)
        shapes.update(_bn_shapes(f"{block.name}.bn1", block.width))
        shapes[f"{block.name}.conv2.weight"] = (block.width, block.width, 3, 3)
        shapes.update(_bn_shapes(f"{block.name}.bn2", block.width))
        shapes[f"{block.name}.conv3.weight"] = (block.out_channels, block.width, 1, 1)
        shapes.update(_bn_shapes(f"{block.name}.bn3", block.out_channels))
        if block.has_downsample:
            shapes[f"{block.name}.downsample.0.weight"] = (block.out_channels, block.in_channels, 1, 1)
            shapes.update(_bn_shapes(f"{block.name}.downsample.1", block.out_channels))
    shapes["fc.weight"] = (spec.num_classes, spec.features)
    shapes["fc.bias"] = (spec.num_classes,)
    return shapes


def _is_buffer(name: str) -> bool:
    return name.endswith((".running_mean", ".running_var", ".num_batches_tracked"))


def trainable_names(spec: ResNetSpec) -> list[str]:
    """Convolution weights, batch-norm weights and biases, and the classifier: ``named_parameters`` order."""
    return [name for name in param_shapes(spec) if not _is_buffer(name)]


def counter_names(spec: ResNetSpec) -> list[str]:
    """The integer buffers (``num_batches_tracked``): trainers keep them as Python ints and count steps."""
    return [name for name in param_shapes(spec) if name.endswith(".num_batches_tracked")]


def param_count(spec: ResNetSpec) -> int:
    """Trainable parameters (25,557,032 for ResNet-50 with 1000 classes)."""
    shapes = param_shapes(spec)
    return sum(int(np.prod(shapes[name])) for name in trainable_names(spec))


def weight_decay_names(spec: ResNetSpec) -> set[str]:
    """Convolution and classifier weights. Batch-norm parameters and biases are not decayed
    (Goyal et al. 2017; decaying them only shrinks the scale that batch norm then undoes)."""
    return {name for name, shape in param_shapes(spec).items() if name.endswith(".weight") and len(shape) >= 2}


def default_sgd():
    """lr 0.1, momentum 0.9, weight decay 1e-4: the ImageNet recipe of He et al. 2015 at batch 256."""
    from ..trainer import SGDConfig  # noqa: PLC0415  (avoids a cycle at import time)

    return SGDConfig(lr=0.1, momentum=0.9, weight_decay=1e-4)


_BLOCK_KEY = re.compile(r"^layer(\d+)\.(\d+)\.conv1\.weight$")


def spec_from_params(params: dict[str, np.ndarray]) -> ResNetSpec:
    """Read blocks, widths and classes from ``params`` and check every tensor is present and shaped.

    Raises ValueError naming the first missing, misshapen or unexpected tensor.
    """
    found = sorted({(int(m.group(1)), int(m.group(2))) for key in params if (m := _BLOCK_KEY.match(key))})
    stages = sorted({stage for stage, _ in found})
    if not stages or stages != list(range(1, len(stages) + 1)):
        raise ValueError("ResNet parameters must hold layer1.0.conv1.weight, layer2.0.conv1.weight, ... "
                         f"(torchvision names); found stages {stages}")
    blocks = []
    for stage in stages:
        indices = [index for s, index in found if s == stage]
        if indices != list(range(len(indices))):
            raise ValueError(f"ResNet stage layer{stage} has blocks {indices}; expected 0, 1, ... without gaps")
        blocks.append(len(indices))
    widths = []
    for stage in stages:
        name = f"layer{stage}.0.conv1.weight"
        if np.ndim(params[name]) != 4:
            raise ValueError(f"ResNet parameter {name} must be a 4-D (out, in, 1, 1) conv weight, "
                             f"got shape {tuple(np.shape(params[name]))}")
        widths.append(int(np.shape(params[name])[0]))
    for name in ("layer1.0.conv3.weight", "fc.weight"):
        if name not in params:
            raise ValueError(f"ResNet parameter {name} is missing")
    expansion = int(np.shape(params["layer1.0.conv3.weight"])[0]) // widths[0]
    if np.ndim(params["fc.weight"]) != 2:
        raise ValueError(f"ResNet parameter fc.weight must be 2-D (classes, features), "
                         f"got shape {tuple(np.shape(params['fc.weight']))}")
    spec = ResNetSpec(tuple(blocks), tuple(widths), max(expansion, 1), int(np.shape(params["fc.weight"])[0]))
    for name, shape in param_shapes(spec).items():
        if name not in params:
            raise ValueError(f"ResNet parameter {name} is missing (expected shape {shape})")
        if tuple(np.shape(params[name])) != shape:
            raise ValueError(f"ResNet parameter {name} has shape {tuple(np.shape(params[name]))}, expected {shape}")
    extra = set(params) - set(param_shapes(spec))
    if extra:
        raise ValueError(f"unexpected ResNet parameters: {sorted(extra)}")
    return spec


def init_params(spec: ResNetSpec, seed: int) -> dict[str, np.ndarray]:
    """float64 parameters drawn from ``seed``, initialized as torchvision does.

    Convolutions: Kaiming normal, fan-out mode, ``std = sqrt(2 / (out * R * S))`` (He et al. 2015).
    Batch norm: weight 1, bias 0, running mean 0, running variance 1, ``num_batches_tracked`` 0
    (int64, 0-d). Classifier: ``nn.Linear``'s default, weight and bias uniform in
    ``[-1/sqrt(features), 1/sqrt(features)]``.
    """
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    bound = 1.0 / np.sqrt(spec.features)
    for name, shape in param_shapes(spec).items():
        if name.endswith(".num_batches_tracked"):
            params[name] = np.zeros((), dtype=np.int64)
        elif name.endswith((".running_mean", ".bias")) and not name.startswith("fc."):
            params[name] = np.zeros(shape)
        elif name.endswith(".running_var") or (len(shape) == 1 and name.endswith(".weight")):
            params[name] = np.ones(shape)
        elif len(shape) == 4:
            fan_out = shape[0] * shape[2] * shape[3]
            params[name] = rng.normal(0.0, np.sqrt(2.0 / fan_out), size=shape)
        else:  # fc.weight, fc.bias
            params[name] = rng.uniform(-bound, bound, size=shape)
    return params


def make_batch(spec: ResNetSpec, batch_size: int, seed: int, resolution: int = 224) -> tuple[np.ndarray, np.ndarray]:
    """A random batch: ``x`` (N, 3, resolution, resolution) float64 standard normal, ``y`` (N,) int64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, IMAGE_CHANNELS, resolution, resolution))
    y = rng.integers(0, spec.num_classes, size=batch_size)
    return x, y


# Peak resident memory of a training step per 224-px image, all included: a vectorized float32
# step 250 MB (the whole default run peaked at 7.7 GB in resnet50-224@32), a pure-Python one 1 GB.
_STEP_BYTES_PER_IMAGE = {"vectorized": 250e6, "loops": 1.0e9}
# The float64 reference's step runs before the case's, not beside it: the peak is the larger of the
# two. Its cost per 224-px image, measured with /usr/bin/time at batch 1, 4 and 16 (the marginal
# resident memory per image): torch float64 168 MB over the whole batch, numpy float64 (the oracle)
# 290 MB over at most VERIFICATION.oracle_max_samples of them.
_REFERENCE_BYTES_PER_IMAGE = 175e6
_ORACLE_BYTES_PER_IMAGE = 300e6


def host_bytes(spec: ResNetSpec, batch_size: int, value_bytes: int, *, loops: bool, on_gpu: bool = False,
               resolution: int = 224) -> int:
    """A generous estimate of the host memory one training step needs, in bytes: the larger of the
    case's own step (none on the host for a GPU step) and the float64 reference's, scaled by pixels
    and ``value_bytes`` per value (8 float64, 4 float32), plus the weights' copies. Python ints."""
    pixels = (resolution / 224) ** 2
    own = 0 if on_gpu else _STEP_BYTES_PER_IMAGE["loops" if loops else "vectorized"] * pixels * batch_size * value_bytes / 4
    oracle_images = min(batch_size, VERIFICATION.oracle_max_samples or batch_size)
    reference = pixels * max(_REFERENCE_BYTES_PER_IMAGE * batch_size, _ORACLE_BYTES_PER_IMAGE * oracle_images)
    return int(max(own, reference) + 25_600_000 * (4 * value_bytes + 16))


def step_limits(spec: ResNetSpec, batch_size: int, resolution: int = 224) -> StepLimits:
    """ResNet-50 at 224 px beyond one image is a throughput measurement of the vectorized backends
    in float32: a pure-Python step takes 11-12 minutes an image, so a batch would take hours, and
    float64 activations of a batch of 32 (``host_bytes``) would not fit in a 2-core CI machine's
    memory beside NumPy's buffers. One image, or 32 px, is measured on every backend in every dtype."""
    if resolution >= 224 and batch_size > 1:
        return StepLimits(loop_baseline=False, dtypes=("float32",))
    return NO_LIMITS


def _out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def final_feature_size(height: int, width: int, spec: ResNetSpec = RESNET50) -> tuple[int, int]:
    """Spatial size (H, W) of the last stage's output for an H x W image."""
    sizes = []
    for size in (height, width):
        size = _out(_out(size, 7, 2, 3), 3, 2, 1)  # stem conv and max pool
        for _ in spec.blocks[1:]:
            size = _out(size, 3, 2, 1)
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


# ---------------------------------------------------------------------------------------------
# FLOPs and MACs, counted analytically: one per multiply and one per add.


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
    size = _out(resolution, 7, 2, 3)
    convs = [ConvShape("conv1", IMAGE_CHANNELS, spec.stem_width, 7, 2, size, size)]
    size = _out(size, 3, 2, 1)  # max pool
    for block in spec.block_plans():
        out = _out(size, 3, block.stride, 1)
        convs.append(ConvShape(f"{block.name}.conv1", block.in_channels, block.width, 1, 1, size, size))
        convs.append(ConvShape(f"{block.name}.conv2", block.width, block.width, 3, block.stride, out, out))
        convs.append(ConvShape(f"{block.name}.conv3", block.width, block.out_channels, 1, 1, out, out))
        if block.has_downsample:
            convs.append(ConvShape(f"{block.name}.downsample.0", block.in_channels, block.out_channels, 1,
                                   block.stride, out, out))
        size = out
    return convs


def _maxpool_output(spec: ResNetSpec, resolution: int) -> int:
    size = _out(_out(resolution, 7, 2, 3), 3, 2, 1)
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


# ---------------------------------------------------------------------------------------------
# One forward and backward pass, composed from a backend's layers.


def stage_names(spec: ResNetSpec) -> list[str]:
    """The stages of one step, in forward order: the stem (7x7 conv, batch norm, relu, max pool),
    ``layer1`` .. ``layerN`` (the bottleneck stages), the head (average pool, fc, loss)."""
    return ["stem", *(f"layer{i + 1}" for i in range(len(spec.blocks))), "head"]


def stage_parts(spec: ResNetSpec) -> list[str]:
    """The parts of one training step in the order they run: every stage's forward, every stage's
    backward (head first), then ``update`` (SGD over every parameter). ``hooks.stage_done`` names
    each part but the update as it finishes; the update is what remains of the step."""
    stages = stage_names(spec)
    return [*(f"{s} forward" for s in stages), *(f"{s} backward" for s in reversed(stages)), "update"]


def forward_backward(layers, spec: ResNetSpec, params, x, y):
    """One training-mode forward and backward pass composed from a backend's ``layers`` module.

    ``layers`` provides ``conv2d_*``, ``batchnorm_*``, ``relu_*``, ``maxpool2d_*``,
    ``global_avgpool_*``, ``linear_*``, ``add`` and ``softmax_cross_entropy``, on that backend's
    own arrays. x: (N, 3, H, W); y: (N,) labels. Returns ``(loss, grads)`` with grads keyed by
    :func:`trainable_names`. Stores every batch norm's updated running statistics in ``params``
    and adds 1 to its ``num_batches_tracked`` (a Python int in the trainers, so no array
    arithmetic happens here outside the layers). Reports every finished convolution-and-batch-norm
    pair (``hooks.layer_done``) and every finished stage (``hooks.stage_done``, see
    :func:`stage_parts`), forward and backward.
    """

    def conv_bn(h, conv: str, bn: str, stride: int, padding: int):
        h, conv_cache = layers.conv2d_forward(h, params[f"{conv}.weight"], stride, padding)
        h, bn_cache, params[f"{bn}.running_mean"], params[f"{bn}.running_var"] = layers.batchnorm_forward(
            h, params[f"{bn}.weight"], params[f"{bn}.bias"], params[f"{bn}.running_mean"],
            params[f"{bn}.running_var"], BN_MOMENTUM, BN_EPS)
        params[f"{bn}.num_batches_tracked"] += 1
        hooks.layer_done(f"{conv} forward")
        return h, (conv, bn, conv_cache, bn_cache)

    grads = {}

    def conv_bn_backward(dh, cache, need_dx: bool = True):
        conv, bn, conv_cache, bn_cache = cache
        dh, grads[f"{bn}.weight"], grads[f"{bn}.bias"] = layers.batchnorm_backward(dh, bn_cache)
        dh, grads[f"{conv}.weight"] = layers.conv2d_backward(dh, conv_cache, need_dx)
        hooks.layer_done(f"{conv} backward")
        return dh

    def stage_of(block) -> str:
        return block.name.partition(".")[0]

    h, stem_cache = conv_bn(x, "conv1", "bn1", 2, 3)
    h, stem_relu = layers.relu_forward(h)
    h, pool_cache = layers.maxpool2d_forward(h, 3, 2, 1)
    hooks.stage_done("stem forward")
    blocks = spec.block_plans()
    block_caches = []
    for i, block in enumerate(blocks):
        name = block.name
        out, c1 = conv_bn(h, f"{name}.conv1", f"{name}.bn1", 1, 0)
        out, r1 = layers.relu_forward(out)
        out, c2 = conv_bn(out, f"{name}.conv2", f"{name}.bn2", block.stride, 1)
        out, r2 = layers.relu_forward(out)
        out, c3 = conv_bn(out, f"{name}.conv3", f"{name}.bn3", 1, 0)
        shortcut, cd = h, None
        if block.has_downsample:
            shortcut, cd = conv_bn(h, f"{name}.downsample.0", f"{name}.downsample.1", block.stride, 0)
        h, r3 = layers.relu_forward(layers.add(out, shortcut))
        block_caches.append((c1, r1, c2, r2, c3, cd, r3))
        if i + 1 == len(blocks) or stage_of(blocks[i + 1]) != stage_of(block):
            hooks.stage_done(f"{stage_of(block)} forward")
    pooled, avg_cache = layers.global_avgpool_forward(h)
    logits, fc_cache = layers.linear_forward(pooled, params["fc.weight"], params["fc.bias"])
    loss, dlogits = layers.softmax_cross_entropy(logits, y)
    hooks.stage_done("head forward")

    dpooled, grads["fc.weight"], grads["fc.bias"] = layers.linear_backward(dlogits, fc_cache)
    dh = layers.global_avgpool_backward(dpooled, avg_cache)
    hooks.stage_done("head backward")
    for i in reversed(range(len(blocks))):
        c1, r1, c2, r2, c3, cd, r3 = block_caches[i]
        dsum = layers.relu_backward(dh, r3)
        dout = conv_bn_backward(dsum, c3)
        dout = conv_bn_backward(layers.relu_backward(dout, r2), c2)
        dout = conv_bn_backward(layers.relu_backward(dout, r1), c1)
        dshortcut = conv_bn_backward(dsum, cd) if cd is not None else dsum
        dh = layers.add(dout, dshortcut)
        if i == 0 or stage_of(blocks[i - 1]) != stage_of(blocks[i]):
            hooks.stage_done(f"{stage_of(blocks[i])} backward")
    dh = layers.maxpool2d_backward(dh, pool_cache)
    conv_bn_backward(layers.relu_backward(dh, stem_relu), stem_cache, need_dx=False)
    hooks.stage_done("stem backward")
    return loss, {name: grads[name] for name in trainable_names(spec)}


# -- how its step is verified (bench/verify.py) ------------------------------------------------------
# The last batch-norm scale of every residual branch at verification (and so timing) starts: 0.1,
# not torchvision's 1. At torchvision's initialization ResNet-50's training step is chaotic: the
# gradients explode through 16 un-damped residual branches, numpy and torch float64 (correct to
# 1e-16 per operation) differ by 2e-8 after two steps at resnet50-32, finite differences of the loss
# do not converge (errors 0.02-2 for steps of 1e-7 to 1e-4), and torch's own float32 misses its
# float64 by 3-4% on every gradient, so that no float32 bound could see a 1% fault. With the
# branches damped (as torchvision's zero_init_residual, Goyal et al. 2017, but not zero, so that
# every gradient is checked) the two float64 codes agree to 4e-10 after two steps and torch float32
# to 1e-5 (224 px) and 2.2e-4 (32 px). The damped figures: ``python -m bench verify --models
# resnet50-32 resnet50-224``; the undamped ones came from one-off scripts (docs/deviations.md).
# The step's cost does not depend on these values.
RESIDUAL_SCALE = 0.1


def _damped(params: dict) -> dict:
    return {name: value * RESIDUAL_SCALE if name.endswith(".bn3.weight") else value for name, value in params.items()}


# Bounds (implementations/architectures/verification.py says why the low precisions' are loose).
# Measured on an H100 (studies/gpu_verification_errors.py; every tensor of 4, 3, 2 and 1 seeds at
# resnet50-224 batch 1, 8, 32 and 256: results/gpu-errors/nvidia-h100-80gb-hbm3.csv.gz), relative to
# float64: tf32 largest 0.130 (batch 1; 0.110, 0.096, 0.090 at 8, 32, 256), median tensor 0.070;
# bfloat16 largest 0.473 (batch 1; 0.356, 0.373, 0.370 at 8, 32, 256), median tensor 0.24
# (torch-cuda-compile's, from bench run: up to 0.44 at batch 1). The bounds are about 2x the
# largest: tf32 0.25, bfloat16 0.75. By kind (largest over the study, bounds about 4x): tf32 loss
# 1.33e-5, running statistics 4.13e-4, fc gradients 4.38e-4; bfloat16 loss 1.49e-4, running
# statistics 6.08e-3, fc gradients 6.01e-3.
# Float32 and lower are verified over one step. The second step starts from weights that already
# differ from float64's by float32's rounding, and ResNet-50's step (lr 0.1) amplifies that: torch's
# own float32 momentum buffers after two steps miss float64's by up to 7% at resnet50-32, against
# 1.4e-4 on the first step's gradients (measured here). The update code is the same for every dtype
# (numpy's ``sgd_momentum_update``, torch.optim.SGD), and the float64 cases check it over two steps.
# Float32 bounds are floored per tensor (bench/verify.py, FLOOR_FACTOR: ill-conditioned gradients).
# What verification's confirming float64 implementation (numpy) can be run on: at most this many
# images of a batch. Its im2col buffers take about 290 MB per 224-px image (torch float64's whole
# step 168 MB; measured with /usr/bin/time at batch 1, 4 and 16), so at batch 256 it alone would
# need about 75 GB beside the reference's 45 GB. Beyond it the oracle is confirmed on the batch's
# first oracle_max_samples images (bench/verify.py, oracle_slice); the whole batch's statistics
# are checked apart, by finite differences. The memory estimate reads it too (host_bytes).
VERIFICATION = VerificationSpec(
    tolerances={"float64": 1e-8, "float32": 1e-3, "tf32": 0.25, "bfloat16": 0.75},
    kind_tolerances={"tf32": {"loss": 6e-5, "running statistic": 2e-3, "fc gradient": 2e-3},
                     "bfloat16": {"loss": 6e-4, "running statistic": 2.5e-2, "fc gradient": 2.5e-2}},
    one_step=frozenset({"float32", "tf32", "bfloat16"}),
    floored=frozenset({"float32"}),
    oracle_max_samples=32,
    tf32_convolutions=True,
    initial_params=_damped,
)
