package org.dfq4j.rewrite.testing;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;

/** How many ops of each kind a network's graph has (tests compare graphs by it). */
public final class OpCounts {

    private OpCounts() {
    }

    /** Op counts by kind; ops outside the registry count as {@link OpKind#OTHER}. */
    public static Map<OpKind, Integer> of(Network net) {
        Map<OpKind, Integer> counts = new EnumMap<>(OpKind.class);
        net.sameDiff().getOps().values().forEach(op -> counts.merge(OpKind.of(op), 1, Integer::sum));
        return counts;
    }

    /** The raw names of the ops outside the registry, with their counts (for messages). */
    public static Map<String, Integer> others(Network net) {
        Map<String, Integer> counts = new TreeMap<>();
        net.sameDiff().getOps().values().stream().filter(op -> OpKind.of(op) == OpKind.OTHER)
                .forEach(op -> counts.merge(OpKind.nameOf(op), 1, Integer::sum));
        return counts;
    }
}
