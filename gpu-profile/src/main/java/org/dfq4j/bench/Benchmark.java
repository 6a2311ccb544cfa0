package org.dfq4j.bench;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.javacpp.Pointer;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.QuantizedNetwork;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.dfq4j.zoo.onnx.OnnxExporter;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measures FP32 and 8-bit-simulated inference of one network at one batch size: warm-up runs, then
 * timed runs (each a forward pass of one batch, its output copied to the host), reported as median,
 * min and max images/second; plus the DFQ pipeline's own time and peak memory. Inputs are generated
 * images, as speed does not depend on their content; calibration images too. With ONNX Runtime
 * ({@code ortThreads > 0}) the same networks, exported to ONNX by dfq4j (FP32, and the 8-bit network
 * as QDQ, on ONNX Runtime's integer kernels and with its QDQ fusion disabled), and {@code ortFile}
 * when given, are timed in ONNX Runtime in the same alternation.
 */
public record Benchmark(int batch, int warmup, int runs, boolean profile, PrintWriter progress, int ortThreads,
                        Path ortFile) {

    /** Seed of the generated calibration images. */
    private static final long CALIBRATION_SEED = 11;

    /**
     * @param batch    images per forward pass
     * @param warmup   untimed runs of each network first
     * @param runs     timed runs of each network
     * @param profile  also time one pass per op type
     * @param progress where to say what is happening
     * @param ortThreads threads of the ONNX Runtime sessions timed beside ND4J; 0 for none
     * @param ortFile  an ONNX file timed as it is in ONNX Runtime, or null
     */
    public Benchmark {
        if (batch < 1 || warmup < 0 || runs < 1) {
            throw new DfqException("a benchmark needs a batch of at least 1, no negative warm-up and at least 1 timed run");
        }
    }

    /** ND4J only. */
    public Benchmark(int batch, int warmup, int runs, boolean profile, PrintWriter progress) {
        this(batch, warmup, runs, profile, progress, 0, null);
    }

    /**
     * Runs the benchmark. The 8-bit network is what {@code quantizer} makes of {@code original}
     * (lowered or not, as it is configured); calibration images, if the recipe needs them, are
     * generated. The quantizer must have been built with {@link #calibration(DfqRecipe, long[])}.
     */
    public BenchResult run(String modelName, Network original, Quantizer quantizer) {
        DfqRecipe recipe = quantizer.recipe();
        long[] shape = original.inputShape();
        INDArray input = SyntheticImages.generate(batch, (int) shape[0], (int) shape[1], (int) shape[2], 7);

        // The data-free pipeline (float rewrites, bias correction, weight quantization): once to warm
        // up the JIT, then timed, median of three. Activation ranges are timed apart: calibration runs
        // the network on images, which is not the pipeline's own cost.
        Rewritten prepared = null;
        double[] pipeline = new double[3];
        for (int i = -1; i < pipeline.length; i++) {
            long t0 = System.nanoTime();
            prepared = quantizer.floatPipeline(original);
            quantizer.quantizeWeights(prepared);
            if (i >= 0) {
                pipeline[i] = (System.nanoTime() - t0) / 1e9;
            }
        }
        Arrays.sort(pipeline);
        long tr = System.nanoTime();
        QuantizedNetwork q = quantizer.quantize(prepared);
        Network int8 = q.executable();
        progress.println("8-bit execution: " + q.execution());
        double rangeSeconds = (System.nanoTime() - tr) / 1e9;
        Network fp32 = DfqRecipe.builder().build().floatPipeline().run(original).network();

        Memory memory = new Memory();
        List<Timed> timed = new ArrayList<>();
        timed.add(new Timed("ND4J", "FP32", x -> forward(fp32, x)));
        timed.add(new Timed("ND4J", "8-bit simulated (" + q.execution() + ")", x -> forward(int8, x)));
        List<OnnxRuntimeRunner> sessions = new ArrayList<>();
        try {
            if (ortThreads > 0) {
                progress.println("exporting FP32 and 8-bit (QDQ) to ONNX for ONNX Runtime, " + ortThreads + " threads");
                byte[] f = OnnxExporter.export(fp32).bytes();
                byte[] qdq = OnnxExporter.export(q.network()).bytes();
                addOrt(timed, sessions, f, "FP32 export", OnnxRuntimeRunner.Mode.INT8);
                addOrt(timed, sessions, qdq, "8-bit QDQ export", OnnxRuntimeRunner.Mode.INT8);
                addOrt(timed, sessions, qdq, "8-bit QDQ export", OnnxRuntimeRunner.Mode.SIMULATE);
                if (ortFile != null) {
                    OnnxRuntimeRunner r = OnnxRuntimeRunner.open(ortFile, OnnxRuntimeRunner.Mode.INT8, ortThreads);
                    sessions.add(r);
                    timed.add(new Timed("ONNX Runtime", ortFile.getFileName() + " as given, " + kernels(r), r::run));
                }
            }
            progress.printf("%d networks: %d warm-up + %d timed runs each of batch %d, alternating%n", timed.size(),
                    warmup, runs, batch);
            progress.flush();
            double[][] seconds = timeAlternating(timed, input, memory);
            Map<String, List<BenchResult.OpTime>> ops = new LinkedHashMap<>();
            if (profile) {
                ops.put("fp32", profileOps(fp32, input));
                ops.put("int8", profileOps(int8, input));
            }
            List<BenchResult.RuntimeThroughput> all = new ArrayList<>();
            for (int i = 0; i < timed.size(); i++) {
                all.add(BenchResult.RuntimeThroughput.of(timed.get(i).runtime, timed.get(i).network,
                        BenchResult.Throughput.of(batch, seconds[i])));
            }
            Backend b = Backend.current();
            return BenchResult.of(modelName, b.name(), b.device(), b.threads(), batch, runs, all.get(0).throughput(),
                    all.get(1).throughput(), pipeline[1], rangeSeconds, recipe + "; " + q.execution(),
                    memory.peakPhysical, memory.peakHeap, ops, ortThreads > 0 ? all : List.of());
        } finally {
            sessions.forEach(OnnxRuntimeRunner::close);
        }
    }

    /** One network timed on one runtime. */
    private record Timed(String runtime, String network, Consumer<INDArray> forward) {
    }

    private void addOrt(List<Timed> timed, List<OnnxRuntimeRunner> sessions, byte[] model, String network,
                        OnnxRuntimeRunner.Mode mode) {
        OnnxRuntimeRunner r = OnnxRuntimeRunner.open(model, network, mode, ortThreads);
        sessions.add(r);
        String what = network.startsWith("FP32") ? network : mode == OnnxRuntimeRunner.Mode.INT8
                ? network + ", " + kernels(r) : network + ", QDQ fusion disabled (simulation)";
        timed.add(new Timed("ONNX Runtime", what, r::run));
    }

    /** "int8 kernels: QLinearConv 52, QLinearAdd 10" or "no integer kernels". */
    private static String kernels(OnnxRuntimeRunner r) {
        var ints = r.integerKernels();
        return ints.isEmpty() ? "no integer kernels"
                : "int8 kernels: " + OnnxRuntimeRunner.format(ints).replace("com.microsoft.", "");
    }

    /** Generated calibration images for a recipe (its calibration count) and an input [C, H, W]. */
    public static Calibration calibration(DfqRecipe recipe, long[] shape) {
        return Calibration.of(List.of(SyntheticImages.generate(recipe.calibrationImages(), (int) shape[0],
                (int) shape[1], (int) shape[2], CALIBRATION_SEED)), "generated images");
    }

    /**
     * Times the networks in alternation (FP32, 8-bit, ..., FP32, ...), so that a slow spell of the
     * machine (another process, thermal or frequency changes) weighs on all alike and their ratios
     * are measured under the same conditions.
     */
    private double[][] timeAlternating(List<Timed> nets, INDArray input, Memory memory) {
        for (int i = 0; i < warmup; i++) {
            nets.forEach(t -> t.forward.accept(input));
        }
        double[][] s = new double[nets.size()][runs];
        for (int i = 0; i < runs; i++) {
            for (int k = 0; k < nets.size(); k++) {
                s[k][i] = timed(nets.get(k).forward, input, memory);
            }
        }
        return s;
    }

    private static double timed(Consumer<INDArray> forward, INDArray input, Memory memory) {
        // ND4J frees native buffers only when the Java collector runs; collect outside the timed
        // window so that a run measures the network, not a collection forced by the last one
        System.gc();
        long t0 = System.nanoTime();
        forward.accept(input);
        double seconds = (System.nanoTime() - t0) / 1e9;
        memory.sample();
        return seconds;
    }

    /** One forward pass; the outputs are read back to the host so asynchronous backends finish. */
    private static void forward(Network net, INDArray input) {
        for (INDArray out : net.run(input).values()) {
            out.getDouble(0);
        }
        Nd4j.getExecutioner().commit();
    }

    private List<BenchResult.OpTime> profileOps(Network net, INDArray input) {
        OpTimer timer = new OpTimer();
        net.run(input, net.outputs(), List.of(timer));
        return timer.top();
    }

    /** Peak resident memory (JavaCPP's reading of the process) and peak JVM heap. */
    private static final class Memory {
        long peakPhysical;
        long peakHeap;

        void sample() {
            peakPhysical = Math.max(peakPhysical, Pointer.physicalBytes());
            Runtime rt = Runtime.getRuntime();
            peakHeap = Math.max(peakHeap, rt.totalMemory() - rt.freeMemory());
        }
    }
}
