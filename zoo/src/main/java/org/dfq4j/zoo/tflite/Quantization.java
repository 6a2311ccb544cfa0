package org.dfq4j.zoo.tflite;

import java.util.Optional;
import org.dfq4j.rewrite.graph.TensorRange;
import org.tensorflow.lite.schema.QuantizationParameters;
import org.tensorflow.lite.schema.Tensor;
import org.tensorflow.lite.schema.TensorType;

/**
 * The affine quantization a TFLite tensor records: real = (q - zeroPoint) * scale, with one
 * (scale, zero point) per tensor or one per index along {@code axis} (per-channel weights).
 */
record Quantization(float[] scales, long[] zeroPoints, int axis) {

    /**
     * The tensor's quantization, if it records at least one scale. The vector lengths are checked
     * against the size of the file before anything is allocated: a corrupt length fails here.
     *
     * @param fileSize bytes in the flatbuffer, which every vector must fit in
     * @throws IllegalArgumentException when a vector claims more elements than the file can hold
     */
    static Optional<Quantization> of(Tensor t, long fileSize) {
        QuantizationParameters q = t.quantization();
        if (q == null || q.scaleLength() == 0) {
            return Optional.empty();
        }
        if (q.scaleLength() < 0 || 4L * q.scaleLength() > fileSize || q.zeroPointLength() < 0
                || 8L * q.zeroPointLength() > fileSize) {
            throw new IllegalArgumentException("quantization of tensor '" + t.name() + "' claims " + q.scaleLength()
                    + " scales and " + q.zeroPointLength() + " zero points, more than the file holds");
        }
        float[] s = new float[q.scaleLength()];
        for (int i = 0; i < s.length; i++) {
            s[i] = q.scale(i);
        }
        long[] z = new long[q.zeroPointLength()];
        for (int i = 0; i < z.length; i++) {
            z[i] = q.zeroPoint(i);
        }
        return Optional.of(new Quantization(s, z, q.quantizedDimension()));
    }

    /**
     * What is wrong with these parameters for a tensor of the given shape, or null: every scale finite
     * and above 0 (a zero scale divides by zero when the tensor is quantized again), one zero point
     * or one per scale, and per-channel scales along an existing axis of matching size.
     */
    String problem(long[] shape) {
        for (int c = 0; c < scales.length; c++) {
            if (!(scales[c] > 0) || !Float.isFinite(scales[c])) {
                return "has quantization scale " + scales[c] + (scales.length > 1 ? " for channel " + c : "")
                        + "; scales must be finite and above 0";
            }
        }
        if (zeroPoints.length > 1 && zeroPoints.length != scales.length) {
            return "has " + zeroPoints.length + " zero points for " + scales.length + " scales";
        }
        if (!perTensor() && (axis < 0 || axis >= shape.length || shape[axis] != scales.length)) {
            return "has " + scales.length + " scales for quantized dimension " + axis + " of its shape";
        }
        return null;
    }

    boolean perTensor() {
        return scales.length == 1;
    }

    double scale(int channel) {
        return scales[perTensor() ? 0 : channel];
    }

    long zeroPoint(int channel) {
        if (zeroPoints.length == 0) {
            return 0;
        }
        return zeroPoints[zeroPoints.length == 1 ? 0 : channel];
    }

    /**
     * The real range [(qmin - z) * s, (qmax - z) * s] a per-tensor quantized activation can hold:
     * what the converter calibrated. Empty for per-channel or non-integer tensors.
     */
    Optional<TensorRange> range(byte type) {
        if (!perTensor()) {
            return Optional.empty();
        }
        long[] limits = integerLimits(type);
        if (limits == null) {
            return Optional.empty();
        }
        double s = scales[0];
        long z = zeroPoint(0);
        return Optional.of(new TensorRange((limits[0] - z) * s, (limits[1] - z) * s));
    }

    /** {qmin, qmax} of an 8- or 16-bit integer tensor type, null for any other type. */
    static long[] integerLimits(byte type) {
        return switch (type) {
            case TensorType.INT8 -> new long[] {-128, 127};
            case TensorType.UINT8 -> new long[] {0, 255};
            case TensorType.INT16 -> new long[] {-32768, 32767};
            default -> null;
        };
    }
}
