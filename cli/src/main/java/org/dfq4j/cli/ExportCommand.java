package org.dfq4j.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.eval.runtime.Runner;
import org.dfq4j.eval.runtime.RunnerAgreement;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.QuantizedNetwork;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.io.AtomicFile;
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

    @Mixin
    ModelOption model;

    @Option(names = "--out", required = true, paramLabel = "PATH.onnx", description = "the ONNX file to write (atomically)")
    Path out;

    @Mixin
    ForceOption force;

    @Option(names = "--quantize", description = "export the 8-bit simulation as QDQ (int8 weights, the simulated "
            + "activation quantizers, int32 biases); without it the float network")
    boolean quantize;

    @Mixin
    RecipeOptions rewrites;

    @Mixin
    QuantOptions quant;

    @Mixin
    RunOptions run;

    @Option(names = "--task", paramLabel = "TASK", defaultValue = "classification",
            description = "what the model does: ${COMPLETION-CANDIDATES}; sets the default --preprocess "
                    + "(default: ${DEFAULT-VALUE})")
    TaskKind task;

    @Option(names = "--preprocess", paramLabel = "NAME|SPEC", converter = Converters.Preprocess.class,
            description = "how photographs (calibration, --check-images) are prepared: a preset (inception, torchvision, "
                    + "darknet, deeplab) or a spec (default as dfq eval's); the file records it, and dfq eval of the "
                    + "file takes it as its default")
    Preprocessing preprocess;

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
        if (!out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")) {
            throw new DfqException("--out " + out + " must name an .onnx file");
        }
        if (limit != null && limit < 1) {
            throw new DfqException("--limit must be at least 1, got " + limit);
        }
        force.plan().inputs(ModelFiles.files(model.path)).input(quant.calibImages).input(checkImages)
                .file("--out", out).file("--json", json).check();
        Preprocessing pre = preprocess != null ? preprocess : task.defaultPreprocessing(model.path).preprocessing();
        Backend backend = run.apply();
        w.println(backend.describe());
        Network original = model.read();
        boolean hasStats = DfqRecipe.hasStatistics(original);
        DfqRecipe recipe = quant.applyTo(rewrites.applyTo(DfqRecipe.builder()), DfqRecipe.DEFAULT_CALIBRATION_IMAGES)
                .build();
        RecipeOptions.requirePossible(recipe, hasStats, quantize);
        if (quantize && recipe.needsCalibration(hasStats) && quant.calibImages == null) {
            throw new DfqException("this recipe (--act-range " + recipe.activationRanges().resolve(hasStats)
                    + ", --correct=" + recipe.correction().name().toLowerCase(Locale.ROOT)
                    + ") needs calibration photographs: give --calib-images DIR");
        }
        // the exported network always holds the fake-quant ops (--fake-quant only changes how ND4J runs them)
        Quantizer quantizer = Quantizer.builder(recipe).calibration(quant.calibration(pre, List.of(), false, w))
                .inputRange(pre.valueRange()).lowered(false).build();
        Rewritten prepared = quantizer.floatPipeline(original);
        Network network = prepared.network();
        String rangeName = "none";
        if (quantize) {
            QuantizedNetwork q = quantizer.quantize(prepared);
            network = q.network();
            rangeName = q.ranges();
        }

        long t0 = System.nanoTime();
        // the file records the preprocessing its network expects, the default when dfq reads it again
        OnnxExporter.Export export = OnnxExporter.export(
                network.withProperties(Map.of(TaskKind.PREPROCESS_PROPERTY, pre.toString())));
        byte[] bytes = export.bytes();
        AtomicFile.write(out, bytes);
        double seconds = (System.nanoTime() - t0) / 1e9;
        w.println("model:    " + original.name() + " (" + original.properties().getOrDefault("format", "?") + ")");
        w.println("pipeline: " + RecipeOptions.flags(recipe) + (quantize ? " --quantize: weights " + recipe.weights()
                + ", activations " + (rangeName.equals("none") ? "float"
                : recipe.activationBits() + "-bit, ranges " + rangeName) : " (FP32)"));
        w.println("export:   " + export.describe());
        w.println("nodes:    " + OnnxRuntimeRunner.format(export.nodes()));
        export.notes().forEach(n -> w.println("note:     " + n));
        w.println(String.format(Locale.ROOT, "wrote %s (%.1f MB) in %.2f s", out, bytes.length / 1e6, seconds));

        Check check = checkImages == null ? null : check(w, network, bytes, export.quantized(), pre);
        if (json != null) {
            JsonReport.write(json, new Report(model.path, original.name(), out.toString(), bytes.length,
                    OnnxExporter.OPSET, RecipeReport.of(recipe), quantize, rangeName, export.nodes(),
                    export.int8Weights(), export.floatWeights(), export.int32Biases(), export.floatBiases(),
                    export.activationQuantizers(), export.notes(), check));
            w.println("wrote " + json);
        }
        return 0;
    }

    /** What {@code --json} writes: the file, the recipe it holds, what was exported, and the check. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Report(String model, String network, String out, int bytes, int opset, RecipeReport pipeline,
                  boolean quantized, String actRangeSource, Map<String, Integer> nodes, int int8Weights,
                  int floatWeights, int int32Biases, int floatBiases, int activationQuantizers, List<String> notes,
                  Check check) {
    }

    /**
     * The check on photographs: ONNX Runtime against dfq4j's network (a float file once, a QDQ file
     * with fusion disabled and on integer kernels), and a QDQ file's two executions against each other.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Check(int images, Agreement fp32, Agreement simulate, Agreement int8, Agreement int8VsSimulate) {
    }

    /** How closely two runners agree on the photographs, and the kernels ONNX Runtime ran (when one ran alone). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Agreement(String mode, long positions, long agreeing, double agreementPercent, int imagesAgreeing,
                     double maxRelativeDifference, double meanRelativeDifference, Map<String, Integer> kernels,
                     Map<String, Integer> integerKernels) {

        static Agreement of(RunnerAgreement a, OnnxRuntimeRunner ort) {
            return new Agreement(ort == null ? null : ort.mode().name().toLowerCase(Locale.ROOT), a.positions(),
                    a.agreeing(), a.agreementPercent(), a.imagesAgreeing(), a.maxRelative(), a.meanRelative(),
                    ort == null ? null : ort.kernels(), ort == null ? null : ort.integerKernels());
        }
    }

    /** Runs the file in ONNX Runtime beside dfq4j's network on the check photographs. */
    private Check check(PrintWriter w, Network network, byte[] bytes, boolean quantized, Preprocessing pre) {
        List<Path> photos = Photographs.first(Photographs.in(checkImages), limit == null ? Integer.MAX_VALUE : limit);
        int threads = run.threads != null ? run.threads : Runtime.getRuntime().availableProcessors();
        Runner reference = Runner.of(network);
        w.println();
        w.println("check against dfq4j's own network on " + photos.size() + " photographs of " + checkImages + ":");
        List<OnnxRuntimeRunner.Mode> modes = quantized
                ? List.of(OnnxRuntimeRunner.Mode.SIMULATE, OnnxRuntimeRunner.Mode.INT8) : List.of(OnnxRuntimeRunner.Mode.INT8);
        List<OnnxRuntimeRunner> runners = new ArrayList<>();
        List<Agreement> found = new ArrayList<>();
        try {
            for (OnnxRuntimeRunner.Mode mode : modes) {
                OnnxRuntimeRunner ort = OnnxRuntimeRunner.open(bytes, out.getFileName().toString(), mode, threads);
                runners.add(ort);
                RunnerAgreement a = RunnerAgreement.compare(reference, ort, photos, pre, run.batch, System.err);
                w.println("  ONNX Runtime (" + (quantized ? mode.description() : "float") + "): " + a.describe());
                w.println("    kernels: " + OnnxRuntimeRunner.format(ort.kernels()));
                found.add(Agreement.of(a, ort));
            }
            if (!quantized) {
                return new Check(photos.size(), found.get(0), null, null, null);
            }
            // the yardstick for the two lines above: two executions of the same file by ONNX Runtime itself
            // differ by float rounding that 8-bit levels can amplify layer by layer
            RunnerAgreement a = RunnerAgreement.compare(runners.get(0), runners.get(1), photos, pre, run.batch,
                    System.err);
            w.println("  ONNX Runtime integer kernels vs its own simulation of the file: " + a.describe());
            return new Check(photos.size(), null, found.get(0), found.get(1), Agreement.of(a, null));
        } finally {
            runners.forEach(OnnxRuntimeRunner::close);
        }
    }
}
