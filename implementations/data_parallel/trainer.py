"""One rank's trainer: torch's ``TorchTrainer`` with its module in ``DistributedDataParallel``
(torch-ddp on the CPU over gloo; torch-ddp-cuda on one GPU per process over NCCL).

Every rank holds ``batch / world_size`` samples (rank r the r-th contiguous shard) and the whole
model. DDP's defaults, as its users run it: gradients all-reduced in 25 MB buckets while the
backward still runs (and averaged: the world's mean of each rank's mean-loss gradient, which is the
whole batch's gradient when no layer mixes samples), buffers (batch norm's running statistics)
broadcast from rank 0 at the start of every forward, batch norm local to each rank. SyncBatchNorm,
which would make a step equal the whole batch's, refuses CPU tensors (torch 2.9: "SyncBatchNorm
expected input tensor to be on GPU"), so verification compares with a float64 step per shard
(``bench.reference.sharded_reference``).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from ..trainer import CaseUnsupported
from ..torch_autograd.trainer import TorchTrainer
from ..torch_autograd.variant import PLAIN


def shard(n: int, rank: int, world_size: int) -> slice:
    """Rank ``rank``'s samples of a batch of ``n``; CaseUnsupported unless ``world_size`` divides
    ``n`` (ranks of unequal shards would weigh their samples unequally in DDP's mean)."""
    if n % world_size:
        raise CaseUnsupported(f"a batch of {n} does not split evenly over {world_size} processes")
    size = n // world_size
    return slice(rank * size, (rank + 1) * size)


class DataParallelTrainer(TorchTrainer):
    """The torch trainer of one rank of an initialized process group (``torch.distributed``), on
    ``device`` (``cpu``, or this rank's GPU ``cuda:<local rank>``)."""

    def __init__(self, module, backend, params, dtype, sgd, decay_names, device: str = "cpu"):
        if not dist.is_initialized():
            raise RuntimeError(f"{backend}: a trainer is built inside a rank of a process group; "
                               "`bench run` starts the ranks (implementations.data_parallel.group)")
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        super().__init__(module, backend, params, dtype, device, sgd, decay_names, PLAIN)

    def _make_forward_loss(self):
        # one device per process: DDP's device_ids for a GPU, none on the CPU
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.ddp = ddp = DistributedDataParallel(self.module, device_ids=ids)

        def forward_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(ddp(x), y)

        return forward_loss

    def prepare_batch(self, x, y):
        part = shard(len(x), self.rank, self.world_size)
        return super().prepare_batch(x[part], y[part])

    def last_loss_and_grads(self):
        """The world's mean loss (a collective: every rank calls it) and this rank's gradients,
        which DDP has already averaged over the world."""
        loss, grads = super().last_loss_and_grads()
        total = torch.tensor([loss], dtype=torch.float64)
        dist.all_reduce(total)
        return float(total[0]) / self.world_size, grads

    def communicated_bytes(self) -> int:
        """Bytes one rank all-reduces per step: every trainable parameter's gradient (buffers are
        broadcast from rank 0 beside them: counted too)."""
        grads = sum(p.numel() * p.element_size() for p in self.module.parameters() if p.requires_grad)
        return grads + sum(b.numel() * b.element_size() for b in self.module.buffers())

    def local_step(self, batch):
        """One step with DDP's all-reduce left out (``no_sync``): what the step costs without
        communication. Each rank then applies its own gradient, so weights drift apart: only for the
        breakdown, after every timed and verified step."""
        self.optimizer.zero_grad(set_to_none=True)
        with self.ddp.no_sync():
            loss = self._forward_loss(*batch)
            loss.backward()
        self.optimizer.step()
        return loss.detach()
