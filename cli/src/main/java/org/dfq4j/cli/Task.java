package org.dfq4j.cli;

import java.util.Map;
import org.dfq4j.rewrite.graph.Network;

/**
 * What a network is scored on for one {@code --task}: run it ({@link #score}), and say how closely
 * an 8-bit (or otherwise rewritten) run agrees with a reference run of the same photographs
 * ({@link #fidelity}), so quantization damage is measurable even where no ground truth exists.
 */
interface Task {

    /** Metrics of one run, in display order (percent or dB), plus what fidelity comparisons need. */
    record Score(Map<String, Double> metrics, Object retained, double imagesPerSecond, Map<String, Object> details) {
    }

    /** Short name of the task, e.g. "classification". */
    String name();

    /**
     * The values a table shows per precision, looked up in a cell's metrics, then in its fidelity to
     * the original FP32 run (so a task without ground truth shows fidelity).
     */
    java.util.List<String> tableColumns();

    Score score(Network net, String label);

    /** Agreement of {@code test} with {@code reference} (same photographs), in display order. */
    Map<String, Double> fidelity(Score reference, Score test);

    /** Per-photograph lines worth printing (e.g. the objects a detector found), or none. */
    default java.util.List<String> describe(Score score) {
        return java.util.List.of();
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
