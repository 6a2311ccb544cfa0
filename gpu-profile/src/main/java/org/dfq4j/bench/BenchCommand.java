package org.dfq4j.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.io.OutputPlan;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.zoo.ModelFiles;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dfq bench}: FP32 versus 8-bit-simulated throughput on the backend in use (CPU, or CUDA when
 * built with -Pcuda), the DFQ pipeline's time and peak memory; {@code --compare A.json B.json}
 * merges two recorded results (say a CPU run and a GPU run) into one table with ratios.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark FP32 vs 8-bit-simulated inference (images/s, median of timed runs), the DFQ pipeline "
                + "time and peak memory; or compare two recorded results with --compare.")
public final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "PATH",
            description = "model file (.tflite, .onnx, TF.js model.json, .dfq) or " + ModelFiles.BUILTIN_MOBILENET)
    String model;

    @Option(names = "--input-shape", paramLabel = "C,H,W",
            description = "the model input's channels, height and width, for ONNX files that declare them symbolic")
    String inputShape;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "N", description = "batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads (default: all cores)")
    Integer threads;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "N", description = "untimed runs first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--runs", defaultValue = "10", paramLabel = "N", description = "timed runs (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--keep-relu6", description = "8-bit network: keep each ReLU6 as a per-channel clip (default: "
            + "the paper's recipe, ReLU6 replaced by ReLU, which the fake-quant ranges then absorb)")
    boolean keepRelu6;

    @Option(names = "--no-equalize", description = "8-bit network: skip cross-layer equalization")
    boolean noEqualize;

    @Option(names = "--bits-weight", defaultValue = "8", paramLabel = "N", description = "weight bits (default: ${DEFAULT-VALUE})")
    int bitsWeight;

    @Option(names = "--bits-act", defaultValue = "8", paramLabel = "N", description = "activation bits (default: ${DEFAULT-VALUE})")
    int bitsAct;

    @Option(names = "--act-range", defaultValue = "auto", paramLabel = "bn|model|calib:N|none",
            description = "activation ranges of the 8-bit network; auto: bn with BatchNorm statistics, else calib:8 on "
                    + "generated images (default: ${DEFAULT-VALUE})")
    String actRange;

    @Option(names = "--profile", description = "also print the op types that take the most time")
    boolean profile;

    @Option(names = "--fake-quant", paramLabel = "ops|lowered", description = "how the 8-bit network's activation "
            + "quantization runs: lowered (default: scales folded into the weights, rint + clip), or ND4J's fake-quant ops")
    String fakeQuant = "lowered";

    @Option(names = "--json", paramLabel = "PATH", description = "write the result as JSON (atomically)")
    Path json;

    @Option(names = "--markdown", paramLabel = "PATH", description = "write the table as Markdown (atomically)")
    Path markdown;

    @Option(names = "--force", description = "replace output files that exist (an input is never replaced)")
    boolean force;

    @Option(names = "--compare", arity = "2", paramLabel = "JSON",
            description = "merge two recorded results (e.g. CPU and GPU) into one table with ratios")
    List<Path> compare;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        new OutputPlan(force).inputs(model == null ? List.of() : ModelFiles.files(model))
                .inputs(compare == null ? List.of() : compare).file("--json", json).file("--markdown", markdown).check();
        String md;
        Object jsonValue;
        if (compare != null) {
            BenchComparison c = new BenchComparison(read(compare.get(0)), read(compare.get(1)));
            md = c.markdown();
            jsonValue = c.toMap();
        } else {
            if (model == null) {
                throw new DfqException("dfq bench needs --model PATH (or --compare A.json B.json)");
            }
            if (threads != null) {
                if (threads < 1) {
                    throw new DfqException("--threads must be at least 1, got " + threads);
                }
                Nd4j.getEnvironment().setMaxThreads(threads);
                Nd4j.getEnvironment().setMaxMasterThreads(threads);
            }
            out.println(Backend.current().describe());
            Network net = ModelFiles.read(model, inputShape == null ? null : ModelFiles.parseShape(inputShape));
            boolean hasStats = DfqRecipe.hasStatistics(net);
            String range = actRange.equalsIgnoreCase("auto") ? (hasStats ? "bn" : "calib:8") : actRange.toLowerCase(Locale.ROOT);
            DfqRecipe recipe = new DfqRecipe(!keepRelu6, !noEqualize, false, DfqRecipe.Correction.NONE,
                    QuantScheme.perTensor(bitsWeight, false), bitsAct, range, 6);
            BenchResult r = new Benchmark(batch, warmup, runs, profile, LowerFakeQuant.parseMode(fakeQuant), out).run(net.name(), net, recipe, range,
                    new TensorRange(-1, 1));
            if (threads != null) {
                r = new BenchResult(r.model(), r.backend(), r.device().replaceAll(", \\d+ threads$", ", " + threads
                        + " threads"), threads, r.batch(), r.runs(), r.fp32(), r.int8(), r.pipelineSeconds(),
                        r.quantizeSeconds(), r.pipeline(), r.peakPhysicalBytes(), r.peakHeapBytes(), r.profile());
            }
            md = BenchComparison.markdown(r);
            jsonValue = r.toMap();
        }
        out.println();
        out.print(md);
        if (json != null) {
            JsonReport.write(json, jsonValue);
            out.println("wrote " + json);
        }
        if (markdown != null) {
            JsonReport.writeText(markdown, md);
            out.println("wrote " + markdown);
        }
        return 0;
    }

    @SuppressWarnings("unchecked")
    static BenchResult read(Path p) {
        try {
            return BenchResult.fromMap(new ObjectMapper().readValue(Files.readAllBytes(p), Map.class), p.toString());
        } catch (IOException e) {
            throw new DfqException("cannot read bench result " + p + ": " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
