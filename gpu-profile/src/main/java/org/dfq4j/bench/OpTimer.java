package org.dfq4j.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.graph.OpKind;
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
 * how they are counted), over several passes: each op's time is its fastest pass, so that another
 * process taking the processor during one pass inflates no op (on a shared machine the fastest
 * whole pass still holds a few ops that waited for the processor). On an asynchronous backend
 * (CUDA) each op is synchronized before its time is taken, so the times are real but the total is
 * slower than an unprofiled run.
 */
final class OpTimer extends BaseListener {

    /** One op (by name) in one pass: its calls (one per slice of the batch) summed. */
    private static final class Sample {
        double seconds;
        long calls;
        double flops;
        double bytes;
    }

    private final Map<String, String> types = new LinkedHashMap<>();
    private final List<Map<String, Sample>> passes = new ArrayList<>();
    private long start;

    /** Starts a pass: what the listener sees from now on belongs to it. */
    void startPass() {
        passes.add(new LinkedHashMap<>());
    }

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
        if (passes.isEmpty()) {
            startPass();
        }
        String type = OpKind.nameOf(op);
        types.putIfAbsent(op.getName(), type);
        OpCost cost = OpCost.of(OpKind.of(op), opContext == null ? List.of() : opContext.getInputArrays(), outputs);
        Sample s = passes.get(passes.size() - 1).computeIfAbsent(op.getName(), k -> new Sample());
        s.seconds += elapsed / 1e9;
        s.calls++;
        s.flops += cost.flops();
        s.bytes += cost.bytes();
    }

    /** Op types by total time (each op in its fastest pass), longest first. */
    List<BenchResult.OpTime> top() {
        Map<String, double[]> totals = new LinkedHashMap<>();
        types.forEach((op, type) -> {
            Sample best = null;
            for (Map<String, Sample> pass : passes) {
                Sample s = pass.get(op);
                if (s != null && (best == null || s.seconds < best.seconds)) {
                    best = s;
                }
            }
            double[] t = totals.computeIfAbsent(type, k -> new double[4]);
            t[0] += best.seconds;
            t[1] += best.calls;
            t[2] += best.flops;
            t[3] += best.bytes;
        });
        List<BenchResult.OpTime> r = new ArrayList<>();
        totals.forEach((k, v) -> r.add(new BenchResult.OpTime(k, v[0], (long) v[1], v[2], v[3])));
        r.sort(Comparator.comparingDouble(BenchResult.OpTime::seconds).reversed());
        return r;
    }

    /** FLOPs of the layers (convolutions and matrix products) in one pass. */
    double layerFlops() {
        double f = 0;
        for (BenchResult.OpTime t : top()) {
            if (OpCost.isCompute(OpKind.ofName(t.op()))) {
                f += t.flops();
            }
        }
        return f;
    }
}
