package org.dfq4j.rewrite.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseOp;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.Op;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.ReduceOp;
import org.nd4j.linalg.api.ops.ScalarOp;
import org.nd4j.linalg.api.ops.TransformOp;
import org.nd4j.linalg.api.ops.impl.shape.tensorops.BaseTensorOp;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A forward pass of a SameDiff graph prepared once for one input shape and one set of requested
 * variables, then run any number of times: the ops in dependency order, each with its op context
 * (inputs, arguments, output arrays) set up in advance, the output arrays planned so that an array
 * is reused as soon as its last reader has run, and elementwise ops written in place over an input
 * no later op reads.
 *
 * <p>Why: SameDiff's InferenceSession re-derives all of that for every op of every pass (dependency
 * tracking, shape calculation, allocation): measured on MobileNetV2 with one thread, about 0.1-0.15
 * ms per op, 15 % of a pass at 8 images and half of it at one. The ops themselves, their arguments
 * and the kernels they run are SameDiff's own, set up as InferenceSession sets them up; a graph
 * with an op this plan does not know (control flow, tensor arrays, ops taking their axes or
 * scalars from other variables) runs through SameDiff instead ({@link #supports}).
 *
 * <p>A plan holds the graph's op objects and constant arrays as they were when it was made: the
 * network rebuilds it when any of them changes ({@link #fingerprint}).
 */
final class ExecutionPlan {

    /** Ops whose output shapes depend on the values of their inputs, not only on their shapes. */
    private static final Set<String> DATA_DEPENDENT_SHAPES = Set.of("where", "where_np", "unique",
            "unique_with_counts", "boolean_mask", "dynamic_partition", "listdiff", "choose", "non_max_suppression",
            "non_max_suppression_v3", "non_max_suppression_overlaps", "compare_and_bitpack", "sequence_mask");

    private final SameDiff sd;
    private final String input;
    private final long[] inputShape;
    private final List<Step> steps = new ArrayList<>();
    private final Map<String, INDArray> requested = new LinkedHashMap<>();
    private final List<Object> fingerprint;
    private final int tile;
    /** What a run executes: single steps, and chains of elementwise steps run tile by tile. */
    private final List<Object> program = new ArrayList<>();
    private long bytes;

    /** One op with its prepared context; {@code inputSlots} are the input positions fed the network input. */
    private record Step(SameDiffOp op, OpContext context, List<Integer> inputSlots, INDArray[] outputs) {
    }

    /**
     * Consecutive elementwise steps run over the same elements (a rounding to levels: add, relu6,
     * subtract), each tile of the arrays through all of them before the next tile, so that the
     * later steps find their input in the core's cache instead of memory. Same ops, same values:
     * every op reads and writes only the element it computes.
     */
    private record Chain(List<Step> steps, OpContext[][] tiles) {
    }

    private ExecutionPlan(SameDiff sd, String input, long[] inputShape, List<Object> fingerprint, int tile) {
        this.sd = sd;
        this.input = input;
        this.inputShape = inputShape.clone();
        this.fingerprint = fingerprint;
        this.tile = tile;
    }

    /** Whether every op the requested variables need is one a plan can run. */
    static boolean supports(SameDiff sd, Collection<String> variables) {
        for (String op : ancestors(sd, variables)) {
            DifferentialFunction f = sd.getOps().get(op).getOp();
            List<String> in = inputs(sd.getOps().get(op));
            boolean ok;
            if (f instanceof CustomOp) {
                ok = f instanceof DynamicCustomOp && f.getClass().getPackageName().startsWith("org.nd4j.linalg.api.ops")
                        && !f.getClass().getPackageName().contains(".controlflow") && !(f instanceof BaseTensorOp)
                        && !DATA_DEPENDENT_SHAPES.contains(f.opName());
            } else if (f instanceof ScalarOp || f instanceof TransformOp) {
                ok = in.size() == 1;
            } else if (f instanceof ReduceOp r) {
                ok = in.size() == 1 && r.getOpType() != Op.Type.REDUCE3;
            } else {
                ok = false;
            }
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /**
     * What a plan depends on: every op object with its inputs and outputs, and every constant's
     * array, by identity. Cheap to compute (no array contents); equal fingerprints mean a plan
     * made earlier still describes the graph.
     */
    static List<Object> fingerprint(SameDiff sd) {
        List<Object> f = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            f.add(op.getName());
            f.add(System.identityHashCode(op.getOp()));
            f.add(List.copyOf(inputs(op)));
            f.add(op.getOutputsOfOp() == null ? List.of() : List.copyOf(op.getOutputsOfOp()));
        }
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE) {
                f.add(v.name());
                f.add(System.identityHashCode(v.getArr()));
            }
        }
        return f;
    }

    /** Whether this plan runs {@code batch} for these variables on the graph as it is now. */
    boolean fits(INDArray batch, Collection<String> variables, List<Object> currentFingerprint) {
        return Arrays.equals(inputShape, batch.shape()) && requested.keySet().equals(new LinkedHashSet<>(variables))
                && fingerprint.equals(currentFingerprint);
    }

    /**
     * Prepares a pass: the ops the requested variables need, in dependency order, their output
     * shapes computed on {@code batch} and their output arrays planned.
     */
    static ExecutionPlan prepare(SameDiff sd, String input, INDArray batch, Collection<String> variables,
                                 List<Object> fingerprint) {
        return prepare(sd, input, batch, variables, fingerprint, DEFAULT_TILE);
    }

    /**
     * As {@link #prepare(SameDiff, String, INDArray, Collection, List)}, with chains of elementwise
     * steps run in tiles of {@code tile} elements (0: each step over the whole array in turn).
     */
    static ExecutionPlan prepare(SameDiff sd, String input, INDArray batch, Collection<String> variables,
                                 List<Object> fingerprint, int tile) {
        ExecutionPlan p = new ExecutionPlan(sd, input, batch.shape(), fingerprint, tile);
        p.build(batch, new LinkedHashSet<>(variables));
        p.chain();
        return p;
    }

    /** Elements per tile of a chain by default: 512 KiB of float32, half the L2 cache of a core. */
    static final int DEFAULT_TILE = 1 << 17;

    /** Groups consecutive elementwise steps over arrays of the same length into chains. */
    private void chain() {
        List<Step> run = new ArrayList<>();
        for (Step s : steps) {
            boolean links = tile > 0 && tileable(s) && (run.isEmpty()
                    || run.get(run.size() - 1).outputs()[0] == s.context().getInputArray(0)
                    && s.outputs()[0].length() == run.get(0).outputs()[0].length());
            if (!links) {
                flush(run);
                run = new ArrayList<>();
                if (tile > 0 && tileable(s)) {
                    run.add(s);
                    continue;
                }
                program.add(s);
            } else {
                run.add(s);
            }
        }
        flush(run);
    }

    private void flush(List<Step> run) {
        long n = run.isEmpty() ? 0 : run.get(0).outputs()[0].length();
        // a per-channel op needs whole rows of channels (the last axis) in each tile
        long rowLength = 1;
        for (Step s : run) {
            if (s.op().getOp() instanceof CustomOp) {
                rowLength = Math.max(rowLength, s.context().getInputArray(1).length());
            }
        }
        long perTile = Math.max(rowLength, tile / rowLength * rowLength);
        if (run.size() < 2 || n <= perTile || n % rowLength != 0) {
            program.addAll(run);
            return;
        }
        int tiles = (int) ((n + perTile - 1) / perTile);
        OpContext[][] contexts = new OpContext[tiles][run.size()];
        for (int j = 0; j < run.size(); j++) {
            Step s = run.get(j);
            boolean inPlace = s.context().getInputArray(0) == s.outputs()[0];
            INDArray in = flat(s.context().getInputArray(0));
            INDArray out = inPlace ? in : flat(s.outputs()[0]);
            for (int t = 0; t < tiles; t++) {
                long from = t * perTile;
                long to = Math.min(n, from + perTile);
                OpContext oc = Nd4j.getExecutioner().buildContext();
                INDArray x = in.get(NDArrayIndex.interval(from, to));
                INDArray z = inPlace ? x : out.get(NDArrayIndex.interval(from, to));
                if (s.op().getOp() instanceof DynamicCustomOp c) {
                    long rows = (to - from) / rowLength;
                    INDArray v = s.context().getInputArray(1);
                    oc.setArgs(new INDArray[] {x.reshape(rows, rowLength), v.reshape(1, v.length())}, c.iArgs(),
                            c.dArgs(), c.tArgs(), c.bArgs());
                    oc.setOutputArray(0, z.reshape(rows, rowLength));
                } else {
                    oc.setInputArray(0, x);
                    oc.setOutputArray(0, z);
                }
                contexts[t][j] = oc;
            }
        }
        program.add(new Chain(List.copyOf(run), contexts));
    }

    /** Pairwise ops that a chain may hold when their second input is one value per channel (the last axis). */
    private static final Set<String> PER_CHANNEL = Set.of("maximum", "minimum", "add", "subtract", "multiply");

    /**
     * A legacy elementwise op (scalar or transform) from one whole contiguous array to another of its
     * length, or a pairwise op with a constant of one value per channel (the last axis): the clip
     * min(x, t) that equalization keeps for ReLU6, channels-last.
     */
    private boolean tileable(Step s) {
        DifferentialFunction f = s.op().getOp();
        if (!s.inputSlots().isEmpty() || s.outputs().length != 1 || f instanceof Identity) {
            return false;
        }
        INDArray in = s.context().getInputArray(0);
        INDArray out = s.outputs()[0];
        if (in == null || in.length() != out.length() || !whole(in) || !whole(out) || in.dataType() != out.dataType()) {
            return false;
        }
        if (f instanceof DynamicCustomOp c) {
            List<String> names = inputs(s.op());
            if (!PER_CHANNEL.contains(c.opName()) || names.size() != 2 || c.numIArguments() > 0
                    || c.numTArguments() > 0 || c.numBArguments() > 0 || c.numDArguments() > 0) {
                return false;
            }
            INDArray v = s.context().getInputArray(1);
            long[] shape = in.shape();
            long channels = shape.length == 0 ? 0 : shape[shape.length - 1];
            return v != null && v != in && v.dataType() == in.dataType() && v.length() == channels && channels > 1
                    && v.shape()[v.rank() - 1] == channels && v.ordering() == 'c' && v.elementWiseStride() == 1
                    && sd.getVariable(names.get(1)).getVariableType() == VariableType.CONSTANT;
        }
        return (f instanceof ScalarOp || f instanceof TransformOp) && !(f instanceof CustomOp);
    }

    /** Whether an array is all of its buffer, in C order with unit stride (so tiles are contiguous views). */
    private static boolean whole(INDArray a) {
        return a.ordering() == 'c' && a.offset() == 0 && a.elementWiseStride() == 1 && !a.isView()
                && a.data().length() == a.length();
    }

    private static INDArray flat(INDArray a) {
        return a.reshape(new long[] {a.length()});
    }

    private void build(INDArray batch, Set<String> wanted) {
        Set<String> needed = ancestors(sd, wanted);
        Map<String, Integer> readers = new HashMap<>();
        for (String op : needed) {
            for (String in : new LinkedHashSet<>(inputs(sd.getOps().get(op)))) {
                readers.merge(in, 1, Integer::sum);
            }
        }
        Map<String, INDArray> values = new HashMap<>();
        values.put(input, batch);
        // which plan-owned array each variable's value is, and how many live variables share it
        Map<String, INDArray> owner = new HashMap<>();
        Map<INDArray, Integer> sharers = new IdentityHashMap<>();
        Map<String, ArrayDeque<INDArray>> free = new HashMap<>();
        // the input and identities of it: the arrays of the batch a run is given
        Set<String> inputs = new HashSet<>(Set.of(input));
        for (String opName : order(sd, needed)) {
            SameDiffOp op = sd.getOps().get(opName);
            DifferentialFunction f = op.getOp();
            List<String> in = inputs(op);
            INDArray[] args = new INDArray[in.size()];
            List<Integer> slots = new ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                String v = in.get(i);
                args[i] = values.containsKey(v) ? values.get(v) : sd.getArrForVarName(v);
                if (args[i] == null) {
                    throw new IllegalStateException("no value for '" + v + "', input of op '" + opName + "'");
                }
                if (inputs.contains(v)) {
                    slots.add(i);
                }
            }
            List<String> outNames = op.getOutputsOfOp();
            OpContext oc = Nd4j.getExecutioner().buildContext();
            INDArray[] outs = new INDArray[outNames.size()];
            if (f instanceof Identity) {
                // SameDiff passes the input through without copying; so does the plan
                outs[0] = args[0];
                if (inputs.contains(in.get(0))) {
                    inputs.add(outNames.get(0));
                }
            } else if (f instanceof DynamicCustomOp c) {
                oc.setArgs(args, c.iArgs(), c.dArgs(), c.tArgs(), c.bArgs());
                List<LongShapeDescriptor> shapes = c.calculateOutputShape(oc);
                if (shapes == null || shapes.size() != outs.length) {
                    throw new IllegalStateException("op '" + opName + "' gave " + shapes + " output shapes for " + outs.length + " outputs");
                }
                for (int i = 0; i < outs.length; i++) {
                    LongShapeDescriptor d = shapes.get(i);
                    DataType t = sd.getVariable(outNames.get(i)).dataType();
                    outs[i] = take(free, t, d.getShape());
                    oc.setOutputArray(i, outs[i]);
                }
            } else {
                oc.setInputArray(0, args[0]);
                String x = in.get(0);
                INDArray xOwner = owner.get(x);
                boolean elementwise = f instanceof ScalarOp || f instanceof TransformOp;
                LongShapeDescriptor d = ((BaseOp) f).calculateOutputShape(oc).get(0);
                DataType t = sd.getVariable(outNames.get(0)).dataType();
                if (elementwise && xOwner != null && xOwner == args[0] && readers.get(x) == 1 && !wanted.contains(x)
                        && sharers.get(xOwner) == 1 && Arrays.equals(d.getShape(), args[0].shape())
                        && args[0].dataType() == t) {
                    outs[0] = args[0];
                } else {
                    outs[0] = take(free, t, d.getShape());
                }
                oc.setOutputArray(0, outs[0]);
            }
            // record the outputs: a plan array, or (an identity) a value sharing an input's array
            for (int i = 0; i < outs.length; i++) {
                String v = outNames.get(i);
                values.put(v, outs[i]);
                INDArray o = ownerOf(outs[i], args, in, owner);
                if (o != null) {
                    owner.put(v, o);
                    sharers.merge(o, 1, Integer::sum);
                }
            }
            steps.add(new Step(op, oc, slots, outs));
            // inputs whose last reader this was, and outputs nobody reads, give their arrays back
            List<String> dead = new ArrayList<>();
            for (String v : new LinkedHashSet<>(in)) {
                if (readers.merge(v, -1, Integer::sum) == 0) {
                    dead.add(v);
                }
            }
            for (String v : outNames) {
                if (readers.getOrDefault(v, 0) == 0) {
                    dead.add(v);
                }
            }
            for (String v : dead) {
                INDArray o = wanted.contains(v) ? null : owner.remove(v);
                if (o != null && sharers.merge(o, -1, Integer::sum) == 0) {
                    sharers.remove(o);
                    free.computeIfAbsent(key(o.dataType(), o.shape()), k -> new ArrayDeque<>()).push(o);
                }
            }
        }
        for (String v : wanted) {
            INDArray a = values.containsKey(v) ? values.get(v) : sd.getArrForVarName(v);
            if (a == null) {
                throw new IllegalStateException("variable '" + v + "' is not computed by the graph");
            }
            requested.put(v, inputs.contains(v) ? null : a);
        }
    }

    /** The plan array an op output lives in: its own new array, or the owner of the input it aliases. */
    private static INDArray ownerOf(INDArray out, INDArray[] args, List<String> in, Map<String, INDArray> owner) {
        for (int i = 0; i < args.length; i++) {
            if (args[i] == out) {
                return owner.get(in.get(i));
            }
        }
        return out;
    }

    private INDArray take(Map<String, ArrayDeque<INDArray>> free, DataType t, long[] shape) {
        ArrayDeque<INDArray> q = free.get(key(t, shape));
        if (q != null && !q.isEmpty()) {
            return q.pop();
        }
        INDArray a = Nd4j.createUninitialized(t, shape, 'c');
        bytes += a.length() * t.width();
        return a;
    }

    /** How many chains of elementwise steps run tile by tile. */
    int chains() {
        return (int) program.stream().filter(o -> o instanceof Chain).count();
    }

    /** Bytes of the arrays the plan holds for op outputs. */
    long bytes() {
        return bytes;
    }

    private static String key(DataType t, long[] shape) {
        return t + Arrays.toString(shape);
    }

    /**
     * Runs the pass on {@code batch} (of the shape the plan was made for) and returns copies of the
     * requested values. Listeners see each op as SameDiff's listeners do.
     */
    Map<String, INDArray> run(INDArray batch, List<Listener> listeners) {
        At at = At.defaultAt(Operation.INFERENCE);
        List<Listener> active = listeners.stream().filter(l -> l.isActive(Operation.INFERENCE)).toList();
        if (active.isEmpty()) {
            // without listeners to show each op to, chains run tile by tile
            for (Object o : program) {
                if (o instanceof Chain c) {
                    for (OpContext[] t : c.tiles()) {
                        for (int j = 0; j < t.length; j++) {
                            DifferentialFunction f = c.steps().get(j).op().getOp();
                            if (f instanceof CustomOp op) {
                                Nd4j.getExecutioner().exec(op, t[j]);
                            } else {
                                Nd4j.getExecutioner().exec((Op) f, t[j]);
                            }
                        }
                    }
                } else {
                    Step s = (Step) o;
                    for (int slot : s.inputSlots()) {
                        s.context().setInputArray(slot, batch);
                    }
                    execute(s);
                }
            }
            Map<String, INDArray> out = new LinkedHashMap<>();
            requested.forEach((v, a) -> out.put(v, (a == null ? batch : a).dup()));
            return out;
        }
        for (Step s : steps) {
            for (int slot : s.inputSlots()) {
                s.context().setInputArray(slot, batch);
            }
            for (Listener l : active) {
                l.preOpExecution(sd, at, s.op(), s.context());
            }
            execute(s);
            for (Listener l : active) {
                l.opExecution(sd, at, null, s.op(), s.context(), s.outputs());
            }
        }
        Map<String, INDArray> out = new LinkedHashMap<>();
        requested.forEach((v, a) -> out.put(v, (a == null ? batch : a).dup()));
        return out;
    }

    private static void execute(Step s) {
        DifferentialFunction f = s.op().getOp();
        if (f instanceof Identity) {
            // the value is the input array itself
        } else if (f instanceof CustomOp c) {
            Nd4j.getExecutioner().exec(c, s.context());
        } else {
            Nd4j.getExecutioner().exec((Op) f, s.context());
        }
    }

    /** The ops needed to compute the requested variables. */
    static Set<String> ancestors(SameDiff sd, Collection<String> requested) {
        Set<String> ops = new HashSet<>();
        List<String> todo = new ArrayList<>(requested);
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String v = todo.remove(todo.size() - 1);
            if (!seen.add(v)) {
                continue;
            }
            Variable var = sd.getVariables().get(v);
            String producer = var == null ? null : var.getOutputOfOp();
            if (producer != null && ops.add(producer)) {
                todo.addAll(inputs(sd.getOps().get(producer)));
            }
        }
        return ops;
    }

    /** The needed ops in dependency order (ready ops in the graph's own op order). */
    private static List<String> order(SameDiff sd, Set<String> needed) {
        Map<String, Integer> pending = new LinkedHashMap<>();
        Map<String, List<String>> dependents = new HashMap<>();
        for (String op : sd.getOps().keySet()) {
            if (!needed.contains(op)) {
                continue;
            }
            Set<String> deps = new HashSet<>();
            for (String in : inputs(sd.getOps().get(op))) {
                Variable v = sd.getVariables().get(in);
                String p = v == null ? null : v.getOutputOfOp();
                if (p != null && needed.contains(p)) {
                    deps.add(p);
                }
            }
            pending.put(op, deps.size());
            for (String p : deps) {
                dependents.computeIfAbsent(p, k -> new ArrayList<>()).add(op);
            }
        }
        List<String> out = new ArrayList<>();
        ArrayDeque<String> ready = new ArrayDeque<>();
        pending.forEach((op, n) -> {
            if (n == 0) {
                ready.add(op);
            }
        });
        while (!ready.isEmpty()) {
            String op = ready.poll();
            out.add(op);
            for (String d : dependents.getOrDefault(op, List.of())) {
                if (pending.merge(d, -1, Integer::sum) == 0) {
                    ready.add(d);
                }
            }
        }
        if (out.size() != needed.size()) {
            throw new IllegalStateException("the graph's ops have a cycle");
        }
        return out;
    }

    private static List<String> inputs(SameDiffOp op) {
        return op.getInputsToOp() == null ? List.of() : op.getInputsToOp();
    }
}
