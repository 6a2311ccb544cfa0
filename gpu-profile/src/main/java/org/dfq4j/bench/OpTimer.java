package org.dfq4j.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Wall time, FLOPs and bytes per op type during inference (a SameDiff listener; {@link OpCost} says
 * how they are counted). On an asynchronous backend (CUDA) each op is synchronized before its time
 * is taken, so the times are real but the total is slower than an unprofiled run.
 */
final class OpTimer extends BaseListener {

    /** Totals of one op type over the profiled passes. */
    record OpTime(String op, double seconds, long calls, double flops, double bytes) {

        /** Achieved GFLOP/s (nominal, one per output element, for ops that are not layers). */
        double gflops() {
            return seconds > 0 ? flops / seconds / 1e9 : 0;
        }

        /** Achieved memory traffic in GB/s (each input and output array once). */
        double gbytes() {
            return seconds > 0 ? bytes / seconds / 1e9 : 0;
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("op", op);
            m.put("seconds", seconds);
            m.put("calls", calls);
            m.put("flops", flops);
            m.put("bytes", bytes);
            return m;
        }
    }

    private final Map<String, double[]> totals = new LinkedHashMap<>();
    private long start;

    @Override
    public boolean isActive(Operation operation) {
        return operation == Operation.INFERENCE;
    }

    @Override
    public void preOpExecution(SameDiff sd, At at, SameDiffOp op, OpContext opContext) {
        start = System.nanoTime();
    }

    @Override
    public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext opContext, INDArray[] outputs) {
        Nd4j.getExecutioner().commit();
        long elapsed = System.nanoTime() - start;
        String type = op.getOp().opName();
        OpCost cost = OpCost.of(type, opContext == null ? List.of() : opContext.getInputArrays(), outputs);
        double[] t = totals.computeIfAbsent(type, k -> new double[4]);
        t[0] += elapsed / 1e9;
        t[1]++;
        t[2] += cost.flops();
        t[3] += cost.bytes();
    }

    /** Op types by total time, longest first. */
    List<OpTime> top() {
        List<OpTime> r = new ArrayList<>();
        totals.forEach((k, v) -> r.add(new OpTime(k, v[0], (long) v[1], v[2], v[3])));
        r.sort(Comparator.comparingDouble(OpTime::seconds).reversed());
        return r;
    }

    /** FLOPs of the layers (convolutions and matrix products) over the profiled passes. */
    double layerFlops() {
        double f = 0;
        for (Map.Entry<String, double[]> e : totals.entrySet()) {
            if (OpCost.isCompute(e.getKey())) {
                f += e.getValue()[2];
            }
        }
        return f;
    }
}
