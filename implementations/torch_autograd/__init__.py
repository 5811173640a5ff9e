"""The ``torch-cpu`` and ``torch-cuda`` backends: one PyTorch implementation, parametrized by device.

Autograd computes the gradients and ``torch.optim.SGD`` applies the update.
"""
