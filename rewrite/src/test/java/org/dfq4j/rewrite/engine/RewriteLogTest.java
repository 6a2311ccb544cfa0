package org.dfq4j.rewrite.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class RewriteLogTest {

    @Test
    void printsOneLinePerEntryWithValuesInTheOrderGiven() {
        RewriteLog log = new RewriteLog();
        log.add("CrossLayerEqualization", "equalized pair", List.of("conv1", "conv2"),
                RewriteLog.values("minScale", 0.25, "channels", 32, "converged", true));
        log.add("FoldBatchNorm", "applied 2 times");
        assertEquals("CrossLayerEqualization: equalized pair [conv1, conv2] minScale=0.2500 channels=32 converged=true\n"
                + "FoldBatchNorm: applied 2 times\n", log.toString());
        assertEquals(List.of("minScale", "channels", "converged"), List.copyOf(log.entries().get(0).values().keySet()));
        assertEquals(0.25, log.entries().get(0).number("minScale"));
        assertTrue(Double.isNaN(log.entries().get(1).number("minScale")));
        assertEquals(1, log.entries("FoldBatchNorm").size());
    }

    @Test
    void entriesAreWrittenAsJsonInAStableKeyOrder() throws Exception {
        RewriteLog log = new RewriteLog();
        // keys neither sorted nor in hash order: the JSON keeps the order they were given in
        log.add("AbsorbHighBias", "absorbed", List.of("c1"), RewriteLog.values("z", 1, "a", 2, "m", 3, "b", 4));
        String json = new ObjectMapper().writeValueAsString(log.entries());
        assertEquals("[{\"step\":\"AbsorbHighBias\",\"message\":\"absorbed\",\"targets\":[\"c1\"],"
                + "\"values\":{\"z\":1,\"a\":2,\"m\":3,\"b\":4}}]", json);
    }
}
