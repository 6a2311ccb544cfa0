package org.dfq4j.rewrite.engine;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The check drivers and pipelines run after every transform or rule, beside {@link WellFormedness}:
 * every constant and every statistic it produced is finite. A step that divides by a zero range,
 * or scales values out of float range, is stopped where it happened, naming the step and the tensor,
 * instead of turning the model's outputs into NaN.
 */
final class FiniteResults {

    private FiniteResults() {
    }

    /**
     * @param since the editor's change count before the step ran
     * @param step  the rule or transform, for the message
     * @throws DfqException naming the step and the first non-finite constant or statistic it produced
     */
    static void require(GraphEditor editor, int since, String step) {
        List<String> changes = editor.changes();
        Set<String> constants = new LinkedHashSet<>();
        Set<String> stats = new LinkedHashSet<>();
        for (String c : changes.subList(since, changes.size())) {
            if (c.startsWith("setConstant ") || c.startsWith("addConstant ")) {
                constants.add(c.substring(c.indexOf(' ') + 1));
            } else if (c.startsWith("setStats ")) {
                stats.add(c.substring("setStats ".length()));
            }
        }
        SameDiff sd = editor.network().sameDiff();
        for (String name : constants) {
            String bad = sd.hasVariable(name) ? ModelChecks.nonFinite(sd.getArrForVarName(name)) : null;
            if (bad != null) {
                throw new DfqException(step + " produced a non-finite value: constant '" + name + "' " + bad
                        + "; the model holds values this step cannot handle in float precision");
            }
        }
        for (String layer : stats) {
            ChannelStats s = editor.network().stats().get(layer);
            String bad = s == null ? null : nonFinite(s);
            if (bad != null) {
                throw new DfqException(step + " produced non-finite statistics for '" + layer + "': " + bad);
            }
        }
    }

    private static String nonFinite(ChannelStats s) {
        for (int c = 0; c < s.mean().length; c++) {
            if (!Double.isFinite(s.mean()[c]) || !Double.isFinite(s.std()[c]) || s.std()[c] < 0) {
                return "channel " + c + " has mean " + s.mean()[c] + " and standard deviation " + s.std()[c];
            }
        }
        return null;
    }
}
