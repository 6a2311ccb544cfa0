"""Exports reduced-width torchvision classifiers to ONNX with PyTorch's own outputs (see README.md).

Run from this directory with Debian 12's packages:
    apt-get install -y python3-torch python3-torchvision python3-onnx
    /usr/bin/python3 make_torchvision_fixtures.py

Each architecture is built from torchvision's own classes and blocks with fewer channels (and, for
the deepest, fewer blocks), random weights and BatchNorm statistics accumulated over random batches,
so activations have realistic ranges and the output depends on the input. Every model is exported at
opsets 11, 13 and 17, once with BatchNorm folded by the exporter (training=EVAL, the default) and once
with BatchNorm kept (training=PRESERVE on a model in eval mode):
    <arch>_op<opset>_bnfolded.onnx, <arch>_op<opset>_bnkept.onnx
PyTorch's logits for the fixed input below go to <arch>.logits.npy; manifest.csv lists every
architecture with its input size and whether the file declares height and width symbolic (then the
reader needs the input shape). One extra model, export_shapes, is not from torchvision: it holds
other shapes common in exports (see its class). The input is not stored: element i (C order) of the [2, 3, H, W]
batch is ((i * 7919 + 13) mod 1021 - 510) / 256, exactly representable in float32, which the Java
test computes the same way.
"""
import csv
import os

import numpy as np
import torch
import torch.nn as nn
from torchvision.models import densenet, efficientnet, mnasnet, mobilenetv2, mobilenetv3, regnet
from torchvision.models import resnet, shufflenetv2, squeezenet, vgg
from torchvision.models.alexnet import AlexNet
from torchvision.ops.misc import Conv2dNormActivation
from torchvision.models.googlenet import BasicConv2d, GoogLeNet, Inception, InceptionAux

CLASSES = 10
OPSETS = (11, 13, 17)
SEED = 20261201


def fixed_input(h, w):
    i = np.arange(2 * 3 * h * w, dtype=np.int64)
    return torch.from_numpy((((i * 7919 + 13) % 1021 - 510) / 256.0).astype(np.float32).reshape(2, 3, h, w))


# ---- reduced-width versions of the torchvision architectures ----

class NarrowResNet(resnet.ResNet):
    """torchvision's ResNet with every width divided by `divisor`."""

    def __init__(self, block, layers, divisor):
        self.divisor = divisor
        super().__init__(block, layers, num_classes=CLASSES)
        stem = 64 // divisor
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.fc = nn.Linear(512 // divisor * block.expansion, CLASSES)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        if planes == 64:
            self.inplanes = 64 // self.divisor
        return super()._make_layer(block, planes // self.divisor, blocks, stride, dilate)


def narrow_squeezenet():
    m = squeezenet.SqueezeNet("1_1", num_classes=CLASSES)
    fire = squeezenet.Fire
    m.features = nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=3, stride=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        fire(8, 2, 4, 4), fire(8, 2, 4, 4),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        fire(8, 4, 8, 8), fire(16, 4, 8, 8),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        fire(16, 6, 12, 12), fire(24, 6, 12, 12), fire(24, 8, 16, 16), fire(32, 8, 16, 16))
    final = nn.Conv2d(32, CLASSES, kernel_size=1)
    m.classifier = nn.Sequential(nn.Dropout(p=0.5), final, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))
    return m


def narrow_mnasnet():
    m = mnasnet.MNASNet(0.125, num_classes=CLASSES)
    d = mnasnet._get_depths(0.125)
    # the six stacks with their kernel, stride and expansion, one or two blocks each instead of 1-4
    for i, (k, stride, exp, repeats) in enumerate([(3, 2, 3, 2), (5, 2, 3, 1), (5, 2, 6, 1), (3, 1, 6, 2),
                                                   (5, 2, 6, 1), (3, 1, 6, 1)]):
        m.layers[8 + i] = mnasnet._stack(d[1 + i], d[2 + i], k, stride, exp, repeats, mnasnet._BN_MOMENTUM)
    m.layers[14] = nn.Conv2d(d[7], 32, 1, bias=False)
    m.layers[15] = nn.BatchNorm2d(32)
    m.classifier[1] = nn.Linear(32, CLASSES)
    return m


def narrow_vgg():
    m = vgg.VGG(vgg.make_layers([4, "M", 8, "M", 16, 16, "M", 16, 16, "M", 16, 16, "M"], batch_norm=True),
                num_classes=CLASSES)
    m.classifier = nn.Sequential(nn.Linear(16 * 7 * 7, 8), nn.ReLU(True), nn.Dropout(), nn.Linear(8, 8),
                                 nn.ReLU(True), nn.Dropout(), nn.Linear(8, CLASSES))
    return m


def narrow_alexnet():
    m = AlexNet(num_classes=CLASSES)
    m.features = nn.Sequential(
        nn.Conv2d(3, 4, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(4, 12, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(12, 16, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(16, 12, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(12, 12, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2))
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(12 * 6 * 6, 16), nn.ReLU(inplace=True), nn.Dropout(),
                                 nn.Linear(16, 16), nn.ReLU(inplace=True), nn.Linear(16, CLASSES))
    return m


def narrow_mobilenet_v2():
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 2, 2], [6, 96, 1, 1]]
    m = mobilenetv2.MobileNetV2(num_classes=CLASSES, width_mult=0.125, inverted_residual_setting=setting)
    m.features[-1] = Conv2dNormActivation(m.features[-1][0].in_channels, 32, kernel_size=1,
                                          norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU6)
    m.classifier[1] = nn.Linear(32, CLASSES)
    return m


def narrow_efficientnet():
    setting, _ = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.125, depth_mult=0.5)
    setting = setting[:5]  # the stages up to 112 channels: kernels 3 and 5, strides 1 and 2
    return efficientnet.EfficientNet(setting, dropout=0.2, num_classes=CLASSES, last_channel=32)


def narrow_mobilenet_v3(arch):
    setting, _ = mobilenetv3._mobilenet_v3_conf(arch, width_mult=0.25)
    # the first blocks, which hold every kind (ReLU and h-swish, with and without squeeze-excitation,
    # strides 1 and 2)
    setting = setting[:6] if arch.endswith("small") else setting[:8]
    return mobilenetv3.MobileNetV3(setting, last_channel=32, num_classes=CLASSES)


def narrow_regnet():
    params = regnet.BlockParams.from_init_params(depth=6, w_0=8, w_a=8.0, w_m=2.0, group_width=4)
    return regnet.RegNet(params, num_classes=CLASSES, stem_width=8)


class NarrowConv(BasicConv2d):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__(narrow(in_channels), narrow(out_channels), **kwargs)


class NarrowInception(Inception):
    def __init__(self, *channels, conv_block=None):
        super().__init__(*(narrow(c) for c in channels), conv_block=BasicConv2d)


def narrow(c):
    return c if c == 3 else max(1, c // 16)


def narrow_googlenet():
    # transform_input=True as torchvision sets it for its pretrained weights: Slice/Mul/Add/Concat on the input
    m = GoogLeNet(num_classes=CLASSES, aux_logits=False, transform_input=True, init_weights=True,
                  blocks=[NarrowConv, NarrowInception, InceptionAux])
    m.fc = nn.Linear(narrow(1024), CLASSES)
    return m


class ExportShapes(nn.Module):
    """Not torchvision: the other shapes common in exported classifiers. Exported with symbolic height
    and width (read with an explicit input shape): torch.split (Split), a grouped convolution,
    global pooling written x.flatten(2).mean(2) (ReduceMean of a rank-3 tensor), unsqueeze and
    squeeze of activations, and a MatMul + Add head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.expand = nn.Conv2d(8, 12, 1)
        self.weight = nn.Parameter(torch.randn(12, CLASSES) / 12 ** 0.5)
        self.bias = nn.Parameter(torch.randn(CLASSES) * 0.1)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        a, b = torch.split(x, [3, 5], dim=1)
        x = torch.relu(self.grouped(torch.cat([b, a], 1)))
        x = x.flatten(2).mean(2)
        x = self.expand(x.unsqueeze(-1).unsqueeze(-1))
        x = torch.relu(x.squeeze(3).squeeze(2))
        return torch.matmul(x, self.weight) + self.bias


# name -> (constructor, input height = width)
ARCHITECTURES = {
    "resnet18": (lambda: NarrowResNet(resnet.BasicBlock, [2, 2, 2, 2], 32), 64),
    "resnet50": (lambda: NarrowResNet(resnet.Bottleneck, [2, 2, 2, 2], 32), 64),
    "mobilenet_v2": (narrow_mobilenet_v2, 64),
    "efficientnet_b0": (narrow_efficientnet, 64),
    "squeezenet1_1": (narrow_squeezenet, 66),
    "mnasnet1_0": (narrow_mnasnet, 64),
    "densenet121": (lambda: densenet.DenseNet(growth_rate=4, block_config=(2, 3, 4, 3), num_init_features=8,
                                              bn_size=2, num_classes=CLASSES), 64),
    "vgg11_bn": (narrow_vgg, 224),
    "alexnet": (narrow_alexnet, 224),
    "mobilenet_v3_small": (lambda: narrow_mobilenet_v3("mobilenet_v3_small"), 64),
    "mobilenet_v3_large": (lambda: narrow_mobilenet_v3("mobilenet_v3_large"), 64),
    "regnet_x_400mf": (narrow_regnet, 64),
    "googlenet": (narrow_googlenet, 64),
    "shufflenet_v2_x1_0": (lambda: shufflenetv2.ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 64], num_classes=CLASSES), 64),
    "export_shapes": (ExportShapes, 48),
}
SYMBOLIC_HW = {"export_shapes"}


def calibrate(model, size):
    """BatchNorm statistics of random batches, then gamma and beta spread out: realistic ranges.
    Linear layers (and SqueezeNet's classifier conv) get PyTorch's default initialisation instead
    of the tiny one some architectures use, so that the logits are of order one."""
    for m in model.modules():
        if isinstance(m, nn.Linear) or isinstance(m, nn.Conv2d) and m.out_channels == CLASSES:
            m.reset_parameters()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
            m.reset_running_stats()
    model.train()
    with torch.no_grad():
        for _ in range(10):
            model(torch.randn(8, 3, size, size))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    model.eval()


def export(model, x, path, opset, keep_bn, symbolic_hw):
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    axes = {0: "N", 2: "H", 3: "W"} if symbolic_hw else {0: "N"}
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": axes, "logits": {0: "N"}}, do_constant_folding=True, training=mode)


def main():
    rows = []
    for name, (make, size) in ARCHITECTURES.items():
        torch.manual_seed(SEED)
        model = make()
        calibrate(model, size)
        x = fixed_input(size, size)
        with torch.no_grad():
            y = model(x)
        np.save(name + ".logits.npy", y.numpy().astype(np.float32))
        for opset in OPSETS:
            for keep in (False, True):
                export(model, x, "%s_op%d_%s.onnx" % (name, opset, "bnkept" if keep else "bnfolded"), opset, keep,
                       name in SYMBOLIC_HW)
        params = sum(p.numel() for p in model.parameters())
        rows.append((name, size, size, int(name in SYMBOLIC_HW), params))
        print("%-20s %3dx%-3d %7d parameters, logits std %.3f" % (name, size, size, params, float(y.std())))
    with open("manifest.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["arch", "height", "width", "symbolic_hw", "parameters"])
        w.writerows(rows)


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
