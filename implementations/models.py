"""Which models exist, and where each is described. Add a model here and in every backend."""

from __future__ import annotations

from importlib import import_module

# model name -> the module that describes it (spec, parameters, composition, FLOPs)
ARCHITECTURES = {
    "mlp": "implementations.architectures.mlp",
    "resnet50": "implementations.architectures.resnet",
}
# model name -> the module that builds its torch nn.Module from the spec
TORCH_MODULES = {
    "mlp": "implementations.torch_autograd.mlp",
    "resnet50": "implementations.torch_autograd.resnet",
}

MODELS = tuple(ARCHITECTURES)


def architecture(model: str):
    """The description module of ``model``; ValueError naming the accepted models otherwise."""
    if model not in ARCHITECTURES:
        raise ValueError(f"unknown model {model!r}; accepted: {', '.join(MODELS)}")
    return import_module(ARCHITECTURES[model])


def torch_module_builder(model: str):
    return import_module(TORCH_MODULES[model]).build_module
