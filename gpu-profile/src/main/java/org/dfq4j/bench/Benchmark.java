package org.dfq4j.bench;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.dfq4j.zoo.onnx.OnnxExporter;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
    private final PrintWriter progress;
    /** Threads of the ONNX Runtime sessions timed beside ND4J; 0 for none. */
    private final int ortThreads;
    /** An ONNX file timed as it is in ONNX Runtime, or null. */
    private final Path ortFile;

    Benchmark(int batch, int warmup, int runs, boolean profile, boolean lower, PrintWriter progress) {
        this(batch, warmup, runs, profile, lower, progress, 0, null);
    }

    /**
     * With {@code ortThreads > 0} the same networks, exported to ONNX by dfq4j (FP32, and the 8-bit
     * network as QDQ, on ONNX Runtime's integer kernels and with its QDQ fusion disabled), and
     * {@code ortFile} when given, are timed in ONNX Runtime in the same alternation.
     */
    Benchmark(int batch, int warmup, int runs, boolean profile, boolean lower, PrintWriter progress, int ortThreads,
              Path ortFile) {
        if (batch < 1 || warmup < 0 || runs < 1) {
            throw new org.dfq4j.rewrite.DfqException("bench needs --batch >= 1, --warmup >= 0 and --runs >= 1");
        }
        this.batch = batch;
        this.warmup = warmup;
        this.runs = runs;
        this.profile = profile;
        this.lower = lower;
        this.progress = progress;
        this.ortThreads = ortThreads;
        this.ortFile = ortFile;
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
        Network int8 = recipe.quantPipeline(source, calibration).run(prepared.network()).network();
        Network int8Ops = int8;
        String execution = "fake-quant ops as they are";
        if (lower) {
            LowerFakeQuant.Lowered l = LowerFakeQuant.of(int8);
            int8 = l.network();
            execution = l.describe();
        }
        progress.println("8-bit execution: " + execution);
        double rangeSeconds = (System.nanoTime() - tr) / 1e9;
        Network fp32 = new DfqRecipe(false, false, false, DfqRecipe.Correction.NONE, recipe.weights(), recipe.actBits(),
                "none", 6).floatPipeline().run(original).network();

        Memory memory = new Memory();
        List<Timed> timed = new ArrayList<>();
        Network nd4jInt8 = int8;
        timed.add(new Timed("ND4J", "FP32", x -> forward(fp32, x)));
        timed.add(new Timed("ND4J", "8-bit simulated (" + (lower ? "lowered" : "fake-quant ops") + ")",
                x -> forward(nd4jInt8, x)));
        List<OnnxRuntimeRunner> sessions = new ArrayList<>();
        try {
            if (ortThreads > 0) {
                progress.println("exporting FP32 and 8-bit (QDQ) to ONNX for ONNX Runtime, " + ortThreads + " threads");
                byte[] f = OnnxExporter.export(fp32).bytes();
                byte[] q = OnnxExporter.export(int8Ops).bytes();
                addOrt(timed, sessions, f, "FP32 export", OnnxRuntimeRunner.Mode.INT8);
                addOrt(timed, sessions, q, "8-bit QDQ export", OnnxRuntimeRunner.Mode.INT8);
                addOrt(timed, sessions, q, "8-bit QDQ export", OnnxRuntimeRunner.Mode.SIMULATE);
                if (ortFile != null) {
                    OnnxRuntimeRunner r = OnnxRuntimeRunner.open(ortFile, OnnxRuntimeRunner.Mode.INT8, ortThreads);
                    sessions.add(r);
                    timed.add(new Timed("ONNX Runtime", ortFile.getFileName() + " as given, " + kernels(r),
                            x -> r.run(x)));
                }
            }
            progress.printf("%d networks: %d warm-up + %d timed runs each of batch %d, alternating%n", timed.size(),
                    warmup, runs, batch);
            progress.flush();
            double[][] seconds = timeAlternating(timed, input, memory);
            Map<String, List<Map<String, Object>>> ops = new LinkedHashMap<>();
            if (profile) {
                ops.put("fp32", profileOps(fp32, input));
                ops.put("int8", profileOps(int8, input));
            }
            List<BenchResult.RuntimeThroughput> all = new ArrayList<>();
            for (int i = 0; i < timed.size(); i++) {
                all.add(new BenchResult.RuntimeThroughput(timed.get(i).runtime, timed.get(i).network,
                        BenchResult.Throughput.of(batch, seconds[i])));
            }
            Backend b = Backend.current();
            return new BenchResult(modelName, b.name(), b.device(), b.threads(), batch, runs,
                    all.get(0).throughput(), all.get(1).throughput(), pipeline[1], rangeSeconds, recipe.flags() + " "
                    + recipe.weights() + ", activations " + (rangeSpec.equals("none") ? "float" : recipe.actBits() + "-bit "
                    + rangeSpec) + "; " + execution, memory.peakPhysical, memory.peakHeap, ops,
                    ortThreads > 0 ? all : List.of());
        } finally {
            sessions.forEach(OnnxRuntimeRunner::close);
        }
    }

    /** One network timed on one runtime. */
    private record Timed(String runtime, String network, java.util.function.Consumer<INDArray> forward) {
    }

    private void addOrt(List<Timed> timed, List<OnnxRuntimeRunner> sessions, byte[] model, String network,
                        OnnxRuntimeRunner.Mode mode) {
        OnnxRuntimeRunner r = OnnxRuntimeRunner.open(model, network, mode, ortThreads);
        sessions.add(r);
        String what = network.startsWith("FP32") ? network : mode == OnnxRuntimeRunner.Mode.INT8
                ? network + ", " + kernels(r) : network + ", QDQ fusion disabled (simulation)";
        timed.add(new Timed("ONNX Runtime", what, x -> r.run(x)));
    }

    /** "int8 kernels: QLinearConv 52, QLinearAdd 10" or "no integer kernels". */
    private static String kernels(OnnxRuntimeRunner r) {
        var ints = r.integerKernels();
        return ints.isEmpty() ? "no integer kernels"
                : "int8 kernels: " + OnnxRuntimeRunner.format(ints).replace("com.microsoft.", "");
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

    private static double timed(java.util.function.Consumer<INDArray> forward, INDArray input, Memory memory) {
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

    private List<Map<String, Object>> profileOps(Network net, INDArray input) {
        OpTimer timer = new OpTimer();
        net.run(input, net.outputs(), List.of(timer));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (OpTimer.OpTime t : timer.top()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("op", t.op());
            m.put("seconds", t.seconds());
            m.put("calls", t.calls());
            rows.add(m);
        }
        return rows;
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
