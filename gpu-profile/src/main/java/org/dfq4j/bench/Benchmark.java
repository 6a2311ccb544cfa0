package org.dfq4j.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Measures FP32 and 8-bit-simulated inference of one network at one batch size: warm-up runs, then
 * timed runs (each a forward pass of one batch, its output copied to the host), reported as median,
 * min and max images/second; plus the DFQ pipeline's own time and peak memory. Inputs are generated
 * images, as speed does not depend on their content.
 */
final class Benchmark {

    private final int batch;
    private final int warmup;
    private final int runs;
    private final boolean profile;
    private final boolean lower;
    private final boolean channelsLast;
    private final Execution execution;
    private final PrintWriter progress;

    Benchmark(int batch, int warmup, int runs, boolean profile, boolean lower, PrintWriter progress) {
        this(batch, warmup, runs, profile, Execution.defaults(lower), progress);
    }

    Benchmark(int batch, int warmup, int runs, boolean profile, Execution execution, PrintWriter progress) {
        if (batch < 1 || warmup < 0 || runs < 1) {
            throw new org.dfq4j.rewrite.DfqException("bench needs --batch >= 1, --warmup >= 0 and --runs >= 1");
        }
        this.batch = batch;
        this.warmup = warmup;
        this.runs = runs;
        this.profile = profile;
        this.lower = execution.lowered();
        this.channelsLast = execution.channelsLast();
        this.execution = execution;
        this.progress = progress;
    }

    /**
     * Runs the benchmark. The 8-bit network is {@code recipe}'s float pipeline then its quantization
     * with activation ranges from {@code rangeSpec} ("bn", "model", "calib:N" on generated images, "none").
     */
    BenchResult run(String modelName, Network original, DfqRecipe recipe, String rangeSpec, TensorRange inputRange) {
        long[] shape = original.inputShape();
        INDArray input = SyntheticImages.generate(batch, (int) shape[0], (int) shape[1], (int) shape[2], 7);
        List<INDArray> calibration = rangeSpec.startsWith("calib:") ? List.of(SyntheticImages.generate(
                Integer.parseInt(rangeSpec.substring(6)), (int) shape[0], (int) shape[1], (int) shape[2], 11)) : List.of();

        // The data-free pipeline (float rewrites, bias correction, weight quantization): once to warm
        // up the JIT, then timed, median of three. Activation ranges are timed apart: calib:N runs
        // the network on N images, which is not the pipeline's own cost.
        Rewritten prepared = null;
        double[] pipeline = new double[3];
        for (int i = -1; i < pipeline.length; i++) {
            long t0 = System.nanoTime();
            prepared = recipe.floatPipeline().run(original);
            recipe.quantPipeline(RangeSource.none(), calibration).run(prepared.network());
            if (i >= 0) {
                pipeline[i] = (System.nanoTime() - t0) / 1e9;
            }
        }
        java.util.Arrays.sort(pipeline);
        long tr = System.nanoTime();
        RangeSource source = RangeSource.parse(rangeSpec, recipe.sigmas(), inputRange, calibration);
        Network int8 = inLayout(recipe.quantPipeline(source, calibration).run(prepared.network()).network());
        String quantized = "fake-quant ops as they are";
        if (lower) {
            LowerFakeQuant.Lowered l = LowerFakeQuant.of(int8);
            int8 = l.network();
            quantized = l.describe();
        }
        progress.println("8-bit execution: " + quantized);
        double rangeSeconds = (System.nanoTime() - tr) / 1e9;
        Network fp32 = new DfqRecipe(false, false, false, DfqRecipe.Correction.NONE, recipe.weights(),
                recipe.actBits(), "none", 6).floatPipeline().run(original).network();
        String layout = "NCHW, as imported";
        if (channelsLast) {
            ChannelsLast.Converted c = ChannelsLast.of(fp32);
            fp32 = c.network();
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
        progress.printf("FP32 and 8-bit: %d warm-up + %d timed runs each of batch %d, alternating%n", warmup, runs, batch);
        progress.flush();
        double[][] seconds = timeAlternating(fp32, int8, input, memory, warmup, runs);
        double[] fpSeconds = seconds[0];
        double[] qSeconds = seconds[1];
        progress.printf("batch 1: %d warm-up + %d timed runs each, alternating%n", warmup, runs);
        progress.flush();
        double[][] single = timeAlternating(fp32, int8, input.get(NDArrayIndex.interval(0, 1)).dup(), memory,
                warmup, runs);
        Map<String, List<Map<String, Object>>> ops = new LinkedHashMap<>();
        OpTimer fpProfile = profileOps(fp32, input);
        OpTimer qProfile = profileOps(int8, input);
        if (profile) {
            ops.put("fp32", rows(fpProfile));
            ops.put("int8", rows(qProfile));
        }
        memory.sample();
        Backend b = Backend.current();
        return new BenchResult(modelName, b.name(), b.device(), b.threads(), batch, runs,
                BenchResult.Throughput.of(batch, fpSeconds), BenchResult.Throughput.of(batch, qSeconds),
                pipeline[1], rangeSeconds, recipe.flags() + " " + recipe.weights() + ", activations "
                + (rangeSpec.equals("none") ? "float" : recipe.actBits() + "-bit " + rangeSpec) + "; " + quantized,
                memory.peakPhysical, memory.peakHeap, ops, layout, peak, fpProfile.layerFlops() / batch,
                1e3 / BenchResult.Throughput.of(1, single[0]).median(), 1e3 / BenchResult.Throughput.of(1, single[1]).median());
    }

    private Network inLayout(Network net) {
        return channelsLast ? ChannelsLast.of(net).network() : net;
    }


    /**
     * Times the two networks in alternation (FP32, 8-bit, FP32, ...), so that a slow spell of the
     * machine (another process, thermal or frequency changes) weighs on both alike and their ratio
     * is measured under the same conditions.
     */
    private static double[][] timeAlternating(Network fp32, Network int8, INDArray input, Memory memory, int warmup,
                                              int runs) {
        for (int i = 0; i < warmup; i++) {
            forward(fp32, input);
            forward(int8, input);
        }
        double[][] s = new double[2][runs];
        for (int i = 0; i < runs; i++) {
            s[0][i] = timed(fp32, input, memory);
            s[1][i] = timed(int8, input, memory);
        }
        return s;
    }

    private static double timed(Network net, INDArray input, Memory memory) {
        // ND4J frees native buffers only when the Java collector runs; collect outside the timed
        // window so that a run measures the network, not a collection forced by the last one
        System.gc();
        long t0 = System.nanoTime();
        forward(net, input);
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

    /** Passes profiled; each op's time is its fastest. */
    static final int PROFILED_PASSES = 5;

    private static OpTimer profileOps(Network net, INDArray input) {
        OpTimer timer = new OpTimer();
        for (int i = 0; i < PROFILED_PASSES; i++) {
            timer.startPass();
            net.run(input, net.outputs(), List.of(timer));
        }
        return timer;
    }

    private static List<Map<String, Object>> rows(OpTimer timer) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (OpTimer.OpTime t : timer.top()) {
            rows.add(t.toMap());
        }
        return rows;
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
