package org.dfq4j.rewrite.quant;

import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Transform;
import org.dfq4j.rewrite.transform.PerChannelOp;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Removes clamps that the fake-quant right after them already performs. A fake-quant with range
 * [lo, hi] clamps its input to [lo, hi], so
 *
 * <pre>
 *   fq(relu(x))       = fq(x)   when lo >= 0
 *   fq(relu6(x))      = fq(x)   when lo >= 0 and hi <= 6
 *   fq(min(x, t_c))   = fq(x)   when hi <= min_c t_c   (the per-channel clip CLE keeps for ReLU6)
 *   fq(min(relu(x), t_c)) = fq(min(x, t_c))   when lo >= 0 and t >= 0
 * </pre>
 *
 * Exact, and it saves a full pass over each activation: the 8-bit simulation then costs little
 * more than the float network. Only clamps whose sole consumer is the fake-quant are removed.
 */
public final class FoldClampsIntoFakeQuant implements Transform {

    @Override
    public void apply(GraphEditor editor, RewriteLog log) {
        int relu = 0;
        int relu6 = 0;
        int clips = 0;
        boolean changed = true;
        while (changed) {
            changed = false;
            GraphView g = editor.view();
            for (String fq : g.ops()) {
                if (!g.opType(fq).equals(InsertFakeQuant.OP)) {
                    continue;
                }
                List<String> in = g.inputs(fq);
                String x = in.get(0);
                String producer = g.producer(x);
                if (producer == null || g.fanOut(x) != 1 || g.isNetworkOutput(x)) {
                    continue;
                }
                double lo = g.constant(in.get(1)).getDouble(0);
                double hi = g.constant(in.get(2)).getDouble(0);
                PerChannelOp p = PerChannelOp.classify(g, producer);
                if (p == null) {
                    continue;
                }
                boolean redundant = switch (p.kind()) {
                    case RELU -> lo >= 0;
                    case RELU6 -> lo >= 0 && hi <= 6;
                    case CLIP -> hi <= g.constant(p.clipConstant()).minNumber().doubleValue();
                    default -> false;
                };
                if (!redundant && p.kind() == PerChannelOp.Kind.CLIP && lo >= 0
                        && g.constant(p.clipConstant()).minNumber().doubleValue() >= 0) {
                    // fq(min(relu(x), t)) = fq(min(x, t)) for t >= 0 and lo >= 0: the relu goes
                    String inner = g.producer(g.inputs(producer).get(0));
                    String innerOut = g.inputs(producer).get(0);
                    PerChannelOp q = inner == null || g.fanOut(innerOut) != 1 || g.isNetworkOutput(innerOut) ? null
                            : PerChannelOp.classify(g, inner);
                    if (q != null && q.kind() == PerChannelOp.Kind.RELU) {
                        editor.bypass(inner);
                        relu++;
                        changed = true;
                        break;
                    }
                }
                if (redundant) {
                    editor.bypass(producer);
                    switch (p.kind()) {
                        case RELU -> relu++;
                        case RELU6 -> relu6++;
                        default -> clips++;
                    }
                    changed = true;
                    break;
                }
            }
        }
        log.add(name(), "removed clamps the next fake-quant performs: " + relu + " relu, " + relu6 + " relu6, "
                + clips + " per-channel clips", List.of(), Map.of("relu", relu, "relu6", relu6, "clips", clips));
    }
}
