package org.dfq4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The comparison mode on two recorded bench results. */
class BenchComparisonTest {

    private static Path recorded(String name) throws Exception {
        return Path.of(BenchComparisonTest.class.getResource("/bench/" + name).toURI());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(Path p) throws Exception {
        return new ObjectMapper().readValue(Files.readAllBytes(p), Map.class);
    }

    private static double num(Map<String, Object> m, String k) {
        return ((Number) m.get(k)).doubleValue();
    }

    @Test
    @SuppressWarnings("unchecked")
    void ratiosAreBOverAFromTheRecordedFiles() throws Exception {
        Path a = recorded("cpu-1-thread.json");
        Path b = recorded("cpu-2-threads.json");
        BenchComparison c = BenchComparison.of(BenchResult.read(a), BenchResult.read(b));
        Map<String, Object> m = new ObjectMapper().convertValue(c, Map.class);
        Map<String, Object> ja = json(a);
        Map<String, Object> jb = json(b);
        assertEquals(num(jb, "fp32ImagesPerSecond") / num(ja, "fp32ImagesPerSecond"), (Double) m.get("fp32Ratio"), 1e-12);
        assertEquals(num(jb, "int8ImagesPerSecond") / num(ja, "int8ImagesPerSecond"), (Double) m.get("int8Ratio"), 1e-12);
        assertEquals(num(jb, "pipelineSeconds") / num(ja, "pipelineSeconds"), (Double) m.get("pipelineRatio"), 1e-12);
        String md = c.markdown();
        assertTrue(md.contains((String) ja.get("device")) && md.contains((String) jb.get("device")), md);
        assertTrue(md.lines().anyMatch(l -> l.startsWith("| FP32 images/s |")), md);
    }

    @Test
    void aResultRoundTripsThroughJson(@TempDir Path dir) throws Exception {
        BenchResult r = BenchResult.read(recorded("cpu-2-threads.json"));
        Path again = dir.resolve("again.json");
        Files.writeString(again, new ObjectMapper().writeValueAsString(r));
        assertEquals(r, BenchResult.read(again));
        assertEquals(r.int8().median() / r.fp32().median(), r.int8OverFp32(), 1e-12);
        assertTrue(r.fp32().min() <= r.fp32().median() && r.fp32().median() <= r.fp32().max());
    }

    @Test
    void theRuntimesTableRoundTripsAndIsPrintedWithRatiosToNd4jFp32(@TempDir Path dir) throws Exception {
        BenchResult r = BenchResult.read(recorded("cpu-2-threads.json"));
        var rows = List.of(BenchResult.RuntimeThroughput.of("ND4J", "FP32", r.fp32(), 40),
                BenchResult.RuntimeThroughput.of("ND4J", "8-bit simulated (lowered)", r.int8(), 50),
                BenchResult.RuntimeThroughput.of(BenchResult.ONNX_RUNTIME, BenchResult.FP32_EXPORT,
                        new BenchResult.Throughput(10 * r.fp32().median(), 9 * r.fp32().median(),
                                11 * r.fp32().median()), 4));
        BenchResult withOrt = BenchResult.of(r.model(), r.backend(), r.device(), r.threads(), r.batch(), r.runs(),
                r.fp32(), r.int8(), r.pipelineSeconds(), r.quantizeSeconds(), r.pipeline(), r.peakPhysicalBytes(),
                r.peakHeapBytes(), r.profile(), r.layout(), r.peak(), r.fp32FlopsPerImage(), 40, 50, rows);
        Path again = dir.resolve("ort.json");
        Files.writeString(again, new ObjectMapper().writeValueAsString(withOrt));
        assertEquals(withOrt, BenchResult.read(again));
        assertEquals(List.of(), r.runtimes(), "a result without ONNX Runtime has no runtimes table");
        assertTrue(Double.isNaN(r.fp32OverOnnxRuntime()));
        assertEquals(0.1, withOrt.fp32OverOnnxRuntime(), 1e-12);
        assertEquals(0.1, num(json(again), "fp32OverOnnxRuntime"), 1e-12, "the JSON carries ND4J FP32 / ORT FP32");
        String md = BenchComparison.markdown(withOrt);
        assertTrue(md.lines().anyMatch(l -> l.startsWith("| ONNX Runtime | FP32 export |") && l.endsWith("| 10.00 |")), md);
        assertTrue(md.lines().anyMatch(l -> l.startsWith("| ND4J | FP32 |") && l.endsWith("| 40.0 | 1.00 |")), md);
        assertTrue(md.contains("ND4J FP32 / ONNX Runtime FP32 (same network, same run): 0.100"), md);
    }

    @Test
    void notABenchResultIsAOneLineError(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"model\": \"x\"}");
        DfqException e = assertThrows(DfqException.class, () -> BenchResult.read(bad));
        assertTrue(e.getMessage().contains("bad.json") && !e.getMessage().contains("\n"), e.getMessage());
        Path junk = Files.writeString(dir.resolve("junk.json"), "not json");
        assertThrows(DfqException.class, () -> BenchResult.read(junk));
    }

    @Test
    void throughputStatistics() {
        BenchResult.Throughput t = BenchResult.Throughput.of(8, new double[] {2.0, 1.0, 4.0});
        assertEquals(4.0, t.median(), 1e-12);
        assertEquals(2.0, t.min(), 1e-12);
        assertEquals(8.0, t.max(), 1e-12);
    }
}
