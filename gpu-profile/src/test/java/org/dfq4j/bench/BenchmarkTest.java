package org.dfq4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.SliceWorkers;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.zoo.mobilenet.MobileNetV2Builder;
import org.junit.jupiter.api.Test;

/** A bench run on a small synthetic MobileNetV2: both ways of running the 8-bit network. */
class BenchmarkTest {

    private static final Network NET = MobileNetV2Builder.synthetic(0.35, 64, 10, 3);

    private static BenchResult run(Execution execution, StringWriter log) {
        Network net = NET.copy();
        DfqRecipe recipe = DfqRecipe.naive(QuantScheme.perTensor(8, false), 8, "calib:2").withRelu(true).withEqualize(true);
        return new Benchmark(2, 1, 2, true, execution, new PrintWriter(log, true))
                .run(net.name(), net, recipe, "calib:2", new TensorRange(-1, 1));
    }

    private static BenchResult run(boolean lower, StringWriter log) {
        return run(Execution.defaults(lower), log);
    }

    private static double layerFlops(BenchResult r, String which) {
        return r.profile().get(which).stream().filter(o -> OpCost.isCompute((String) o.get("op")))
                .mapToDouble(o -> ((Number) o.get("flops")).doubleValue()).sum();
    }

    @Test
    void loweredAndOpBasedRunsAreTimedAndDescribed() {
        StringWriter log = new StringWriter();
        BenchResult lowered = run(true, log);
        assertTrue(lowered.fp32().median() > 0 && lowered.int8().median() > 0);
        assertEquals(2, lowered.batch());
        assertTrue(lowered.pipelineSeconds() > 0);
        assertTrue(log.toString().contains("8-bit execution: lowered "), log.toString());
        assertTrue(lowered.pipeline().contains("folded into the weights"), lowered.pipeline());
        // the lowered network rounds with scalar ops (x + M clamped, minus M) and has no fake-quant op left
        String ops = lowered.profile().get("int8").toString();
        assertTrue(ops.contains("max_scalar") && ops.contains("scalar_min") && !ops.contains("fake_quant"), ops);

        // what the report derives: FLOPs per image from the profile, a measured peak, batch-1 latency
        assertEquals(layerFlops(lowered, "fp32") / 2, lowered.fp32FlopsPerImage(), 1e-6 * lowered.fp32FlopsPerImage());
        assertEquals(layerFlops(lowered, "fp32"), layerFlops(lowered, "int8"), 1e-6 * layerFlops(lowered, "fp32"),
                "the 8-bit network's layers do the same arithmetic");
        assertTrue(lowered.peak().gflops() > 0 && lowered.peak().gbytes() > 0, lowered.peak().toString());
        assertTrue(lowered.fp32LatencyMs() > 0 && lowered.int8LatencyMs() > 0);
        assertTrue(lowered.layout().startsWith("channels-last") && lowered.layout().contains("planned"), lowered.layout());
        assertTrue(BenchComparison.markdown(lowered).contains("| conv2d |"), BenchComparison.markdown(lowered));

        BenchResult plain = run(false, new StringWriter());
        String plainOps = plain.profile().get("int8").toString();
        assertTrue(plainOps.contains("fake_quant_with_min_max_vars") && !plainOps.contains("max_scalar"), plainOps);
    }

    @Test
    void theOldWayOfRunningDoesTheSameArithmetic() {
        // NCHW through SameDiff's session, as before the speed work: the same layer FLOPs per image
        BenchResult before = run(new Execution(true, false, false, 0, null), new StringWriter());
        BenchResult after;
        try (SliceWorkers workers = Backend.sliceWorkers(2)) {
            after = run(new Execution(true, true, true, 1, workers), new StringWriter());
        }
        assertEquals(before.fp32FlopsPerImage(), after.fp32FlopsPerImage(), 1e-6 * before.fp32FlopsPerImage());
        assertTrue(before.layout().startsWith("NCHW") && before.layout().contains("SameDiff session"), before.layout());
        assertTrue(after.layout().contains("in slices of 1 image, 2 side by side"), after.layout());
    }
}
