package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.dfq4j.bench.BenchComparison;
import org.dfq4j.bench.BenchResult;
import org.dfq4j.bench.Benchmark;
import org.dfq4j.bench.Execution;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.SliceWorkers;
import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dfq bench}: FP32 versus 8-bit-simulated throughput on the backend in use (CPU, or CUDA when
 * built with -Pcuda), the DFQ pipeline's time and peak memory; {@code --compare A.json B.json}
 * merges two recorded results (say a CPU run and a GPU run) into one table with ratios. The 8-bit
 * network is described with the same flags as eval's ({@code --relu --equalize ...}). With
 * {@code --runtime onnxruntime} the same networks exported to ONNX are timed in ONNX Runtime beside them.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark FP32 vs 8-bit-simulated inference (images/s, median of timed runs), the DFQ pipeline "
                + "time and peak memory; or compare two recorded results with --compare.")
final class BenchCommand implements Callable<Integer> {

    /** Generated calibration images by default (speed does not depend on their content). */
    private static final int DEFAULT_CALIBRATION = 8;

    @Spec
    CommandSpec spec;

    @Mixin
    OptionalModelOption model;

    @Mixin
    RunOptions run;

    @Mixin
    RecipeOptions rewrites;

    @Mixin
    QuantOptions quant;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "N", description = "untimed runs first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--runs", defaultValue = "10", paramLabel = "N", description = "timed runs (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--profile", description = "also print the op types that take the most time")
    boolean profile;

    @Option(names = "--layout", defaultValue = "nhwc", paramLabel = "nhwc|nchw", description = "activation layout "
            + "both networks run in: nhwc (default: channels-last, what oneDNN computes in) or nchw (as imported, to "
            + "see what the layout costs)")
    Layout layout;

    @Option(names = "--executor", defaultValue = "plan", paramLabel = "plan|samediff", description = "how passes run: "
            + "plan (default: ops prepared once per input shape, arrays reused, elementwise ops in place) or samediff "
            + "(SameDiff's session for every op, to see what the plans gain)")
    Executor executor;

    @Option(names = "--slice", defaultValue = "8", paramLabel = "N", description = "run each batch in slices of at "
            + "most N images, so that a slice's tensors stay in the caches between layers (default: ${DEFAULT-VALUE}; "
            + "0: the whole batch at once)")
    int slice;

    @Option(names = "--parallel", defaultValue = "slices", paramLabel = "slices|kernels", description = "how the "
            + "threads share a batch: slices (default: its slices side by side, one thread each, single-threaded "
            + "kernels) or kernels (one slice after another, each kernel split across the threads)")
    Parallel parallel;

    @Option(names = "--runtime", paramLabel = "RUNTIME", defaultValue = "nd4j",
            description = "${COMPLETION-CANDIDATES}: onnxruntime also times the FP32 and 8-bit networks exported to ONNX "
                    + "by dfq4j (8-bit as QDQ, on ONNX Runtime's integer kernels and with QDQ fusion disabled), and an "
                    + ".onnx --model as it is, in ONNX Runtime beside ND4J (default: ${DEFAULT-VALUE})")
    RuntimeKind runtime;

    @Option(names = "--json", paramLabel = "PATH", description = "write the result as JSON (atomically)")
    Path json;

    @Option(names = "--markdown", paramLabel = "PATH", description = "write the table as Markdown (atomically)")
    Path markdown;

    @Mixin
    ForceOption force;

    @Option(names = "--compare", arity = "2", paramLabel = "JSON",
            description = "merge two recorded results (e.g. CPU and GPU) into one table with ratios")
    List<Path> compare;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        force.plan().inputs(model.path == null ? List.of() : ModelFiles.files(model.path)).inputs(compare == null ? List.of() : compare)
                .input(quant.calibImages).file("--json", json).file("--markdown", markdown).check();
        String md;
        Object jsonValue;
        if (compare != null) {
            BenchComparison c = BenchComparison.of(BenchResult.read(compare.get(0)), BenchResult.read(compare.get(1)));
            md = c.markdown();
            jsonValue = c;
        } else {
            if (model.path == null) {
                throw new DfqException("dfq bench needs --model PATH (or --compare A.json B.json)");
            }
            if (warmup < 0 || runs < 1) {
                throw new DfqException("dfq bench needs --warmup >= 0 and --runs >= 1");
            }
            if (slice < 0) {
                throw new DfqException("--slice must be 0 (whole batches) or a number of images, got " + slice);
            }
            Backend backend = run.apply();
            out.println(backend.describe());
            Network net = model.read();
            DfqRecipe recipe = quant.applyTo(rewrites.applyTo(DfqRecipe.builder()), DEFAULT_CALIBRATION).build();
            RecipeOptions.requirePossible(recipe, DfqRecipe.hasStatistics(net), true);
            Quantizer quantizer = Quantizer.builder(recipe).calibration(Benchmark.calibration(recipe, net.inputShape()))
                    .inputRange(-1, 1).lowered(quant.lowered(FakeQuantMode.LOWERED)).build();
            boolean ort = runtime == RuntimeKind.ONNXRUNTIME;
            Path file = ort && model.path.toLowerCase(Locale.ROOT).endsWith(".onnx") ? Path.of(model.path) : null;
            BenchResult r;
            try (SliceWorkers workers = parallel == Parallel.SLICES && slice > 0 && backend.threads() > 1
                    ? Backend.sliceWorkers(backend.threads()) : null) {
                Execution execution = new Execution(layout == Layout.NHWC, executor == Executor.PLAN, slice, workers);
                r = new Benchmark(run.batch, warmup, runs, profile, execution, out, ort ? backend.threads() : 0, file)
                        .run(net.name(), net, quantizer);
            }
            md = BenchComparison.markdown(r);
            jsonValue = r;
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

    /** {@code --layout}: the activation layout both networks run in. */
    enum Layout {
        NHWC, NCHW
    }

    /** {@code --executor}: prepared plans or SameDiff's session. */
    enum Executor {
        PLAN, SAMEDIFF
    }

    /** {@code --parallel}: how the threads share a batch. */
    enum Parallel {
        SLICES, KERNELS
    }
}
