package org.dfq4j.rewrite.pattern;

import org.dfq4j.rewrite.view.GraphView;

/**
 * A pattern that also says what it matched as a typed value (a weight layer, a per-channel op), so
 * that {@link Patterns#capture(Capture, TypedPattern)} can bind it.
 *
 * @param <T> the value's type
 */
public interface TypedPattern<T> extends Pattern {

    /** The value of the op this pattern matched (called only after a successful match there). */
    T value(GraphView graph, String op);
}
