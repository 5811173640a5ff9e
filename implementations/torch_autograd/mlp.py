"""The MLP as an ``nn.Module`` whose ``state_dict`` names are ``fc1.weight``, ``fc1.bias``, ..."""

from __future__ import annotations

import torch
from torch import nn

from ..architectures.mlp import MLPSpec


class TorchMLP(nn.Module):
    def __init__(self, spec: MLPSpec):
        super().__init__()
        self.layer_names = spec.layer_names
        for name, fan_in, fan_out in zip(spec.layer_names, spec.sizes[:-1], spec.sizes[1:]):
            setattr(self, name, nn.Linear(fan_in, fan_out))
        self.activation = torch.relu if spec.activation == "relu" else torch.sigmoid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, in) -> logits (N, classes)."""
        last = len(self.layer_names) - 1
        for index, name in enumerate(self.layer_names):
            x = getattr(self, name)(x)
            if index < last:
                x = self.activation(x)
        return x


def build_module(spec: MLPSpec) -> nn.Module:
    return TorchMLP(spec)
