package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class ClippingSearchTest {

    /** Mean squared error of fake-quantizing the values with the scheme's quantizer for a range. */
    private static double mse(float[] x, QuantScheme scheme, TensorRange r) {
        QuantParams q = QuantParams.of(scheme, r.min(), r.max());
        double s = 0;
        for (float v : x) {
            double e = q.fakeQuantize(v) - v;
            s += e * e;
        }
        return s / x.length;
    }

    private static TensorRange minMax(float[] x) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new TensorRange(lo, hi);
    }

    /** Heavy-tailed samples: Laplace, optionally rectified (a ReLU output), as activations are. */
    private static float[] samples(long seed, int n, boolean relu) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double u = r.nextDouble() - 0.5;
            double v = 0.3 - Math.signum(u) * Math.log(1 - 2 * Math.abs(u));
            x[i] = (float) (relu ? Math.max(0, v) : v);
        }
        return x;
    }

    @Test
    void theMseRangeIsNeverWorseThanMinMaxOnTheValuesItWasFittedOn() {
        for (int bits : new int[] {2, 4, 6, 8}) {
            for (boolean relu : new boolean[] {false, true}) {
                for (boolean symmetric : new boolean[] {false, true}) {
                    float[] x = samples(bits * 31L + (relu ? 1 : 0), 200_000, relu);
                    QuantScheme scheme = QuantScheme.perTensor(bits, symmetric);
                    TensorRange mm = minMax(x);
                    TensorRange best = ClippingSearch.best(ClippingSearch.Histogram.over(mm).add(x), scheme);
                    double eBest = mse(x, scheme, best);
                    double eMinMax = mse(x, scheme, mm);
                    String what = bits + " bits, relu " + relu + ", symmetric " + symmetric + ": " + best + " vs " + mm;
                    assertTrue(eBest <= eMinMax, what + ": " + eBest + " > " + eMinMax);
                    assertTrue(best.min() <= 0 && best.max() >= 0, what);
                    if (relu) {
                        assertTrue(symmetric || best.min() == 0, what);
                    }
                }
            }
        }
    }

    @Test
    void calibratedMseRangesAreNeverWorseThanMinMaxOnTheCalibrationImages() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(11);
        GraphView g = GraphView.of(c.net());
        List<QuantizationPoint> points = QuantizationPoint.find(g);
        QuantScheme scheme = QuantScheme.perTensor(8, false);
        List<RangeSource.PointRange> mse = RangeSource.calibrationMse(List.of(c.calibration()), scheme).ranges(g, points);
        List<RangeSource.PointRange> mm = RangeSource.calibration(List.of(c.calibration())).ranges(g, points);
        List<String> tensors = new ArrayList<>();
        points.forEach(p -> tensors.add(p.tensor()));
        tensors.remove(c.net().input());
        Map<String, INDArray> values = c.net().run(c.calibration(), tensors);
        int clipped = 0;
        for (int i = 0; i < points.size(); i++) {
            String t = points.get(i).tensor();
            if (!values.containsKey(t)) {
                continue;
            }
            float[] x = values.get(t).dup('c').data().asFloat();
            double eMse = mse(x, scheme, mse.get(i).range());
            double eMinMax = mse(x, scheme, mm.get(i).range());
            assertTrue(eMse <= eMinMax, t + ": " + eMse + " > " + eMinMax);
            clipped += mse.get(i).range().width() < mm.get(i).range().width() ? 1 : 0;
        }
        assertTrue(clipped > 0, "no range was clipped");
    }

    @Test
    void theClippedNormalOptimumMatchesANumericSearch() {
        // a tensor whose channels are a ReLU6-clipped, a ReLU-clipped and a plain normal
        ChannelDistribution d = new ChannelDistribution(List.of(ClippedNormal.normal(1.0, 2.0).clip(0, 6),
                ClippedNormal.normal(-0.5, 1.0).clip(0, Double.POSITIVE_INFINITY), ClippedNormal.normal(0.5, 0.7),
                ClippedNormal.normal(3, 1.5).clip(0, 6)));
        Random r = new Random(5);
        int perChannel = 100_000;
        float[] x = new float[perChannel * d.size()];
        for (int c = 0; c < d.size(); c++) {
            ClippedNormal n = d.channel(c);
            for (int i = 0; i < perChannel; i++) {
                x[c * perChannel + i] = (float) Math.max(n.lo(), Math.min(n.hi(), n.mu() + n.sigma() * r.nextGaussian()));
            }
        }
        for (int bits : new int[] {4, 8}) {
            QuantScheme scheme = QuantScheme.perTensor(bits, false);
            TensorRange found = ClippingSearch.best(ClippingSearch.ofDistribution(d, d.range(8)), scheme);
            TensorRange mm = minMax(x);
            double best = Double.POSITIVE_INFINITY;
            for (int i = 0; i <= 40; i++) {
                for (int j = 1; j <= 200; j++) {
                    TensorRange cand = new TensorRange(mm.min() * i / 40, mm.max() * j / 200);
                    best = Math.min(best, mse(x, scheme, cand));
                }
            }
            double atFound = mse(x, scheme, found);
            assertEquals(best, atFound, 0.03 * best, bits + " bits: " + found);
        }
    }

    @Test
    void theBinErrorIsTheIntegralOfTheSquaredQuantizationErrorOverTheBin() {
        Random r = new Random(3);
        for (int bits : new int[] {2, 4, 8}) {
            for (int trial = 0; trial < 12; trial++) {
                QuantScheme scheme = QuantScheme.perTensor(bits, trial % 3 == 0);
                QuantParams q = QuantParams.of(scheme, -r.nextDouble(), 3 * r.nextDouble());
                // bins narrower than a level, several levels wide, and reaching into the clipped tails
                double l = -2 + 5 * r.nextDouble();
                double w = trial % 2 == 0 ? 0.01 * r.nextDouble() + 1e-4 : 3 * r.nextDouble();
                int n = 400_000;
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    double x = l + w * (i + 0.5) / n;
                    double d = q.fakeQuantize(x) - x;
                    sum += d * d;
                }
                double numeric = sum / n * w;
                double exact = ClippingSearch.binError(q, l, l + w);
                assertEquals(numeric, exact, 1e-3 * numeric + 1e-12, bits + " bits, " + q + ", [" + l + ", " + (l + w) + "]");
            }
        }
    }
}
