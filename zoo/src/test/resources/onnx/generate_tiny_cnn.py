"""Exports tiny_cnn.onnx and its PyTorch reference input/output (see README.md).

Run from this directory with Debian's PyTorch and ONNX:
    apt-get install -y python3-torch python3-onnx
    /usr/bin/python3 generate_tiny_cnn.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class TinyCnn(nn.Module):
    """Covers the ops the ONNX reader converts: conv (strided, depthwise, depthwise x2, dilated), BN,
    ReLU6 (Clip), ReLU, LeakyReLU, residual Add, zero Pad, max/avg pooling with padding, nearest and
    bilinear upsampling, Concat, squeeze-excite (ReduceMean, Sigmoid, Mul), global pooling, view(N, -1), Linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.dw_bn = nn.BatchNorm2d(16)
        self.pw = nn.Conv2d(16, 16, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(16)
        self.dwm = nn.Conv2d(16, 32, 3, stride=2, padding=1, groups=16)
        self.dwm_bn = nn.BatchNorm2d(32)
        self.asym = nn.Conv2d(32, 24, 3)
        self.dil = nn.Conv2d(24, 24, 3, padding=2, dilation=2)
        self.se_reduce = nn.Conv2d(56, 8, 1)
        self.se_expand = nn.Conv2d(8, 56, 1)
        self.fc = nn.Linear(56, 10)

    def forward(self, x):
        x = F.relu6(self.stem_bn(self.stem(x)))                      # 16 x 16 x 16
        y = F.relu6(self.dw_bn(self.dw(x)))
        x = x + self.pw_bn(self.pw(y))                               # residual Add
        x = self.dwm_bn(self.dwm(x))                                 # 32 x 8 x 8, depthwise multiplier 2
        m = F.max_pool2d(x, 3, stride=2, padding=1)                  # on negative values: padding must not win
        x = F.leaky_relu(x, 0.1)
        x = F.pad(x, (0, 1, 0, 1))                                   # asymmetric zero pad -> 9 x 9
        x = F.relu(self.asym(x))                                     # 24 x 7 x 7
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        x = F.interpolate(x, size=(8, 8), mode='bilinear', align_corners=False)
        x = torch.clamp(self.dil(x), -1.0, 2.0)                      # Clip other than ReLU6
        m = F.interpolate(m, scale_factor=2, mode='nearest')         # 32 x 8 x 8
        x = torch.cat([x, m], 1)                                     # 56 x 8 x 8
        s = torch.sigmoid(self.se_expand(F.relu(self.se_reduce(x.mean((2, 3), keepdim=True)))))
        x = x * s
        x = F.adaptive_avg_pool2d(x, 1)
        x = x.view(x.size(0), -1)
        return self.fc(x)


def main():
    torch.manual_seed(20240517)
    model = TinyCnn()
    # realistic BatchNorm statistics: accumulate them over random batches, then perturb gamma/beta
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(20):
            model(torch.randn(8, 3, 32, 32))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, 'tiny_cnn.onnx', opset_version=13, input_names=['input'],
                      output_names=['logits'], dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}},
                      do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
    np.save('tiny_cnn_input.npy', x.numpy().astype(np.float32))
    np.save('tiny_cnn_output.npy', y.numpy().astype(np.float32))


if __name__ == '__main__':
    main()
