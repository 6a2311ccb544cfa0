package org.dfq4j.rewrite.view;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A read-only view of a network's graph for matching: ops in topological order, the producer and
 * consumers of each variable, op kinds and their attributes, constants (as copies), placeholders,
 * network outputs and the network's metadata (statistics, recorded ranges, properties). Nothing
 * reachable from a view changes the graph.
 *
 * <p>The structure (order, producers, consumers) is a snapshot taken at construction; constant
 * arrays are read from the graph when asked. A {@link org.dfq4j.rewrite.engine.GraphEditor} hands
 * out a fresh view after every change, so never keep a view across edits.
 *
 * <p>A network output counts as one extra consumer outside the graph: {@link #fanOut(String)} of a
 * variable that is a network output is its number of consumer ops plus one.
 */
public final class GraphView {

    private final Network network;
    private final SameDiff sd;
    private final List<String> order;
    private final Map<String, String> producer = new HashMap<>();
    private final Map<String, List<String>> consumers = new HashMap<>();
    private final Set<String> outputs;
    private final List<String> problems = new ArrayList<>();

    private GraphView(Network network) {
        this.network = network;
        this.sd = network.sameDiff();
        this.outputs = new HashSet<>(network.outputs());
        Map<String, SameDiffOp> ops = sd.getOps();
        for (SameDiffOp op : ops.values()) {
            for (String out : outputsOf(op)) {
                String before = producer.put(out, op.getName());
                if (before != null) {
                    problems.add("variable '" + out + "' is produced by both '" + before + "' and '" + op.getName() + "'");
                }
            }
        }
        this.order = topologicalOrder(ops);
        for (String op : order) {
            for (String in : inputsOf(ops.get(op))) {
                List<String> c = consumers.computeIfAbsent(in, k -> new ArrayList<>());
                if (!c.contains(op)) {
                    c.add(op);
                }
            }
        }
        checkWellFormed(ops);
    }

    /** A view of the network's graph as it is now. */
    public static GraphView of(Network network) {
        return new GraphView(network);
    }

    /** The network's name. */
    public String name() {
        return network.name();
    }

    /** The network's input shape without the batch dimension: [C, H, W]. */
    public long[] inputShape() {
        return network.inputShape();
    }

    /** The pre-activation statistics of the weight layer whose output is {@code layerOutput}, or null. */
    public ChannelStats stats(String layerOutput) {
        return network.stats().get(layerOutput);
    }

    /** Whether any weight layer has pre-activation statistics. */
    public boolean hasStats() {
        return !network.stats().isEmpty();
    }

    /** The range the model file recorded for a variable, or null. */
    public TensorRange recordedRange(String var) {
        return network.recordedRanges().get(var);
    }

    /** Whether the model file recorded any activation range. */
    public boolean hasRecordedRanges() {
        return !network.recordedRanges().isEmpty();
    }

    /** A string property of the network, or null. */
    public String property(String key) {
        return network.properties().get(key);
    }

    /**
     * An independent copy of the network as it is now (graph, arrays and metadata), e.g. to run it
     * with extra ops on calibration images.
     */
    public Network snapshot() {
        return network.copy();
    }

    /** All op names in a topological order (producers before consumers; ties keep the graph's op order). */
    public List<String> ops() {
        return Collections.unmodifiableList(order);
    }

    public boolean hasOp(String op) {
        return sd.getOps().containsKey(op);
    }

    public boolean hasVariable(String var) {
        return sd.getVariables().containsKey(var);
    }

    private SameDiffOp sameDiffOp(String op) {
        SameDiffOp o = sd.getOps().get(op);
        if (o == null) {
            throw new IllegalArgumentException("no op named '" + op + "'");
        }
        return o;
    }

    /** The op's kind ({@link OpKind#OTHER} for ops outside the registry). */
    public OpKind kind(String op) {
        return OpKind.of(sameDiffOp(op));
    }

    /** Whether the op is of one of the given kinds. */
    public boolean is(String op, OpKind... kinds) {
        OpKind k = kind(op);
        for (OpKind c : kinds) {
            if (c == k) {
                return true;
            }
        }
        return false;
    }

    /** The op's configuration, typed. */
    public OpAttributes attributes(String op) {
        return OpAttributes.of(sameDiffOp(op));
    }

    /** The op's SameDiff type name, for messages (match on {@link #kind}, never on this). */
    public String opType(String op) {
        return OpKind.nameOf(sameDiffOp(op));
    }

    public List<String> inputs(String op) {
        return Collections.unmodifiableList(inputsOf(sameDiffOp(op)));
    }

    public List<String> outputs(String op) {
        return Collections.unmodifiableList(outputsOf(sameDiffOp(op)));
    }

    /** The single output variable of an op. */
    public String output(String op) {
        List<String> outs = outputs(op);
        if (outs.size() != 1) {
            throw new IllegalArgumentException("op '" + op + "' has " + outs.size() + " outputs, expected one");
        }
        return outs.get(0);
    }

    /** The op producing a variable, or null for constants, placeholders and trainable variables. */
    public String producer(String var) {
        return producer.get(var);
    }

    /** The ops consuming a variable, in topological order (each op once, even if it uses the variable twice). */
    public List<String> consumers(String var) {
        return Collections.unmodifiableList(consumers.getOrDefault(var, List.of()));
    }

    public boolean isNetworkOutput(String var) {
        return outputs.contains(var);
    }

    /** Consumers inside the graph plus one if the variable is a network output. */
    public int fanOut(String var) {
        return consumers(var).size() + (isNetworkOutput(var) ? 1 : 0);
    }

    /** The only consumer op of a variable, or null when it has none, several, or is a network output. */
    public String soleConsumer(String var) {
        List<String> c = consumers(var);
        return c.size() == 1 && !isNetworkOutput(var) ? c.get(0) : null;
    }

    public boolean isConstant(String var) {
        Variable v = sd.getVariables().get(var);
        return v != null && v.getVariable().getVariableType() == VariableType.CONSTANT;
    }

    public boolean isPlaceholder(String var) {
        Variable v = sd.getVariables().get(var);
        return v != null && v.getVariable().getVariableType() == VariableType.PLACEHOLDER;
    }

    /** A copy of a constant's array (change constants through a GraphEditor). */
    public INDArray constant(String var) {
        return requireConstant(var).dup();
    }

    /** The shape of a constant. */
    public long[] constantShape(String var) {
        return requireConstant(var).shape();
    }

    /** The number of elements of a constant. */
    public long constantLength(String var) {
        return requireConstant(var).length();
    }

    private INDArray requireConstant(String var) {
        if (!isConstant(var)) {
            throw new IllegalArgumentException("variable '" + var + "' is not a constant");
        }
        return sd.getArrForVarName(var);
    }

    /** Names of all placeholder variables. */
    public List<String> placeholders() {
        List<String> out = new ArrayList<>();
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.PLACEHOLDER) {
                out.add(v.name());
            }
        }
        return out;
    }

    public List<String> networkOutputs() {
        return network.outputs();
    }

    /** The canonical weight layer an op is, or null. */
    public WeightLayer weightLayer(String op) {
        return WeightLayer.of(sameDiffOp(op));
    }

    /** The op's single output if it has one, else the op's name: how logs name a place in the graph. */
    public String describe(String op) {
        List<String> outs = outputsOf(sameDiffOp(op));
        return outs.size() == 1 ? outs.get(0) : op;
    }

    /** Number of output channels of a weight layer. */
    public long outChannels(WeightLayer l) {
        return l.outChannels(constantShape(l.weights()));
    }

    /** Number of input channels of a weight layer. */
    public long inChannels(WeightLayer l) {
        return l.inChannels(constantShape(l.weights()));
    }

    /** All canonical weight layers in topological order. */
    public List<WeightLayer> weightLayers() {
        List<WeightLayer> out = new ArrayList<>();
        for (String op : order) {
            WeightLayer l = weightLayer(op);
            if (l != null) {
                out.add(l);
            }
        }
        return out;
    }

    /**
     * Why the graph is not well-formed, empty when it is: every op input exists and is produced by
     * an op, a constant, a trainable variable or a placeholder; each variable's consumer list
     * matches the ops' input lists; each op output names its producer; outputs exist; the ops have
     * a topological order.
     */
    public List<String> problems() {
        return Collections.unmodifiableList(problems);
    }

    public boolean isWellFormed() {
        return problems.isEmpty();
    }

    private void checkWellFormed(Map<String, SameDiffOp> ops) {
        Map<String, Variable> vars = sd.getVariables();
        for (SameDiffOp op : ops.values()) {
            for (String in : inputsOf(op)) {
                Variable v = vars.get(in);
                if (v == null) {
                    problems.add("op '" + op.getName() + "' reads missing variable '" + in + "'");
                    continue;
                }
                VariableType t = v.getVariable().getVariableType();
                if (t == VariableType.ARRAY && !producer.containsKey(in)) {
                    problems.add("op '" + op.getName() + "' reads '" + in + "', which no op produces");
                }
                if (t == VariableType.CONSTANT && sd.getArrForVarName(in) == null) {
                    problems.add("constant '" + in + "' has no array");
                }
                if (v.getInputsForOp() == null || !v.getInputsForOp().contains(op.getName())) {
                    problems.add("variable '" + in + "' does not list its consumer '" + op.getName() + "'");
                }
            }
            for (String out : outputsOf(op)) {
                Variable v = vars.get(out);
                if (v == null) {
                    problems.add("op '" + op.getName() + "' writes missing variable '" + out + "'");
                } else if (!op.getName().equals(v.getOutputOfOp())) {
                    problems.add("variable '" + out + "' names producer '" + v.getOutputOfOp() + "', not '"
                            + op.getName() + "'");
                }
            }
        }
        for (Variable v : vars.values()) {
            if (v.getInputsForOp() != null) {
                for (String c : v.getInputsForOp()) {
                    SameDiffOp op = ops.get(c);
                    if (op == null || !inputsOf(op).contains(v.getName())) {
                        problems.add("variable '" + v.getName() + "' lists consumer '" + c + "', which does not read it");
                    }
                }
            }
            if (v.getOutputOfOp() != null && !ops.containsKey(v.getOutputOfOp())) {
                problems.add("variable '" + v.getName() + "' names missing producer '" + v.getOutputOfOp() + "'");
            }
        }
        for (String o : network.outputs()) {
            if (!vars.containsKey(o)) {
                problems.add("network output '" + o + "' is not a variable");
            } else if (!producer.containsKey(o) && !isConstant(o) && !isPlaceholder(o)) {
                problems.add("network output '" + o + "' is produced by no op");
            }
        }
        if (order.size() != ops.size()) {
            problems.add("the ops have a cycle: only " + order.size() + " of " + ops.size() + " can be ordered");
        }
    }

    /** Kahn's algorithm; ready ops are taken in the graph's op order, so the order is deterministic. */
    private List<String> topologicalOrder(Map<String, SameDiffOp> ops) {
        Map<String, Integer> pending = new LinkedHashMap<>();
        Map<String, List<String>> dependents = new HashMap<>();
        for (SameDiffOp op : ops.values()) {
            Set<String> deps = new HashSet<>();
            for (String in : inputsOf(op)) {
                String p = producer.get(in);
                if (p != null && ops.containsKey(p)) {
                    deps.add(p);
                }
            }
            pending.put(op.getName(), deps.size());
            for (String p : deps) {
                dependents.computeIfAbsent(p, k -> new ArrayList<>()).add(op.getName());
            }
        }
        List<String> indexOf = new ArrayList<>(ops.keySet());
        Map<String, Integer> rank = new HashMap<>();
        for (int i = 0; i < indexOf.size(); i++) {
            rank.put(indexOf.get(i), i);
        }
        PriorityQueue<String> ready = new PriorityQueue<>(
                (a, b) -> Integer.compare(rank.get(a), rank.get(b)));
        pending.forEach((op, n) -> {
            if (n == 0) {
                ready.add(op);
            }
        });
        List<String> out = new ArrayList<>(ops.size());
        while (!ready.isEmpty()) {
            String op = ready.poll();
            out.add(op);
            for (String d : dependents.getOrDefault(op, List.of())) {
                int left = pending.merge(d, -1, Integer::sum);
                if (left == 0) {
                    ready.add(d);
                }
            }
        }
        return out;
    }

    private static List<String> inputsOf(SameDiffOp op) {
        return op.getInputsToOp() == null ? List.of() : op.getInputsToOp();
    }

    private static List<String> outputsOf(SameDiffOp op) {
        return op.getOutputsOfOp() == null ? List.of() : op.getOutputsOfOp();
    }
}
