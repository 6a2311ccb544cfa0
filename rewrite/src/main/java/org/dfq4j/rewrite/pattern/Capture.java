package org.dfq4j.rewrite.pattern;

import java.util.Objects;

/**
 * A typed name for something a pattern binds: a {@link org.dfq4j.rewrite.graph.WeightLayer}, a
 * per-channel op, an op name. Keep captures as constants beside the pattern that binds them; read
 * them back from the {@link Match} with {@link Match#get(Capture)} or {@link Match#getAll(Capture)}.
 * Two captures are the same capture only if they are the same object.
 *
 * @param <T> the type of the bound value
 */
public final class Capture<T> {

    private final String name;
    private final Class<T> type;

    private Capture(String name, Class<T> type) {
        this.name = Objects.requireNonNull(name);
        this.type = Objects.requireNonNull(type);
    }

    /** A capture of values of {@code type}, called {@code name} in messages. */
    public static <T> Capture<T> of(String name, Class<T> type) {
        return new Capture<>(name, type);
    }

    /** The name used in messages. */
    public String name() {
        return name;
    }

    /** The type of the bound values. */
    public Class<T> type() {
        return type;
    }

    T cast(Object o) {
        return type.cast(o);
    }

    @Override
    public String toString() {
        return name + ":" + type.getSimpleName();
    }
}
