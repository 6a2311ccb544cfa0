package org.dfq4j.cli;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.report.TextTable;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe.Correction;
import org.dfq4j.zoo.ModelFiles;

/** {@code dfq eval --runtime onnxruntime}: an ONNX file scored in ONNX Runtime, reported like the ND4J path. */
final class OnnxRuntimeEval {

    private OnnxRuntimeEval() {
    }

    /** Refuses the options that only mean something on the ND4J path, naming the first one given. */
    static void requireNoPipeline(Experiment setup, boolean quantize, boolean explain, Path out, Path overlays) {
        String rewrites = setup.rewrites.floatRewriteFlags();
        String flag = !rewrites.isEmpty() ? rewrites : setup.rewrites.correct != Correction.NONE ? "--correct"
                : quantize ? "--quantize" : explain ? "--explain" : out != null ? "--out"
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

    static int run(PrintWriter out, Experiment setup, RuntimeOptions runtime, ForceOption force, Path json) {
        String model = setup.model.path;
        Path file = requireOnnx(model);
        if (runtime.reference != null) {
            requireOnnx(runtime.reference.toString());
        }
        RunOptions run = setup.run;
        if (run.batch < 1) {
            throw new DfqException("--batch must be at least 1, got " + run.batch);
        }
        int threads = run.threads != null ? run.threads : Runtime.getRuntime().availableProcessors();
        if (threads < 1) {
            throw new DfqException("--threads must be at least 1, got " + threads);
        }
        TaskOptions.Built all = setup.task.forModel(model).build(run.batch, System.err);
        force.plan().inputs(ModelFiles.files(model)).inputs(setup.task.inputs()).input(runtime.reference)
                .file("--json", json).check();
        TaskOptions.Built built = setup.task.withoutUndecodable(all, run.batch, System.err);
        built.reportSkipped(out);
        try (OnnxRuntimeRunner ort = OnnxRuntimeRunner.open(file, runtime.mode(), threads)) {
            out.println("runtime: " + ort.describe());
            Task task = built.task();
            Task.Score ref = null;
            if (runtime.reference != null) {
                try (OnnxRuntimeRunner r = OnnxRuntimeRunner.open(runtime.reference, OnnxRuntimeRunner.Mode.INT8, threads)) {
                    ref = task.score(r, r.name());
                }
            }
            Task.Score score = task.score(ort, ort.name());
            Map<String, Double> fidelity = ref == null ? null : task.fidelity(ref, score);
            TextTable t = new TextTable("", "");
            t.row("model", file + " (onnx, run by ONNX Runtime)");
            t.row("task", task.name() + ", " + built.description());
            t.row("preprocess", setup.task.describePreprocessing());
            t.row("runtime", "ONNX Runtime, " + ort.mode().description());
            t.row("kernels", OnnxRuntimeRunner.format(ort.kernels()));
            if (ref != null) {
                ref.metrics().forEach((k, v) -> t.row("reference " + k, String.format(Locale.ROOT, "%.2f", v)));
                fidelity.forEach((k, v) -> t.row("vs reference " + k, String.format(Locale.ROOT, "%.2f", v)));
            }
            score.metrics().forEach((k, v) -> t.row(k, String.format(Locale.ROOT, "%.2f", v)));
            t.row("speed", String.format(Locale.ROOT, "%.1f images/s (batch %d, %d threads)", score.imagesPerSecond(),
                    run.batch, threads));
            t.print(out);
            task.describe(score).forEach(line -> out.println("  " + line));
            if (json != null) {
                JsonReport.write(json, new Report(model, ort.name(), task.name(), score.images(), score.imagesPerSecond(),
                        "ONNX Runtime", ort.describe(), ort.mode().name().toLowerCase(Locale.ROOT), ort.kernels(),
                        threads, run.batch, runtime.reference == null ? null : runtime.reference.toString(),
                        ref == null ? null : ref.metrics(), fidelity, score.report(), score.metrics()));
                out.println("wrote " + json);
            }
        }
        return 0;
    }

    /**
     * What {@code --json} writes: as eval's report, the task's metrics at the top level, with the
     * runtime, its QDQ mode and kernels, and the reference file's metrics and agreement when given.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Report(String model, String network, String task, int images, double imagesPerSecond, String backend,
                  String runtime, String ortQdq, Map<String, Integer> kernels, int threads, int batch, String reference,
                  Map<String, Double> referenceMetrics, Map<String, Double> fidelity, Object details,
                  @JsonIgnore Map<String, Double> metrics) {

        /** The task's metrics, at the top level. */
        @JsonAnyGetter
        Map<String, Double> metricValues() {
            return metrics;
        }
    }
}
