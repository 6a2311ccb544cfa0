package org.dfq4j.rewrite.quant;

/**
 * One uniform affine quantizer (METHOD.md section 0): x_int = clamp(round(x / s) + z, qMin, qMax),
 * x_hat = s * (x_int - z).
 *
 * <p>Rounding is half up, round(v) = floor(v + 0.5), for x / s and for the zero point, as in the
 * {@code fake_quant_with_min_max_vars} op that {@link InsertFakeQuant} puts into graphs, so weight
 * and activation quantization round alike. A scale of 0 (a tensor or channel that is all zeros)
 * quantizes nothing: {@link #fakeQuantize(double)} returns its argument, never NaN.
 *
 * @param scale     s, the step between levels; 0 for an all-zero range
 * @param zeroPoint z, the integer level that represents 0.0 exactly
 * @param qMin      smallest integer level
 * @param qMax      largest integer level
 */
public record QuantParams(double scale, long zeroPoint, long qMin, long qMax) {

    public QuantParams {
        if (!(scale >= 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("quantizer scale must be finite and >= 0, got " + scale);
        }
        if (qMin >= qMax || zeroPoint < qMin || zeroPoint > qMax) {
            throw new IllegalArgumentException("invalid integer range [" + qMin + ", " + qMax + "] with zero point "
                    + zeroPoint);
        }
    }

    /**
     * The quantizer a scheme gives a value range. Asymmetric: the range is first extended to include
     * 0, s = (max - min) / (2^b - 1), z = round(-min / s). Symmetric: z = 0, s = max|x| / (2^(b-1) - 1).
     */
    public static QuantParams of(QuantScheme scheme, double min, double max) {
        if (!(min <= max) || Double.isInfinite(min) || Double.isInfinite(max)) {
            throw new IllegalArgumentException("invalid range [" + min + ", " + max + "]");
        }
        long qMin = scheme.qMin();
        long qMax = scheme.qMax();
        if (scheme.symmetric()) {
            double m = Math.max(Math.abs(min), Math.abs(max));
            return new QuantParams(m / qMax, 0, qMin, qMax);
        }
        double lo = Math.min(min, 0.0);
        double hi = Math.max(max, 0.0);
        double s = (hi - lo) / (qMax - qMin);
        if (s == 0) {
            return new QuantParams(0, qMin, qMin, qMax);
        }
        long z = (long) Math.floor(-lo / s + 0.5);
        return new QuantParams(s, Math.max(qMin, Math.min(qMax, z)), qMin, qMax);
    }

    /** The integer level of x (the zero point when the scale is 0). */
    public long quantize(double x) {
        if (scale == 0) {
            return zeroPoint;
        }
        double q = Math.floor(x / scale + 0.5) + zeroPoint;
        return (long) Math.max(qMin, Math.min(qMax, q));
    }

    public double dequantize(long q) {
        return scale * (q - zeroPoint);
    }

    /** x quantized and dequantized; x itself when the scale is 0. */
    public double fakeQuantize(double x) {
        return scale == 0 ? x : dequantize(quantize(x));
    }

    /** Smallest representable value. */
    public double min() {
        return dequantize(qMin);
    }

    /** Largest representable value. */
    public double max() {
        return dequantize(qMax);
    }
}
