package org.dfq4j.rewrite.graph;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Tells an {@link ArrayRecycler} when an op output of a pass is dead: every op of the pass that
 * reads its variable has run, and it is not a value the caller asked for. A variable whose array is
 * not the pool's own (a view an op returned, a constant) may share the memory of any input of its
 * op, so it keeps those inputs' arrays alive until it is dead itself; an array goes back to the pool
 * when no live variable may share it. (In 1.0.0-M2.1 every op output of the dfq4j models came from
 * the pool, reshapes and permutes included: the rule for views is a safeguard.)
 *
 * <p>The ops of the pass are the ancestors of the requested variables (what SameDiff executes); an
 * op executed outside that set means the prediction was wrong, and the pass fails rather than risk
 * reusing memory still in use.
 */
final class PassLiveness extends BaseListener {

    private final ArrayRecycler pool;
    private final Set<String> requested;
    private final Set<String> ops;
    /** Variable -> ops of the pass still to read it. */
    private final Map<String, Integer> pendingReaders = new HashMap<>();
    /** Variable -> the pool arrays whose memory its value may share. */
    private final Map<String, List<INDArray>> roots = new HashMap<>();
    /** Pool array -> live variables that may share its memory. */
    private final Map<INDArray, Integer> sharers = new IdentityHashMap<>();

    PassLiveness(SameDiff sd, ArrayRecycler pool, Collection<String> requested) {
        this.pool = pool;
        this.requested = new HashSet<>(requested);
        this.ops = ExecutionPlan.ancestors(sd, requested);
        for (String op : ops) {
            for (String in : new LinkedHashSet<>(inputs(sd.getOps().get(op)))) {
                pendingReaders.merge(in, 1, Integer::sum);
            }
        }
    }

    @Override
    public boolean isActive(Operation operation) {
        return true;
    }

    @Override
    public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext opContext, INDArray[] outputs) {
        if (!ops.contains(op.getName())) {
            throw new IllegalStateException("op '" + op.getName() + "' ran outside the predicted pass; its memory cannot be tracked");
        }
        List<String> in = inputs(op);
        List<List<INDArray>> inputRoots = new ArrayList<>();
        for (String v : in) {
            inputRoots.add(roots.getOrDefault(v, List.of()));
        }
        List<String> outs = op.getOutputsOfOp();
        for (int i = 0; i < outs.size() && i < outputs.length; i++) {
            List<INDArray> r = rootsOf(outputs[i], inputRoots);
            roots.put(outs.get(i), r);
            for (INDArray a : r) {
                sharers.merge(a, 1, Integer::sum);
            }
        }
        for (String v : new LinkedHashSet<>(in)) {
            if (pendingReaders.merge(v, -1, Integer::sum) == 0) {
                dead(v);
            }
        }
        for (String v : outs) {
            if (pendingReaders.getOrDefault(v, 0) == 0) {
                dead(v);
            }
        }
    }

    private List<INDArray> rootsOf(INDArray value, List<List<INDArray>> inputRoots) {
        if (value != null && pool.isLive(value)) {
            return List.of(value);
        }
        Set<INDArray> r = Collections.newSetFromMap(new IdentityHashMap<>());
        inputRoots.forEach(r::addAll);
        return new ArrayList<>(r);
    }

    private void dead(String v) {
        if (requested.contains(v)) {
            return;
        }
        List<INDArray> r = roots.remove(v);
        if (r == null) {
            return;
        }
        for (INDArray a : r) {
            if (sharers.merge(a, -1, Integer::sum) == 0) {
                sharers.remove(a);
                pool.giveBack(a);
            }
        }
    }

    private static List<String> inputs(SameDiffOp op) {
        return op.getInputsToOp() == null ? List.of() : op.getInputsToOp();
    }
}
