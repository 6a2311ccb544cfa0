package org.dfq4j.zoo.onnx;

import java.util.Arrays;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.Padding;

/**
 * The 2-D sliding window of an ONNX Conv, MaxPool or AveragePool node, read from its attributes
 * ({@code kernel_shape, strides, dilations, pads, auto_pad, ceil_mode}) for a known input size.
 * ONNX pads are {@code [top, left, bottom, right]}; {@code SAME_UPPER} is TensorFlow's SAME (the odd
 * extra row or column at the end), {@code SAME_LOWER} puts it at the start and becomes explicit padding.
 */
record Window(int kH, int kW, int sH, int sW, int dH, int dW, Padding padding, long outH, long outW,
              boolean padsAnything, boolean sameEquivalent, boolean ceilExtended) {

    /**
     * Reads the window of node {@code n} over an input of {@code inH x inW}; {@code kH, kW} come from
     * the weights (Conv) or {@code kernel_shape} (pooling, pass 0 to require the attribute).
     */
    static Window of(OnnxNode n, long inH, long inW, long kH, long kW) {
        long[] kernel = n.integers("kernel_shape", null);
        if (kernel != null) {
            requireTwo(n, "kernel_shape", kernel);
            if (kH > 0 && (kernel[0] != kH || kernel[1] != kW)) {
                throw n.error("kernel_shape " + Arrays.toString(kernel) + " disagrees with the weights' " + kH + "x" + kW);
            }
            kH = kernel[0];
            kW = kernel[1];
        } else if (kH <= 0) {
            throw n.error("kernel_shape is missing");
        }
        long[] strides = requireTwo(n, "strides", n.integers("strides", new long[] {1, 1}));
        long[] dilations = requireTwo(n, "dilations", n.integers("dilations", new long[] {1, 1}));
        long[] pads = n.integers("pads", new long[] {0, 0, 0, 0});
        if (pads.length != 4) {
            throw n.error("only 2-D windows are supported, got pads " + Arrays.toString(pads));
        }
        for (long v : pads) {
            if (v < 0 || v > ModelChecks.MAX_SIDE) {
                throw n.error("pads " + Arrays.toString(pads) + " must be between 0 and " + ModelChecks.MAX_SIDE);
            }
        }
        if (kH < 1 || kW < 1 || kH > ModelChecks.MAX_SIDE || kW > ModelChecks.MAX_SIDE) {
            throw n.error("kernel " + kH + "x" + kW + " must have sides from 1 to " + ModelChecks.MAX_SIDE);
        }
        long effH = (kH - 1) * dilations[0] + 1;
        long effW = (kW - 1) * dilations[1] + 1;
        long sameH = sameTotal(inH, strides[0], effH);
        long sameW = sameTotal(inW, strides[1], effW);
        String autoPad = n.string("auto_pad", "NOTSET");
        Padding padding;
        switch (autoPad) {
            case "SAME_UPPER" -> padding = Padding.SAME;
            case "SAME_LOWER" -> padding = Padding.explicit((int) (sameH - sameH / 2), (int) (sameH / 2),
                    (int) (sameW - sameW / 2), (int) (sameW / 2));
            case "VALID" -> padding = Padding.VALID;
            case "NOTSET", "" -> padding = Padding.explicit((int) pads[0], (int) pads[2], (int) pads[1], (int) pads[3]);
            default -> throw n.error("unknown auto_pad '" + autoPad + "'");
        }
        long outH;
        long outW;
        boolean padsAnything;
        boolean ceilExtended = false;
        if (padding.mode() == Padding.Mode.SAME) {
            outH = ceilDiv(inH, strides[0]);
            outW = ceilDiv(inW, strides[1]);
            padsAnything = sameH > 0 || sameW > 0;
        } else {
            int t = padding.top();
            int b = padding.bottom();
            int l = padding.left();
            int r = padding.right();
            outH = Math.floorDiv(inH + t + b - effH, strides[0]) + 1;
            outW = Math.floorDiv(inW + l + r - effW, strides[1]) + 1;
            if (n.integer("ceil_mode", 0) != 0) {
                long ceilH = ceilOutput(inH, t, b, effH, strides[0]);
                long ceilW = ceilOutput(inW, l, r, effW, strides[1]);
                if (ceilH != outH || ceilW != outW) {
                    // the extra windows reach past the bottom/right: pad there (the caller makes it neutral)
                    b += (int) Math.max(0, (ceilH - 1) * strides[0] + effH - (inH + t + b));
                    r += (int) Math.max(0, (ceilW - 1) * strides[1] + effW - (inW + l + r));
                    padding = Padding.explicit(t, b, l, r);
                    outH = ceilH;
                    outW = ceilW;
                    ceilExtended = true;
                }
            }
            padsAnything = t + b + l + r > 0;
        }
        if (outH <= 0 || outW <= 0) {
            throw n.error("window " + kH + "x" + kW + " does not fit the " + inH + "x" + inW + " input");
        }
        String bad = ModelChecks.windowProblem(inH, inW, kH, kW, strides[0], strides[1], dilations[0], dilations[1],
                padding);
        if (bad != null) {
            throw n.error("kernel " + kH + "x" + kW + ", pads " + Arrays.toString(pads) + ": " + bad);
        }
        boolean sameEquivalent = padding.mode() == Padding.Mode.SAME
                || padding.top() == sameH / 2 && padding.bottom() == sameH - sameH / 2
                && padding.left() == sameW / 2 && padding.right() == sameW - sameW / 2
                && outH == ceilDiv(inH, strides[0]) && outW == ceilDiv(inW, strides[1]);
        return new Window((int) kH, (int) kW, (int) strides[0], (int) strides[1], (int) dilations[0],
                (int) dilations[1], padding, outH, outW, padsAnything, sameEquivalent, ceilExtended);
    }

    /**
     * ceil_mode's output size (ONNX, as PyTorch and ONNX Runtime compute it): the window count rounded
     * up, less one when the last window would start past the input and its leading padding.
     */
    private static long ceilOutput(long in, long before, long after, long effKernel, long stride) {
        long out = ceilDiv(in + before + after - effKernel, stride) + 1;
        return (out - 1) * stride >= in + before ? out - 1 : out;
    }

    /** TensorFlow SAME's total padding along one axis. */
    private static long sameTotal(long in, long stride, long effKernel) {
        long out = ceilDiv(in, stride);
        return Math.max(0, (out - 1) * stride + effKernel - in);
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    private static long[] requireTwo(OnnxNode n, String attribute, long[] v) {
        if (v.length != 2) {
            throw n.error("only 2-D windows are supported, got " + attribute + " " + Arrays.toString(v));
        }
        for (long x : v) {
            if (x <= 0 || x > ModelChecks.MAX_SIDE) {
                throw n.error(attribute + " " + Arrays.toString(v) + " must be from 1 to " + ModelChecks.MAX_SIDE);
            }
        }
        return v;
    }
}
