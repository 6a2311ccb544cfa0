package org.dfq4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.EnumSet;
import java.util.Set;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.zoo.mobilenet.MobileNetV2Builder;
import org.junit.jupiter.api.Test;

/** A bench run on a small synthetic MobileNetV2: both ways of running the 8-bit network. */
class BenchmarkTest {

    private static final Network NET = MobileNetV2Builder.synthetic(0.35, 64, 10, 3);

    private static BenchResult run(boolean lower, StringWriter log) {
        Network net = NET.copy();
        DfqRecipe recipe = DfqRecipe.builder().replaceRelu6(true).equalize(true)
                .activationRanges(RangeSpec.calibration()).calibrationImages(2).build();
        Quantizer q = Quantizer.builder(recipe).calibration(Benchmark.calibration(recipe, net.inputShape()))
                .inputRange(-1, 1).lowered(lower).build();
        return new Benchmark(2, 1, 2, true, new PrintWriter(log, true)).run(net.name(), net, q);
    }

    @Test
    void loweredAndOpBasedRunsAreTimedAndDescribed() {
        StringWriter log = new StringWriter();
        BenchResult lowered = run(true, log);
        assertTrue(lowered.fp32().median() > 0 && lowered.int8().median() > 0);
        assertEquals(2, lowered.batch());
        assertTrue(lowered.pipelineSeconds() > 0);
        assertTrue(log.toString().contains("8-bit execution: lowered "), log.toString());
        assertTrue(lowered.pipeline().contains("fake-quants (scales folded into weights"), lowered.pipeline());
        // the lowered network runs rint and the level clip, and keeps fake-quant ops only where it must
        Set<OpKind> ops = kinds(lowered);
        assertTrue(ops.contains(OpKind.RINT) && ops.contains(OpKind.LEVEL_CLIP), ops.toString());

        BenchResult plain = run(false, new StringWriter());
        Set<OpKind> plainOps = kinds(plain);
        assertTrue(plainOps.contains(OpKind.FAKE_QUANT) && !plainOps.contains(OpKind.RINT), plainOps.toString());
    }

    /** The op kinds the profile of the 8-bit network saw. */
    private static Set<OpKind> kinds(BenchResult r) {
        Set<OpKind> kinds = EnumSet.noneOf(OpKind.class);
        r.profile().get("int8").forEach(t -> kinds.add(OpKind.ofName(t.op())));
        return kinds;
    }
}
