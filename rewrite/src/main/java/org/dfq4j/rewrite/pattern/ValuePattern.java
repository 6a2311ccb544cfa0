package org.dfq4j.rewrite.pattern;

import org.dfq4j.rewrite.view.GraphView;

/**
 * Matches a variable (an op's operand): a constant, a placeholder, or the output of ops matching an
 * op pattern ({@link Patterns#producedBy(Pattern)}). Used by {@link Patterns#operand} and
 * {@link Patterns#commutative}. Matching never changes the graph.
 */
@FunctionalInterface
public interface ValuePattern {

    /**
     * Tries to match variable {@code var}. On success the match holds the ops it consumed (none for
     * a constant) and what it bound; a failure says why.
     */
    MatchResult match(GraphView graph, String var);
}
