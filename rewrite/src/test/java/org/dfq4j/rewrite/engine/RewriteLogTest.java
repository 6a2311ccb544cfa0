package org.dfq4j.rewrite.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RewriteLogTest {

    @Test
    void printsOneLinePerEntryAndConvertsToMaps() {
        RewriteLog log = new RewriteLog();
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("minScale", 0.25);
        values.put("channels", 32);
        log.add("CrossLayerEqualization", "equalized pair", List.of("conv1", "conv2"), values);
        log.add("FoldBatchNorm", "applied 2 times");
        assertEquals("CrossLayerEqualization: equalized pair [conv1, conv2] minScale=0.2500 channels=32\n"
                + "FoldBatchNorm: applied 2 times\n", log.toString());
        List<Map<String, Object>> maps = log.toMaps();
        assertEquals(2, maps.size());
        assertEquals("CrossLayerEqualization", maps.get(0).get("step"));
        assertEquals(List.of("conv1", "conv2"), maps.get(0).get("targets"));
        assertEquals(values, maps.get(0).get("values"));
        assertEquals(0.25, log.entries().get(0).number("minScale"));
        assertTrue(Double.isNaN(log.entries().get(1).number("minScale")));
        assertEquals(1, log.entries("FoldBatchNorm").size());
    }
}
