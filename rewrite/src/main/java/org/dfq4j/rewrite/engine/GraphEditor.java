package org.dfq4j.rewrite.engine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpNames;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The only way rules and transforms change a network: constant arrays, op replacement, op bypass,
 * op insertion, new constants, per-channel statistics, recorded ranges and properties. An editor
 * works on its own copy of the network it is given (the caller's network never changes), keeps the
 * SameDiff bookkeeping consistent (consumer lists, network outputs, orphaned constants) and records
 * every change, so a driver can tell whether a rule changed anything.
 *
 * <p>Op-building callbacks receive the input variable and build new ops with its SameDiff, e.g.
 * {@code editor.replaceOp(op, x -> x.getSameDiff().nn().relu(x, 0))}.
 */
public final class GraphEditor {

    /** The copy being edited: its graph, name and input; outputs and metadata are tracked below. */
    private final Network base;
    private final SameDiff sd;
    private final List<String> outputs;
    private final Map<String, TensorRange> recordedRanges;
    private final Map<String, ChannelStats> stats;
    private final Map<String, String> properties;
    private final Map<String, INDArray> attachments;
    private final List<String> changes = new ArrayList<>();
    private GraphView view;
    private Network network;
    private int viewVersion = -1;
    private int networkVersion = -1;

    /** An editor of a copy of {@code network}; the network itself is never changed. */
    public GraphEditor(Network network) {
        this.base = network.copy();
        this.sd = base.sameDiff();
        this.outputs = new ArrayList<>(base.outputs());
        this.recordedRanges = new LinkedHashMap<>(base.recordedRanges());
        this.stats = new LinkedHashMap<>(base.stats());
        this.properties = new LinkedHashMap<>(base.properties());
        this.attachments = new LinkedHashMap<>(base.attachments());
    }

    /**
     * The network as it is now. It shares the editor's graph: it stays valid as a snapshot only
     * until the next edit, so take it when editing is done (drivers and pipelines do).
     */
    public Network network() {
        if (network == null || networkVersion != changes.size()) {
            network = Network.adopt(base.name(), sd, base.input(), base.inputShape(), outputs, recordedRanges, stats,
                    properties, attachments);
            networkVersion = changes.size();
        }
        return network;
    }

    /** A view of the graph as it is now (a new one after every change). */
    public GraphView view() {
        if (view == null || viewVersion != changes.size()) {
            view = GraphView.of(network());
            viewVersion = changes.size();
        }
        return view;
    }

    /** Number of changes made so far. */
    public int changeCount() {
        return changes.size();
    }

    /**
     * Checks that every constant and statistic changed since change number {@code since} is finite.
     *
     * @param step the rule or transform that made the changes, for the message
     * @throws org.dfq4j.rewrite.DfqException naming the step and the first non-finite tensor
     */
    public void requireFinite(int since, String step) {
        FiniteResults.require(this, since, step);
    }

    /** The changes made so far, one short line each ("setConstant conv1/W", "bypass bn1", ...). */
    public List<String> changes() {
        return Collections.unmodifiableList(changes);
    }

    /**
     * Replaces a constant's array by a copy of {@code value}, cast to the constant's data type. The
     * shape must stay the same: consumers were configured for it.
     */
    public void setConstant(String var, INDArray value) {
        INDArray old = requireConstant(var);
        if (!Arrays.equals(old.shape(), value.shape())) {
            throw new IllegalArgumentException("constant '" + var + "' has shape " + Arrays.toString(old.shape())
                    + ", new value has " + Arrays.toString(value.shape()));
        }
        sd.getVariable(var).setArray(value.castTo(old.dataType()).dup());
        changes.add("setConstant " + var);
    }

    /** Adds a constant (a copy of value); returns its name, {@code name} or name_N if taken. */
    public String addConstant(String name, INDArray value) {
        String n = freshName(name);
        sd.constant(n, value.dup());
        changes.add("addConstant " + n);
        return n;
    }

    /**
     * Replaces a single-output op by the ops {@code replacement} builds from the op's first input.
     * The old op's consumers and network outputs read the replacement's result, which takes the old
     * output variable's name (so statistics and ranges keyed by it stay attached); constants only the
     * old op read are removed.
     */
    public void replaceOp(String op, UnaryOperator<SDVariable> replacement) {
        SameDiffOp old = requireOp(op);
        String out = singleOutput(old);
        Set<String> before = new HashSet<>(sd.getOps().keySet());
        SDVariable result = replacement.apply(sd.getVariable(old.getInputsToOp().get(0)));
        String made = checkBuilt(op, before, result);
        rewire(out, made);
        replaceOutput(out, made);
        removeOp(old);
        sd.renameVariable(made, out);
        replaceOutput(made, out);
        OpNames.separateFromVariables(sd);
        changes.add("replaceOp " + op + " -> " + opOf(out));
    }

    /**
     * Removes an op whose output now equals its first input (e.g. a BatchNorm folded into the layer
     * before it): its consumers and network outputs read that input instead, a recorded range of the
     * output moves to the input if the input has none, and constants only this op read are removed.
     * The op's other inputs must be constants.
     */
    public void bypass(String op) {
        SameDiffOp o = requireOp(op);
        String out = singleOutput(o);
        List<String> in = o.getInputsToOp();
        if (in == null || in.isEmpty()) {
            throw new IllegalArgumentException("op '" + op + "' has no input to bypass to");
        }
        String x = in.get(0);
        for (int i = 1; i < in.size(); i++) {
            if (sd.getVariable(in.get(i)).getVariableType() != VariableType.CONSTANT) {
                throw new IllegalArgumentException("op '" + op + "' input " + i + " ('" + in.get(i)
                        + "') is not a constant; only ops with one data input can be bypassed");
            }
        }
        rewire(out, x);
        replaceOutput(out, x);
        TensorRange r = recordedRanges.remove(out);
        if (r != null) {
            recordedRanges.putIfAbsent(x, r);
        }
        removeOp(o);
        changes.add("bypass " + op);
    }

    /**
     * Inserts the ops {@code build} makes from variable {@code var} and makes every consumer of
     * {@code var} that existed before (and the network output, if var is one) read the result
     * instead. Returns the result's name.
     */
    public String insertAfter(String var, UnaryOperator<SDVariable> build) {
        if (!sd.hasVariable(var)) {
            throw new IllegalArgumentException("no variable named '" + var + "'");
        }
        Set<String> before = new HashSet<>(sd.getOps().keySet());
        List<String> oldConsumers = new ArrayList<>(consumersOf(var));
        SDVariable result = build.apply(sd.getVariable(var));
        String made = checkBuilt(var, before, result);
        for (String c : oldConsumers) {
            rewireConsumer(c, var, made);
        }
        replaceOutput(var, made);
        OpNames.separateFromVariables(sd);
        changes.add("insertAfter " + var + " -> " + made);
        return made;
    }

    /**
     * Like {@link #insertAfter(String, UnaryOperator)}, but only the listed consumers (and the network
     * output, if {@code output} and var is one) read the result; the other consumers keep reading var.
     */
    public String insertAfterFor(String var, Collection<String> consumers, boolean output, UnaryOperator<SDVariable> build) {
        if (!sd.hasVariable(var)) {
            throw new IllegalArgumentException("no variable named '" + var + "'");
        }
        for (String c : consumers) {
            if (!consumersOf(var).contains(c)) {
                throw new IllegalArgumentException("op '" + c + "' does not read '" + var + "'");
            }
        }
        Set<String> before = new HashSet<>(sd.getOps().keySet());
        SDVariable result = build.apply(sd.getVariable(var));
        String made = checkBuilt(var, before, result);
        for (String c : consumers) {
            rewireConsumer(c, var, made);
        }
        if (output) {
            replaceOutput(var, made);
        }
        OpNames.separateFromVariables(sd);
        changes.add("insertAfterFor " + var + " " + consumers + " -> " + made);
        return made;
    }

    /** Sets the pre-activation statistics of the layer whose output is {@code layerOutput}. */
    public void setStats(String layerOutput, ChannelStats stats) {
        this.stats.put(layerOutput, stats);
        changes.add("setStats " + layerOutput);
    }

    /** Sets a string property of the network (e.g. a mark that its weights are quantized). */
    public void setProperty(String key, String value) {
        properties.put(key, value);
        changes.add("setProperty " + key);
    }

    /** Sets an attachment of the network: a tensor the graph does not hold (e.g. a weight tensor's quantizers). */
    public void setAttachment(String key, INDArray value) {
        attachments.put(key, value);
        changes.add("setAttachment " + key);
    }

    /**
     * Forgets the range recorded for a variable whose values a rewrite changed (e.g. an activation
     * that CLE rescaled per channel), so no later step quantizes with a stale range. Returns whether
     * there was one.
     */
    public boolean forgetRecordedRange(String var) {
        if (recordedRanges.remove(var) == null) {
            return false;
        }
        changes.add("forgetRecordedRange " + var);
        return true;
    }

    /** A variable name not yet used in the graph: {@code base} or base_N. */
    public String freshName(String base) {
        if (!sd.hasVariable(base)) {
            return base;
        }
        for (int i = 1; ; i++) {
            String n = base + "_" + i;
            if (!sd.hasVariable(n)) {
                return n;
            }
        }
    }

    private String checkBuilt(String where, Set<String> before, SDVariable result) {
        if (result == null || result.getSameDiff() != sd) {
            throw new IllegalArgumentException("rewrite at '" + where + "' built no variable of this graph");
        }
        String producer = sd.getVariables().get(result.name()).getOutputOfOp();
        if (producer == null || before.contains(producer)) {
            throw new IllegalArgumentException("rewrite at '" + where + "' must return the output of a new op");
        }
        return result.name();
    }

    /** Makes every consumer of {@code from} read {@code to}. */
    private void rewire(String from, String to) {
        for (String c : new ArrayList<>(consumersOf(from))) {
            rewireConsumer(c, from, to);
        }
    }

    private void rewireConsumer(String consumer, String from, String to) {
        SameDiffOp c = sd.getOps().get(consumer);
        List<String> in = c.getInputsToOp();
        for (int i = 0; i < in.size(); i++) {
            if (in.get(i).equals(from)) {
                in.set(i, to);
            }
        }
        Variable f = sd.getVariables().get(from);
        f.getInputsForOp().removeIf(consumer::equals);
        Variable t = sd.getVariables().get(to);
        if (t.getInputsForOp() == null) {
            t.setInputsForOp(new ArrayList<>());
        }
        if (!t.getInputsForOp().contains(consumer)) {
            t.getInputsForOp().add(consumer);
        }
    }

    /** Removes an op whose output nobody reads any more, its output variable and orphaned constants. */
    private void removeOp(SameDiffOp op) {
        for (String out : op.getOutputsOfOp()) {
            if (!consumersOf(out).isEmpty() || outputs.contains(out)) {
                throw new IllegalStateException("op '" + op.getName() + "' output '" + out + "' is still read");
            }
        }
        sd.getOps().remove(op.getName());
        for (String out : op.getOutputsOfOp()) {
            sd.getVariables().remove(out);
        }
        for (String in : new ArrayList<>(new LinkedHashSet<>(op.getInputsToOp()))) {
            Variable v = sd.getVariables().get(in);
            if (v == null) {
                continue;
            }
            v.getInputsForOp().removeIf(op.getName()::equals);
            if (v.getVariable().getVariableType() == VariableType.CONSTANT && v.getInputsForOp().isEmpty()
                    && !outputs.contains(in)) {
                sd.getVariables().remove(in);
                sd.getConstantArrays().removeArray(in);
            }
        }
    }

    /** Replaces an output name (a rewrite that bypasses the op producing an output does this). */
    private void replaceOutput(String old, String now) {
        int i = outputs.indexOf(old);
        if (i >= 0) {
            outputs.set(i, now);
        }
    }

    private List<String> consumersOf(String var) {
        Variable v = sd.getVariables().get(var);
        return v == null || v.getInputsForOp() == null ? List.of() : v.getInputsForOp();
    }

    private String opOf(String var) {
        return sd.getVariables().get(var).getOutputOfOp();
    }

    private SameDiffOp requireOp(String op) {
        SameDiffOp o = sd.getOps().get(op);
        if (o == null) {
            throw new IllegalArgumentException("no op named '" + op + "'");
        }
        return o;
    }

    private static String singleOutput(SameDiffOp op) {
        if (op.getOutputsOfOp() == null || op.getOutputsOfOp().size() != 1) {
            throw new IllegalArgumentException("op '" + op.getName() + "' does not have exactly one output");
        }
        return op.getOutputsOfOp().get(0);
    }

    private INDArray requireConstant(String var) {
        SDVariable v = sd.hasVariable(var) ? sd.getVariable(var) : null;
        if (v == null || v.getVariableType() != VariableType.CONSTANT) {
            throw new IllegalArgumentException("'" + var + "' is not a constant of the graph");
        }
        return v.getArr();
    }

}
