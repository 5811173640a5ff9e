"""The ``torch-ddp`` backend: torch-cpu's training step across processes, the batch split between
them and the gradients averaged by ``DistributedDataParallel``'s all-reduce (gloo on the CPU).

Three parts, one job each: ``trainer`` is what runs inside one rank (the torch trainer with its
module wrapped in DDP, holding its shard of the batch); ``worker`` is the rank's program, which
torchrun starts and which serves the harness's commands (verification steps, timed blocks, the
communication breakdown); ``group`` is the harness's side: it starts the ranks through torchrun's
launcher, sends them commands, and ends them (also when one dies or hangs).
"""

# What a worker needs to know, beside the case's weights and batch (``group.Job``).
BACKEND = "torch-ddp"
