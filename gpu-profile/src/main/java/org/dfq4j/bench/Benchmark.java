package org.dfq4j.bench;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.QuantizedNetwork;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measures FP32 and 8-bit-simulated inference of one network at one batch size: warm-up runs, then
 * timed runs (each a forward pass of one batch, its output copied to the host), reported as median,
 * min and max images/second; plus the DFQ pipeline's own time and peak memory. Inputs are generated
 * images, as speed does not depend on their content; calibration images too.
 */
public record Benchmark(int batch, int warmup, int runs, boolean profile, PrintWriter progress) {

    /** Seed of the generated calibration images. */
    private static final long CALIBRATION_SEED = 11;

    /**
     * @param batch    images per forward pass
     * @param warmup   untimed runs of each network first
     * @param runs     timed runs of each network
     * @param profile  also time one pass per op type
     * @param progress where to say what is happening
     */
    public Benchmark {
        if (batch < 1 || warmup < 0 || runs < 1) {
            throw new DfqException("a benchmark needs a batch of at least 1, no negative warm-up and at least 1 timed run");
        }
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
        progress.printf("FP32 and 8-bit: %d warm-up + %d timed runs each of batch %d, alternating%n", warmup, runs, batch);
        progress.flush();
        double[][] seconds = timeAlternating(fp32, int8, input, memory);
        Map<String, List<BenchResult.OpTime>> ops = new LinkedHashMap<>();
        if (profile) {
            ops.put("fp32", profileOps(fp32, input));
            ops.put("int8", profileOps(int8, input));
        }
        Backend b = Backend.current();
        return BenchResult.of(modelName, b.name(), b.device(), b.threads(), batch, runs,
                BenchResult.Throughput.of(batch, seconds[0]), BenchResult.Throughput.of(batch, seconds[1]),
                pipeline[1], rangeSeconds, recipe + "; " + q.execution(), memory.peakPhysical, memory.peakHeap, ops);
    }

    /** Generated calibration images for a recipe (its calibration count) and an input [C, H, W]. */
    public static Calibration calibration(DfqRecipe recipe, long[] shape) {
        return Calibration.of(List.of(SyntheticImages.generate(recipe.calibrationImages(), (int) shape[0],
                (int) shape[1], (int) shape[2], CALIBRATION_SEED)), "generated images");
    }

    /**
     * Times the two networks in alternation (FP32, 8-bit, FP32, ...), so that a slow spell of the
     * machine (another process, thermal or frequency changes) weighs on both alike and their ratio
     * is measured under the same conditions.
     */
    private double[][] timeAlternating(Network fp32, Network int8, INDArray input, Memory memory) {
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
