"""ResNet-50 as torchvision builds it, so the torch backends train the reference model itself."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet50
from torchvision.models.resnet import Bottleneck, ResNet

from ..architectures.resnet import RESNET50, ResNetSpec


def build_module(spec: ResNetSpec) -> nn.Module:
    """``torchvision.models.resnet50`` for the standard blocks, ``ResNet(Bottleneck, blocks)`` for fewer.

    torchvision fixes the stage widths (64, 128, 256, 512) and the expansion 4; a spec that
    changes them has no torchvision counterpart.
    """
    if spec.widths != RESNET50.widths or spec.expansion != Bottleneck.expansion:
        raise ValueError(f"torchvision's ResNet has widths {RESNET50.widths} and expansion {Bottleneck.expansion}; "
                         f"got widths {spec.widths} and expansion {spec.expansion}")
    if spec.blocks == RESNET50.blocks:
        return resnet50(weights=None, num_classes=spec.num_classes)
    if len(spec.blocks) != 4:
        raise ValueError(f"torchvision's ResNet has 4 stages, got blocks {spec.blocks}")
    return ResNet(Bottleneck, list(spec.blocks), num_classes=spec.num_classes)
