package org.dfq4j.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
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
 * Wall time per op type during inference (a SameDiff listener). On an asynchronous backend (CUDA)
 * each op is synchronized before its time is taken, so the times are real but the total is slower
 * than an unprofiled run.
 */
final class OpTimer extends BaseListener {


    private final Map<String, long[]> totals = new HashMap<>();
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
        long[] t = totals.computeIfAbsent(OpKind.nameOf(op), k -> new long[2]);
        t[0] += System.nanoTime() - start;
        t[1]++;
    }

    /** Op types by total time, longest first. */
    List<BenchResult.OpTime> top() {
        List<BenchResult.OpTime> r = new ArrayList<>();
        totals.forEach((k, v) -> r.add(new BenchResult.OpTime(k, v[0] / 1e9, v[1])));
        r.sort(Comparator.comparingDouble(BenchResult.OpTime::seconds).reversed());
        return r;
    }
}
