package org.dfq4j.rewrite.quant;

import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.view.GraphView;

/**
 * The quantizer a {@code fake_quant_with_min_max_vars} op applies, derived from its (min, max) the
 * way ND4J's kernel derives it, in float32: scale = (max - min) / (qMax - qMin), the zero point
 * qMin - min / scale rounded half up into [qMin, qMax], and the op computes
 * scale * (round(clamp(x, nudgedMin, nudgedMax) / scale) + zero) - scale * zero with
 * nudgedMin = (qMin - zero) * scale, nudgedMax = (qMax - zero) * scale. So the op is exactly the
 * affine quantizer (scale, zeroPoint) on the integer levels [qMin, qMax], the form integer runtimes
 * and ONNX's QuantizeLinear/DequantizeLinear use (which round ties to even where the op rounds them up).
 *
 * @param scale     the step between levels (float32); 0 when max == min
 * @param zeroPoint the level that represents 0.0
 * @param qMin      smallest level: 0, or 1 for a narrow range
 * @param qMax      largest level: 2^bits - 1
 */
public record ActivationQuantizer(float scale, int zeroPoint, int qMin, int qMax) {

    /** The quantizer of a fake-quant op in a graph (its min and max inputs are constants). */
    public static ActivationQuantizer of(GraphView g, String fakeQuantOp) {
        var in = g.inputs(fakeQuantOp);
        OpAttributes.FakeQuantConfig c = g.attributes(fakeQuantOp).fakeQuant().orElseThrow();
        return of(g.constant(in.get(1)).getDouble(0), g.constant(in.get(2)).getDouble(0), c.bits(), c.narrow());
    }

    /** The quantizer ND4J's fake-quant kernel derives from (min, max) at the given bit width. */
    public static ActivationQuantizer of(double min, double max, int bits, boolean narrow) {
        int qMin = narrow ? 1 : 0;
        int qMax = (1 << bits) - 1;
        float scale = ((float) max - (float) min) / (float) (qMax - qMin);
        if (!(scale > 0)) {
            return new ActivationQuantizer(0, qMin, qMin, qMax);
        }
        float zeroFromMin = qMin - (float) min / scale;
        int zero = zeroFromMin < qMin ? qMin : zeroFromMin > qMax ? qMax : Math.round(zeroFromMin);
        return new ActivationQuantizer(scale, zero, qMin, qMax);
    }

    /** Smallest level relative to the zero point: qMin - zeroPoint (the lowest value is that times scale). */
    public int lowLevel() {
        return qMin - zeroPoint;
    }

    /** Largest level relative to the zero point: qMax - zeroPoint. */
    public int highLevel() {
        return qMax - zeroPoint;
    }

    /** Number of bits of the level range [0, 2^bits - 1] this quantizer lives in. */
    public int bits() {
        return 32 - Integer.numberOfLeadingZeros(qMax);
    }

    /**
     * x through the op, in ND4J's own float32 arithmetic: clamp to [nudgedMin, nudgedMax], then
     * floor((v - nudgedMin) / scale + 0.5) * scale + nudgedMin. A zero scale passes x through.
     */
    public float fakeQuantize(float x) {
        if (!(scale > 0)) {
            return x;
        }
        float lo = lowLevel() * scale;
        float hi = highLevel() * scale;
        float v = x < lo ? lo : x > hi ? hi : x;
        return (float) Math.floor((v - lo) / scale + 0.5f) * scale + lo;
    }

    /**
     * A (min, max) from which ND4J's fake-quant derives exactly this quantizer again, the same float32
     * scale and zero point: min = -zeroPoint * scale and the float max nearest to (qMax - zeroPoint) *
     * scale for which (max - min) / (qMax - qMin) rounds to the scale. (The nudged range itself may
     * not: its width, rounded to float, can give a scale one ulp off, which moves level boundaries.)
     */
    public float[] range() {
        float min = (qMin - zeroPoint) * scale;
        float max = (qMax - zeroPoint) * scale;
        float steps = qMax - qMin;
        // the width's rounding can skip the scale for one min; try the floats around both ends
        for (int radius = 0; radius <= 32; radius++) {
            for (int i = -radius; i <= radius; i++) {
                for (int j = -radius; j <= radius; j++) {
                    if (Math.max(Math.abs(i), Math.abs(j)) != radius) {
                        continue;
                    }
                    float lo = ulps(min, i);
                    float hi = ulps(max, j);
                    if ((hi - lo) / steps == scale && of(lo, hi, bits(), qMin == 1).equals(this)) {
                        return new float[] {lo, hi};
                    }
                }
            }
        }
        return new float[] {min, max};
    }

    private static float ulps(float x, int n) {
        for (int k = 0; k < Math.abs(n); k++) {
            x = n > 0 ? Math.nextUp(x) : Math.nextDown(x);
        }
        return x;
    }
}
