package org.dfq4j.rewrite.graph;

import java.util.List;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;

/**
 * A layer with a weight tensor and a bias, in the canonical forms {@link NetworkBuilder} emits: which
 * variables hold its input, weights, bias and output, and along which weight axes its output and
 * input channels lie.
 *
 * <ul>
 *   <li>{@link Kind#CONV}: W [kH,kW,in,out]; output channel axis 3, input channel axis 2;
 *   <li>{@link Kind#DEPTHWISE}: W [kH,kW,C,mult]; output channel c*mult+m, input channel c (axis 2);
 *   <li>{@link Kind#DENSE}: W [in,out]; output axis 1, input axis 0.
 * </ul>
 */
public record WeightLayer(Kind kind, String op, String input, String weights, String bias, String output) {

    /** The three canonical weight layers. */
    public enum Kind {
        /** {@link OpKind#CONV2D}. */
        CONV,
        /** {@link OpKind#DEPTHWISE_CONV2D}. */
        DEPTHWISE,
        /** {@link OpKind#DENSE}. */
        DENSE;

        /** The op kind of layers of this kind. */
        public OpKind op() {
            return switch (this) {
                case CONV -> OpKind.CONV2D;
                case DEPTHWISE -> OpKind.DEPTHWISE_CONV2D;
                case DENSE -> OpKind.DENSE;
            };
        }

        static Kind of(OpKind k) {
            for (Kind w : values()) {
                if (w.op() == k) {
                    return w;
                }
            }
            return null;
        }
    }

    /** The weight layer produced by this SameDiff op, or null if the op is not a canonical weight layer. */
    public static WeightLayer of(SameDiffOp op) {
        Kind k = Kind.of(OpKind.of(op));
        List<String> in = op.getInputsToOp();
        if (k == null || in == null || in.size() != 3 || op.getOutputsOfOp().size() != 1) {
            return null;
        }
        return new WeightLayer(k, op.getName(), in.get(0), in.get(1), in.get(2), op.getOutputsOfOp().get(0));
    }

    /** Number of output channels of a layer of this kind with weights of the given shape. */
    public long outChannels(long[] weightShape) {
        return switch (kind) {
            case CONV -> weightShape[3];
            case DEPTHWISE -> weightShape[2] * weightShape[3];
            case DENSE -> weightShape[1];
        };
    }

    /** Number of input channels of a layer of this kind with weights of the given shape. */
    public long inChannels(long[] weightShape) {
        return kind == Kind.DENSE ? weightShape[0] : weightShape[2];
    }
}
