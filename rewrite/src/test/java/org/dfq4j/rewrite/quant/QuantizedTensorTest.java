package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.TreeSet;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.FakeQuantWithMinMaxVars;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class QuantizedTensorTest {

    private static INDArray randn(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, shape);
    }

    /** Distinct values, the number of levels and the grid: every value is s * (q - z) for an integer q in range. */
    private static void assertOnGrid(float[] values, QuantParams p) {
        TreeSet<Float> distinct = new TreeSet<>();
        for (float v : values) {
            distinct.add(v);
            double q = v / p.scale() + p.zeroPoint();
            assertEquals(Math.rint(q), q, 1e-3, "value " + v + " is not on the grid of " + p);
            assertTrue(Math.rint(q) >= p.qMin() && Math.rint(q) <= p.qMax(), "level " + q + " outside " + p);
        }
        assertTrue(distinct.size() <= p.qMax() - p.qMin() + 1, distinct.size() + " levels");
    }

    @Test
    void asymmetricPerTensorHasAtMostTwoToTheBitsLevelsOnAGridOfStepScale() {
        INDArray x = randn(1, 1000).mul(3).add(1);
        for (int bits : new int[] {2, 4, 8}) {
            QuantizedTensor q = QuantizedTensor.of(x, QuantScheme.perTensor(bits, false));
            QuantParams p = q.channels().get(0);
            double min = Math.min(0, x.minNumber().doubleValue());
            double max = Math.max(0, x.maxNumber().doubleValue());
            assertEquals((max - min) / ((1 << bits) - 1), p.scale(), 1e-12);
            assertEquals(Math.floor(-min / p.scale() + 0.5), p.zeroPoint());
            float[] v = q.values().data().asFloat();
            assertOnGrid(v, p);
            // adjacent distinct values differ by exactly one step where the data is dense
            TreeSet<Float> d = new TreeSet<>();
            for (float f : v) {
                d.add(f);
            }
            Float prev = null;
            double smallestGap = Double.MAX_VALUE;
            for (Float f : d) {
                if (prev != null) {
                    smallestGap = Math.min(smallestGap, f - prev);
                }
                prev = f;
            }
            assertEquals(p.scale(), smallestGap, 1e-5 * p.scale() + 1e-6);
            // error at most half a step inside the range
            INDArray err = x.sub(q.values());
            assertTrue(err.amaxNumber().doubleValue() <= p.scale() / 2 + 1e-5);
        }
    }

    @Test
    void zeroIsExactlyRepresentable() {
        INDArray x = Nd4j.createFromArray(0f, 0.3f, 1.7f, -0.45f, 2.2f, 0f);
        for (QuantScheme s : new QuantScheme[] {QuantScheme.perTensor(3, false), QuantScheme.perTensor(3, true),
                QuantScheme.perTensor(8, false)}) {
            QuantizedTensor q = QuantizedTensor.of(x, s);
            assertEquals(0.0, q.values().getDouble(0), 0.0);
            assertEquals(0.0, q.values().getDouble(5), 0.0);
            assertEquals(0.0, q.channels().get(0).dequantize(q.channels().get(0).zeroPoint()), 0.0);
        }
        // a strictly positive tensor: the range is extended to 0, so 0 is still a level
        QuantParams p = QuantParams.of(QuantScheme.perTensor(8, false), 2.0, 5.0);
        assertEquals(0, p.zeroPoint());
        assertEquals(5.0 / 255, p.scale(), 1e-15);
        assertEquals(0.0, p.fakeQuantize(0.0), 0.0);
    }

    @Test
    void symmetricHasZeroPointZeroAndANarrowRange() {
        INDArray x = randn(2, 500).add(0.7);
        QuantizedTensor q = QuantizedTensor.of(x, QuantScheme.perTensor(4, true));
        QuantParams p = q.channels().get(0);
        assertEquals(0, p.zeroPoint());
        assertEquals(-7, p.qMin());
        assertEquals(7, p.qMax());
        assertEquals(x.amaxNumber().doubleValue() / 7, p.scale(), 1e-9);
        assertOnGrid(q.values().data().asFloat(), p);
    }

    @Test
    void perChannelConvUsesAxisThree() {
        INDArray w = randn(3, 3, 3, 4, 5);
        for (int o = 0; o < 5; o++) { // very different channel ranges
            w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(o)).muli(Math.pow(4, o));
        }
        QuantizedTensor q = QuantizedTensor.of(w, QuantScheme.perChannel(8, false), WeightLayer.Kind.CONV);
        assertEquals(5, q.channels().size());
        for (int o = 0; o < 5; o++) {
            INDArray slice = w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(o));
            assertChannel(slice, q.values().get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.point(o)), q.channels().get(o), 8);
        }
    }

    @Test
    void perChannelDepthwiseUsesChannelTimesMultiplierPlusJ() {
        INDArray w = randn(4, 3, 3, 3, 2);
        for (int c = 0; c < 3; c++) {
            for (int j = 0; j < 2; j++) {
                w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.point(j))
                        .muli(Math.pow(3, c * 2 + j));
            }
        }
        QuantizedTensor q = QuantizedTensor.of(w, QuantScheme.perChannel(6, false), WeightLayer.Kind.DEPTHWISE);
        assertEquals(6, q.channels().size());
        for (int c = 0; c < 3; c++) {
            for (int j = 0; j < 2; j++) {
                INDArray slice = w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.point(j));
                INDArray qs = q.values().get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c),
                        NDArrayIndex.point(j));
                assertChannel(slice, qs, q.channels().get(c * 2 + j), 6);
            }
        }
    }

    @Test
    void perChannelDenseUsesAxisOne() {
        INDArray w = randn(5, 6, 4);
        for (int o = 0; o < 4; o++) {
            w.getColumn(o).muli(o + 1);
        }
        QuantizedTensor q = QuantizedTensor.of(w, QuantScheme.perChannel(4, true), WeightLayer.Kind.DENSE);
        for (int o = 0; o < 4; o++) {
            QuantParams p = q.channels().get(o);
            assertEquals(w.getColumn(o).amaxNumber().doubleValue() / 7, p.scale(), 1e-9);
            assertOnGrid(q.values().getColumn(o).dup().data().asFloat(), p);
        }
        // a plain tensor with an explicit axis: axis 0 of [6,4] has 6 channels (the rows)
        QuantizedTensor rows = QuantizedTensor.of(w, QuantScheme.perChannel(4, true, 0));
        assertEquals(6, rows.channels().size());
        assertEquals(w.getRow(2).amaxNumber().doubleValue() / 7, rows.channels().get(2).scale(), 1e-9);
    }

    private static void assertChannel(INDArray original, INDArray quantized, QuantParams p, int bits) {
        double min = Math.min(0, original.minNumber().doubleValue());
        double max = Math.max(0, original.maxNumber().doubleValue());
        assertEquals((max - min) / ((1 << bits) - 1), p.scale(), 1e-9 * (max - min));
        assertOnGrid(quantized.dup().data().asFloat(), p);
        assertTrue(original.sub(quantized).amaxNumber().doubleValue() <= p.scale() / 2 * (1 + 1e-5));
    }

    @Test
    void zeroChannelsStayZeroWithoutNaN() {
        INDArray w = randn(5, 2, 2, 3, 4);
        w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(2)).assign(0);
        QuantizedTensor q = QuantizedTensor.of(w, QuantScheme.perChannel(8, false), WeightLayer.Kind.CONV);
        assertEquals(0.0, q.channels().get(2).scale());
        assertFalse(q.values().isNaN().any());
        assertEquals(0.0, q.values().get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.point(2)).amaxNumber().doubleValue(), 0.0);
        QuantizedTensor zeros = QuantizedTensor.of(Nd4j.zeros(DataType.FLOAT, 7), QuantScheme.perTensor(8, true));
        assertEquals(0.0, zeros.values().amaxNumber().doubleValue(), 0.0);
        assertEquals(Double.POSITIVE_INFINITY, zeros.sqnrDb());
    }

    @Test
    void sqnrGrowsAboutSixDecibelsPerBit() {
        INDArray x = randn(6, 20000);
        double s6 = QuantizedTensor.of(x, QuantScheme.perTensor(6, false)).sqnrDb();
        double s8 = QuantizedTensor.of(x, QuantScheme.perTensor(8, false)).sqnrDb();
        INDArray err = x.sub(QuantizedTensor.of(x, QuantScheme.perTensor(8, false)).values());
        double direct = 10 * Math.log10(x.norm2Number().doubleValue() * x.norm2Number().doubleValue()
                / (err.norm2Number().doubleValue() * err.norm2Number().doubleValue()));
        assertEquals(direct, s8, 1e-3);
        assertEquals(12.04, s8 - s6, 0.5);
    }

    @Test
    void matchesTheFakeQuantOpOfTheGraph() {
        INDArray x = randn(7, 4000).mul(2).add(0.5);
        for (int bits : new int[] {3, 8}) {
            QuantizedTensor q = QuantizedTensor.of(x, QuantScheme.perTensor(bits, false));
            double min = Math.min(0, x.minNumber().doubleValue());
            double max = Math.max(0, x.maxNumber().doubleValue());
            INDArray op = Nd4j.exec(new FakeQuantWithMinMaxVars(x, Nd4j.createFromArray((float) min),
                    Nd4j.createFromArray((float) max), bits, false))[0];
            double step = q.channels().get(0).scale();
            // equal up to float rounding; a value within float error of a rounding tie may go either way
            INDArray diff = Nd4j.math().abs(op.sub(q.values()));
            long far = diff.gt(1e-4 * step).castTo(DataType.INT).sumNumber().longValue();
            assertTrue(far <= 2, far + " values differ from the op by more than float error");
            assertTrue(diff.maxNumber().doubleValue() <= step * 1.0001);
        }
    }

    @Test
    void impossibleSchemesAreRejected() {
        assertThrows(DfqException.class, () -> QuantScheme.perTensor(1, false));
        assertThrows(DfqException.class, () -> QuantScheme.perTensor(17, true));
        assertThrows(DfqException.class, () -> QuantScheme.perChannel(8, false, -3));
        assertThrows(DfqException.class, () -> new QuantScheme(8, false, false, 2));
        assertThrows(DfqException.class,
                () -> QuantizedTensor.of(Nd4j.zeros(DataType.FLOAT, 3, 3), QuantScheme.perChannel(8, false, 2)));
        assertThrows(DfqException.class,
                () -> QuantizedTensor.of(Nd4j.zeros(DataType.FLOAT, 3, 3), QuantScheme.perChannel(8, false)));
        assertEquals(256, QuantScheme.perTensor(8, false).levels());
        assertEquals(255, QuantScheme.perTensor(8, true).levels());
    }
}
