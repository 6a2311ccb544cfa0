package org.dfq4j.rewrite.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;

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

    public enum Kind {
        CONV("conv2d"), DEPTHWISE("depthwise_conv2d"), DENSE("xw_plus_b");

        private final String opName;

        Kind(String opName) {
            this.opName = opName;
        }

        public String opName() {
            return opName;
        }

        static Kind ofOpName(String opName) {
            for (Kind k : values()) {
                if (k.opName.equals(opName)) {
                    return k;
                }
            }
            return null;
        }
    }

    /** The weight layer produced by this SameDiff op, or null if the op is not a canonical weight layer. */
    public static WeightLayer of(SameDiffOp op) {
        Kind k = Kind.ofOpName(op.getOp().opName());
        List<String> in = op.getInputsToOp();
        if (k == null || in == null || in.size() != 3 || op.getOutputsOfOp().size() != 1) {
            return null;
        }
        return new WeightLayer(k, op.getName(), in.get(0), in.get(1), in.get(2), op.getOutputsOfOp().get(0));
    }

    /** All canonical weight layers of a graph, in the graph's op order. */
    public static List<WeightLayer> all(SameDiff sd) {
        List<WeightLayer> out = new ArrayList<>();
        for (Map.Entry<String, SameDiffOp> e : sd.getOps().entrySet()) {
            WeightLayer l = of(e.getValue());
            if (l != null) {
                out.add(l);
            }
        }
        return out;
    }

    public INDArray weightArray(SameDiff sd) {
        return sd.getArrForVarName(weights);
    }

    public INDArray biasArray(SameDiff sd) {
        return sd.getArrForVarName(bias);
    }

    /** Number of output channels. */
    public long outChannels(SameDiff sd) {
        INDArray w = weightArray(sd);
        return switch (kind) {
            case CONV -> w.size(3);
            case DEPTHWISE -> w.size(2) * w.size(3);
            case DENSE -> w.size(1);
        };
    }

    /** Number of input channels. */
    public long inChannels(SameDiff sd) {
        INDArray w = weightArray(sd);
        return kind == Kind.DENSE ? w.size(0) : w.size(2);
    }
}
