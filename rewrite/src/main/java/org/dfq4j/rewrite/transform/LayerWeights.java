package org.dfq4j.rewrite.transform;

import java.util.Arrays;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A weight tensor as a flat float array with per-channel operations, in the layouts of
 * {@link WeightLayer}: conv [kH,kW,in,out], depthwise [kH,kW,C,mult] (output channel c*mult+j reads
 * input channel c), dense [in,out]. The array is laid out as rows (tap, input channel), each row
 * holding the weights of the output channels that input feeds: all of them for conv and dense,
 * the mult channels c*mult..c*mult+mult-1 for depthwise. A private copy: edit, then write back with
 * {@link #toArray()}.
 */
public final class LayerWeights {

    private final WeightLayer.Kind kind;
    private final long[] shape;
    private final float[] w;
    private final int in;
    private final int out;
    private final int rowWidth;
    private final int rows;
    /** Cached max |w| per output and input channel; null when they must be recomputed. */
    private float[] outRange;
    private float[] inRange;

    private LayerWeights(WeightLayer.Kind kind, INDArray weights) {
        this.kind = kind;
        this.shape = weights.shape();
        this.w = ConstantValues.floats(weights);
        if (kind == WeightLayer.Kind.DENSE) {
            in = (int) shape[0];
            out = (int) shape[1];
            rowWidth = out;
        } else {
            in = (int) shape[2];
            rowWidth = (int) shape[3];
            out = kind == WeightLayer.Kind.DEPTHWISE ? in * rowWidth : rowWidth;
        }
        rows = w.length / rowWidth;
    }

    /** A copy of the layer's weights. */
    public static LayerWeights of(WeightLayer.Kind kind, INDArray weights) {
        return new LayerWeights(kind, weights);
    }

    public WeightLayer.Kind kind() {
        return kind;
    }

    public int inChannels() {
        return in;
    }

    public int outChannels() {
        return out;
    }

    private int firstOutput(int row) {
        return kind == WeightLayer.Kind.DEPTHWISE ? (row % in) * rowWidth : 0;
    }

    /** max |w| over each output channel. */
    public double[] outAbsMax() {
        return toDouble(outRange());
    }

    /** max |w| over each input channel. */
    public double[] inAbsMax() {
        return toDouble(inRange());
    }

    /** Multiplies output channel o by s[o] (rounded to float). */
    public void scaleOut(double[] s) {
        check(s, out, "output");
        float[] f = toFloat(s);
        for (int row = 0; row < rows; row++) {
            int base = row * rowWidth;
            int o0 = firstOutput(row);
            for (int e = 0; e < rowWidth; e++) {
                w[base + e] *= f[o0 + e];
            }
        }
        // rounding is monotonic, so max_k fl(|w_k| f) = fl(max_k |w_k| f): the cached range scales exactly
        if (outRange != null) {
            for (int o = 0; o < out; o++) {
                outRange[o] *= f[o];
            }
        }
        inRange = null;
    }

    /** Multiplies input channel i by s[i] (rounded to float). */
    public void scaleIn(double[] s) {
        check(s, in, "input");
        float[] f = toFloat(s);
        for (int row = 0; row < rows; row++) {
            int base = row * rowWidth;
            float x = f[row % in];
            for (int e = 0; e < rowWidth; e++) {
                w[base + e] *= x;
            }
        }
        if (inRange != null) {
            for (int i = 0; i < in; i++) {
                inRange[i] *= f[i];
            }
        }
        if (kind == WeightLayer.Kind.DEPTHWISE && outRange != null) {
            for (int o = 0; o < out; o++) {
                outRange[o] *= f[o / rowWidth];
            }
        } else {
            outRange = null;
        }
    }

    private float[] outRange() {
        if (outRange == null) {
            float[] r = new float[out];
            for (int row = 0; row < rows; row++) {
                int base = row * rowWidth;
                int o0 = firstOutput(row);
                for (int e = 0; e < rowWidth; e++) {
                    r[o0 + e] = Math.max(r[o0 + e], Math.abs(w[base + e]));
                }
            }
            outRange = r;
        }
        return outRange;
    }

    private float[] inRange() {
        if (inRange == null) {
            float[] r = new float[in];
            if (kind == WeightLayer.Kind.DEPTHWISE) {
                float[] o = outRange();
                for (int k = 0; k < out; k++) {
                    r[k / rowWidth] = Math.max(r[k / rowWidth], o[k]);
                }
            } else {
                for (int row = 0; row < rows; row++) {
                    int base = row * rowWidth;
                    float m = r[row % in];
                    for (int e = 0; e < rowWidth; e++) {
                        m = Math.max(m, Math.abs(w[base + e]));
                    }
                    r[row % in] = m;
                }
            }
            inRange = r;
        }
        return inRange;
    }

    /**
     * What a spatially constant input v (one value per input channel) adds to each output channel,
     * with every kernel tap inside the input: sum over taps and input channels of w * v.
     */
    public double[] contribution(double[] v) {
        check(v, in, "input");
        double[] r = new double[out];
        for (int row = 0; row < rows; row++) {
            double x = v[row % in];
            if (x == 0) {
                continue;
            }
            int base = row * rowWidth;
            int o0 = firstOutput(row);
            for (int e = 0; e < rowWidth; e++) {
                r[o0 + e] += w[base + e] * x;
            }
        }
        return r;
    }

    /** Output channels whose weights are all zero. */
    public boolean[] zeroOutputs() {
        boolean[] nonZero = new boolean[out];
        for (int row = 0; row < rows; row++) {
            int base = row * rowWidth;
            int o0 = firstOutput(row);
            for (int e = 0; e < rowWidth; e++) {
                if (w[base + e] != 0) {
                    nonZero[o0 + e] = true;
                }
            }
        }
        boolean[] zero = new boolean[out];
        for (int o = 0; o < out; o++) {
            zero[o] = !nonZero[o];
        }
        return zero;
    }

    /** True when every weight reading input channel i is zero. */
    public boolean inputIsZero(int i) {
        for (int row = i; row < rows; row += in) {
            int base = row * rowWidth;
            for (int e = 0; e < rowWidth; e++) {
                if (w[base + e] != 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Sets every weight reading input channel i to zero. */
    public void zeroInput(int i) {
        outRange = null;
        inRange = null;
        for (int row = i; row < rows; row += in) {
            Arrays.fill(w, row * rowWidth, row * rowWidth + rowWidth, 0f);
        }
    }

    /** A copy of the flat values (rows of (tap, input channel), C order of the original shape). */
    public float[] values() {
        return w.clone();
    }

    /** The weights as a new array of the original shape. */
    public INDArray toArray() {
        return Nd4j.createFromArray(w).reshape(shape);
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static void check(double[] v, int n, String what) {
        if (v.length != n) {
            throw new IllegalArgumentException("expected " + n + " " + what + " channel values, got " + v.length);
        }
    }
}
