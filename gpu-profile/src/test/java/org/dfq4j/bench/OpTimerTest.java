package org.dfq4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;

/** Per-op times over several passes: each op's fastest pass, its calls and arithmetic counted once. */
class OpTimerTest {

    /** Stands for another process taking the processor: holds every op of one pass up. */
    private static final class SlowPass extends BaseListener {
        int pass;
        int slowPass = 1;

        @Override
        public boolean isActive(Operation operation) {
            return true;
        }

        @Override
        public void preOpExecution(SameDiff sd, At at, SameDiffOp op, OpContext opContext) {
            if (pass == slowPass) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Test
    void eachOpCountsItsFastestPassAndItsArithmeticOnce() {
        NetworkBuilder b = new NetworkBuilder("timed", 4, 10, 10);
        INDArray w = Nd4j.rand(DataType.FLOAT, 3, 3, 4, 8);
        b.relu("r", b.conv2d("c", b.input(), w, Nd4j.rand(DataType.FLOAT, 8), 1, 1, Padding.SAME, 1, 1));
        Network net = b.build("r");
        INDArray batch = Nd4j.rand(DataType.FLOAT, 2, 4, 10, 10);
        OpTimer timer = new OpTimer();
        SlowPass slow = new SlowPass();
        for (int i = 0; i < 3; i++) {
            slow.pass = i;
            timer.startPass();
            net.run(batch, List.of("r"), List.of(timer, slow));
        }
        Map<OpKind, BenchResult.OpTime> byKind = new EnumMap<>(OpKind.class);
        timer.top().forEach(t -> byKind.put(OpKind.ofName(t.op()), t));
        BenchResult.OpTime conv = byKind.get(OpKind.CONV2D);
        assertEquals(1, conv.calls(), "one convolution in one pass");
        assertEquals(2.0 * 2 * 8 * 10 * 10 * 9 * 4 + 2 * 8 * 10 * 10, conv.flops(), "a pass's FLOPs, not three");
        assertEquals(conv.flops(), timer.layerFlops());
        for (BenchResult.OpTime t : timer.top()) {
            assertTrue(t.seconds() < 0.2, t.op() + " took its fastest pass, not the held-up one: " + t.seconds());
        }
    }
}
