"""ResNet-50 (v1.5), described once: one module per job, re-exported here as the model's description
(``implementations.models.architecture("resnet50")``).

- ``spec``: the architecture (stages, blocks, widths, classes) and how a layer sizes its output.
- ``parameters``: torchvision's ``state_dict`` names and shapes, the spec they imply, initialization,
  which tensors train, decay or count, and the SGD recipe.
- ``batch``: a random input batch, and what a step accepts.
- ``flops``: FLOPs and MACs of a step, counted analytically.
- ``memory``: the host memory a step needs, and the sizes whose cost limits what is measured.
- ``step``: one forward and backward pass composed from a backend's layers, and its stages.
- ``verification``: how its step is verified against float64.
"""

from .batch import final_feature_size, make_batch, validate_batch
from .flops import ConvShape, conv_shapes, forward_macs, step_flops, step_flops_split, step_macs
from .memory import host_bytes, step_limits
from .parameters import (counter_names, default_sgd, init_params, param_count, param_shapes, spec_from_params,
                         trainable_names, weight_decay_names)
from .spec import IMAGE_CHANNELS, RESNET50, TOTAL_STRIDE, BlockPlan, ResNetSpec, conv_output_size
from .step import BN_EPS, BN_MOMENTUM, forward_backward, stage_names, stage_parts
from .verification import RESIDUAL_SCALE, VERIFICATION

__all__ = [
    "BN_EPS", "BN_MOMENTUM", "IMAGE_CHANNELS", "RESIDUAL_SCALE", "RESNET50", "TOTAL_STRIDE", "VERIFICATION",
    "BlockPlan", "ConvShape", "ResNetSpec",
    "conv_output_size", "conv_shapes", "counter_names", "default_sgd", "final_feature_size", "forward_backward",
    "forward_macs", "host_bytes", "init_params", "make_batch", "param_count", "param_shapes", "spec_from_params",
    "stage_names", "stage_parts", "step_flops", "step_flops_split", "step_limits", "step_macs", "trainable_names",
    "validate_batch", "weight_decay_names",
]
