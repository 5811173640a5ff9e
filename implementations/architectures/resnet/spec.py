"""ResNet-50 (v1.5)'s architecture: its stages, blocks and widths, and how a layer sizes its output.

The network is torchvision's ``resnet50()``: a 7x7/2 stem convolution, batch norm, relu and a
3x3/2 max pool; four stages of bottleneck blocks ``[3, 4, 6, 3]`` (1x1 reduce, 3x3, 1x1 expand by
4); global average pooling and a fully connected classifier. "v1.5" puts a stage's stride on the
3x3 convolution rather than the first 1x1 (He et al. 2015 put it on the 1x1; torchvision and
NVIDIA moved it, which costs more FLOPs and gains accuracy). The first block of every stage
projects its shortcut with a strided 1x1 convolution and batch norm (``downsample``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Every stage after the first halves the feature map, and the stem halves it twice: 32 in all.
TOTAL_STRIDE = 32
IMAGE_CHANNELS = 3


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


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output height (or width) of a convolution or pool, in pixels, for an input ``size`` pixels high."""
    return (size + 2 * padding - kernel) // stride + 1
