package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.functions.DifferentialFunction;

/** The op-kind registry agrees with ND4J: every kind's class reports the kind's name. */
class OpKindTest {

    @Test
    void everyKindIsTheNameItsNd4jClassReports() throws Exception {
        Set<String> names = new HashSet<>();
        for (OpKind k : OpKind.values()) {
            if (k == OpKind.OTHER) {
                assertTrue(k.opClass().isEmpty());
                continue;
            }
            DifferentialFunction f = k.opClass().orElseThrow().getDeclaredConstructor().newInstance();
            assertEquals(k.opName(), f.opName(), k.name());
            assertEquals(k, OpKind.of(f));
            assertTrue(names.add(k.opName()), "two kinds share the name " + k.opName());
        }
    }

    @Test
    void unknownNamesAreOtherAndSpellingMatters() {
        assertEquals(OpKind.OTHER, OpKind.ofName("einsum"));
        assertEquals(OpKind.OTHER, OpKind.ofName("clipbyvalue"), "SameDiff calls it ClipByValue");
        assertEquals(OpKind.CLIP_BY_VALUE, OpKind.ofName("ClipByValue"));
        assertTrue(OpKind.CONV2D.isWeightLayer() && OpKind.DEPTHWISE_CONV2D.isWeightLayer() && OpKind.DENSE.isWeightLayer());
        assertFalse(OpKind.BATCH_NORM.isWeightLayer());
    }
}
