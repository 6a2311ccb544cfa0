package org.dfq4j.eval.metric;

import java.io.Serializable;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import com.google.common.base.Preconditions;

/**
 * How closely a test run (e.g. an 8-bit simulated network) follows a reference run (FP32) on the
 * same photographs: signal-to-quantization-noise ratio of the outputs and top-1 agreement.
 */
public final class Fidelity {

    private Fidelity() {
    }

    /**
     * SQNR in dB: {@code 10 log10(sum(ref^2) / sum((ref - test)^2))}, summed in double over all
     * elements. +infinity when the outputs are identical.
     */
    public static double sqnrDb(INDArray reference, INDArray test) {
        Sqnr s = new Sqnr();
        s.add(reference, test);
        return s.db();
    }

    /** Percentage (0..100) of photographs with the same top-1 output in both runs (same files, same order). */
    public static double top1AgreementPercent(List<ImagePrediction> reference, List<ImagePrediction> test) {
        Preconditions.checkArgument(!reference.isEmpty(), "no predictions");
        Preconditions.checkArgument(reference.size() == test.size(), "runs differ in size: %s vs %s",
                reference.size(), test.size());
        int same = 0;
        for (int i = 0; i < reference.size(); i++) {
            ImagePrediction r = reference.get(i);
            ImagePrediction t = test.get(i);
            Preconditions.checkArgument(r.file().equals(t.file()), "runs differ at photograph %s: %s vs %s", i,
                    r.file(), t.file());
            if (r.top1() == t.top1()) {
                same++;
            }
        }
        return 100.0 * same / reference.size();
    }

    /**
     * SQNR accumulated over batches, so that whole runs need not be kept in memory. Each output row
     * (one photograph's outputs) is summed in double in element order and the row sums are added
     * exactly, so runs over parts of the photographs combine ({@link #plus}) into exactly the SQNR
     * of one run over all of them, whatever the batches or parts.
     */
    public static final class Sqnr implements Serializable {
        private static final long serialVersionUID = 1L;
        private BigDecimal signal = BigDecimal.ZERO;
        private BigDecimal noise = BigDecimal.ZERO;
        private long count;

        /** Adds a batch of reference and test outputs of the same shape (rows = first dimension). */
        public void add(INDArray reference, INDArray test) {
            Preconditions.checkArgument(Arrays.equals(reference.shape(), test.shape()),
                    "shapes differ: %s vs %s", Arrays.toString(reference.shape()), Arrays.toString(test.shape()));
            double[] r = reference.castTo(DataType.DOUBLE).dup('c').data().asDouble();
            double[] t = test.castTo(DataType.DOUBLE).dup('c').data().asDouble();
            int rows = reference.rank() == 0 ? 1 : (int) reference.size(0);
            int width = rows == 0 ? 0 : r.length / rows;
            for (int row = 0; row < rows; row++) {
                addRow(r, t, row * width, width);
            }
        }

        /** Adds one row: {@code length} values of both from {@code offset}. */
        public void add(float[] reference, float[] test, int offset, int length) {
            double[] r = new double[length];
            double[] t = new double[length];
            for (int i = 0; i < length; i++) {
                r[i] = reference[offset + i];
                t[i] = test[offset + i];
            }
            addRow(r, t, 0, length);
        }

        private void addRow(double[] r, double[] t, int offset, int length) {
            double s = 0;
            double n = 0;
            for (int i = offset; i < offset + length; i++) {
                double d = r[i] - t[i];
                s += r[i] * r[i];
                n += d * d;
            }
            accumulate(s, n, length);
        }

        private void accumulate(double s, double n, int length) {
            signal = signal.add(new BigDecimal(s));
            noise = noise.add(new BigDecimal(n));
            count += length;
        }

        /** A new accumulator holding this one's outputs and {@code other}'s. */
        public Sqnr plus(Sqnr other) {
            Sqnr sum = new Sqnr();
            sum.signal = signal.add(other.signal);
            sum.noise = noise.add(other.noise);
            sum.count = count + other.count;
            return sum;
        }

        /** The SQNR in dB so far; +infinity when no difference was seen. */
        public double db() {
            Preconditions.checkState(count > 0, "no outputs added");
            if (noise.signum() == 0) {
                return Double.POSITIVE_INFINITY;
            }
            return 10 * Math.log10(signal.doubleValue() / noise.doubleValue());
        }
    }
}
