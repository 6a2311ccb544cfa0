package org.dfq4j.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
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
import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.dfq4j.zoo.onnx.OnnxExporter;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Measures FP32 and 8-bit-simulated inference of one network at one batch size: warm-up runs, then
 * timed runs (each a forward pass of one batch, its output copied to the host), reported as median,
 * min and max images/second; the latency of one image; the per-op profile against the machine's
 * measured peak; plus the DFQ pipeline's own time and peak memory. Inputs are generated images, as
 * speed does not depend on their content; calibration images too. With ONNX Runtime
 * ({@code ortThreads > 0}) the same networks, exported to ONNX by dfq4j (FP32 from the NCHW FP32
 * network, the 8-bit one as QDQ from the fake-quant network before lowering, run on ONNX Runtime's
 * integer kernels and with its QDQ fusion disabled), and {@code ortFile} when given, are timed in
 * ONNX Runtime in the same alternation, so their ratios to ND4J's are measured under the same
 * conditions.
 *
 * @param batch     images per forward pass
 * @param warmup    untimed runs of each network first
 * @param runs      timed runs of each network
 * @param profile   also report the per-op profile of both networks
 * @param execution how both networks run (layout, plans, slices)
 * @param progress  where to say what is happening
 * @param ortThreads threads of the ONNX Runtime sessions timed beside ND4J; 0 for none
 * @param ortFile   an ONNX file timed as it is in ONNX Runtime (with ortThreads > 0), or null
 */
public record Benchmark(int batch, int warmup, int runs, boolean profile, Execution execution, PrintWriter progress,
                        int ortThreads, Path ortFile) {

    /** Seed of the generated calibration images. */
    private static final long CALIBRATION_SEED = 11;

    /** Passes profiled; each op's time is its fastest. */
    static final int PROFILED_PASSES = 5;

    public Benchmark {
        if (batch < 1 || warmup < 0 || runs < 1) {
            throw new DfqException("a benchmark needs a batch of at least 1, no negative warm-up and at least 1 timed run");
        }
    }

    /** ND4J only. */
    public Benchmark(int batch, int warmup, int runs, boolean profile, Execution execution, PrintWriter progress) {
        this(batch, warmup, runs, profile, execution, progress, 0, null);
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
        Network fp32Nchw = DfqRecipe.builder().build().floatPipeline().run(original).network();
        Network fp32 = fp32Nchw;
        String layout = "NCHW, as imported";
        if (execution.channelsLast()) {
            ChannelsLast.Converted c = ChannelsLast.of(fp32Nchw);
            fp32 = c.network();
            int8 = ChannelsLast.of(int8).network();
            layout = c.describe();
        }
        layout += "; " + execution.describe();
        execution.configure(fp32);
        execution.configure(int8);
        progress.println("both networks: " + layout);

        progress.print("machine peak: ");
        progress.flush();
        MachinePeak peak = MachinePeak.measure(5);
        progress.printf("%.0f GFLOP/s (%s), %.1f GB/s (copy)%n", peak.gflops(), peak.method(), peak.gbytes());
        Memory memory = new Memory();
        List<Timed> timed = new ArrayList<>();
        timed.add(new Timed("ND4J", "FP32", fp32));
        timed.add(new Timed("ND4J", "8-bit simulated", int8));
        List<OnnxRuntimeRunner> sessions = new ArrayList<>();
        try {
            if (ortThreads > 0) {
                progress.println("exporting FP32 and 8-bit (QDQ) to ONNX for ONNX Runtime, " + ortThreads + " threads");
                progress.flush();
                byte[] f = OnnxExporter.export(fp32Nchw).bytes();
                byte[] qdq = OnnxExporter.export(q.network()).bytes();
                addOrt(timed, sessions, f, BenchResult.FP32_EXPORT, OnnxRuntimeRunner.Mode.INT8);
                addOrt(timed, sessions, qdq, "8-bit QDQ export", OnnxRuntimeRunner.Mode.INT8);
                addOrt(timed, sessions, qdq, "8-bit QDQ export", OnnxRuntimeRunner.Mode.SIMULATE);
                if (ortFile != null) {
                    OnnxRuntimeRunner r = OnnxRuntimeRunner.open(ortFile, OnnxRuntimeRunner.Mode.INT8, ortThreads);
                    sessions.add(r);
                    timed.add(new Timed(BenchResult.ONNX_RUNTIME, ortFile.getFileName() + " as given, " + kernels(r),
                            r::run));
                }
            }
            progress.printf("%d networks: %d warm-up + %d timed runs each of batch %d, alternating%n", timed.size(),
                    warmup, runs, batch);
            progress.flush();
            double[][] seconds = timeAlternating(timed, input, memory);
            progress.printf("batch 1: %d warm-up + %d timed runs each, alternating%n", warmup, runs);
            progress.flush();
            double[][] single = timeAlternating(timed, input.get(NDArrayIndex.interval(0, 1)).dup(), memory);
            OpTimer fpProfile = profileOps(fp32, input);
            OpTimer qProfile = profileOps(int8, input);
            Map<String, List<BenchResult.OpTime>> ops = new LinkedHashMap<>();
            if (profile) {
                ops.put("fp32", fpProfile.top());
                ops.put("int8", qProfile.top());
            }
            List<BenchResult.RuntimeThroughput> all = new ArrayList<>();
            for (int i = 0; i < timed.size(); i++) {
                all.add(BenchResult.RuntimeThroughput.of(timed.get(i).runtime, timed.get(i).network,
                        BenchResult.Throughput.of(batch, seconds[i]),
                        1e3 / BenchResult.Throughput.of(1, single[i]).median()));
            }
            memory.sample();
            Backend b = Backend.current();
            return BenchResult.of(modelName, b.name(), b.device(), b.threads(), batch, runs, all.get(0).throughput(),
                    all.get(1).throughput(), pipeline[1], rangeSeconds, recipe + "; " + q.execution(),
                    memory.peakPhysical, memory.peakHeap, ops, layout, peak, fpProfile.layerFlops() / batch,
                    all.get(0).latencyMs(), all.get(1).latencyMs(), ortThreads > 0 ? all : List.of());
        } finally {
            sessions.forEach(OnnxRuntimeRunner::close);
        }
    }

    /** Adds ONNX Runtime on an exported model as one more contestant. */
    private void addOrt(List<Timed> timed, List<OnnxRuntimeRunner> sessions, byte[] model, String network,
                        OnnxRuntimeRunner.Mode mode) {
        OnnxRuntimeRunner r = OnnxRuntimeRunner.open(model, network, mode, ortThreads);
        sessions.add(r);
        String what = network.equals(BenchResult.FP32_EXPORT) ? network : mode == OnnxRuntimeRunner.Mode.INT8
                ? network + ", " + kernels(r) : network + ", QDQ fusion disabled (simulation)";
        timed.add(new Timed(BenchResult.ONNX_RUNTIME, what, r::run));
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
     * One network timed on one runtime.
     *
     * @param runtime what runs it, e.g. "ND4J"
     * @param network which network, in words
     * @param forward one forward pass of a batch, its outputs read back to the host
     */
    private record Timed(String runtime, String network, Consumer<INDArray> forward) {
        Timed(String runtime, String network, Network net) {
            this(runtime, network, x -> Benchmark.forward(net, x));
        }
    }

    /**
     * Times the networks in alternation (FP32, 8-bit, FP32, ...), so that a slow spell of the
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

    private static OpTimer profileOps(Network net, INDArray input) {
        OpTimer timer = new OpTimer();
        for (int i = 0; i < PROFILED_PASSES; i++) {
            timer.startPass();
            net.run(input, net.outputs(), List.of(timer));
        }
        return timer;
    }

    /**
     * Peak resident memory of the process (the kernel's high-water mark, VmHWM, where there is one;
     * else JavaCPP's reading at each sample) and peak JVM heap.
     */
    private static final class Memory {
        long peakPhysical;
        long peakHeap;

        void sample() {
            peakPhysical = Math.max(peakPhysical, Math.max(highWaterMark(), Pointer.physicalBytes()));
            Runtime rt = Runtime.getRuntime();
            peakHeap = Math.max(peakHeap, rt.totalMemory() - rt.freeMemory());
        }

        private static long highWaterMark() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmHWM:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux: JavaCPP's samples only
            }
            return 0;
        }
    }
}
