package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The commands end to end on a tiny ONNX classifier and generated photographs. */
class CliCommandsTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path classes;
    static Path images;

    /**
     * Output 0 is "red", output 1 is "green": a 1x1 conv copies R and G into channels 0 and 1, global
     * average pooling, and an identity-like Gemm, so a red photograph scores output 0 highest.
     */
    @BeforeAll
    static void setUp() throws Exception {
        float[] w = new float[4 * 3];
        w[0] = 1; // out 0 <- R
        w[3 + 1] = 1; // out 1 <- G
        w[6 + 2] = 1; // out 2 <- B
        w[9] = 0.5f;
        float[] fc = {4, 0, 0, 0, 0, 4, 0, 0};
        model = TinyClassifier.write(dir.resolve("colours.onnx"), 16, Nd4j.createFromArray(w).reshape(4, 3, 1, 1), true,
                Nd4j.createFromArray(fc).reshape(2, 4));
        classes = Files.writeString(dir.resolve("classes.txt"), "red\ngreen\n");
        images = Files.createDirectory(dir.resolve("photos"));
        for (int i = 0; i < 3; i++) {
            TinyClassifier.photo(images.resolve("red_" + i + ".png"), new Color(200 + 20 * i, 30 * i, 20), 40, 30);
            TinyClassifier.photo(images.resolve("green_" + i + ".png"), new Color(30 * i, 180 + 30 * i, 40), 40, 30);
        }
    }

    /** Runs a command that must succeed, checking that it modified no input ({@link DfqRun}). */
    private static String dfq(String... args) {
        return DfqRun.ok(args);
    }

    @SuppressWarnings("unchecked")
    private static <T> T json(Path p) throws Exception {
        return (T) new ObjectMapper().readValue(Files.readAllBytes(p), Object.class);
    }

    @Test
    void evalWritesTheDocumentedKeys() throws Exception {
        Path j = dir.resolve("eval.json");
        String out = dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--batch", "4", "--json", j.toString());
        assertTrue(out.contains("backend: CPU"), out);
        Map<String, Object> m = json(j);
        for (String k : List.of("top1", "top5", "images", "imagesPerSecond", "backend", "model")) {
            assertTrue(m.containsKey(k), "missing key " + k + " in " + m.keySet());
        }
        assertEquals(100.0, ((Number) m.get("top1")).doubleValue(), 1e-9);
        assertEquals(6, ((Number) m.get("images")).intValue());
    }

    @Test
    void quantizedEvalReportsFidelityAndSavesAGraphThatLoadsBack() throws Exception {
        Path j = dir.resolve("q.json");
        Path saved = dir.resolve("q.dfq");
        String printed = dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--equalize", "--quantize", "--act-range", "calib", "--calib", "4", "--calib-images",
                images.toString(), "--json", j.toString(), "--out", saved.toString(), "--explain");
        // --explain: per rule, where it applied and where it refused, with the reason
        for (String line : List.of("CrossLayerEqualization: equalized conv -> relu -> reduce_mean -> reshape -> fc [conv, fc]",
                "CrossLayerEqualization: not equalized: 'fc' is a network output [fc]",
                "FoldClampsIntoFakeQuant: removed relu (the fake-quant clamps to its range) [act]",
                "FoldClampsIntoFakeQuant: removed clamps the next fake-quant performs: 1 relu, 0 relu6, 0 per-channel clips")) {
            assertTrue(printed.contains("\n  " + line), "--explain prints '" + line + "':\n" + printed);
        }
        Map<String, Object> m = json(j);
        assertEquals(Boolean.TRUE, m.get("quantized"));
        assertEquals("calib:4", m.get("actRangeSource"));
        Map<String, Object> fidelity = (Map<String, Object>) m.get("fidelity");
        assertEquals(100.0, ((Number) fidelity.get("agreement")).doubleValue(), 1e-9);
        assertTrue(Files.exists(Path.of(saved + ".log.json")));
        // the saved 8-bit graph evaluates to the same accuracy
        Path j2 = dir.resolve("reloaded.json");
        dfq("eval", "--model", saved.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--json", j2.toString());
        assertEquals(((Number) m.get("top1")).doubleValue(), ((Number) ((Map<String, Object>) json(j2)).get("top1")).doubleValue(), 1e-9);
        // the lowered run of the same 8-bit network says so and agrees with the op-based one
        Path j3 = dir.resolve("lowered.json");
        String out = dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--equalize", "--quantize", "--act-range", "calib", "--calib", "4", "--calib-images",
                images.toString(), "--fake-quant", "lowered", "--json", j3.toString());
        assertTrue(out.contains("8-bit execution") && out.contains("fake-quants (scales folded into weights)"), out);
        Map<String, Object> fidelity3 = (Map<String, Object>) ((Map<String, Object>) json(j3)).get("fidelity");
        assertEquals(((Number) fidelity.get("agreement")).doubleValue(), ((Number) fidelity3.get("agreement")).doubleValue(), 1e-9);
    }

    @Test
    void tableHasEveryRowAndSaysWhyARowCannotRun() throws Exception {
        Path j = dir.resolve("table.json");
        Path md = dir.resolve("table.md");
        dfq("table", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--calib", "4", "--calib-images", images.toString(), "--json", j.toString(),
                "--markdown", md.toString(), "--bits", "8/8,4/8");
        List<Map<String, Object>> rows = json(j);
        assertEquals(List.of("original", "replace relu6", "+equalization", "+absorption", "+bias correction",
                "equalization, ReLU6 kept", "equalization, ReLU6 kept, +correction", "per-channel weights"),
                rows.stream().map(r -> r.get("row")).toList());
        Map<String, Object> absorption = rows.get(3);
        assertEquals(Boolean.FALSE, absorption.get("available"), "no BatchNorm in this model: absorption is n/a");
        assertTrue(((String) absorption.get("reason")).contains("BatchNorm"));
        for (Map<String, Object> r : rows) {
            if (Boolean.TRUE.equals(r.get("available"))) {
                assertTrue(r.containsKey("fp32Top1") && r.containsKey("int8Top1"), r.toString());
                // --bits 8/8 is the W8A8 column again: the same quantizers, the same numbers
                Map<String, Object> bits = (Map<String, Object>) r.get("bits");
                Map<String, Object> w8a8 = new java.util.HashMap<>((Map<String, Object>) r.get("w8a8"));
                Map<String, Object> again = new java.util.HashMap<>((Map<String, Object>) bits.get("W8A8"));
                w8a8.remove("imagesPerSecond");
                again.remove("imagesPerSecond");
                assertEquals(w8a8, again, r.toString());
                assertTrue(bits.containsKey("W4A8"), r.toString());
            }
        }
        assertTrue(Files.readString(md).contains("| original |"));
        assertTrue(Files.readString(md).contains("W4A8 top1"), Files.readString(md));
        DfqRun bad = DfqRun.dfq("table", "--model", model.toString(), "--images", images.toString(), "--labels",
                classes.toString(), "--bits", "8-8");
        assertEquals(2, bad.code(), bad.toString());
        assertTrue(bad.err().contains("--bits"), bad.err());
    }

    @Test
    void demoRunsWithNoFiles() throws Exception {
        Path j = dir.resolve("demo.json");
        String out = dfq("demo", "--width", "0.35", "--resolution", "64", "--count", "2", "--json", j.toString());
        assertTrue(out.contains("per-channel weights"), out);
        List<Map<String, Object>> rows = json(j);
        assertEquals(8, rows.size());
        for (Map<String, Object> r : rows) {
            Map<String, Object> fp32 = (Map<String, Object>) r.get("fp32");
            Object v = fp32.get("fidelity_sqnrDb");
            // JSON has no infinity: identical outputs (infinite SQNR) are written as "Infinity"
            double sqnr = v instanceof Number n ? n.doubleValue() : Double.parseDouble((String) v);
            String name = (String) r.get("row");
            if (name.equals("original") || name.startsWith("equalization, ReLU6 kept")) {
                // these rows do not change the float network (CLE keeping ReLU6 is exact up to rounding)
                assertTrue(sqnr > 60, name + ": FP32 SQNR " + sqnr);
            }
        }
        assertFalse(out.contains("NaN"), out);
    }

    @Test
    @SuppressWarnings("unchecked")
    void benchTakesTheSameRecipeFlagsAsEvalAndComparesTwoRuns() throws Exception {
        Path j = dir.resolve("bench.json");
        String out = dfq("bench", "--model", model.toString(), "--relu", "--equalize", "--calib", "2", "--batch", "2",
                "--warmup", "0", "--runs", "2", "--json", j.toString());
        assertTrue(out.contains("8-bit execution: lowered"), out);
        Map<String, Object> m = json(j);
        assertTrue(((String) m.get("pipeline")).startsWith("replace relu6, equalize;"), m.toString());
        assertTrue(((Number) m.get("int8ImagesPerSecond")).doubleValue() > 0);
        Path c = dir.resolve("compare.json");
        String md = dfq("bench", "--compare", j.toString(), j.toString(), "--json", c.toString());
        assertTrue(md.contains("| 8-bit/FP32 | "), md);
        assertEquals(1.0, ((Number) ((Map<String, Object>) json(c)).get("fp32Ratio")).doubleValue(), 1e-12);
    }
}
