package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.dfq4j.eval.report.HtmlReport;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.report.TextTable;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.QuantizationReport;
import org.dfq4j.rewrite.QuantizedNetwork;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkFile;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.WeightDiagnostics;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code dfq eval}: evaluate a model, optionally after the DFQ rewrites and with 8-bit simulation. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a model (classification top-1/top-5, segmentation mIoU, detection mAP), optionally "
                + "after the DFQ rewrites (--relu --equalize --absorb --correct) and in simulated 8-bit (--quantize).")
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    Experiment setup;

    @Option(names = "--quantize", description = "simulate 8-bit inference (weights offline, activations by fake-quant)")
    boolean quantize;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--json", paramLabel = "PATH", description = "also write the result as JSON (atomically)")
    Path json;

    @Option(names = "--explain", description = "print the rewrite log and per-layer weight diagnostics")
    boolean explain;

    @Option(names = "--out", paramLabel = "PATH", description = "save the rewritten graph (" + NetworkFile.EXTENSION
            + "; loads back with identical outputs) and its log beside it (PATH.log.json)")
    Path outFile;

    @Option(names = "--save-overlays", paramLabel = "DIR",
            description = "segmentation/detection with --quantize: PNGs of FP32 and 8-bit predictions side by side")
    Path overlays;

    @Option(names = "--report", paramLabel = "DIR",
            description = "with --quantize: write DIR/" + HtmlReport.FILE + ", a self-contained page of where the 8-bit "
                    + "error comes from (per-channel weights before and after equalization per layer, weight and "
                    + "activation SQNR, activation ranges; measured on the calibration photographs when there are any)")
    Path report;

    @Mixin
    ForceOption force;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (runtime.onnxRuntime()) {
            OnnxRuntimeEval.requireNoPipeline(setup, quantize, explain, outFile, overlays);
            return OnnxRuntimeEval.run(out, setup, runtime, force, json);
        }
        if (overlays != null && !quantize) {
            throw new DfqException("--save-overlays compares FP32 with 8-bit: add --quantize");
        }
        if (report != null && !quantize) {
            throw new DfqException("--report shows where the 8-bit error comes from: add --quantize");
        }
        Experiment.Started started = setup.start(out, true, force, (plan, task) -> {
            if (overlays != null) {
                task.requireOverlays();
            }
            plan.file("--json", json).file("--out", outFile)
                    .file("--out", outFile == null ? null : Path.of(outFile + ".log.json"))
                    .filesIn("--save-overlays", overlays, task.overlayFiles())
                    .filesIn("--report", report, List.of(HtmlReport.FILE));
        });
        Backend backend = started.backend();
        TaskOptions.Built built = started.built();
        Network original = started.network();
        DfqRecipe recipe = started.recipe();
        RecipeOptions.requirePossible(recipe, started.hasStats(), quantize);
        Preprocessing pre = setup.task.preprocessing();
        Quantizer quantizer = Quantizer.builder(recipe).calibration(setup.quant.calibration(pre, built.photographs(), built.heldOut(), setup.task.skipBadImages, out))
                .inputRange(pre.valueRange()).lowered(setup.quant.lowered(FakeQuantMode.OPS)).build();

        long t0 = System.nanoTime();
        Rewritten prepared = quantizer.floatPipeline(original);
        double pipelineSeconds = (System.nanoTime() - t0) / 1e9;
        RewriteLog log = new RewriteLog();
        log.addAll(prepared.log());
        Network evaluated = prepared.network();
        Network executed = evaluated;
        String rangeName = "none";
        String execution = null;
        QuantizedNetwork q = null;
        if (quantize) {
            q = quantizer.quantize(prepared);
            pipelineSeconds += q.seconds();
            log.addAll(q.log());
            evaluated = q.network();
            executed = q.executable();
            rangeName = q.ranges();
            execution = executed != evaluated ? q.execution() : null;
        }

        Task task = built.task();
        Task.Score fp32 = quantize ? task.score(prepared.network(), "FP32") : null;
        Task.Score score = task.score(executed, quantize ? "8-bit" : "FP32");
        Map<String, Double> fidelity = fp32 == null ? Map.of() : task.fidelity(fp32, score);

        TextTable t = new TextTable("", "");
        t.row("model", original.name() + " (" + original.properties().getOrDefault("format", "?") + ")");
        t.row("task", task.name() + ", " + built.description());
        t.row("preprocess", setup.task.describePreprocessing());
        t.row("pipeline", RecipeOptions.flags(recipe) + (quantize ? " --quantize: weights " + recipe.weights()
                + ", activations " + (rangeName.equals("none") ? "float" : recipe.activationBits() + "-bit, ranges "
                + rangeName) : " (FP32)"));
        prepared.log().entries(Quantizer.CHOOSE_STRENGTH).forEach(e -> t.row("equalization", e.message()));
        t.row("pipeline time", String.format(Locale.ROOT, "%.2f s", pipelineSeconds));
        if (execution != null) {
            t.row("8-bit execution", execution);
        }
        if (fp32 != null) {
            fp32.metrics().forEach((k, v) -> t.row("FP32 " + k, fmt(v)));
        }
        String prefix = quantize ? "8-bit " : "";
        score.metrics().forEach((k, v) -> t.row(prefix + k, fmt(v)));
        fidelity.forEach((k, v) -> t.row("8-bit vs FP32 " + k, fmt(v)));
        t.row("speed", String.format(Locale.ROOT, "%.1f images/s (batch %d, %d threads)", score.imagesPerSecond(),
                setup.run.batch, backend.threads()));
        t.print(out);
        task.describe(score).forEach(line -> out.println("  " + line));
        if (explain) {
            explain(out, log, original, prepared.network(), recipe);
        }
        if (report != null) {
            writeReport(out, original, recipe, started.hasStats(), quantizer, q, t);
        }
        if (outFile != null) {
            NetworkFile.save(evaluated, outFile);
            JsonReport.write(Path.of(outFile + ".log.json"), log.entries());
            out.println("saved " + outFile + " and " + outFile + ".log.json");
        }
        if (overlays != null) {
            int n = task.writeOverlays(fp32, score, overlays);
            out.println("wrote " + n + " overlays to " + overlays);
        }
        if (json != null) {
            JsonReport.write(json, new Report(setup.model.path, original.name(), task.name(), score.images(),
                    score.imagesPerSecond(), backend.name(), backend.device(), backend.threads(), setup.run.batch, quantize,
                    RecipeReport.of(recipe), rangeName, pipelineSeconds, fp32 == null ? null : fp32.metrics(),
                    fp32 == null ? null : fidelity, score.report(), log.entries(), score.metrics()));
            out.println("wrote " + json);
        }
        return 0;
    }

    /**
     * What {@code --json} writes: the run's provenance, the task's metrics at the top level (top1,
     * top5 / mIoU, pixelAccuracy / mAP ...), FP32 metrics and fidelity of a quantized run, the
     * evaluator's own report and the rewrite log.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Report(String model, String network, String task, int images, double imagesPerSecond, String backend,
                  String device, int threads, int batch, boolean quantized, RecipeReport pipeline, String actRangeSource,
                  double pipelineSeconds, Map<String, Double> fp32, Map<String, Double> fidelity, Object details,
                  List<RewriteLog.Entry> log, @JsonIgnore Map<String, Double> metrics) {

        /** The task's metrics, at the top level. */
        @JsonAnyGetter
        Map<String, Double> metricValues() {
            return metrics;
        }
    }

    /**
     * The HTML report of a quantized run, measured on the calibration photographs when the recipe uses
     * them or --calib-images names them.
     */
    private void writeReport(PrintWriter out, Network original, DfqRecipe recipe, boolean hasStats, Quantizer quantizer,
                             QuantizedNetwork q, TextTable summary) {
        long t0 = System.nanoTime();
        List<INDArray> calibration = List.of();
        if (recipe.needsCalibration(hasStats)) {
            calibration = quantizer.calibrationImages(q.floatNetwork().inputShape()); // loaded already
        } else if (setup.quant.calibImages != null) {
            try {
                calibration = quantizer.calibrationImages(q.floatNetwork().inputShape());
            } catch (DfqException e) { // a data-free recipe never read them: keep the evaluation, say why
                out.println("warning: --report: activations not measured: " + e.getMessage());
            }
        }
        boolean measure = !calibration.isEmpty();
        QuantizationReport r = QuantizationReport.of(recipe, original, q, calibration);
        String title = "dfq report: " + original.name() + ", " + RecipeOptions.flags(recipe) + " --quantize";
        Map<String, String> rows = new LinkedHashMap<>();
        summary.rows().forEach(row -> rows.put(row.get(0), String.join(" ", row.subList(1, row.size()))));
        HtmlReport.write(report, title, rows, r);
        out.printf(Locale.ROOT, "wrote %s (%d layers, %d of them changed by the float rewrites, %d quantized activations%s; "
                + "%.1f s)%n", report.resolve(HtmlReport.FILE), r.layers().size(), r.changedLayers().size(),
                r.activations().size(), measure ? ", measured on " + r.calibrationImages() + " calibration images"
                : ", not measured: no calibration photographs", (System.nanoTime() - t0) / 1e9);
    }

    private static String fmt(double v) {
        return Double.isInfinite(v) ? "inf" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static void explain(PrintWriter out, RewriteLog log, Network original, Network prepared, DfqRecipe recipe) {
        out.println();
        out.println("rewrite log:");
        log.entries().forEach(e -> out.println("  " + e.line()));
        out.println();
        QuantScheme s = recipe.weights();
        out.println("per-layer weights (" + s + "): per-channel range ratio max/min and weight-quantization SQNR,"
                + " before and after the float rewrites");
        List<WeightDiagnostics> before = WeightDiagnostics.of(DfqRecipe.builder().weights(s).build().floatPipeline()
                .run(original).network(), s);
        Map<String, WeightDiagnostics> after = new LinkedHashMap<>();
        WeightDiagnostics.of(prepared, s).forEach(d -> after.put(d.layer(), d));
        TextTable t = new TextTable("layer", "kind", "ch", "ratio before", "SQNR before", "ratio after", "SQNR after", "dead");
        List<Object[]> rows = new ArrayList<>();
        for (WeightDiagnostics b : before) {
            WeightDiagnostics a = after.get(b.layer());
            rows.add(new Object[] {b.layer(), b.kind().name().toLowerCase(Locale.ROOT), b.channels(),
                fmt(b.rangeMaxOverMin()), fmt(b.sqnrDb()), a == null ? "-" : fmt(a.rangeMaxOverMin()),
                a == null ? "-" : fmt(a.sqnrDb()), b.zeroChannels()});
        }
        rows.forEach(t::row);
        t.print(out);
    }
}
