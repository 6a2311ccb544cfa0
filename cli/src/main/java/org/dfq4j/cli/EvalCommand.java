package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.report.TextTable;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkFile;
import org.dfq4j.rewrite.io.OutputPlan;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.rewrite.quant.WeightDiagnostics;
import org.dfq4j.zoo.ModelFiles;
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

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "model file (.tflite, .onnx, TF.js model.json, .dfq) or " + ModelFiles.BUILTIN_MOBILENET)
    String model;

    @Mixin
    InputShapeOption shape;

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    PipelineOptions pipeline;

    @Mixin
    RunOptions run;

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

    @Option(names = "--force", description = "replace output files that exist (an input is never replaced)")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (overlays != null && !pipeline.quantize) {
            throw new DfqException("--save-overlays compares FP32 with 8-bit: add --quantize");
        }
        Backend backend = run.apply();
        out.println(backend.describe());
        TaskOptions.Built all = taskOptions.forModel(model).build(run.batch, System.err);
        new OutputPlan(force).inputs(ModelFiles.files(model)).inputs(taskOptions.inputs()).input(pipeline.calibImages)
                .file("--json", json).file("--out", outFile)
                .file("--out", outFile == null ? null : Path.of(outFile + ".log.json"))
                .filesIn("--save-overlays", overlays, all.task().overlayFiles()).check();
        TaskOptions.Built built = taskOptions.withoutUndecodable(all, run.batch, System.err);
        built.reportSkipped(out);
        Network original = ModelFiles.read(model, shape.chw());

        boolean hasStats = DfqRecipe.hasStatistics(original);
        DfqRecipe recipe = pipeline.recipe(hasStats);
        requirePossible(recipe, hasStats);
        boolean lowered = pipeline.lowered();
        long t0 = System.nanoTime();
        Rewritten prepared = recipe.floatPipeline().run(original);
        RewriteLog log = new RewriteLog();
        log.addAll(prepared.log());
        Network evaluated = prepared.network();
        String rangeName = "none";
        double pipelineSeconds = (System.nanoTime() - t0) / 1e9;
        if (pipeline.quantize) {
            int images = Math.max(recipe.correction() == DfqRecipe.Correction.EMPIRICAL ? pipeline.calib : 0,
                    calibCount(recipe));
            List<INDArray> calib = needsCalibration(recipe) ? Calibration.load(pipeline.calibImages,
                    built.photographs(), images, taskOptions.preprocessing(), original.inputShape(), out,
                    taskOptions.skipBadImages) : List.of();
            long t1 = System.nanoTime();
            RangeSource source = RangeSource.parse(recipe.actRange(), recipe.sigmas(),
                    Calibration.inputRange(taskOptions.preprocessing()), calib);
            rangeName = source.name();
            Rewritten q = recipe.quantPipeline(source, calib).run(prepared.network());
            pipelineSeconds += (System.nanoTime() - t1) / 1e9;
            log.addAll(q.log());
            evaluated = q.network();
        }

        Task task = built.task();
        Network executed = evaluated;
        String execution = null;
        if (pipeline.quantize && lowered) {
            LowerFakeQuant.Lowered l = LowerFakeQuant.of(evaluated);
            executed = l.network();
            execution = l.describe();
        }
        Task.Score fp32 = pipeline.quantize ? task.score(prepared.network(), "FP32") : null;
        Task.Score score = task.score(executed, pipeline.quantize ? "8-bit" : "FP32");
        Map<String, Double> fidelity = fp32 == null ? Map.of() : task.fidelity(fp32, score);

        TextTable t = new TextTable("", "");
        t.row("model", original.name() + " (" + original.properties().getOrDefault("format", "?") + ")");
        t.row("task", task.name() + ", " + built.description());
        t.row("preprocess", taskOptions.describePreprocessing());
        t.row("pipeline", recipe.flags() + (pipeline.quantize ? " --quantize: weights " + recipe.weights()
                + ", activations " + (rangeName.equals("none") ? "float" : recipe.actBits() + "-bit, ranges " + rangeName)
                : " (FP32)"));
        t.row("pipeline time", String.format(Locale.ROOT, "%.2f s", pipelineSeconds));
        if (execution != null) {
            t.row("8-bit execution", execution);
        }
        if (fp32 != null) {
            fp32.metrics().forEach((k, v) -> t.row("FP32 " + k, fmt(v)));
        }
        String prefix = pipeline.quantize ? "8-bit " : "";
        score.metrics().forEach((k, v) -> t.row(prefix + k, fmt(v)));
        fidelity.forEach((k, v) -> t.row("8-bit vs FP32 " + k, fmt(v)));
        t.row("speed", String.format(Locale.ROOT, "%.1f images/s (batch %d, %d threads)", score.imagesPerSecond(),
                run.batch, backend.threads()));
        t.print(out);
        task.describe(score).forEach(line -> out.println("  " + line));
        if (explain) {
            explain(out, log, original, prepared.network(), evaluated, recipe);
        }
        if (outFile != null) {
            NetworkFile.save(evaluated, outFile);
            JsonReport.write(Path.of(outFile + ".log.json"), log.toMaps());
            out.println("saved " + outFile + " and " + outFile + ".log.json");
        }
        if (overlays != null) {
            int n = task.writeOverlays(fp32, score, overlays);
            out.println("wrote " + n + " overlays to " + overlays);
        }
        if (json != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", model);
            m.put("network", original.name());
            m.put("task", task.name());
            m.putAll(score.metrics());
            m.put("images", score.details().getOrDefault("images", null));
            m.put("imagesPerSecond", score.imagesPerSecond());
            m.put("backend", backend.name());
            m.put("device", backend.device());
            m.put("threads", backend.threads());
            m.put("batch", run.batch);
            m.put("quantized", pipeline.quantize);
            m.put("pipeline", recipe.toMap());
            m.put("actRangeSource", rangeName);
            m.put("pipelineSeconds", pipelineSeconds);
            if (fp32 != null) {
                m.put("fp32", fp32.metrics());
                m.put("fidelity", fidelity);
            }
            m.put("details", score.details());
            m.put("log", log.toMaps());
            JsonReport.write(json, m);
            out.println("wrote " + json);
        }
        return 0;
    }

    private static String fmt(double v) {
        return Double.isInfinite(v) ? "inf" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static int calibCount(DfqRecipe r) {
        return r.actRange().startsWith("calib:") ? Integer.parseInt(r.actRange().substring("calib:".length())) : 0;
    }

    private boolean needsCalibration(DfqRecipe r) {
        return r.correction() == DfqRecipe.Correction.EMPIRICAL || r.actRange().startsWith("calib:");
    }

    /** Steps that need BatchNorm statistics on a model that has none: say so instead of doing nothing. */
    private void requirePossible(DfqRecipe r, boolean hasStats) {
        if (hasStats) {
            return;
        }
        if (r.absorb()) {
            throw new DfqException("--absorb needs BatchNorm statistics, and this model was BN-folded at export; drop --absorb");
        }
        if (r.correction() == DfqRecipe.Correction.ANALYTIC) {
            throw new DfqException("--correct=analytic needs BatchNorm statistics, and this model was BN-folded at export; "
                    + "use --correct=empirical (with --calib-images DIR)");
        }
        if (pipeline.quantize && r.actRange().equals("bn")) {
            throw new DfqException("--act-range bn needs BatchNorm statistics, and this model was BN-folded at export; "
                    + "use calib:N, model (without --equalize) or none");
        }
    }

    private static void explain(PrintWriter out, RewriteLog log, Network original, Network prepared, Network result,
                                DfqRecipe recipe) {
        out.println();
        out.println("rewrite log:");
        log.entries().forEach(e -> out.println("  " + e.line()));
        out.println();
        QuantScheme s = recipe.weights();
        out.println("per-layer weights (" + s + "): per-channel range ratio max/min and weight-quantization SQNR,"
                + " before and after the float rewrites");
        List<WeightDiagnostics> before = WeightDiagnostics.of(new DfqRecipe(false, false, false,
                DfqRecipe.Correction.NONE, s, 8, "none", 6).floatPipeline().run(original).network(), s);
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
