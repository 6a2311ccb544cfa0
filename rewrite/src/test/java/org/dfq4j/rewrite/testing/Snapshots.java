package org.dfq4j.rewrite.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.dfq4j.rewrite.graph.Network;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.VariableType;

/** Exact copies of every constant of a network, to assert that a rewrite changed nothing. */
public final class Snapshots {

    private Snapshots() {
    }

    public static Map<String, float[]> constants(Network n) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (SDVariable v : n.sameDiff().variables()) {
            if (v.getVariableType() == VariableType.CONSTANT && v.getArr().dataType().isFPType()) {
                m.put(v.name(), v.getArr().dup().data().asFloat());
            }
        }
        return m;
    }

    /** Asserts both networks hold the same constants with bit-identical values. */
    public static void assertSameConstants(Network expected, Network actual) {
        Map<String, float[]> a = constants(expected);
        Map<String, float[]> b = constants(actual);
        assertEquals(a.keySet(), b.keySet());
        a.forEach((k, v) -> assertArrayEquals(v, b.get(k), 0f, k));
    }
}
