"""One ResNet training-mode forward and backward pass, composed from a backend's layers, and the
stages it reports.

A training step runs batch norm in training mode: batch statistics normalize, and the running
statistics move by momentum 0.1 towards the batch mean and the unbiased batch variance.
"""

from __future__ import annotations

from ... import hooks
from .parameters import trainable_names
from .spec import ResNetSpec

BN_MOMENTUM = 0.1
BN_EPS = 1e-5


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
