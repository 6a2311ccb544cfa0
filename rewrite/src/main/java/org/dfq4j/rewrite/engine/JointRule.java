package org.dfq4j.rewrite.engine;

import org.dfq4j.rewrite.pattern.Pattern;

/**
 * A rewrite whose matches are taken together: the {@link RewriteDriver} finds every match of the
 * pattern on one view of the graph (anchors in topological order; overlapping matches are all
 * kept) and hands them over in one call. For whole-graph algorithms whose candidates are local
 * patterns: cross-layer equalization (pairs that share a layer are swept jointly), high-bias
 * absorption, dead-channel elimination, bias correction, weight quantization, fake-quant placement
 * and lowering. Changes go through the {@link GraphEditor} only.
 *
 * <p>A joint rule is a {@link Transform}: applying it runs it through the driver, which logs the
 * places the pattern refused (with the reason) before the rule's own entries, then checks that the
 * graph is well-formed.
 */
public interface JointRule extends Transform {

    /** Where the rule applies. */
    Pattern pattern();

    /** Rewrites every match (possibly none) through the editor and logs what it did. */
    void rewrite(Matches matches, GraphEditor editor, RewriteLog log);

    /** How the log names a place the pattern looked at and refused, e.g. "not paired". */
    default String refusal() {
        return "not applied";
    }

    /** Runs this rule through the driver: find the matches, log the refusals, rewrite, check the graph. */
    @Override
    default void apply(GraphEditor editor, RewriteLog log) {
        RewriteDriver.once(this).apply(editor, log);
    }
}
