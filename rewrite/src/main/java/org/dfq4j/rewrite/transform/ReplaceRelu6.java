package org.dfq4j.rewrite.transform;

import static org.dfq4j.rewrite.pattern.Patterns.op;
import static org.dfq4j.rewrite.pattern.Patterns.where;

import java.util.List;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternRule;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Replaces ReLU6 by ReLU so that cross-layer equalization can pass the activation (METHOD.md section
 * 3). Not exact: it changes FP32 outputs wherever a pre-activation exceeds 6, so it is opt-in and
 * logged. A ReLU6 inside an h-swish (its input is x + 3) is left alone: h-swish is not ReLU-like.
 */
public final class ReplaceRelu6 extends PatternRule {

    // relu6(x) = min(max(x, 0), 6)  ->  relu(x) = max(x, 0)   (equal where x <= 6)

    private static final Pattern RELU6 = where(op(OpKind.RELU6), ReplaceRelu6::notInHardSwish,
            "relu6 is part of an h-swish (input is x + 3)");

    /** The rule. */
    public ReplaceRelu6() {
        super(RELU6, "kept");
    }

    @Override
    public void rewrite(Match match, GraphEditor editor, RewriteLog log) {
        String op = match.anchor();
        String out = editor.view().output(op);
        editor.replaceOp(op, x -> x.getSameDiff().nn().relu(x, 0));
        log.add(name(), "relu6 -> relu (changes FP32 where the input exceeds 6)", List.of(out));
    }

    private static boolean notInHardSwish(GraphView g, Match m) {
        String producer = g.producer(g.inputs(m.anchor()).get(0));
        return producer == null || g.kind(producer) != OpKind.ADD_SCALAR;
    }
}
