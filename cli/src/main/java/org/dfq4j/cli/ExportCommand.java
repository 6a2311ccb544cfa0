package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.eval.runtime.Runner;
import org.dfq4j.eval.runtime.RunnerAgreement;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import org.dfq4j.zoo.onnx.OnnxExporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dfq export}: the rewritten network as ONNX. Without {@code --quantize} a float model with
 * the float rewrites applied; with it the QDQ format (int8 weights, QuantizeLinear/DequantizeLinear
 * with the simulated activation quantizers, int32 biases). {@code --check-images} then runs the
 * file in ONNX Runtime next to dfq4j's own network and reports how closely they agree.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a model, after the DFQ rewrites (--relu --equalize --absorb --correct) and with "
                + "--quantize in 8-bit QDQ form, as ONNX (opset " + OnnxExporter.OPSET + ") for ONNX Runtime, "
                + "TensorRT or OpenVINO; optionally check it in ONNX Runtime against dfq4j on photographs.")
final class ExportCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "model file (.tflite, .onnx, TF.js model.json, .dfq) or " + ModelFiles.BUILTIN_MOBILENET)
    String model;

    @Option(names = "--out", required = true, paramLabel = "PATH.onnx", description = "the ONNX file to write (atomically)")
    Path out;

    @Option(names = "--force", description = "replace --out if it exists")
    boolean force;

    @Mixin
    PipelineOptions pipeline;

    @Mixin
    RunOptions run;

    @Option(names = "--task", paramLabel = "classification|segmentation|detection", defaultValue = "classification",
            description = "what the model does; sets the default --preprocess (default: ${DEFAULT-VALUE})")
    String task;

    @Option(names = "--preprocess", paramLabel = "NAME|SPEC",
            description = "how photographs (calibration, --check-images) are prepared: a preset (inception, unit, "
                    + "imagenet, resize) or a spec (default: inception for classification, resize otherwise)")
    String preprocess;

    @Option(names = "--check-images", paramLabel = "DIR",
            description = "after writing, run the file in ONNX Runtime and dfq4j's network on these photographs and "
                    + "report their agreement (a QDQ file both with ONNX Runtime's integer kernels and simulated)")
    Path checkImages;

    @Option(names = "--limit", paramLabel = "N", description = "check on the first N photographs only (sorted by name)")
    Integer limit;

    @Option(names = "--json", paramLabel = "PATH", description = "also write what was exported and checked as JSON")
    Path json;

    @Override
    public Integer call() {
        PrintWriter w = spec.commandLine().getOut();
        checkOut();
        if (limit != null && limit < 1) {
            throw new DfqException("--limit must be at least 1, got " + limit);
        }
        Preprocessing pre = TaskOptions.preprocessing(preprocess, TaskOptions.kind(task));
        Backend backend = run.apply();
        w.println(backend.describe());
        Network original = ModelFiles.read(model);
        DfqRecipe recipe = pipeline.recipe(DfqRecipe.hasStatistics(original));
        pipeline.lowered(); // validates --fake-quant; the exported network always holds the fake-quant ops
        PipelineRun rewritten = PipelineRun.run(original, recipe, pipeline, null, pre, w);
        Network network = rewritten.result();

        long t0 = System.nanoTime();
        OnnxExporter.Export export = OnnxExporter.export(network);
        byte[] bytes = export.bytes();
        JsonReport.writeBytes(out, bytes);
        double seconds = (System.nanoTime() - t0) / 1e9;
        w.println("model:    " + original.name() + " (" + original.properties().getOrDefault("format", "?") + ")");
        w.println("pipeline: " + recipe.flags() + (pipeline.quantize ? " --quantize: weights " + recipe.weights()
                + ", activations " + (rewritten.rangeName().equals("none") ? "float"
                : recipe.actBits() + "-bit, ranges " + rewritten.rangeName()) : " (FP32)"));
        w.println("export:   " + export.describe());
        w.println("nodes:    " + OnnxRuntimeRunner.format(export.nodes()));
        export.notes().forEach(n -> w.println("note:     " + n));
        w.println(String.format(Locale.ROOT, "wrote %s (%.1f MB) in %.2f s", out, bytes.length / 1e6, seconds));

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("model", model);
        report.put("network", original.name());
        report.put("out", out.toString());
        report.put("bytes", bytes.length);
        report.put("opset", OnnxExporter.OPSET);
        report.put("pipeline", recipe.toMap());
        report.put("quantized", pipeline.quantize);
        report.put("actRangeSource", rewritten.rangeName());
        report.put("nodes", export.nodes());
        report.put("int8Weights", export.int8Weights());
        report.put("floatWeights", export.floatWeights());
        report.put("int32Biases", export.int32Biases());
        report.put("floatBiases", export.floatBiases());
        report.put("activationQuantizers", export.activationQuantizers());
        report.put("notes", export.notes());
        if (checkImages != null) {
            report.put("check", check(w, network, bytes, export.quantized(), pre));
        }
        if (json != null) {
            JsonReport.write(json, report);
            w.println("wrote " + json);
        }
        return 0;
    }

    private void checkOut() {
        if (!out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")) {
            throw new DfqException("--out " + out + " must name an .onnx file");
        }
        if (Files.exists(out)) {
            Path in = Path.of(model);
            try {
                if (Files.exists(in) && Files.isSameFile(in, out)) {
                    throw new DfqException("--out " + out + " is the input model; choose another file");
                }
            } catch (java.io.IOException e) {
                throw new DfqException("cannot compare --out " + out + " with the model: " + e.getMessage());
            }
            if (!force) {
                throw new DfqException("--out " + out + " exists; add --force to replace it");
            }
        }
    }

    /** Runs the file in ONNX Runtime beside dfq4j's network on the check photographs. */
    private Map<String, Object> check(PrintWriter w, Network network, byte[] bytes, boolean quantized, Preprocessing pre) {
        List<Path> photos = Calibration.photographs(checkImages);
        if (limit != null && photos.size() > limit) {
            photos = photos.subList(0, limit);
        }
        int threads = run.threads != null ? run.threads : Runtime.getRuntime().availableProcessors();
        Runner reference = Runner.of(network);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("images", photos.size());
        w.println();
        w.println("check against dfq4j's own network on " + photos.size() + " photographs of " + checkImages + ":");
        List<OnnxRuntimeRunner.Mode> modes = quantized
                ? List.of(OnnxRuntimeRunner.Mode.SIMULATE, OnnxRuntimeRunner.Mode.INT8) : List.of(OnnxRuntimeRunner.Mode.INT8);
        List<OnnxRuntimeRunner> runners = new ArrayList<>();
        try {
            for (OnnxRuntimeRunner.Mode mode : modes) {
                OnnxRuntimeRunner ort = OnnxRuntimeRunner.open(bytes, out.getFileName().toString(), mode, threads);
                runners.add(ort);
                RunnerAgreement a = RunnerAgreement.compare(reference, ort, photos, pre, run.batch, System.err);
                w.println("  ONNX Runtime (" + (quantized ? mode.description() : "float") + "): " + a.describe());
                w.println("    kernels: " + OnnxRuntimeRunner.format(ort.kernels()));
                Map<String, Object> r = agreement(a);
                r.put("mode", mode.name().toLowerCase(Locale.ROOT));
                r.put("kernels", ort.kernels());
                r.put("integerKernels", ort.integerKernels());
                m.put(quantized ? mode.name().toLowerCase(Locale.ROOT) : "fp32", r);
            }
            if (quantized) {
                // the yardstick for the two lines above: two executions of the same file by ONNX Runtime itself
                // differ by float rounding that 8-bit levels can amplify layer by layer
                RunnerAgreement a = RunnerAgreement.compare(runners.get(0), runners.get(1), photos, pre, run.batch,
                        System.err);
                w.println("  ONNX Runtime integer kernels vs its own simulation of the file: " + a.describe());
                m.put("int8VsSimulate", agreement(a));
            }
        } finally {
            runners.forEach(OnnxRuntimeRunner::close);
        }
        return m;
    }

    private static Map<String, Object> agreement(RunnerAgreement a) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("positions", a.positions());
        r.put("agreeing", a.agreeing());
        r.put("agreementPercent", a.agreementPercent());
        r.put("imagesAgreeing", a.imagesAgreeing());
        r.put("maxRelativeDifference", a.maxRelative());
        r.put("meanRelativeDifference", a.meanRelative());
        return r;
    }
}
