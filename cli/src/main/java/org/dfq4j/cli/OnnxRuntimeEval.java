package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.report.TextTable;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.rewrite.DfqException;

/** {@code dfq eval --runtime onnxruntime}: an ONNX file scored in ONNX Runtime, reported like the ND4J path. */
final class OnnxRuntimeEval {

    private OnnxRuntimeEval() {
    }

    /** Refuses the options that only mean something on the ND4J path. */
    static void requireNoPipeline(PipelineOptions p, boolean explain, Path out, Path overlays) {
        String flag = p.relu ? "--relu" : p.equalize ? "--equalize" : p.absorb ? "--absorb" : p.correct != null
                ? "--correct" : p.quantize ? "--quantize" : explain ? "--explain" : out != null ? "--out"
                : overlays != null ? "--save-overlays" : null;
        if (flag != null) {
            throw new DfqException(flag + " does not apply with --runtime onnxruntime, which runs the ONNX file as it is;"
                    + " apply the pipeline with dfq export (or drop --runtime onnxruntime)");
        }
    }

    private static Path requireOnnx(String model) {
        Path file = Path.of(model);
        if (!model.toLowerCase(Locale.ROOT).endsWith(".onnx") || !Files.isRegularFile(file)) {
            throw new DfqException("--runtime onnxruntime needs an .onnx model file, got " + model
                    + (Files.exists(file) ? "" : " (no such file)") + "; make one with dfq export");
        }
        return file;
    }

    static int run(PrintWriter out, String model, TaskOptions taskOptions, RunOptions run, RuntimeOptions runtime,
                   Path json) {
        Path file = requireOnnx(model);
        if (run.batch < 1) {
            throw new DfqException("--batch must be at least 1, got " + run.batch);
        }
        int threads = run.threads != null ? run.threads : Runtime.getRuntime().availableProcessors();
        if (threads < 1) {
            throw new DfqException("--threads must be at least 1, got " + threads);
        }
        TaskOptions.Built built = taskOptions.build(run.batch, System.err);
        try (OnnxRuntimeRunner ort = OnnxRuntimeRunner.open(file, runtime.mode(), threads)) {
            out.println("runtime: " + ort.describe());
            Task task = built.task();
            Task.Score ref = null;
            if (runtime.reference != null) {
                try (OnnxRuntimeRunner r = OnnxRuntimeRunner.open(requireOnnx(runtime.reference.toString()),
                        OnnxRuntimeRunner.Mode.INT8, threads)) {
                    ref = task.score(r, r.name());
                }
            }
            Task.Score score = task.score(ort, ort.name());
            Map<String, Double> fidelity = ref == null ? Map.of() : task.fidelity(ref, score);
            TextTable t = new TextTable("", "");
            t.row("model", file + " (onnx, run by ONNX Runtime)");
            t.row("task", task.name() + ", " + built.description());
            t.row("preprocess", taskOptions.preprocessing().toString());
            t.row("runtime", "ONNX Runtime, " + ort.mode().description());
            t.row("kernels", OnnxRuntimeRunner.format(ort.kernels()));
            if (ref != null) {
                ref.metrics().forEach((k, v) -> t.row("reference " + k, String.format(Locale.ROOT, "%.2f", v)));
            }
            score.metrics().forEach((k, v) -> t.row(k, String.format(Locale.ROOT, "%.2f", v)));
            fidelity.forEach((k, v) -> t.row("vs reference " + k, String.format(Locale.ROOT, "%.2f", v)));
            t.row("speed", String.format(Locale.ROOT, "%.1f images/s (batch %d, %d threads)", score.imagesPerSecond(),
                    run.batch, threads));
            t.print(out);
            task.describe(score).forEach(line -> out.println("  " + line));
            if (json != null) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", model);
                m.put("network", ort.name());
                m.put("task", task.name());
                m.putAll(score.metrics());
                m.put("images", score.details().getOrDefault("images", null));
                m.put("imagesPerSecond", score.imagesPerSecond());
                m.put("backend", "ONNX Runtime");
                m.put("runtime", ort.describe());
                m.put("ortQdq", ort.mode().name().toLowerCase(Locale.ROOT));
                m.put("kernels", ort.kernels());
                m.put("threads", threads);
                m.put("batch", run.batch);
                if (ref != null) {
                    m.put("reference", runtime.reference.toString());
                    m.put("referenceMetrics", ref.metrics());
                    m.put("fidelity", fidelity);
                }
                m.put("details", score.details());
                JsonReport.write(json, m);
                out.println("wrote " + json);
            }
        }
        return 0;
    }
}
