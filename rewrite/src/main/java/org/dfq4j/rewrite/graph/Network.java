package org.dfq4j.rewrite.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.Callable;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.config.ExecutionResult;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * An imported or built network: a SameDiff graph in NCHW with one float input placeholder, its
 * named outputs, and what the graph itself cannot hold: activation ranges recorded in the source
 * file, per-channel pre-activation statistics of folded BatchNorms, string properties and extra
 * tensors (e.g. the anchors of a detection post-processing op that is not run inside the graph).
 *
 * <p>A network owns its graph and never changes it: rewrites work on a copy through a
 * {@code GraphEditor}. It is made from a SameDiff in one of two ways, and each says what it does to
 * the graph it is given: {@link #copyOf} leaves it untouched (the network gets a copy);
 * {@link #adopt} takes it over and prepares it for running (SameDiff's output cache off, ops whose
 * name is also a variable's renamed, see {@link OpNames}). The metadata maps are read-only; the
 * {@code with...} methods give a network with more metadata over the same graph.
 *
 * <p>How passes run is a setting of the network object, not of its graph: prepared
 * {@link ExecutionPlan}s or SameDiff's session ({@link #setPlanned}), batches in slices
 * ({@link #setSliceImages}) and slices side by side ({@link #setSliceWorkers}). Every image's values
 * are the same under any setting (to float rounding); copies and {@code with...} networks keep them.
 */
public final class Network {

    /** The property naming a network's activation layout when it is not NCHW. */
    public static final String LAYOUT_PROPERTY = "layout";
    /** {@link #LAYOUT_PROPERTY}'s value for an execution copy whose image tensors are channels-last. */
    public static final String CHANNELS_LAST = "channels-last";

    private final String name;
    private final SameDiff sd;
    private final String input;
    private final long[] inputShape;
    private final List<String> outputs;
    private final Map<String, TensorRange> recordedRanges;
    private final Map<String, ChannelStats> stats;
    private final Map<String, String> properties;
    private final Map<String, INDArray> attachments;
    private final ArrayRecycler recycler = new ArrayRecycler();
    /**
     * Plans for the input shapes and variable sets run lately, most recent first, per thread that
     * runs passes (the caller's, and each slice worker's: a plan's arrays serve one pass at a time).
     */
    private final Map<Thread, ArrayDeque<ExecutionPlan>> plans = Collections.synchronizedMap(new WeakHashMap<>());
    private static final int MAX_PLANS = 3;
    private boolean planned = true;
    private int tile = ExecutionPlan.DEFAULT_TILE;
    private int sliceImages;
    private SliceWorkers workers;

    private Network(String name, SameDiff sd, String input, long[] inputShape, List<String> outputs,
                    Map<String, TensorRange> recordedRanges, Map<String, ChannelStats> stats,
                    Map<String, String> properties, Map<String, INDArray> attachments) {
        this.name = Objects.requireNonNull(name);
        this.sd = Objects.requireNonNull(sd);
        this.input = Objects.requireNonNull(input);
        if (inputShape.length != 3) {
            throw new IllegalArgumentException("input shape must be [C,H,W], got " + Arrays.toString(inputShape));
        }
        this.inputShape = inputShape.clone();
        this.outputs = List.copyOf(outputs);
        this.recordedRanges = frozen(recordedRanges);
        this.stats = frozen(stats);
        this.properties = frozen(properties);
        this.attachments = frozen(attachments);
        if (!sd.hasVariable(input)) {
            throw new IllegalArgumentException("network input '" + input + "' is not a variable of the graph");
        }
        for (String o : this.outputs) {
            if (!sd.hasVariable(o)) {
                throw new IllegalArgumentException("network output '" + o + "' is not a variable of the graph");
            }
        }
    }

    /**
     * A network that takes over {@code sd}: the caller hands the graph over and must not change it
     * afterwards. Adopting changes the graph in two ways, both needed to run it correctly on ND4J
     * 1.0.0-M2.1: SameDiff's output cache is turned off (it returns stale arrays on repeated calls:
     * a softmax output alternated between two values on identical inputs), and every op whose name
     * is also a variable's is renamed ({@link OpNames}).
     */
    public static Network adopt(String name, SameDiff sd, String input, long[] inputShape, List<String> outputs) {
        prepare(sd);
        return new Network(name, sd, input, inputShape, outputs, Map.of(), Map.of(), Map.of(), Map.of());
    }

    /** A network over a copy of {@code sd}; {@code sd} itself is left as it was. */
    public static Network copyOf(String name, SameDiff sd, String input, long[] inputShape, List<String> outputs) {
        return adopt(name, OpNames.copy(sd), input, inputShape, outputs);
    }

    /**
     * A network over {@code sd} with the given metadata, for the rewrite engine's working copy: the
     * graph is prepared as by {@link #adopt}, the maps are copied.
     */
    public static Network adopt(String name, SameDiff sd, String input, long[] inputShape, List<String> outputs,
                                Map<String, TensorRange> recordedRanges, Map<String, ChannelStats> stats,
                                Map<String, String> properties, Map<String, INDArray> attachments) {
        prepare(sd);
        return new Network(name, sd, input, inputShape, outputs, recordedRanges, stats, properties, attachments);
    }

    private static void prepare(SameDiff sd) {
        sd.setEnableCache(false);
        OpNames.separateFromVariables(sd);
    }

    private static <K, V> Map<K, V> frozen(Map<K, V> m) {
        return Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    public String name() {
        return name;
    }

    /**
     * The graph, for running, saving or exporting it. It belongs to this network and must not be
     * changed: rewrite a network with a {@code GraphEditor}, which works on a copy.
     */
    public SameDiff sameDiff() {
        return sd;
    }

    /** Name of the NCHW float input placeholder. */
    public String input() {
        return input;
    }

    /** Input shape without the batch dimension: [C, H, W]. */
    public long[] inputShape() {
        return inputShape.clone();
    }

    /** The output variables, in order. */
    public List<String> outputs() {
        return outputs;
    }

    /** Activation ranges recorded in the model file, by variable name (read-only). */
    public Map<String, TensorRange> recordedRanges() {
        return recordedRanges;
    }

    /** Pre-activation statistics by the output variable of the weight layer they describe (read-only). */
    public Map<String, ChannelStats> stats() {
        return stats;
    }

    /** String properties: format, source, post-processing options (read-only). */
    public Map<String, String> properties() {
        return properties;
    }

    /** Extra tensors the graph does not hold, e.g. detection anchors (read-only). */
    public Map<String, INDArray> attachments() {
        return attachments;
    }

    /**
     * Whether this is an execution copy whose intermediate image tensors are channels-last
     * (rewrite.execution.ChannelsLast); its input and outputs are NCHW like any network's.
     */
    public boolean isChannelsLast() {
        return CHANNELS_LAST.equals(properties.get(LAYOUT_PROPERTY));
    }

    /** Refuses a channels-last execution copy: the DFQ rewrites read channels on axis 1. */
    public void requireNchw(String what) {
        if (isChannelsLast()) {
            throw new DfqException(what + ": network '" + name + "' is a channels-last execution "
                    + "copy; rewrite the NCHW network it was made from");
        }
    }

    /** This network, over the same graph, with more properties (later values win). */
    public Network withProperties(Map<String, String> more) {
        return sameGraph(name, recordedRanges, stats, merged(properties, more), attachments);
    }

    /** This network, over the same graph, with more recorded activation ranges. */
    public Network withRecordedRanges(Map<String, TensorRange> more) {
        return sameGraph(name, merged(recordedRanges, more), stats, properties, attachments);
    }

    /** This network, over the same graph, with more per-channel statistics. */
    public Network withStats(Map<String, ChannelStats> more) {
        return sameGraph(name, recordedRanges, merged(stats, more), properties, attachments);
    }

    /** This network, over the same graph, with more attachments. */
    public Network withAttachments(Map<String, INDArray> more) {
        return sameGraph(name, recordedRanges, stats, properties, merged(attachments, more));
    }

    /** A network over this one's graph with the given name and metadata, and this one's execution settings. */
    private Network sameGraph(String newName, Map<String, TensorRange> ranges, Map<String, ChannelStats> channelStats,
                              Map<String, String> props, Map<String, INDArray> atts) {
        return withSettingsOf(new Network(newName, sd, input, inputShape, outputs, ranges, channelStats, props, atts));
    }

    /** This network, over the same graph, with {@code other}'s execution settings (plans, slices, workers). */
    public Network executedLike(Network other) {
        return other.withSettingsOf(new Network(name, sd, input, inputShape, outputs, recordedRanges, stats, properties,
                attachments));
    }

    /** {@code n} with this network's execution settings (plans or not, slices, slice workers). */
    private Network withSettingsOf(Network n) {
        n.sliceImages = sliceImages;
        n.planned = planned;
        n.tile = tile;
        n.workers = workers;
        return n;
    }

    private static <K, V> Map<K, V> merged(Map<K, V> a, Map<K, V> b) {
        Map<K, V> m = new LinkedHashMap<>(a);
        m.putAll(b);
        return m;
    }

    /** Runs a batch [N, C, H, W] and returns every output. */
    public Map<String, INDArray> run(INDArray batch) {
        return run(batch, outputs);
    }

    /** Runs a batch and returns the named variables (outputs or intermediates). */
    public Map<String, INDArray> run(INDArray batch, List<String> variables) {
        return run(batch, variables, List.of());
    }

    /**
     * Runs a batch with SameDiff listeners attached and returns the named variables. The returned
     * arrays belong to the caller; the op outputs of the pass are recycled for the next one
     * ({@link ArrayRecycler}).
     *
     * @throws DfqException when a returned value is NaN or infinite: a result is never silently non-finite
     */
    public Map<String, INDArray> run(INDArray batch, List<String> variables, List<Listener> listeners) {
        Map<String, INDArray> out = runUnchecked(batch, variables, listeners);
        for (Map.Entry<String, INDArray> e : out.entrySet()) {
            String bad = ModelChecks.nonFinite(e.getValue());
            if (bad != null) {
                throw new DfqException("network '" + name + "' computed a non-finite value: '" + e.getKey() + "' " + bad
                        + " on a batch of " + batch.size(0) + "; its weights or inputs overflow float32 (a damaged"
                        + " model, or one that is not meant for this input)");
            }
        }
        return out;
    }

    /** {@link #run(INDArray, List)} without the check for non-finite values. */
    Map<String, INDArray> runUnchecked(INDArray batch, List<String> variables) {
        return runUnchecked(batch, variables, List.of());
    }

    private synchronized Map<String, INDArray> runUnchecked(INDArray batch, List<String> variables,
                                                            List<Listener> listeners) {
        checkBatch(batch);
        long n = batch.size(0);
        if (sliceImages <= 0 || n <= sliceImages) {
            return pass(batch, variables, listeners);
        }
        // consecutive slices, their values concatenated; a requested value whose first axis is not
        // the images' (a reshape folding them in) makes the batch run whole instead
        List<Callable<Map<String, INDArray>>> slices = new ArrayList<>();
        for (long from = 0; from < n; from += sliceImages) {
            INDArray slice = batch.get(NDArrayIndex.interval(from, Math.min(n, from + sliceImages)));
            slices.add(() -> pass(slice, variables, listeners));
        }
        boolean sideBySide = workers != null && listeners.isEmpty() && planned
                && ExecutionPlan.supports(sd, variables);
        List<Map<String, INDArray>> parts = new ArrayList<>();
        if (sideBySide) {
            parts.addAll(workers.runAll(slices));
        } else {
            for (Callable<Map<String, INDArray>> s : slices) {
                parts.add(call(s));
            }
        }
        for (int i = 0; i < parts.size(); i++) {
            long images = Math.min(n, (i + 1L) * sliceImages) - (long) i * sliceImages;
            for (INDArray a : parts.get(i).values()) {
                if (a.rank() == 0 || a.size(0) != images) {
                    return pass(batch, variables, listeners);
                }
            }
        }
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (String v : variables) {
            out.put(v, Nd4j.concat(0, parts.stream().map(p -> p.get(v)).toArray(INDArray[]::new)));
        }
        return out;
    }

    /**
     * Runs batches of more than {@code images} images as consecutive slices of at most that many
     * (0: whole batches, the default). An execution setting: every image's values are the same
     * either way (to float rounding), but a slice's tensors can stay in the processor's caches
     * between layers, and a pass holds one slice's tensors.
     */
    public void setSliceImages(int images) {
        if (images < 0) {
            throw new IllegalArgumentException("slice size must be >= 0, got " + images);
        }
        this.sliceImages = images;
    }

    /** The slice size of {@link #setSliceImages} (0: whole batches). */
    public int sliceImages() {
        return sliceImages;
    }

    /**
     * Runs the slices of a batch ({@link #setSliceImages}) side by side on {@code workers}' threads,
     * each slice with single-threaded kernels, instead of one after another on the caller's thread
     * (null, the default). An execution setting: each image's values are what one slice computes
     * (to float rounding: a reduction split across threads may add in another order). A batch of
     * one slice, a pass with listeners and a pass through SameDiff's session run on the caller's
     * thread. The network does not own the workers (many networks may share them).
     */
    public void setSliceWorkers(SliceWorkers workers) {
        this.workers = workers;
    }

    /** The workers of {@link #setSliceWorkers}, or null. */
    public SliceWorkers sliceWorkers() {
        return workers;
    }

    private static <T> T call(Callable<T> c) {
        try {
            return c.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Whether passes run from prepared {@link ExecutionPlan}s (the default) or through SameDiff's
     * InferenceSession for every op of every pass. Graphs a plan cannot run use SameDiff either way.
     */
    public void setPlanned(boolean planned) {
        this.planned = planned;
        plans.clear();
    }

    /**
     * Elements per tile in which a plan runs consecutive elementwise ops over the same elements
     * (the rounding of a lowered fake-quant: add, relu6, subtract), each tile through all of them
     * before the next, so that the later ops read it from cache (default 2^17, 512 KiB of float32;
     * 0: each op over the whole array in turn). The values are the same either way.
     */
    public void setElementwiseTile(int elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("tile of " + elements + " elements");
        }
        this.tile = elements;
        plans.clear();
    }

    private Map<String, INDArray> pass(INDArray batch, List<String> variables, List<Listener> listeners) {
        if (planned && ExecutionPlan.supports(sd, variables)) {
            List<Object> fingerprint = ExecutionPlan.fingerprint(sd);
            ExecutionPlan plan = null;
            ArrayDeque<ExecutionPlan> plans = this.plans.computeIfAbsent(Thread.currentThread(), t -> new ArrayDeque<>());
            for (ExecutionPlan p : plans) {
                if (p.fits(batch, variables, fingerprint)) {
                    plan = p;
                    break;
                }
            }
            if (plan == null) {
                plan = ExecutionPlan.prepare(sd, input, batch, variables, fingerprint, tile);
                plans.addFirst(plan);
                while (plans.size() > MAX_PLANS) {
                    plans.removeLast();
                }
            }
            return plan.run(batch, listeners);
        }
        return session(batch, variables, listeners);
    }

    private Map<String, INDArray> session(INDArray batch, List<String> variables, List<Listener> listeners) {
        // A session of our own per pass, with the recycler that outlives it. It is registered for
        // the thread during the pass, as SameDiff's own output() does, and removed after it, so that
        // a copy of the graph (dup() carries the registered sessions) cannot inherit it.
        InferenceSession session = new InferenceSession(sd);
        session.setMmgr(recycler);
        Long thread = Thread.currentThread().getId();
        InferenceSession previous = sd.getSessions().put(thread, session);
        try {
            List<Listener> all = new ArrayList<>(listeners);
            all.add(new PassLiveness(sd, recycler, variables));
            ExecutionResult r = session.output(new ArrayList<>(variables), Map.of(input, batch), Map.of(), null,
                    List.of(), all, At.defaultAt(Operation.INFERENCE));
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (String v : variables) {
                INDArray a = value(r, v);
                if (a == null) {
                    throw new IllegalStateException("network '" + name + "' did not compute '" + v + "'");
                }
                out.put(v, a.dup());
            }
            return out;
        } finally {
            if (previous != null) {
                sd.getSessions().put(thread, previous);
            } else {
                sd.getSessions().remove(thread);
            }
            recycler.recycle();
        }
    }

    /** Op output arrays allocated and reused by this network's passes so far. */
    long[] recyclerCounts() {
        return recycler.counts();
    }

    /**
     * The most bytes of op outputs a pass has held so far (what a pass needs beyond its input): a
     * plan's arrays, or the most alive at once in a pass through SameDiff.
     */
    public long peakPassBytes() {
        long b = recycler.peakLiveBytes();
        synchronized (plans) {
            for (ArrayDeque<ExecutionPlan> q : plans.values()) {
                for (ExecutionPlan p : q) {
                    b = Math.max(b, p.bytes());
                }
            }
        }
        return b;
    }

    private static INDArray value(ExecutionResult r, String variable) {
        if (r.getOutputs() != null && r.getOutputs().get(variable) != null) {
            return r.getOutputs().get(variable).orElse(null);
        }
        if (r.getValueOutputs() != null && r.getValueOutputs().get(variable) != null) {
            return r.getValueOutputs().get(variable).getTensorValue();
        }
        return null;
    }

    /** Runs a batch and returns the first output. */
    public INDArray output(INDArray batch) {
        return run(batch).get(outputs.get(0));
    }

    private void checkBatch(INDArray batch) {
        long[] s = batch.shape();
        if (s.length != 4 || s[1] != inputShape[0] || s[2] != inputShape[1] || s[3] != inputShape[2]) {
            throw new IllegalArgumentException("network '" + name + "' takes input [N," + inputShape[0] + ","
                    + inputShape[1] + "," + inputShape[2] + "], got " + Arrays.toString(s));
        }
    }

    /** An independent deep copy: graph, arrays and metadata. */
    public Network copy() {
        Map<String, INDArray> att = new LinkedHashMap<>();
        attachments.forEach((k, v) -> att.put(k, v.dup()));
        return withSettingsOf(adopt(name, sd.dup(), input, inputShape, outputs, recordedRanges, stats, properties,
                att));
    }

    /** Same graph object, new name (for reports). */
    public Network withName(String newName) {
        return sameGraph(newName, recordedRanges, stats, properties, attachments);
    }

    /** Number of scalar parameters held in constants and trainable variables. */
    public long parameterCount() {
        long n = 0;
        for (var v : sd.variables()) {
            if (v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE) {
                INDArray a = v.getArr();
                if (a != null && a.dataType().isFPType()) {
                    n += a.length();
                }
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "Network[" + name + ", input " + Arrays.toString(inputShape) + ", outputs " + outputs + "]";
    }
}
