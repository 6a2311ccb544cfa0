package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** dfq export, dfq eval --runtime onnxruntime and dfq bench --runtime onnxruntime on a tiny classifier. */
class CliExportTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path classes;
    static Path images;
    static Path calib;

    /** Output 0 "red", output 1 "green": 3x3 conv with bias, ReLU, global pooling, Gemm (3x3, unlike TinyClassifier's 1x1). */
    @BeforeAll
    static void setUp() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 16, 16);
        float[] w = new float[4 * 3 * 9];
        for (int k = 0; k < 9; k++) {
            w[k] = 1f / 9; // out 0 <- R
            w[27 + 9 + k] = 1f / 9; // out 1 <- G
            w[54 + 18 + k] = 1f / 9; // out 2 <- B
            w[81 + k] = 0.05f;
        }
        String c = m.node("Conv", "conv", List.of("x", m.floats("w", Nd4j.createFromArray(w).reshape(4, 3, 3, 3)),
                m.floats("b", Nd4j.createFromArray(0.01f, 0.02f, -0.01f, 0.1f))), OnnxModelWriter.ints("pads", 1, 1, 1, 1));
        String p = m.node("GlobalAveragePool", "pool", List.of(m.node("Relu", "relu", List.of(c))));
        String f = m.node("Flatten", "flat", List.of(p));
        float[] fc = {4, 0, 0, 0, 0, 4, 0, 0};
        m.output(m.node("Gemm", "fc", List.of(f, m.floats("fcw", Nd4j.createFromArray(fc).reshape(2, 4))),
                OnnxModelWriter.integer("transB", 1)));
        model = m.write(dir.resolve("colours.onnx"));
        classes = Files.writeString(dir.resolve("classes.txt"), "red\ngreen\n");
        images = Files.createDirectory(dir.resolve("photos"));
        calib = Files.createDirectory(dir.resolve("calib"));
        for (int i = 0; i < 3; i++) {
            TinyClassifier.photo(images.resolve("red_" + i + ".png"), new Color(200 + 20 * i, 30 * i, 20), 40, 30);
            TinyClassifier.photo(images.resolve("green_" + i + ".png"), new Color(30 * i, 180 + 30 * i, 40), 40, 30);
            TinyClassifier.photo(calib.resolve("c" + i + ".png"), new Color(90 * i, 250 - 60 * i, 30 + 70 * i), 40, 30);
        }
    }

    /** Runs a command that must succeed, checking that it modified no input ({@link DfqRun}). */
    private static String ok(String... args) {
        return DfqRun.ok(args);
    }

    /** dfq export of the colour classifier to {@code name}.onnx (preprocess unit), its JSON report beside it; the output. */
    private static String export(String name, String... more) {
        List<String> args = new ArrayList<>(List.of("export", "--model", model.toString(), "--out",
                dir.resolve(name + ".onnx").toString(), "--preprocess", "unit", "--json",
                dir.resolve(name + "-export.json").toString()));
        args.addAll(List.of(more));
        return ok(args.toArray(String[]::new));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(Path p) throws Exception {
        return new ObjectMapper().readValue(Files.readAllBytes(p), Map.class);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aFloatExportRunsInOnnxRuntimeLikeDfq4j() throws Exception {
        String text = export("fp32", "--check-images", images.toString());
        assertTrue(text.contains("float ONNX opset 13") && text.contains("top-1 agrees on 6/6"), text);
        Path out = dir.resolve("fp32.onnx");
        Map<String, Object> check = (Map<String, Object>) json(dir.resolve("fp32-export.json")).get("check");
        double rel = ((Number) ((Map<String, Object>) check.get("fp32")).get("maxRelativeDifference")).doubleValue();
        assertTrue(rel < 1e-5, "relative difference " + rel);

        Path e = dir.resolve("ort.json");
        // no --preprocess: the file records the one it was exported with (unit), not the ONNX default (torchvision)
        String eval = ok("eval", "--runtime", "onnxruntime", "--model", out.toString(), "--images", images.toString(),
                "--labels", classes.toString(), "--json", e.toString());
        assertTrue(eval.contains("darknet (crop=0.875,filter=bilinear,scale=0.00392156862745098,offset=0), as recorded by dfq export"),
                eval);
        Map<String, Object> m = json(e);
        assertEquals("ONNX Runtime", m.get("backend"));
        assertEquals(100.0, ((Number) m.get("top1")).doubleValue(), 1e-9);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aQdqExportRunsOnIntegerKernelsAndReadsBackAsTheSimulation() throws Exception {
        String text = export("int8", "--quantize", "--act-range", "calib", "--calib", "3", "--calib-images",
                calib.toString(), "--check-images", images.toString());
        assertTrue(text.contains("QDQ ONNX opset 13") && text.contains("QLinearConv"), text);
        Path out = dir.resolve("int8.onnx");
        Map<String, Object> report = json(dir.resolve("int8-export.json"));
        assertEquals(2, ((Number) report.get("int8Weights")).intValue());
        Map<String, Object> int8 = (Map<String, Object>) ((Map<String, Object>) report.get("check")).get("int8");
        assertTrue(((Map<String, Object>) int8.get("integerKernels")).containsKey("com.microsoft.QLinearConv"), int8.toString());
        // ONNX Runtime's two executions of the file are also compared with each other, photograph by photograph
        Map<String, Object> modes = (Map<String, Object>) ((Map<String, Object>) report.get("check")).get("int8VsSimulate");
        assertTrue(text.contains("integer kernels vs its own simulation of the file: top-1 agrees on"), text);
        assertEquals(6, ((Number) modes.get("positions")).intValue(), modes.toString());

        // dfq4j's own reader of the file computes the simulation it came from, photograph by photograph
        Path sim = dir.resolve("sim.json");
        Path back = dir.resolve("back.json");
        ok("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit", "--quantize", "--act-range", "calib", "--calib", "3", "--calib-images", calib.toString(),
                "--json", sim.toString());
        String read = ok("eval", "--model", out.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--json", back.toString());
        assertTrue(read.contains("as recorded by dfq export in the file"), read);
        assertEquals(((Map<String, Object>) json(sim).get("details")).get("predictions"),
                ((Map<String, Object>) json(back).get("details")).get("predictions"));

        // in ONNX Runtime, against the FP32 export as reference
        export("ref");
        Path fp32 = dir.resolve("ref.onnx");
        String eval = ok("eval", "--runtime", "onnxruntime", "--ort-qdq", "simulate", "--model", out.toString(),
                "--reference", fp32.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--preprocess", "unit");
        assertTrue(eval.contains("vs reference agreement") && eval.contains("QDQ fusion disabled"), eval);
    }

    /** Data-free rounding moves weights off their nearest level: the file must hold the levels simulated, not re-rounded ones. */
    @Test
    @SuppressWarnings("unchecked")
    void dataFreeRoundedWeightsExportAsTheirOwnLevels() throws Exception {
        String[] q = {"--quantize", "--bits-weight", "4", "--per-channel", "--rounding", "datafree", "--act-range", "calib",
            "--calib", "3", "--calib-images", calib.toString()};
        List<String> args = new ArrayList<>(List.of(q));
        String text = export("datafree", args.toArray(String[]::new));
        assertTrue(text.contains("QDQ ONNX opset 13"), text);
        assertEquals(2, ((Number) json(dir.resolve("datafree-export.json")).get("int8Weights")).intValue());

        Path sim = dir.resolve("datafree-sim.json");
        Path back = dir.resolve("datafree-back.json");
        List<String> eval = new ArrayList<>(List.of("eval", "--model", model.toString(), "--images", images.toString(),
                "--labels", classes.toString(), "--preprocess", "unit", "--json", sim.toString()));
        eval.addAll(args);
        ok(eval.toArray(String[]::new));
        ok("eval", "--model", dir.resolve("datafree.onnx").toString(), "--images", images.toString(), "--labels",
                classes.toString(), "--json", back.toString());
        Map<String, Object> s = (Map<String, Object>) json(sim).get("details");
        Map<String, Object> b = (Map<String, Object>) json(back).get("details");
        assertEquals(s.get("predictions"), b.get("predictions"));
    }

    @Test
    void benchTimesTheExportedNetworksInOnnxRuntimeBesideNd4j() {
        String text = ok("bench", "--model", model.toString(), "--batch", "2", "--runs", "1", "--warmup", "0",
                "--threads", "1", "--act-range", "calib", "--calib", "2", "--runtime", "onnxruntime");
        assertTrue(text.contains("| ONNX Runtime | FP32 export |"), text);
        assertTrue(text.contains("8-bit QDQ export, int8 kernels: QLinearConv"), text);
        assertTrue(text.contains("colours.onnx as given"), text);
    }

    @Test
    void exportAndOnnxRuntimeEvalRefuseWhatTheyCannotDo() throws Exception {
        Path existing = Files.writeString(dir.resolve("existing.onnx"), "keep me");
        DfqRun.dfq("export", "--model", model.toString(), "--out", existing.toString()).failsWithOneLine("--force");
        assertEquals("keep me", Files.readString(existing), "an existing file is not replaced unasked");
        // the exported file is an output like any other: never the model it reads, even with --force
        String modelBytes = DfqRun.sha256(model);
        DfqRun.dfq("export", "--model", model.toString(), "--out", model.toString(), "--force")
                .failsWithOneLine("--out", "input");
        assertEquals(modelBytes, DfqRun.sha256(model));
        ok("export", "--model", model.toString(), "--out", existing.toString(), "--force");
        assertTrue(Files.size(existing) > 100, "with --force the file is replaced by the export");
        DfqRun.dfq("export", "--model", model.toString(), "--out", dir.resolve("m.tflite").toString())
                .failsWithOneLine(".onnx");
        DfqRun.dfq("export", "--model", model.toString(), "--out", dir.resolve("q.onnx").toString(), "--quantize",
                "--act-range", "calib", "--calib", "2").failsWithOneLine("--calib-images");
        DfqRun.dfq("eval", "--runtime", "onnxruntime", "--model", model.toString(), "--images", images.toString(),
                "--labels", classes.toString(), "--quantize").failsWithOneLine("--quantize");
        DfqRun.dfq("eval", "--runtime", "onnxruntime", "--model", model.toString(), "--images", images.toString(),
                "--labels", classes.toString(), "--equalize").failsWithOneLine("--equalize");
        DfqRun.dfq("eval", "--runtime", "onnxruntime", "--model", classes.toString(), "--images", images.toString(),
                "--labels", classes.toString()).failsWithOneLine(".onnx");
        DfqRun.dfq("eval", "--model", model.toString(), "--images", images.toString(), "--labels", classes.toString(),
                "--reference", model.toString()).failsWithOneLine("--runtime");
        DfqRun.dfq("eval", "--runtime", "onnxruntime", "--model", model.toString(), "--images", images.toString(),
                "--labels", classes.toString(), "--json", model.toString(), "--force").failsWithOneLine("--json", "input");
        assertFalse(Files.exists(dir.resolve("q.onnx")));
    }
}
