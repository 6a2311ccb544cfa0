package org.dfq4j.rewrite.engine;

import org.dfq4j.rewrite.view.GraphView;

/** The check drivers and pipelines run after rewriting: a malformed graph is a bug in a rule. */
final class WellFormedness {

    private WellFormedness() {
    }

    static void require(GraphView graph, String after) {
        if (!graph.isWellFormed()) {
            throw new IllegalStateException("graph of '" + graph.name() + "' is malformed after " + after
                    + ": " + String.join("; ", graph.problems()));
        }
    }
}
