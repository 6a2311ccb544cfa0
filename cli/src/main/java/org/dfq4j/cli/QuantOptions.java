package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
            description = "calibration photographs (default: the evaluation photographs, with a warning)")
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
     * The calibration photographs: {@code --calib-images}, or else the evaluation photographs (with a
     * warning, printed when they are first used, that calibrating on them leaks). With
     * {@code skipBad}, photographs of {@code --calib-images} that cannot be decoded are left out, and
     * named, when they are first used.
     */
    Calibration calibration(Preprocessing pre, List<Path> evaluationPhotographs, boolean skipBad, PrintWriter warn) {
        PhotographCalibration given = calibImages != null ? PhotographCalibration.folder(calibImages, pre)
                : PhotographCalibration.of(evaluationPhotographs, pre, "the evaluation photographs");
        String where = calibImages != null ? "--calib-images " + calibImages : "the evaluation set";
        return new Calibration() {
            private PhotographCalibration photos = given;
            private boolean checked;
            private boolean warned;

            @Override
            public List<INDArray> batches(int n, long[] inputShape) {
                if (calibImages != null && skipBad && !checked) {
                    Map<Path, String> bad = TaskOptions.undecodable(photos.files(), calibImages.toString());
                    if (!bad.isEmpty()) {
                        warn.println(TaskOptions.skippedLine(bad, photos.size()) + " (calibration)");
                        photos = photos.without(bad.keySet(), photos.size() - bad.size() + " decodable photographs in "
                                + calibImages);
                    }
                    checked = true;
                }
                if (photos.size() < n) {
                    throw new DfqException(where + " has " + photos.size() + " photographs, " + n
                            + " needed; give more or lower --calib");
                }
                if (calibImages == null && !warned) {
                    warn.println("warning: no --calib-images given; calibrating on the first " + n
                            + " evaluation photographs (this leaks: the 8-bit numbers are optimistic)");
                    warned = true;
                }
                return photos.batches(n, inputShape);
            }

            @Override
            public String description() {
                return photos.description();
            }
        };
    }
}
