package org.dfq4j.cli;

import com.google.common.base.Preconditions;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.dfq4j.eval.overlay.OverlayWriter;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.eval.runtime.Runner;
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

    /** Scores a network run by ND4J/SameDiff. */
    default Score score(Network net, String label) {
        return score(Runner.of(net), label);
    }

    /** Scores a runner (ND4J or ONNX Runtime). */
    Score score(Runner runner, String label);

    /**
     * Additive statistics of one run over some of the task's photographs (a shard): counts, confusion
     * matrices, detection lists, and the same against a reference run of the same photographs. Runs
     * over consecutive shards combine with {@link #plus} (in photograph order) into exactly the tally
     * of one run over all of them, so a table computed shard by shard, anywhere, equals one computed
     * in one piece.
     */
    interface Tally extends Serializable {

        /** This tally followed by {@code next}, which covers the photographs after this one's. */
        Tally plus(Tally next);

        /** The task's metrics, as {@link Score#metrics()}. */
        Map<String, Double> metrics();

        /** Agreement with the reference run, as {@link Task#fidelity}. */
        Map<String, Double> fidelity();

        /** Photographs counted. */
        int images();

        /** Wall time of the runs counted. */
        double seconds();
    }

    /**
     * A run for a table: its tally, what later runs of the same photographs compare with when this
     * run is their reference (serializable, so it can live on another machine), and its
     * {@link #describe} lines.
     */
    record Run(Tally tally, Serializable outputs, List<String> described) {

        public Run {
            described = List.copyOf(described);
        }
    }

    /**
     * Runs {@code net} on this task's photographs and tallies it, with fidelity against
     * {@code reference} (the {@link Run#outputs()} of a run on the same photographs), or against
     * itself when null.
     */
    default Run run(Network net, String label, Serializable reference) {
        Score s = score(net, label);
        Serializable mine = outputs(s);
        return new Run(tally(s, reference == null ? mine : reference), mine, describe(s));
    }

    /** What a score leaves for fidelity comparisons, in serializable form. */
    Serializable outputs(Score score);

    /** The tally of a score, with fidelity against {@code reference} (outputs of a run on the same photographs). */
    Tally tally(Score score, Serializable reference);

    /** Number of photographs. */
    int size();

    /** The files a run reads (photographs, and masks where there are), in photograph order. */
    List<Path> files();

    /** The same task on its photographs {@code from} (inclusive) to {@code to} (exclusive), in the same order. */
    Task slice(int from, int to);

    /** The files outside {@code from..to-1} of {@code files}: what a slice leaves out. */
    static Set<Path> outside(List<Path> files, int from, int to) {
        Preconditions.checkArgument(0 <= from && from < to && to <= files.size(), "slice %s..%s of %s photographs",
                from, to, files.size());
        Set<Path> out = new HashSet<>(files.subList(0, from));
        out.addAll(files.subList(to, files.size()));
        return out;
    }

    /** Agreement of {@code test} with {@code reference} (same photographs), in display order. */
    Map<String, Double> fidelity(Score reference, Score test);

    /** Per-photograph lines worth printing (e.g. the objects a detector found), or none. */
    default List<String> describe(Score score) {
        return List.of();
    }

    /**
     * The photographs {@link #writeOverlays} draws, by name, in the order of a run's results (none
     * for a task that draws nothing).
     */
    default List<String> overlayNames() {
        return List.of();
    }

    /** The file names {@link #writeOverlays} writes into its folder. */
    default List<String> overlayFiles() {
        return overlayNames().stream().map(OverlayWriter::fileName).toList();
    }

    /** Draws photograph {@code i}: the reference run's prediction beside the test run's. */
    default void drawOverlay(OverlayWriter writer, int i, Score reference, Score test) {
        throw new IllegalStateException(name() + " draws no overlays");
    }

    /** Refuses overlays for a task that draws none (before any work). */
    default void requireOverlays() {
        if (overlayNames().isEmpty()) {
            throw new DfqException("--save-overlays needs --task segmentation or detection (" + name()
                    + " has nothing to draw)");
        }
    }

    /**
     * Writes one PNG per photograph into {@code dir}: the reference run's prediction beside the
     * test run's. Returns how many were written.
     */
    default int writeOverlays(Score reference, Score test, Path dir) {
        requireOverlays();
        List<String> names = overlayNames();
        OverlayWriter writer = new OverlayWriter(dir);
        for (int i = 0; i < names.size(); i++) {
            drawOverlay(writer, i, reference, test);
        }
        return names.size();
    }
}
