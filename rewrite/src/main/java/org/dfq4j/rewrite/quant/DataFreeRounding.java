package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dfq4j.rewrite.graph.WeightLayer;

/**
 * Data-free weight rounding (after SQuant, Guo et al., ICLR 2022; METHOD.md section 8): instead of
 * rounding each weight to the nearest level, flip a few roundings (up to down or back) so that the
 * rounding errors of a kernel (the weights that feed one output channel from one input channel) and
 * of an output channel do not add up. With e = q - w/s the rounding error of one weight in levels,
 * E_k its sum over kernel k and E_o its sum over output channel o, the rounding minimises
 *
 * <pre>
 *   J = sum_k E_k^2 + sum_o E_o^2
 * </pre>
 *
 * the error a layer's output sees when its inputs are roughly constant over a kernel and correlated
 * across channels (the diagonal blocks of the output's Hessian), greedily and without data:
 *
 * <ol>
 *   <li>kernels: where |E_k| > 1/2, up to round(|E_k|) weights of the kernel whose error has the sign
 *       of E_k and is largest (closest to the other level) are flipped, each while it lowers J; a
 *       flip lowers |E_k| by one at the least squared error per weight;
 *   <li>output channels: where |E_o| > 1/2, one weight is flipped in each of the kernels whose sum
 *       has the sign of E_o, largest |E_k| first, as long as the flip lowers J.
 * </ol>
 *
 * Each weight ends on one of its two neighbouring levels inside the integer range; every flip lowers
 * J, so J never exceeds that of rounding to nearest. No data, no gradient, one pass over the weights.
 */
public final class DataFreeRounding {

    private DataFreeRounding() {
    }

    /** The rounded integer levels of {@code w} (C order, the layer's weight layout) with one quantizer per channel of {@code layout}. */
    public static long[] levels(float[] w, WeightLayer.Kind kind, long[] shape, ChannelLayout layout, QuantParams[] params) {
        int n = w.length;
        long[] q = new long[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            QuantParams p = params[layout.channelOf(i)];
            if (p.scale() == 0) {
                q[i] = p.zeroPoint();
                continue;
            }
            double x = w[i] / p.scale() + p.zeroPoint();
            q[i] = p.quantize(w[i]);
            e[i] = q[i] - x;
        }
        Groups groups = Groups.of(kind, shape, n);
        int out = groups.channelKernels.size();
        double[] channelSum = new double[out];
        for (int i = 0; i < n; i++) {
            channelSum[groups.channelOf(i)] += e[i];
        }
        // 1. kernels: each flip lowers |E_k| by one, and is made only if J falls (E_o moves too)
        for (int[] kernel : groups.kernels) {
            double sum = sum(e, kernel);
            if (Math.abs(sum) <= 0.5) {
                continue;
            }
            int sign = sum > 0 ? 1 : -1;
            int o = groups.channelOf(kernel[0]);
            Integer[] order = flippable(kernel, e, q, params, layout, sign);
            Arrays.sort(order, (a, b) -> Double.compare(Math.abs(e[b]), Math.abs(e[a])));
            for (int k = 0; k < order.length && sign * sum > 0.5; k++) {
                if ((1 - 2 * sign * sum) + (1 - 2 * sign * channelSum[o]) >= 0) {
                    break;
                }
                flip(order[k], sign, e, q);
                sum -= sign;
                channelSum[o] -= sign;
            }
        }
        // 2. output channels
        for (int o = 0; o < out; o++) {
            List<int[]> kernels = groups.channelKernels.get(o);
            double total = 0;
            double[] sums = new double[kernels.size()];
            for (int k = 0; k < sums.length; k++) {
                sums[k] = sum(e, kernels.get(k));
                total += sums[k];
            }
            if (Math.abs(total) <= 0.5) {
                continue;
            }
            int sign = total > 0 ? 1 : -1;
            Integer[] byKernel = new Integer[sums.length];
            for (int k = 0; k < sums.length; k++) {
                byKernel[k] = k;
            }
            Arrays.sort(byKernel, (a, b) -> Double.compare(sign * sums[b], sign * sums[a]));
            for (int k : byKernel) {
                // delta J of one flip: (E_k - sign)^2 - E_k^2 + (E_o - sign)^2 - E_o^2
                double gain = (1 - 2 * sign * sums[k]) + (1 - 2 * sign * total);
                if (Math.abs(total) <= 0.5 || gain >= 0) {
                    break;
                }
                Integer[] order = flippable(kernels.get(k), e, q, params, layout, sign);
                if (order.length == 0) {
                    continue;
                }
                int best = order[0];
                for (int i : order) {
                    if (Math.abs(e[i]) > Math.abs(e[best])) {
                        best = i;
                    }
                }
                flip(best, sign, e, q);
                total -= sign;
            }
        }
        return q;
    }

    /** J = sum_k E_k^2 + sum_o E_o^2 of a rounding (integer levels q) of w: what {@link #levels} lowers. */
    public static double objective(float[] w, long[] q, WeightLayer.Kind kind, long[] shape, ChannelLayout layout,
                                   QuantParams[] params) {
        double[] e = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            QuantParams p = params[layout.channelOf(i)];
            e[i] = p.scale() == 0 ? 0 : q[i] - (w[i] / p.scale() + p.zeroPoint());
        }
        Groups groups = Groups.of(kind, shape, w.length);
        double j = 0;
        for (int[] kernel : groups.kernels) {
            double s = sum(e, kernel);
            j += s * s;
        }
        for (List<int[]> kernels : groups.channelKernels) {
            double s = 0;
            for (int[] k : kernels) {
                s += sum(e, k);
            }
            j += s * s;
        }
        return j;
    }

    private static void flip(int i, int sign, double[] e, long[] q) {
        q[i] -= sign;
        e[i] -= sign;
    }

    /** Elements of a group whose error has the given sign and whose level can move one step against it. */
    private static Integer[] flippable(int[] group, double[] e, long[] q, QuantParams[] params, ChannelLayout layout,
                                       int sign) {
        List<Integer> out = new ArrayList<>();
        for (int i : group) {
            QuantParams p = params[layout.channelOf(i)];
            long next = q[i] - sign;
            if (p.scale() != 0 && e[i] * sign > 0 && next >= p.qMin() && next <= p.qMax()) {
                out.add(i);
            }
        }
        return out.toArray(new Integer[0]);
    }

    private static double sum(double[] e, int[] idx) {
        double s = 0;
        for (int i : idx) {
            s += e[i];
        }
        return s;
    }

    /** The element indices of every kernel, and the kernels of every output channel. */
    private record Groups(List<int[]> kernels, List<List<int[]>> channelKernels, int out) {

        int channelOf(int i) {
            return i % out;
        }

        static Groups of(WeightLayer.Kind kind, long[] s, int n) {
            int out;
            int in;
            int spatial;
            switch (kind) {
                case CONV -> { // [kH,kW,in,out]: kernel (c, o)
                    in = (int) s[2];
                    out = (int) s[3];
                    spatial = (int) (s[0] * s[1]);
                }
                case DEPTHWISE -> { // [kH,kW,C,m]: one kernel per output channel c*m+j
                    in = 1;
                    out = (int) (s[2] * s[3]);
                    spatial = (int) (s[0] * s[1]);
                }
                default -> { // dense [in,out]: each weight is its own kernel
                    in = (int) s[0];
                    out = (int) s[1];
                    spatial = 1;
                }
            }
            int[][] kernels = new int[in * out][spatial];
            int[] fill = new int[in * out];
            for (int i = 0; i < n; i++) {
                int o = i % out;
                int c = (i / out) % in;
                int k = c * out + o;
                kernels[k][fill[k]++] = i;
            }
            List<List<int[]>> channels = new ArrayList<>(out);
            for (int o = 0; o < out; o++) {
                List<int[]> ks = new ArrayList<>(in);
                for (int c = 0; c < in; c++) {
                    ks.add(kernels[c * out + o]);
                }
                channels.add(ks);
            }
            return new Groups(Arrays.asList(kernels), channels, out);
        }
    }
}
