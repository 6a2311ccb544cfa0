package org.dfq4j.rewrite.graph;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;

/**
 * Keeps op names apart from variable names. SameDiff names ops automatically ("conv2d_2") in a
 * namespace of their own, but {@code SameDiff.dup()} and {@code save}/{@code load} confuse an op with
 * a variable of the same name (measured on the Keras-named Tiny-Darknet: after dup, op "conv2d_2",
 * which produced variable "conv2d_1", produced "conv2d_2", and the copy computed garbage). Every op
 * whose name is also a variable's is renamed "&lt;name&gt;_op" (made unique), keeping op order.
 */
public final class OpNames {
    private OpNames() {
    }

    /** Renames colliding ops in place; returns how many were renamed. */
    public static int separateFromVariables(SameDiff sd) {
        return separate(sd).size();
    }

    /**
     * A copy of {@code sd} that leaves {@code sd} as it was: colliding ops are renamed apart for the
     * copy (which {@code dup()} needs) and renamed back afterwards.
     */
    public static SameDiff copy(SameDiff sd) {
        Map<String, String> renamed = separate(sd);
        try {
            return sd.dup();
        } finally {
            Map<String, String> back = new LinkedHashMap<>();
            renamed.forEach((old, now) -> back.put(now, old));
            rename(sd, back);
        }
    }

    /** Renames colliding ops; returns old name -> new name. */
    private static Map<String, String> separate(SameDiff sd) {
        Map<String, SameDiffOp> ops = sd.getOps();
        Set<String> variables = sd.getVariables().keySet();
        List<String> clashing = new ArrayList<>();
        for (String op : ops.keySet()) {
            if (variables.contains(op)) {
                clashing.add(op);
            }
        }
        if (clashing.isEmpty()) {
            return Map.of();
        }
        Set<String> taken = new HashSet<>(ops.keySet());
        taken.addAll(variables);
        Map<String, String> renamed = new LinkedHashMap<>();
        for (String old : clashing) {
            String now = old + "_op";
            for (int i = 1; taken.contains(now); i++) {
                now = old + "_op" + i;
            }
            taken.add(now);
            renamed.put(old, now);
        }
        rename(sd, renamed);
        return renamed;
    }

    /** Renames ops old -> new, keeping op order and the variables' producer and consumer lists consistent. */
    private static void rename(SameDiff sd, Map<String, String> renamed) {
        if (renamed.isEmpty()) {
            return;
        }
        Map<String, SameDiffOp> ops = sd.getOps();
        Map<String, SameDiffOp> reordered = new LinkedHashMap<>();
        for (Map.Entry<String, SameDiffOp> e : ops.entrySet()) {
            String now = renamed.getOrDefault(e.getKey(), e.getKey());
            SameDiffOp op = e.getValue();
            if (!now.equals(e.getKey())) {
                op.setName(now);
                op.getOp().setOwnName(now);
            }
            reordered.put(now, op);
        }
        for (Variable v : sd.getVariables().values()) {
            if (v.getOutputOfOp() != null && renamed.containsKey(v.getOutputOfOp())) {
                v.setOutputOfOp(renamed.get(v.getOutputOfOp()));
            }
            List<String> consumers = v.getInputsForOp();
            if (consumers != null) {
                consumers.replaceAll(c -> renamed.getOrDefault(c, c));
            }
        }
        ops.clear();
        ops.putAll(reordered);
    }
}
