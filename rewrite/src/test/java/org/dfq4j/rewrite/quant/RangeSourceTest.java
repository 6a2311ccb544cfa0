package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class RangeSourceTest {

    private static final TensorRange INPUT = new TensorRange(-1, 1);

    private static Map<String, RangeSource.PointRange> byTensor(List<RangeSource.PointRange> rs) {
        Map<String, RangeSource.PointRange> m = new LinkedHashMap<>();
        rs.forEach(r -> m.put(r.point().tensor(), r));
        return m;
    }

    private static Map<String, RangeSource.PointRange> ranges(Network net, RangeSource src) {
        GraphView g = GraphView.of(net);
        return byTensor(src.ranges(g, QuantizationPoint.find(g)));
    }

    @Test
    void pointsMoveThroughFusedActivationsAndClips() {
        Network net = QuantTestNets.residual(1).net();
        GraphView g = GraphView.of(net);
        Map<String, String> anchorOf = new LinkedHashMap<>();
        QuantizationPoint.find(g).forEach(p -> anchorOf.put(p.tensor(), p.anchor()));
        assertEquals(List.of("input", "r1", "d1c", "c2", "a1", "l3", "cat", "fc"), List.copyOf(anchorOf.keySet()));
        assertEquals("c1", anchorOf.get("r1"));
        assertEquals("d1", anchorOf.get("d1c"));
        assertEquals("c3", anchorOf.get("l3"));
    }

    @Test
    void batchNormRangesFollowTheStatisticsThroughActivations() {
        Network net = QuantTestNets.residual(2).net();
        double n = 6;
        Map<String, RangeSource.PointRange> r = ranges(net, RangeSource.batchNorm(n, INPUT));
        assertEquals(INPUT, r.get("input").range());

        ChannelStats c1 = net.stats().get("c1");
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (int c = 0; c < c1.channels(); c++) { // relu6: clip each channel's mean +- n sigma to [0, 6]
            lo = Math.min(lo, Math.max(0, Math.min(6, c1.mean(c) - n * c1.std(c))));
            hi = Math.max(hi, Math.max(0, Math.min(6, c1.mean(c) + n * c1.std(c))));
        }
        TensorRange r1 = r.get("r1").range();
        assertEquals(lo, r1.min(), 1e-12);
        assertEquals(hi, r1.max(), 1e-12);
        assertEquals(0, r1.min());
        assertTrue(r1.max() <= 6);

        TensorRange d1c = r.get("d1c").range(); // relu then per-channel clip at 0.5 .. 4
        ChannelStats d1 = net.stats().get("d1");
        double clipHi = -Double.MAX_VALUE;
        for (int c = 0; c < d1.channels(); c++) {
            clipHi = Math.max(clipHi, Math.min(0.5 * (c + 1), Math.max(0, d1.mean(c) + n * d1.std(c))));
        }
        assertEquals(0, d1c.min());
        assertEquals(clipHi, d1c.max(), 1e-12);
        assertTrue(d1c.max() <= 4);

        // residual add: branch means and variances add
        ChannelStats c2 = net.stats().get("c2");
        double aLo = Double.MAX_VALUE;
        double aHi = -Double.MAX_VALUE;
        for (int c = 0; c < 8; c++) {
            ClippedNormal relu6 = ClippedNormal.normal(c1.mean(c), c1.std(c)).clip(0, 6);
            double m = c2.mean(c) + relu6.mean();
            double sd = Math.sqrt(c2.std(c) * c2.std(c) + relu6.variance());
            aLo = Math.min(aLo, m - n * sd);
            aHi = Math.max(aHi, m + n * sd);
        }
        assertEquals(aLo, r.get("a1").range().min(), 1e-9);
        assertEquals(aHi, r.get("a1").range().max(), 1e-9);

        // leaky relu maps the pre-activation range's endpoints; concat is the union of its inputs
        ChannelStats c3 = net.stats().get("c3");
        double pLo = Double.MAX_VALUE;
        double pHi = -Double.MAX_VALUE;
        for (int c = 0; c < c3.channels(); c++) {
            pLo = Math.min(pLo, c3.mean(c) - n * c3.std(c));
            pHi = Math.max(pHi, c3.mean(c) + n * c3.std(c));
        }
        TensorRange l3 = r.get("l3").range();
        assertEquals(pLo < 0 ? 0.1 * pLo : pLo, l3.min(), 1e-6);
        assertEquals(pHi, l3.max(), 1e-9);
        assertEquals(l3.union(r.get("a1").range()), r.get("cat").range());
    }

    @Test
    void batchNormRangesCoverTheCalibrationData() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(3);
        Map<String, RangeSource.PointRange> bn = ranges(c.net(), RangeSource.batchNorm(6, INPUT));
        Map<String, RangeSource.PointRange> data = ranges(c.net(), RangeSource.calibration(List.of(c.calibration())));
        for (String t : List.of("r1", "d1c", "c2", "l3", "fc")) {
            assertTrue(bn.get(t).range().min() <= data.get(t).range().min() + 1e-6, t);
            assertTrue(bn.get(t).range().max() >= data.get(t).range().max() - 1e-6, t);
        }
    }

    @Test
    void missingStatisticsAreReportedAndNoStatisticsIsAnError() {
        Network net = QuantTestNets.residual(4).withoutStats("c2").net();
        Map<String, RangeSource.PointRange> r = ranges(net, RangeSource.batchNorm(6, INPUT));
        for (String t : List.of("c2", "a1", "cat")) {
            assertFalse(r.get(t).known(), t);
            assertTrue(r.get(t).note().contains("c2"), r.get(t).note());
        }
        assertTrue(r.get("r1").known());

        Network none = QuantTestNets.residual(4).withoutStats("c1", "d1", "c2", "c3", "fc").net();
        assertTrue(none.stats().isEmpty());
        DfqException e = assertThrows(DfqException.class, () -> ranges(none, RangeSource.batchNorm(6, INPUT)));
        assertTrue(e.getMessage().contains("model") && e.getMessage().contains("calib")
                && e.getMessage().contains("none"), e.getMessage());
        assertThrows(DfqException.class, () -> RangeSource.batchNorm(6, null));
        assertThrows(DfqException.class, () -> RangeSource.batchNorm(0, INPUT));
    }

    @Test
    void recordedRangesAreUsedAndMissingOnesReported() {
        Network plain = QuantTestNets.residual(5).net();
        assertThrows(DfqException.class, () -> ranges(plain, RangeSource.recorded()));
        Map<String, TensorRange> recorded = new LinkedHashMap<>();
        recorded.put("input", new TensorRange(-1, 1));
        recorded.put("c1", new TensorRange(-3, 9)); // recorded before the fused relu6
        recorded.put("a1", new TensorRange(-2, 5));
        recorded.put("l3", new TensorRange(-0.25, 3));
        Network net = plain.withRecordedRanges(recorded);
        Map<String, RangeSource.PointRange> r = ranges(net, RangeSource.recorded());
        assertEquals(new TensorRange(-1, 1), r.get("input").range());
        assertEquals(new TensorRange(0, 6), r.get("r1").range());
        assertEquals(new TensorRange(-2, 5), r.get("a1").range());
        assertEquals(new TensorRange(-0.25, 3), r.get("l3").range());
        assertFalse(r.get("c2").known());
        assertNull(r.get("fc").range());
        assertTrue(r.get("fc").note().contains("no range recorded"), r.get("fc").note());
    }

    @Test
    void calibrationRangesAreMinMaxOverAllImages() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(6);
        INDArray all = c.calibration();
        INDArray first = all.get(NDArrayIndex.interval(0, 3)).dup();
        INDArray rest = all.get(NDArrayIndex.interval(3, all.size(0))).dup();
        RangeSource src = RangeSource.calibration(List.of(first, rest));
        assertEquals("calib-minmax:" + all.size(0), src.name());
        Map<String, RangeSource.PointRange> r = ranges(c.net(), src);
        Map<String, INDArray> direct = c.net().run(all, List.copyOf(r.keySet()));
        for (String t : r.keySet()) {
            assertEquals(direct.get(t).minNumber().doubleValue(), r.get(t).range().min(), 1e-6, t);
            assertEquals(direct.get(t).maxNumber().doubleValue(), r.get(t).range().max(), 1e-6, t);
        }
        assertEquals(0.0, r.get("d1c").range().min(), 0.0);
        assertTrue(r.get("d1c").range().max() <= 4);
    }

    @Test
    void specsAreParsedByName() {
        assertEquals(RangeSpec.batchNorm(), RangeSpec.parse("bn"));
        assertEquals(RangeSpec.batchNormMse(), RangeSpec.parse("bn:mse"));
        assertEquals("bn:mse", RangeSpec.batchNormMse().toString());
        assertEquals(RangeSpec.batchNorm(6), RangeSpec.parse("bn"));
        assertEquals(RangeSpec.calibrationMinMax(), RangeSpec.parse("calib:minmax"));
        assertEquals("calib:minmax", RangeSpec.calibrationMinMax().toString());
        assertEquals("calib", RangeSpec.parse("calib:mse").toString());
        assertEquals(RangeSpec.batchNorm(3), RangeSpec.parse("BN:3"));
        assertEquals("bn:3", RangeSpec.parse("bn:3").toString());
        assertEquals("model", RangeSpec.parse("model").toString());
        assertEquals(RangeSpec.none(), RangeSpec.parse(" NONE "));
        assertEquals(RangeSpec.calibration(), RangeSpec.parse("calib"));
        assertEquals(RangeSpec.batchNorm(), RangeSpec.auto().resolve(true));
        assertEquals(RangeSpec.calibration(), RangeSpec.auto().resolve(false));
        for (String bad : List.of("calib:5", "bn:x", "bn:0", "percentile")) {
            assertThrows(DfqException.class, () -> RangeSpec.parse(bad), bad);
        }
    }

    @Test
    void calibrationTakesTheFirstImages() {
        INDArray images = QuantTestNets.images(7, 4, 3, 8, 8);
        List<INDArray> batches = List.of(images.get(NDArrayIndex.interval(0, 2)), images.get(NDArrayIndex.interval(2, 4)));
        assertInstanceOf(RangeSource.BatchNorm.class, RangeSource.batchNorm(6, INPUT));
        CalibratedRanges calib = CalibratedRanges.first(batches, 3);
        assertEquals("calib-minmax:3", calib.name());
        assertEquals(List.of(2L, 1L), calib.batches().stream().map(b -> b.size(0)).toList());
        assertThrows(DfqException.class, () -> CalibratedRanges.first(batches, 5));
        assertThrows(DfqException.class, () -> CalibratedRanges.first(batches, 0));
    }
}
