package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A tensor an integer runtime quantizes: the network input, each weight layer's output and each add
 * and concat output (the anchor). When the anchor's only consumer is an activation (relu, relu6,
 * leakyrelu, or a clip by a constant: {@code minimum}/{@code maximum}, e.g. the per-channel clip
 * relu then minimum), the runtime fuses it and quantizes the activation's output instead.
 *
 * @param anchor      the input, layer, add or concat output
 * @param tensor      the variable that is quantized: the anchor or the last fused activation's output
 * @param activations the fused activation ops between them, in order
 */
public record QuantizationPoint(String anchor, String tensor, List<String> activations) {

    private static final Set<String> ACTIVATIONS = Set.of("relu", "relu6", "leakyrelu");

    public QuantizationPoint {
        activations = List.copyOf(activations);
    }

    /** The quantization points of a graph, the input first, then in topological order. */
    public static List<QuantizationPoint> find(GraphView g) {
        Set<String> anchors = new LinkedHashSet<>(g.placeholders());
        for (String op : g.ops()) {
            WeightLayer l = g.weightLayer(op);
            String type = g.opType(op);
            if (l != null) {
                anchors.add(l.output());
            } else if (type.equals("add") || type.equals("concat")) {
                anchors.add(g.output(op));
            }
        }
        List<QuantizationPoint> points = new ArrayList<>();
        for (String a : anchors) {
            String t = a;
            List<String> chain = new ArrayList<>();
            for (String c = g.soleConsumer(t); c != null && isActivation(g, c); c = g.soleConsumer(t)) {
                chain.add(c);
                t = g.output(c);
            }
            points.add(new QuantizationPoint(a, t, chain));
        }
        return points;
    }

    private static boolean isActivation(GraphView g, String op) {
        String type = g.opType(op);
        if (ACTIVATIONS.contains(type)) {
            return true;
        }
        if (type.equals("minimum") || type.equals("maximum")) {
            List<String> in = g.inputs(op);
            return in.size() == 2 && (g.isConstant(in.get(0)) != g.isConstant(in.get(1)));
        }
        return false;
    }

    /** A per-tensor range mapped through the activation ops of this point (each is monotone). */
    static TensorRange through(GraphView g, List<String> ops, TensorRange r) {
        for (String op : ops) {
            r = through(g, op, r);
        }
        return r;
    }

    private static TensorRange through(GraphView g, String op, TensorRange r) {
        String type = g.opType(op);
        switch (type) {
            case "relu":
                return new TensorRange(Math.max(0, r.min()), Math.max(0, r.max()));
            case "relu6":
                return new TensorRange(clamp(r.min(), 0, 6), clamp(r.max(), 0, 6));
            case "leakyrelu": {
                double alpha = ((org.nd4j.linalg.api.ops.BaseScalarOp) g.sameDiffOp(op).getOp()).getScalarValue()
                        .getDouble(0);
                return new TensorRange(leaky(r.min(), alpha), leaky(r.max(), alpha));
            }
            default: { // minimum / maximum with a constant
                List<String> in = g.inputs(op);
                INDArray c = g.constant(g.isConstant(in.get(0)) ? in.get(0) : in.get(1));
                double cMin = c.minNumber().doubleValue();
                double cMax = c.maxNumber().doubleValue();
                return type.equals("minimum")
                        ? new TensorRange(Math.min(r.min(), cMin), Math.min(r.max(), cMax))
                        : new TensorRange(Math.max(r.min(), cMin), Math.max(r.max(), cMax));
            }
        }
    }

    private static double clamp(double x, double lo, double hi) {
        return Math.max(lo, Math.min(hi, x));
    }

    private static double leaky(double x, double alpha) {
        return x > 0 ? x : alpha * x;
    }
}
