package org.dfq4j.eval.detection;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import com.google.common.base.Preconditions;

/**
 * Pascal VOC detection metric, accumulated image by image: per class, all detections of the class
 * over all images by decreasing score (stable on ties: image order, then detection order); each is
 * compared with the ground-truth box of its class in its image that it overlaps most (largest IoU):
 *
 * <ul>
 *   <li>IoU strictly above the threshold (VOC: {@code ovmax > 0.5}) and that box not yet taken:
 *       true positive, the box is taken;
 *   <li>that box "difficult": ignored (neither true nor false positive);
 *   <li>otherwise (low overlap, or a duplicate of a taken box): false positive.
 * </ul>
 *
 * AP is the area under the precision envelope with all-point interpolation (VOC 2010 onwards):
 * {@code sum over recall steps (r[i] - r[i-1]) * max(precision at recall >= r[i])}. The mean is over
 * the classes with at least one non-difficult ground-truth box; detections of other classes count
 * nowhere. Mutable: one instance per run.
 */
public final class MeanAveragePrecision {

    /** VOC's IoU threshold. */
    public static final double VOC_IOU = 0.5;

    private final double iouThreshold;
    private final List<List<Detection>> detections = new ArrayList<>();
    private final List<List<GroundTruthBox>> truths = new ArrayList<>();

    public MeanAveragePrecision(double iouThreshold) {
        Preconditions.checkArgument(iouThreshold >= 0 && iouThreshold < 1, "IoU threshold must be in [0,1): %s",
                iouThreshold);
        this.iouThreshold = iouThreshold;
    }

    /** At VOC's IoU threshold 0.5. */
    public MeanAveragePrecision() {
        this(VOC_IOU);
    }

    public double iouThreshold() {
        return iouThreshold;
    }

    /** Adds one image: its detections and its ground-truth boxes. */
    public void add(List<Detection> imageDetections, List<GroundTruthBox> imageTruth) {
        detections.add(List.copyOf(imageDetections));
        truths.add(List.copyOf(imageTruth));
    }

    /** Number of images added. */
    public int images() {
        return detections.size();
    }

    /** AP of each class that has a non-difficult ground-truth box, by class id. */
    public Map<Integer, Double> averagePrecisions() {
        TreeSet<Integer> classes = new TreeSet<>();
        for (List<GroundTruthBox> t : truths) {
            for (GroundTruthBox g : t) {
                if (!g.difficult()) {
                    classes.add(g.classId());
                }
            }
        }
        Map<Integer, Double> ap = new TreeMap<>();
        for (int c : classes) {
            ap.put(c, classAp(c));
        }
        return ap;
    }

    /** The mean of {@link #averagePrecisions()}, or NaN when no class has ground truth. */
    public double mean() {
        Map<Integer, Double> ap = averagePrecisions();
        return ap.isEmpty() ? Double.NaN : ap.values().stream().mapToDouble(Double::doubleValue).average()
                .orElseThrow();
    }

    private record Ranked(int image, Detection detection) {
    }

    private double classAp(int classId) {
        List<Ranked> ranked = new ArrayList<>();
        List<boolean[]> taken = new ArrayList<>(truths.size());
        int positives = 0;
        for (int i = 0; i < detections.size(); i++) {
            for (Detection d : detections.get(i)) {
                if (d.classId() == classId) {
                    ranked.add(new Ranked(i, d));
                }
            }
            taken.add(new boolean[truths.get(i).size()]);
            for (GroundTruthBox g : truths.get(i)) {
                if (g.classId() == classId && !g.difficult()) {
                    positives++;
                }
            }
        }
        ranked.sort(Comparator.comparingDouble((Ranked r) -> -r.detection().score()));
        double[] recall = new double[ranked.size()];
        double[] precision = new double[ranked.size()];
        int tp = 0;
        int fp = 0;
        int n = 0;
        for (Ranked r : ranked) {
            List<GroundTruthBox> truth = truths.get(r.image());
            int best = -1;
            double bestIou = Double.NEGATIVE_INFINITY;
            for (int g = 0; g < truth.size(); g++) {
                if (truth.get(g).classId() == classId) {
                    double iou = r.detection().box().iou(truth.get(g).box());
                    if (iou > bestIou) {
                        bestIou = iou;
                        best = g;
                    }
                }
            }
            if (best >= 0 && bestIou > iouThreshold) {
                if (truth.get(best).difficult()) {
                    continue;
                }
                if (!taken.get(r.image())[best]) {
                    taken.get(r.image())[best] = true;
                    tp++;
                } else {
                    fp++;
                }
            } else {
                fp++;
            }
            recall[n] = (double) tp / positives;
            precision[n] = (double) tp / (tp + fp);
            n++;
        }
        return averagePrecision(Arrays.copyOf(recall, n), Arrays.copyOf(precision, n));
    }

    /**
     * All-point interpolated AP of a ranked list's recall and precision after each counted
     * detection (recall non-decreasing).
     */
    public static double averagePrecision(double[] recall, double[] precision) {
        Preconditions.checkArgument(recall.length == precision.length, "%s recalls but %s precisions",
                recall.length, precision.length);
        int n = recall.length;
        double[] envelope = new double[n];
        double max = 0;
        for (int i = n - 1; i >= 0; i--) {
            max = Math.max(max, precision[i]);
            envelope[i] = max;
        }
        double ap = 0;
        double previousRecall = 0;
        for (int i = 0; i < n; i++) {
            if (recall[i] != previousRecall) {
                ap += (recall[i] - previousRecall) * envelope[i];
                previousRecall = recall[i];
            }
        }
        return ap;
    }
}
