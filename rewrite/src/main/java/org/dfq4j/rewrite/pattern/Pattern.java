package org.dfq4j.rewrite.pattern;

import org.dfq4j.rewrite.view.GraphView;

/**
 * Matches a piece of graph starting at an op (the anchor). Matching never changes the graph.
 * Patterns are immutable; build them with the static factories of {@link Patterns} and keep them
 * as constants. A failed match is a value that says why, and whether the op was a candidate the
 * pattern looked at and refused ({@link MatchResult#refused()}) or not a candidate at all.
 */
@FunctionalInterface
public interface Pattern {

    /** Tries to match starting at {@code op}; a failure is a value that says why. */
    MatchResult match(GraphView graph, String op);
}
