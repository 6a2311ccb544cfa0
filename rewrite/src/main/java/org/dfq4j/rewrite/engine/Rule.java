package org.dfq4j.rewrite.engine;

import java.util.List;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;

/**
 * A local rewrite: a pattern, and what to do with one match. The {@link RewriteDriver} applies
 * rules to a fixpoint: it rewrites the first match, looks again, and stops when nothing matches.
 * Each implementation states its algebraic identity in a one-line comment. A rewrite must change
 * the graph so that the pattern no longer matches at the same anchor (the driver checks that it
 * changed something), and changes it only through the {@link GraphEditor}.
 *
 * <p>For a rewrite that needs all its matches at once (cross-layer equalization sweeps pairs that
 * share a layer together), see {@link JointRule}.
 */
public interface Rule {

    /** The name logs and reports use; the class's simple name by default. */
    default String name() {
        return getClass().getSimpleName();
    }

    /** Where the rule applies. */
    Pattern pattern();

    /** Rewrites one match through the editor and logs what it did. */
    void rewrite(Match match, GraphEditor editor, RewriteLog log);

    /**
     * The line that ends the rule's part of the log, once the fixpoint is reached; "applied n times
     * (fixpoint)" unless a rule says more.
     *
     * @param rewrites how many matches it rewrote
     * @param logged   the entries its rewrites logged, in order
     */
    default String summary(int rewrites, List<RewriteLog.Entry> logged) {
        return "applied " + rewrites + " time" + (rewrites == 1 ? "" : "s") + " (fixpoint)";
    }

    /** How the log names a place the pattern looked at and refused, e.g. "not folded". */
    default String refusal() {
        return "not applied";
    }
}
