package org.dfq4j.rewrite.graph;

/** A per-tensor value range, e.g. the calibrated range a quantized model file records for an activation. */
public record TensorRange(double min, double max) {
    public TensorRange {
        if (!(min <= max) || Double.isNaN(min) || Double.isNaN(max)) {
            throw new IllegalArgumentException("invalid range [" + min + ", " + max + "]");
        }
    }

    public double width() {
        return max - min;
    }

    public TensorRange union(TensorRange o) {
        return new TensorRange(Math.min(min, o.min), Math.max(max, o.max));
    }

    @Override
    public String toString() {
        return String.format("[%.4g, %.4g]", min, max);
    }
}
