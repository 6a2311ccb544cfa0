package org.dfq4j.rewrite.pattern;

import org.dfq4j.rewrite.view.GraphView;

/**
 * Matches a piece of graph starting at an op. Matching never changes the graph. Patterns are
 * immutable; build them with the static factories of {@link Patterns} and keep them as constants.
 */
@FunctionalInterface
public interface Pattern {

    /** Tries to match starting at {@code op}; a failure is a value that says why. */
    MatchResult match(GraphView graph, String op);
}
