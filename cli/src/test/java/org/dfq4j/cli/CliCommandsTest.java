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
    void evalNamesTheLayoutAndTheLabelOffset() throws Exception {
        Path folders = Files.createDirectories(dir.resolve("val"));
        Path flat = Files.createDirectories(dir.resolve("flat"));
        StringBuilder truth = new StringBuilder();
        int k = 0;
        try (var s = Files.list(images)) {
            for (Path p : s.sorted().toList()) {
                String cls = p.getFileName().toString().split("_")[0];
                Files.createDirectories(folders.resolve(cls));
                Files.copy(p, folders.resolve(cls).resolve("photo" + k + ".png"));
                Files.copy(p, flat.resolve("ILSVRC2012_val_0000000" + k + ".png"));
                truth.append("ILSVRC2012_val_0000000").append(k).append(".JPEG ").append(cls.equals("red") ? 0 : 1).append('\n');
                k++;
            }
        }
        Path withBackground = Files.writeString(dir.resolve("classes_bg.txt"), "background\nred\ngreen\n");
        String out = dfq("eval", "--model", model.toString(), "--images", folders.toString(), "--labels",
                withBackground.toString(), "--preprocess", "unit", "--batch", "4");
        assertTrue(out.contains("class sub-folders (torchvision ImageFolder)"), out);
        assertTrue(out.contains("preprocess     darknet (crop=0.875,"), out);
        assertTrue(out.contains("labels: the model has 2 outputs") && out.contains("class i = output i-1"), out);
        assertTrue(out.matches("(?s).*top1\\s+100\\.00.*"), out);
        Path gt = Files.writeString(dir.resolve("val.txt"), truth.toString());
        out = dfq("eval", "--model", model.toString(), "--images", flat.toString(), "--labels", withBackground.toString(),
                "--ground-truth", gt.toString(), "--preprocess", "unit", "--batch", "4");
        assertTrue(out.contains("flat files labelled by a ground-truth file") && out.contains("0-based class index"), out);
        // without --preprocess, an ONNX model gets torchvision's evaluation preprocessing, and the run says so
        out = dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--batch", "4");
        assertTrue(out.contains("preprocess     torchvision (") && out.contains("the default for ONNX models"), out);
        assertTrue(out.matches("(?s).*top1\\s+100\\.00.*"), out);
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
        assertTrue(out.contains("8-bit execution") && out.contains("folded into the weights"), out);
        Map<String, Object> fidelity3 = (Map<String, Object>) ((Map<String, Object>) json(j3)).get("fidelity");
        assertEquals(((Number) fidelity.get("agreement")).doubleValue(), ((Number) fidelity3.get("agreement")).doubleValue(), 1e-9);
    }

    @Test
    void holdoutCalibratesOnPhotographsItDoesNotEvaluate() throws Exception {
        List<Path> all;
        try (var s = Files.list(images)) {
            all = s.sorted(java.util.Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
        org.dfq4j.eval.data.Holdout split = org.dfq4j.eval.data.Holdout.of(all, 2);
        Path j = dir.resolve("holdout.json");
        String out = dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--equalize", "--correct=empirical", "--quantize", "--act-range", "calib",
                "--holdout", "2", "--json", j.toString());
        assertTrue(out.contains("4 photographs from") && out.contains("--holdout: 2 of 6 photographs held out"), out);
        assertFalse(out.contains("leaks"), out);
        Map<String, Object> m = json(j);
        assertEquals(4, ((Number) m.get("images")).intValue());
        assertEquals("calib:2", m.get("actRangeSource"), "--calib defaults to the photographs held out");
        // the same run with the split made by hand (two folders) gives the same numbers
        Path calib = Files.createDirectories(dir.resolve("holdout-calib"));
        Path eval = Files.createDirectories(dir.resolve("holdout-eval"));
        split.calibration().forEach(p -> copy(p, calib));
        split.evaluation().forEach(p -> copy(p, eval));
        Path j2 = dir.resolve("by-hand.json");
        out = dfq("eval", "--model", model.toString(), "--images", eval.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--equalize", "--correct=empirical", "--quantize", "--act-range", "calib",
                "--calib", "2", "--calib-images", calib.toString(), "--json", j2.toString());
        assertFalse(out.contains("leaks"), out);
        Map<String, Object> m2 = json(j2);
        for (String k : List.of("top1", "top5")) {
            assertEquals(((Number) m.get(k)).doubleValue(), ((Number) m2.get(k)).doubleValue(), 1e-12, k);
        }
        assertEquals(m.get("fidelity"), m2.get("fidelity"));
        // calibrating on the photographs evaluated warns, whether they are named or not
        out = dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--quantize", "--act-range", "calib", "--calib", "2", "--calib-images",
                images.toString());
        assertTrue(out.contains("warning: 2 of the 2 calibration photographs") && out.contains("leaks"), out);
        DfqRun.dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--quantize", "--holdout", "2", "--calib-images", calib.toString())
                .failsWithOneLine("--holdout", "--calib-images");
        DfqRun.dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--holdout", "6").failsWithOneLine("--holdout 6", "nothing to evaluate");
    }

    @Test
    @SuppressWarnings("unchecked")
    void anAutomaticEqualizationStrengthIsPrintedAndReproducedByGivingIt() throws Exception {
        Path j = dir.resolve("auto.json");
        String out = dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--equalize", "--correct=empirical", "--quantize", "--act-range", "calib",
                "--holdout", "2", "--equalize-strength", "auto", "--json", j.toString());
        assertTrue(out.contains("--equalize --equalize-strength auto --correct=empirical"), out);
        assertTrue(out.contains("chosen by output SQNR against FP32 on 2 calibration images"), out);
        Map<String, Object> m = json(j);
        Map<String, Object> choice = ((List<Map<String, Object>>) m.get("log")).stream()
                .filter(e -> org.dfq4j.rewrite.Quantizer.CHOOSE_STRENGTH.equals(e.get("step"))).findFirst().orElseThrow();
        double strength = ((Number) ((Map<String, Object>) choice.get("values")).get("strength")).doubleValue();
        assertTrue(org.dfq4j.rewrite.DfqRecipe.STRENGTHS.contains(strength), choice.toString());
        // giving the chosen strength outright is the same run
        Path j2 = dir.resolve("chosen.json");
        dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--equalize", "--correct=empirical", "--quantize", "--act-range", "calib",
                "--holdout", "2", "--equalize-strength", Double.toString(strength), "--json", j2.toString());
        Map<String, Object> m2 = json(j2);
        assertEquals(m.get("top1"), m2.get("top1"));
        assertEquals(m.get("fidelity"), m2.get("fidelity"));
    }

    private static void copy(Path file, Path folder) {
        try {
            Files.copy(file, folder.resolve(file.getFileName()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void tableHasEveryRowAndSaysWhyARowCannotRun() throws Exception {
        Path j = dir.resolve("table.json");
        Path md = dir.resolve("table.md");
        String out = dfq("table", "--model", model.toString(), "--images", images.toString(), "--labels",
                classes.toString(), "--preprocess", "unit", "--calib", "4", "--calib-images", images.toString(), "--json",
                j.toString(), "--markdown", md.toString(), "--bits", "8/8,4/8");
        assertTrue(out.contains("preprocess: darknet (") && out.contains("labels: class i of "), out);
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
    void infoListsTheSupportedOpsAndResolvesSymbolicDims() throws Exception {
        String ops = dfq("info", "--supported-ops");
        for (String op : List.of("HardSwish", "HardSigmoid", "Split", "Transpose", "ReduceMean", "Conv")) {
            assertTrue(ops.contains("\n  " + op + " "), op + " missing from:\n" + ops);
        }
        Path symbolic = dir.resolve("export_shapes.onnx");
        try (var in = CliCommandsTest.class.getResourceAsStream("/onnx/torchvision/export_shapes_op17_bnkept.onnx")) {
            Files.copy(in, symbolic);
        }
        String out = dfq("info", "--model", symbolic.toString(), "--input-shape", "3,48,48");
        assertTrue(out.contains("input: input [N,3,48,48]"), out);
    }

    @Test
    void demoRunsWithNoFilesAndMakesThePapersPoint() throws Exception {
        Path j = dir.resolve("demo.json");
        String out = dfq("demo", "--resolution", "64", "--count", "8", "--json", j.toString());
        assertTrue(out.contains("per-channel weights"), out);
        List<Map<String, Object>> rows = json(j);
        assertEquals(8, rows.size());
        Map<String, Map<String, Double>> sqnr = new java.util.HashMap<>();
        for (Map<String, Object> r : rows) {
            Map<String, Double> m = new java.util.HashMap<>();
            for (String p : List.of("fp32", "w8")) {
                // JSON has no infinity: identical outputs (infinite SQNR) are written as "Infinity"
                Object v = ((Map<String, Object>) r.get(p)).get("fidelity_sqnrDb");
                m.put(p, v instanceof Number n ? n.doubleValue() : Double.parseDouble((String) v));
            }
            sqnr.put((String) r.get("row"), m);
        }
        // naive per-tensor 8-bit weights are broken, equalization and per-channel weights restore them
        assertTrue(sqnr.get("original").get("w8") <= 10, "naive W8 logit SQNR " + sqnr.get("original"));
        assertTrue(sqnr.get("equalization, ReLU6 kept").get("w8") >= 20, "equalized W8 " + sqnr);
        assertTrue(sqnr.get("+equalization").get("w8") >= 20, "equalized (ReLU) W8 " + sqnr);
        assertTrue(sqnr.get("per-channel weights").get("w8") >= 20, "per-channel W8 " + sqnr);
        // rows that must not change the float network (CLE keeping ReLU6 is exact up to rounding)
        for (String row : List.of("original", "equalization, ReLU6 kept", "equalization, ReLU6 kept, +correction",
                "per-channel weights")) {
            assertTrue(sqnr.get(row).get("fp32") > 80, row + ": FP32 SQNR " + sqnr.get(row));
        }
        assertFalse(out.contains("NaN"), out);
    }

    @Test
    @SuppressWarnings("unchecked")
    void benchTakesTheSameRecipeFlagsAsEvalAndComparesTwoRuns() throws Exception {
        Path j = dir.resolve("bench.json");
        String out = dfq("bench", "--model", model.toString(), "--relu", "--equalize", "--calib", "2", "--batch", "2",
                "--warmup", "0", "--runs", "2", "--layout", "nchw", "--slice", "1", "--parallel", "kernels", "--json",
                j.toString());
        assertTrue(out.contains("8-bit execution: lowered"), out);
        Map<String, Object> m = json(j);
        assertEquals("NCHW, as imported; planned passes in slices of 1 image", m.get("layout"));
        assertTrue(((String) m.get("pipeline")).startsWith("replace relu6, equalize;"), m.toString());
        assertTrue(((Number) m.get("int8ImagesPerSecond")).doubleValue() > 0);
        Path c = dir.resolve("compare.json");
        String md = dfq("bench", "--compare", j.toString(), j.toString(), "--json", c.toString());
        assertTrue(md.contains("| 8-bit/FP32 | "), md);
        assertEquals(1.0, ((Number) ((Map<String, Object>) json(c)).get("fp32Ratio")).doubleValue(), 1e-12);
    }
}
