package org.dfq4j.rewrite.engine;

/**
 * A whole-graph algorithm (equalization, absorption, bias correction, fake-quant insertion) that
 * changes the graph only through the {@link GraphEditor} it is given and logs what it applied.
 * Transforms edit in place; {@link Pipeline} runs them on a copy and checks the graph after each.
 */
public interface Transform {

    default String name() {
        return getClass().getSimpleName();
    }

    void apply(GraphEditor editor, RewriteLog log);
}
