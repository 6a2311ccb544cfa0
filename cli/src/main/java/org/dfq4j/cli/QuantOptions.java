package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.dfq4j.eval.data.PhotographCalibration;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.quant.Rounding;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Option;

/**
 * How the 8-bit simulation quantizes, the same options for eval, table, bench and demo: bit widths,
 * scheme, activation range source, the calibration photographs and their number (said once, by
 * {@code --calib N}), and how fake-quant runs.
 */
final class QuantOptions {

    @Option(names = "--bits-weight", paramLabel = "N", defaultValue = "8", description = "weight bits, 2-16 (default: ${DEFAULT-VALUE})")
    int bitsWeight;

    @Option(names = "--bits-act", paramLabel = "N", defaultValue = "8", description = "activation bits, 2-16 (default: ${DEFAULT-VALUE})")
    int bitsAct;

    @Option(names = "--per-channel", description = "per-channel weight quantization (default per-tensor)")
    boolean perChannel;

    @Option(names = "--symmetric", description = "symmetric quantization (zero point 0)")
    boolean symmetric;

    @Option(names = "--rounding", paramLabel = "nearest|datafree", defaultValue = "nearest",
            converter = Converters.RoundingName.class,
            description = "weight rounding: nearest, or datafree (SQuant-like: flips roundings so that the errors of "
                    + "each kernel and output channel do not add up; no data; for 6 bits and fewer) "
                    + "(default: ${DEFAULT-VALUE})")
    Rounding rounding;

    @Option(names = "--act-range", paramLabel = "auto|bn|bn:n|bn:mse|model|calib|calib:minmax|none", defaultValue = "auto",
            converter = Converters.Ranges.class,
            description = "activation range source: bn (data-free: mean +- 6 sigma of the BatchNorm statistics; bn:n = "
                    + "n sigma; bn:mse = MSE-optimal clipping of the clipped normals they give), model (ranges recorded in "
                    + "the file), calib (MSE-optimal clipping of the calibration photographs' values, the default for "
                    + "calibration: it measured better than min/max; calib:minmax = their min/max), none (weights only), "
                    + "auto (bn when the model has BatchNorm, else calib) (default: ${DEFAULT-VALUE})")
    RangeSpec actRange;

    @Option(names = "--calib", paramLabel = "N",
            description = "number of calibration photographs, for calib ranges and empirical correction (default: 32; "
                    + "bench: 8 generated images)")
    Integer calib;

    @Option(names = "--calib-images", paramLabel = "DIR",
            description = "calibration photographs (default: those --holdout sets apart, else the evaluation "
                    + "photographs, with a warning)")
    Path calibImages;

    @Option(names = "--fake-quant", paramLabel = "MODE",
            description = "how 8-bit activation quantization runs: ops (ND4J's fake-quant ops, the reference; default "
                    + "of eval and table) or lowered (faster: scales folded into the weights, rounding by scalar ops; default of bench; "
                    + "float rounding can move a value next to a level boundary to the neighbouring level)")
    FakeQuantMode fakeQuant;

    /** The weight scheme. */
    QuantScheme weightScheme() {
        return perChannel ? QuantScheme.perChannel(bitsWeight, symmetric) : QuantScheme.perTensor(bitsWeight, symmetric);
    }

    /** The calibration count, or the command's default. */
    int calibrationImages(int defaultCount) {
        int n = calib == null ? defaultCount : calib;
        if (n < 1) {
            throw new DfqException("--calib must be at least 1, got " + n);
        }
        return n;
    }

    /** The builder with these quantization settings. */
    DfqRecipe.Builder applyTo(DfqRecipe.Builder b, int defaultCalibration) {
        return b.weights(weightScheme()).rounding(rounding).activationBits(bitsAct).activationRanges(actRange)
                .calibrationImages(calibrationImages(defaultCalibration));
    }

    /** Whether fake-quant networks run lowered, given the command's default. */
    boolean lowered(FakeQuantMode defaultMode) {
        return (fakeQuant == null ? defaultMode : fakeQuant) == FakeQuantMode.LOWERED;
    }

    /**
     * The calibration photographs: those held out of the evaluation ({@code --holdout}), or
     * {@code --calib-images}, or else the evaluation photographs (with a warning, printed when they are
     * first used, that calibrating on them leaks; the same warning when {@code --calib-images} shares
     * photographs with the evaluation). With {@code skipBad}, calibration photographs that cannot be
     * decoded are left out, and named, when they are first used.
     */
    Calibration calibration(Preprocessing pre, List<Path> evaluationPhotographs, boolean skipBad, PrintWriter warn) {
        return calibration(pre, evaluationPhotographs, List.of(), skipBad, warn);
    }

    /** As above, with the photographs {@code --holdout} set apart (none: empty). */
    Calibration calibration(Preprocessing pre, List<Path> evaluationPhotographs, List<Path> heldOut, boolean skipBad,
                            PrintWriter warn) {
        return calibration(pre, evaluationPhotographs, heldOut, skipBad, warn, files -> { });
    }

    /**
     * As {@link #calibration(Preprocessing, List, List, boolean, PrintWriter)}, telling {@code beforeReading}
     * which photographs are about to be read (a cluster worker fetches them first).
     */
    Calibration calibration(Preprocessing pre, List<Path> evaluationPhotographs, List<Path> heldOut, boolean skipBad,
                            PrintWriter warn, Consumer<List<Path>> beforeReading) {
        boolean held = !heldOut.isEmpty();
        if (held && calibImages != null) {
            throw new DfqException("--holdout and --calib-images both name the calibration photographs: give one");
        }
        PhotographCalibration given = held
                ? PhotographCalibration.of(heldOut, pre, heldOut.size() + " photographs held out of the evaluation (--holdout)")
                : calibImages != null ? PhotographCalibration.folder(calibImages, pre)
                : PhotographCalibration.of(evaluationPhotographs, pre, "the evaluation photographs");
        String where = held ? "--holdout" : calibImages != null ? "--calib-images " + calibImages : "the evaluation set";
        boolean separate = held || calibImages != null;
        return new Calibration() {
            private PhotographCalibration photos = given;
            private boolean checked;
            private boolean warned;

            @Override
            public List<INDArray> batches(int n, long[] inputShape) {
                if (separate && skipBad && !checked) {
                    Map<Path, String> bad = TaskOptions.undecodable(photos.files(), where);
                    if (!bad.isEmpty()) {
                        warn.println(TaskOptions.skippedLine(bad, photos.size()) + " (calibration)");
                        photos = photos.without(bad.keySet(), photos.size() - bad.size() + " decodable photographs of "
                                + where);
                    }
                    checked = true;
                }
                if (photos.size() < n) {
                    throw new DfqException(where + " has " + photos.size() + " photographs, " + n
                            + " needed; give more or lower --calib");
                }
                if (!warned) {
                    if (!separate) {
                        warn.println("warning: no --calib-images given; calibrating on the first " + n
                                + " evaluation photographs (this leaks: the 8-bit numbers are optimistic; --holdout N "
                                + "sets N of them apart for calibration)");
                    } else if (!held) {
                        long shared = overlap(photos.files().subList(0, n), evaluationPhotographs);
                        if (shared > 0) {
                            warn.println("warning: " + shared + " of the " + n + " calibration photographs of " + where
                                    + " are also evaluated (this leaks: the 8-bit numbers are optimistic; --holdout N "
                                    + "sets N of --images apart for calibration)");
                        }
                    }
                    warned = true;
                }
                beforeReading.accept(photos.files().subList(0, Math.min(n, photos.size())));
                return photos.batches(n, inputShape);
            }

            @Override
            public String description() {
                return photos.description();
            }
        };
    }

    /** How many of {@code calibration} are among {@code evaluation} (the same file, by real path). */
    static long overlap(List<Path> calibration, List<Path> evaluation) {
        java.util.Set<Path> eval = new java.util.HashSet<>();
        evaluation.forEach(p -> eval.add(real(p)));
        return calibration.stream().map(QuantOptions::real).filter(eval::contains).count();
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (java.io.IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }
}
