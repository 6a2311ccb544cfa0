package org.dfq4j.bench;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.dfq4j.rewrite.graph.OpKind;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The arithmetic and memory traffic of one op execution, from its input and output arrays.
 *
 * <p>FLOPs count a multiply-add as two: a convolution is 2 x outputs x kernel taps x input
 * channels (plus one per output for the bias), a depthwise convolution 2 x outputs x taps (plus the
 * bias), a matrix product 2 x M x K x N (plus the bias of xw_plus_b). Every other op is counted as
 * one FLOP per output element; those ops are bound by memory, so their bytes (every input and output
 * array read or written once) say more about them.
 */
record OpCost(double flops, double bytes) {

    static final OpCost NONE = new OpCost(0, 0);

    /** The cost of an op of kind {@code op} with these inputs and outputs (inputs may be empty if unknown). */
    static OpCost of(OpKind op, List<INDArray> inputs, INDArray[] outputs) {
        double bytes = 0;
        for (INDArray a : inputs) {
            bytes += bytes(a);
        }
        double outElements = 0;
        for (INDArray a : outputs) {
            bytes += bytes(a);
            outElements += a == null ? 0 : a.length();
        }
        return new OpCost(flops(op, inputs, outputs, outElements), bytes);
    }

    private static double flops(OpKind op, List<INDArray> in, INDArray[] out, double outElements) {
        INDArray w = in.size() > 1 ? in.get(1) : null;
        double bias = in.size() > 2 ? outElements : 0;
        switch (op) {
            case CONV2D -> {
                if (w != null && w.rank() == 4) {
                    // weights [kH, kW, in, out] (the only format dfq4j emits)
                    return 2.0 * outElements * w.size(0) * w.size(1) * w.size(2) + bias;
                }
            }
            case DEPTHWISE_CONV2D -> {
                if (w != null && w.rank() == 4) {
                    return 2.0 * outElements * w.size(0) * w.size(1) + bias;
                }
            }
            case MATMUL, DENSE -> {
                if (w != null && in.get(0).rank() == 2 && w.rank() == 2) {
                    return 2.0 * in.get(0).size(0) * in.get(0).size(1) * w.size(1) + bias;
                }
            }
            default -> {
            }
        }
        return outElements;
    }

    /** Whether the op's FLOPs are the arithmetic of a layer (not a nominal one per element). */
    static boolean isCompute(OpKind op) {
        return COMPUTE.contains(op);
    }

    private static final Set<OpKind> COMPUTE = EnumSet.of(OpKind.CONV2D, OpKind.DEPTHWISE_CONV2D, OpKind.MATMUL,
            OpKind.DENSE);

    private static double bytes(INDArray a) {
        return a == null || a.isEmpty() ? 0 : (double) a.length() * a.dataType().width();
    }
}
