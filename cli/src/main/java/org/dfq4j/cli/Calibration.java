package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.dfq4j.eval.data.ImageBatch;
import org.dfq4j.eval.data.ImageBatches;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.TensorRange;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Calibration images (for calib:N ranges and empirical bias correction) and the input's value range. */
final class Calibration {
    private Calibration() {
    }

    /**
     * The first {@code n} photographs (sorted by name) of {@code dir}, preprocessed into batches of 8;
     * when {@code dir} is null, the first {@code n} of {@code fallback} (the evaluation photographs),
     * with a warning that calibrating on the evaluation set leaks. With {@code skipBad}, photographs of
     * {@code dir} that cannot be decoded are left out (and named).
     */
    static List<INDArray> load(Path dir, List<Path> fallback, int n, Preprocessing pre, long[] inputShape,
                               PrintWriter warn, boolean skipBad) {
        List<Path> files;
        if (dir != null) {
            files = photographs(dir);
            if (skipBad) {
                java.util.Map<Path, String> bad = TaskOptions.undecodable(files, dir.toString());
                if (!bad.isEmpty()) {
                    warn.println(TaskOptions.skippedLine(bad, files.size()) + " (calibration)");
                    files = files.stream().filter(f -> !bad.containsKey(f)).toList();
                }
            }
        } else {
            warn.println("warning: no --calib-images given; calibrating on the first " + n
                    + " evaluation photographs (this leaks: the 8-bit numbers are optimistic)");
            files = fallback;
        }
        if (files.size() < n) {
            throw new DfqException((dir != null ? "--calib-images " + dir : "the evaluation set") + " has "
                    + files.size() + " photographs, " + n + " needed; give more or lower --calib");
        }
        List<INDArray> batches = new ArrayList<>();
        try (ImageBatches it = new ImageBatches(files.subList(0, n), pre, inputShape, 8, ImageBatches.defaultDecodeThreads())) {
            while (it.hasNext()) {
                ImageBatch b = it.next();
                batches.add(b.images());
            }
        }
        return batches;
    }

    static List<Path> photographs(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new DfqException("calibration folder " + dir + " does not exist or is not a folder");
        }
        List<Path> files = Photographs.in(dir);
        if (files.isEmpty()) {
            throw new DfqException("calibration folder " + dir + " holds no photographs (" + Photographs.extensionList() + ")");
        }
        return files;
    }

    /** The range preprocessing maps pixel values 0..255 into (over all channels). */
    static TensorRange inputRange(Preprocessing pre) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < 3; c++) {
            for (int v : new int[] {0, 255}) {
                double x = pre.normalize(c, v);
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
        }
        return new TensorRange(lo, hi);
    }
}
