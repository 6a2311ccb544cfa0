package org.dfq4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.SliceWorkers;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.zoo.mobilenet.MobileNetV2Builder;
import org.junit.jupiter.api.Test;

/** A bench run on a small synthetic MobileNetV2: both ways of running the 8-bit network. */
class BenchmarkTest {

    private static final Network NET = MobileNetV2Builder.synthetic(0.35, 64, 10, 3);

    private static BenchResult run(boolean lower, Execution execution, StringWriter log) {
        return run(lower, execution, log, 0);
    }

    private static BenchResult run(boolean lower, Execution execution, StringWriter log, int ortThreads) {
        Network net = NET.copy();
        DfqRecipe recipe = DfqRecipe.builder().replaceRelu6(true).equalize(true)
                .activationRanges(RangeSpec.calibration()).calibrationImages(2).build();
        Quantizer q = Quantizer.builder(recipe).calibration(Benchmark.calibration(recipe, net.inputShape()))
                .inputRange(-1, 1).lowered(lower).build();
        return new Benchmark(2, 1, 2, true, execution, new PrintWriter(log, true), ortThreads, null)
                .run(net.name(), net, q);
    }

    private static double layerFlops(BenchResult r, String which) {
        return r.profile().get(which).stream().filter(o -> OpCost.isCompute(OpKind.ofName(o.op())))
                .mapToDouble(BenchResult.OpTime::flops).sum();
    }

    @Test
    void loweredAndOpBasedRunsAreTimedAndDescribed() {
        StringWriter log = new StringWriter();
        BenchResult lowered = run(true, Execution.DEFAULT, log, 1);
        assertTrue(lowered.fp32().median() > 0 && lowered.int8().median() > 0);
        assertEquals(2, lowered.batch());
        assertTrue(lowered.pipelineSeconds() > 0);
        assertTrue(log.toString().contains("8-bit execution: lowered "), log.toString());
        assertTrue(lowered.pipeline().contains("folded into the weights"), lowered.pipeline());
        // the lowered network rounds with scalar ops (x + M clamped, minus M) and has no fake-quant op left
        Set<OpKind> ops = kinds(lowered);
        assertTrue(ops.contains(OpKind.ADD_SCALAR) && !ops.contains(OpKind.FAKE_QUANT), ops.toString());

        // what the report derives: FLOPs per image from the profile, a measured peak, batch-1 latency
        assertEquals(layerFlops(lowered, "fp32") / 2, lowered.fp32FlopsPerImage(), 1e-6 * lowered.fp32FlopsPerImage());
        assertEquals(layerFlops(lowered, "fp32"), layerFlops(lowered, "int8"), 1e-6 * layerFlops(lowered, "fp32"),
                "the 8-bit network's layers do the same arithmetic");
        assertTrue(lowered.peak().gflops() > 0 && lowered.peak().gbytes() > 0, lowered.peak().toString());
        assertTrue(lowered.fp32LatencyMs() > 0 && lowered.int8LatencyMs() > 0);
        assertTrue(lowered.layout().startsWith("channels-last") && lowered.layout().contains("planned"), lowered.layout());
        assertTrue(BenchComparison.markdown(lowered).contains("| conv2d |"), BenchComparison.markdown(lowered));

        // ONNX Runtime on the same networks exported by dfq4j, timed in the same alternation: ND4J's two
        // networks first (the result's FP32 and 8-bit), then the FP32 export, the QDQ export on integer
        // kernels and with QDQ fusion disabled; the ratio ND4J FP32 / ONNX Runtime FP32 from the same run
        List<BenchResult.RuntimeThroughput> rows = lowered.runtimes();
        assertEquals(List.of("ND4J", "ND4J", BenchResult.ONNX_RUNTIME, BenchResult.ONNX_RUNTIME,
                BenchResult.ONNX_RUNTIME), rows.stream().map(BenchResult.RuntimeThroughput::runtime).toList());
        assertEquals(lowered.fp32(), rows.get(0).throughput());
        assertEquals(lowered.int8(), rows.get(1).throughput());
        assertEquals(BenchResult.FP32_EXPORT, rows.get(2).network());
        assertTrue(rows.get(3).network().contains("int8 kernels: QLinearConv"), rows.get(3).network());
        assertTrue(rows.stream().allMatch(t -> t.imagesPerSecond() > 0 && t.latencyMs() > 0), rows.toString());
        assertEquals(lowered.fp32().median() / rows.get(2).imagesPerSecond(), lowered.fp32OverOnnxRuntime(), 1e-12);
        assertTrue(BenchComparison.markdown(lowered).contains("ND4J FP32 / ONNX Runtime FP32 (same network, same run)"));

        BenchResult plain = run(false, Execution.DEFAULT, new StringWriter());
        assertEquals(List.of(), plain.runtimes(), "ND4J only");
        Set<OpKind> plainOps = kinds(plain);
        assertTrue(plainOps.contains(OpKind.FAKE_QUANT) && !plainOps.contains(OpKind.ADD_SCALAR), plainOps.toString());
    }

    @Test
    void theOldWayOfRunningDoesTheSameArithmetic() {
        // NCHW through SameDiff's session, as before the speed work: the same layer FLOPs per image
        BenchResult before = run(true, new Execution(false, false, 0, null), new StringWriter());
        BenchResult after;
        try (SliceWorkers workers = Backend.sliceWorkers(2)) {
            after = run(true, new Execution(true, true, 1, workers), new StringWriter());
        }
        assertEquals(before.fp32FlopsPerImage(), after.fp32FlopsPerImage(), 1e-6 * before.fp32FlopsPerImage());
        assertTrue(before.layout().startsWith("NCHW") && before.layout().contains("SameDiff session"), before.layout());
        assertTrue(after.layout().contains("in slices of 1 image, 2 side by side"), after.layout());
    }

    /** The op kinds the profile of the 8-bit network saw. */
    private static Set<OpKind> kinds(BenchResult r) {
        Set<OpKind> kinds = EnumSet.noneOf(OpKind.class);
        r.profile().get("int8").forEach(t -> kinds.add(OpKind.ofName(t.op())));
        return kinds;
    }
}
