package org.dfq4j.eval.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.dfq4j.rewrite.DfqException;

/**
 * A deterministic split of a dataset's photographs into calibration and evaluation, so that reported
 * accuracy never calibrates on the photographs it evaluates: of the M photographs in the dataset's
 * order (file-name order), the N at positions {@code floor(j * M / N)}, j = 0 .. N-1 (every M/N-th,
 * starting with the first), are held out for calibration; the other M - N are evaluated. The two
 * are disjoint and together are the M photographs; the split depends only on the names.
 *
 * @param calibration the held-out photographs, in the dataset's order
 * @param evaluation  the others, in the dataset's order
 */
public record Holdout(List<Path> calibration, List<Path> evaluation) {

    public Holdout {
        calibration = List.copyOf(calibration);
        evaluation = List.copyOf(evaluation);
    }

    /**
     * Splits {@code photographs} (in the order the dataset uses), holding out {@code n} for calibration.
     *
     * @throws DfqException unless 1 &lt;= n &lt; the number of photographs (something must be left to evaluate)
     */
    public static Holdout of(List<Path> photographs, int n) {
        int m = photographs.size();
        if (n < 1) {
            throw new DfqException("--holdout must be at least 1, got " + n);
        }
        if (n >= m) {
            throw new DfqException("--holdout " + n + " leaves nothing to evaluate: the folder has " + m
                    + " photographs; hold out fewer");
        }
        boolean[] held = new boolean[m];
        for (int j = 0; j < n; j++) {
            held[(int) ((long) j * m / n)] = true;
        }
        List<Path> calibration = new ArrayList<>(n);
        List<Path> evaluation = new ArrayList<>(m - n);
        for (int i = 0; i < m; i++) {
            (held[i] ? calibration : evaluation).add(photographs.get(i));
        }
        return new Holdout(calibration, evaluation);
    }

    /** e.g. "32 of 200 photographs held out for calibration (every 6.25th by name), 168 evaluated". */
    public String describe() {
        int m = calibration.size() + evaluation.size();
        return String.format(java.util.Locale.ROOT, "%d of %d photographs held out for calibration (positions "
                + "floor(j*%d/%d) in name order), %d evaluated", calibration.size(), m, m, calibration.size(),
                evaluation.size());
    }
}
