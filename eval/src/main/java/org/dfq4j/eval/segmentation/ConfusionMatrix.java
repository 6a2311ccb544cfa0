package org.dfq4j.eval.segmentation;

import org.dfq4j.rewrite.DfqException;
import com.google.common.base.Preconditions;

/**
 * Pixel counts {@code count[truth][predicted]} over K classes, accumulated image by image, from
 * which the Pascal VOC segmentation metrics follow. Pixels whose truth is {@link LabelMask#IGNORE}
 * are not counted.
 *
 * <ul>
 *   <li>IoU of class c = TP / (TP + FP + FN) = count[c][c] / (row c + column c - count[c][c]);
 *   <li>a class is present when its union is non-empty (it occurs in the truth or the prediction);
 *       the mean IoU averages over present classes only, so a class absent from both is excluded
 *       (VOC's own evaluation gives it NaN and takes the NaN-ignoring mean);
 *   <li>pixel accuracy = trace / all counted pixels.
 * </ul>
 *
 * Counts are longs, so millions of images do not overflow. Matrices of disjoint sets of images add
 * ({@link #plus}). Mutable: one instance per run.
 */
public final class ConfusionMatrix implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    private final int classes;
    private final long[] counts;

    public ConfusionMatrix(int classes) {
        Preconditions.checkArgument(classes >= 1 && classes <= LabelMask.IGNORE, "classes must be in 1..255: %s",
                classes);
        this.classes = classes;
        this.counts = new long[classes * classes];
    }

    public int classes() {
        return classes;
    }

    /**
     * Counts one image: truth and prediction of the same size.
     *
     * @param source names the truth in messages (a file name)
     * @throws DfqException when the sizes differ, a truth id is neither a class nor
     *     {@link LabelMask#IGNORE}, or a predicted id is not a class
     */
    public void add(LabelMask truth, LabelMask predicted, String source) {
        if (truth.width() != predicted.width() || truth.height() != predicted.height()) {
            throw new DfqException("mask " + source + " is " + truth.width() + "x" + truth.height()
                    + " but the prediction is " + predicted.width() + "x" + predicted.height());
        }
        for (int i = 0; i < truth.size(); i++) {
            int t = truth.classAt(i);
            if (t == LabelMask.IGNORE) {
                continue;
            }
            int p = predicted.classAt(i);
            if (t >= classes) {
                throw new DfqException("mask " + source + " has class id " + t + " at pixel (" + i % truth.width()
                        + "," + i / truth.width() + ") but the model has " + classes + " classes (0.." + (classes - 1)
                        + ", 255 = ignore); give masks of this model's classes");
            }
            if (p >= classes) {
                throw new DfqException("prediction for " + source + " has class id " + p + " but there are only "
                        + classes + " classes");
            }
            counts[t * classes + p]++;
        }
    }

    /** A new matrix counting this one's pixels and {@code other}'s (of as many classes). */
    public ConfusionMatrix plus(ConfusionMatrix other) {
        Preconditions.checkArgument(other.classes == classes, "%s classes added to %s", other.classes, classes);
        ConfusionMatrix sum = new ConfusionMatrix(classes);
        for (int i = 0; i < counts.length; i++) {
            sum.counts[i] = counts[i] + other.counts[i];
        }
        return sum;
    }

    /** Pixels of class {@code truth} predicted as {@code predicted}. */
    public long count(int truth, int predicted) {
        return counts[truth * classes + predicted];
    }

    /** All counted pixels (ignored ones excluded). */
    public long total() {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        return n;
    }

    /** Whether class c occurs in the truth or the prediction (its union is non-empty). */
    public boolean present(int c) {
        return union(c) > 0;
    }

    private long union(int c) {
        long row = 0;
        long column = 0;
        for (int k = 0; k < classes; k++) {
            row += count(c, k);
            column += count(k, c);
        }
        return row + column - count(c, c);
    }

    /** IoU of class c, or NaN when the class is absent from truth and prediction. */
    public double iou(int c) {
        long u = union(c);
        return u == 0 ? Double.NaN : (double) count(c, c) / u;
    }

    /** IoU of every class; NaN for absent classes. */
    public double[] ious() {
        double[] r = new double[classes];
        for (int c = 0; c < classes; c++) {
            r[c] = iou(c);
        }
        return r;
    }

    /** Mean IoU over present classes, or NaN when no pixel was counted. */
    public double meanIou() {
        double sum = 0;
        int n = 0;
        for (int c = 0; c < classes; c++) {
            double v = iou(c);
            if (!Double.isNaN(v)) {
                sum += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** Correct pixels / counted pixels, or NaN when no pixel was counted. */
    public double pixelAccuracy() {
        long total = total();
        if (total == 0) {
            return Double.NaN;
        }
        long correct = 0;
        for (int c = 0; c < classes; c++) {
            correct += count(c, c);
        }
        return (double) correct / total;
    }
}
