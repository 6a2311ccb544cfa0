package org.dfq4j.cli;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.rewrite.graph.Network;

/**
 * What a network is scored on for one {@code --task}: run it ({@link #score}), and say how closely
 * an 8-bit (or otherwise rewritten) run agrees with a reference run of the same photographs
 * ({@link #fidelity}), so quantization damage is measurable even where no ground truth exists.
 */
interface Task {

    /**
     * Metrics of one run, in display order (percent or dB), plus what fidelity comparisons need.
     *
     * @param retained what {@link #fidelity} compares (the evaluator's result)
     * @param images   photographs scored
     * @param report   the run's JSON report (a record Jackson writes)
     */
    record Score(Map<String, Double> metrics, Object retained, double imagesPerSecond, int images, Object report) {
    }

    /** What a task scores: its name and the values a table shows per precision. */
    enum Kind {
        /** top-1/top-5 on labelled photographs. */
        CLASSIFICATION("top1", "top5"),
        /** mIoU and pixel accuracy against masks (or a reference run). */
        SEGMENTATION("mIoU", "pixelAccuracy"),
        /** mAP against boxes (or a reference run). */
        DETECTION("mAP"),
        /** logit SQNR and top-1 agreement with a reference run on generated images. */
        SYNTHETIC("sqnrDb", "agreement");

        private final List<String> columns;

        Kind(String... columns) {
            this.columns = List.of(columns);
        }
    }

    /** What this task scores. */
    Kind kind();

    /** Short name of the task, e.g. "classification". */
    default String name() {
        return kind().name().toLowerCase(Locale.ROOT);
    }

    /**
     * The values a table shows per precision, looked up in a cell's metrics, then in its fidelity to
     * the original FP32 run (so a task without ground truth shows fidelity).
     */
    default List<String> tableColumns() {
        return kind().columns;
    }

    Score score(Network net, String label);

    /** Agreement of {@code test} with {@code reference} (same photographs), in display order. */
    Map<String, Double> fidelity(Score reference, Score test);

    /** Per-photograph lines worth printing (e.g. the objects a detector found), or none. */
    default List<String> describe(Score score) {
        return List.of();
    }

    /** The file names {@link #writeOverlays} writes into its folder (none for a task that draws nothing). */
    default java.util.List<String> overlayFiles() {
        return java.util.List.of();
    }

    /**
     * Writes one PNG per photograph into {@code dir}: the reference run's prediction beside the
     * test run's. Returns how many were written.
     */
    default int writeOverlays(Score reference, Score test, java.nio.file.Path dir) {
        throw new org.dfq4j.rewrite.DfqException("--save-overlays needs --task segmentation or detection ("
                + name() + " has nothing to draw)");
    }
}
