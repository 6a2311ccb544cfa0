"""Quantizes tiny_cnn.onnx with ONNX Runtime's own static quantizer into two QDQ fixtures (see README.md).

Run from this directory with ONNX Runtime's Python package:
    python3 -m venv venv && venv/bin/pip install onnxruntime==1.30.0 onnx==1.23.1 numpy sympy
    venv/bin/python generate_ort_qdq.py
"""
import os
import tempfile

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process


class RandomBatches(CalibrationDataReader):
    """Eight seeded random batches [4, 3, 32, 32], the distribution tiny_cnn's BatchNorm statistics came from."""

    def __init__(self):
        rng = np.random.default_rng(7)
        self.batches = [{'input': rng.standard_normal((4, 3, 32, 32)).astype(np.float32)} for _ in range(8)]

    def get_next(self):
        return self.batches.pop(0) if self.batches else None


def main():
    with tempfile.TemporaryDirectory() as tmp:
        prepared = os.path.join(tmp, 'prepared.onnx')
        # ONNX Runtime's recommended preprocessing (graph optimization, shape inference) before quantizing
        quant_pre_process('tiny_cnn.onnx', prepared, skip_symbolic_shape=True)
        # the quantizer's defaults: uint8 activations, int8 symmetric weights per tensor
        quantize_static(prepared, 'tiny_cnn_qdq_u8.onnx', RandomBatches(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=False)
        # int8 activations, int8 weights per output channel (axis set on every weight DequantizeLinear)
        quantize_static(prepared, 'tiny_cnn_qdq_s8_per_channel.onnx', RandomBatches(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)


if __name__ == '__main__':
    main()
