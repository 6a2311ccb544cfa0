package org.dfq4j.rewrite.engine;

import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;

/**
 * A local rewrite: a pattern, and what to do with a match. Each implementation states its algebraic
 * identity in a one-line comment. A rewrite must change the graph so that the pattern no longer
 * matches at the same anchor (the {@link RewriteDriver} checks that it changed something).
 */
public interface Rule {

    default String name() {
        return getClass().getSimpleName();
    }

    Pattern pattern();

    /** Rewrites one match through the editor and logs what it did. */
    void rewrite(Match match, GraphEditor editor, RewriteLog log);
}
