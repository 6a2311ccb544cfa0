package org.dfq4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.QuantScheme;
import picocli.CommandLine.Option;

/** The DFQ flags, named after the reference CLI ({@code --quantize --relu --equalize}). */
final class PipelineOptions {

    @Option(names = "--relu", description = "replace ReLU6 by ReLU (the paper's recipe; changes FP32)")
    boolean relu;

    @Option(names = "--equalize", description = "cross-layer equalization (with dead-channel elimination); "
            + "without --relu each ReLU6 is kept exactly as a per-channel clip")
    boolean equalize;

    @Option(names = "--absorb", description = "high-bias absorption (needs BatchNorm statistics)")
    boolean absorb;

    @Option(names = "--correct", paramLabel = "analytic|empirical",
            description = "bias correction: analytic (data-free, needs BatchNorm statistics) or empirical (needs calibration images)")
    String correct;

    @Option(names = "--quantize", description = "simulate 8-bit inference (weights offline, activations by fake-quant)")
    boolean quantize;

    @Option(names = "--bits-weight", paramLabel = "N", defaultValue = "8", description = "weight bits, 2-16 (default: ${DEFAULT-VALUE})")
    int bitsWeight;

    @Option(names = "--bits-act", paramLabel = "N", defaultValue = "8", description = "activation bits, 2-16 (default: ${DEFAULT-VALUE})")
    int bitsAct;

    @Option(names = "--per-channel", description = "per-channel weight quantization (default per-tensor)")
    boolean perChannel;

    @Option(names = "--symmetric", description = "symmetric quantization (zero point 0)")
    boolean symmetric;

    @Option(names = "--act-range", paramLabel = "bn[:n]|model|calib:N|none", defaultValue = "auto",
            description = "activation range source: bn (mean +- n sigma of BatchNorm, n default 6), model (ranges "
                    + "recorded in the file), calib:N (min/max over N images), none (weights only), auto (bn when "
                    + "the model has BatchNorm, else calib:32) (default: ${DEFAULT-VALUE})")
    String actRange;

    @Option(names = "--fake-quant", paramLabel = "ops|lowered", defaultValue = "ops",
            description = "how 8-bit activation quantization runs: ND4J's fake-quant ops (default), or lowered "
                    + "(faster: scales folded into the weights, rint + clip; float rounding can move a value next to "
                    + "a level boundary to the neighbouring level)")
    String fakeQuant;

    @Option(names = "--calib-images", paramLabel = "DIR",
            description = "photographs for calib:N ranges and empirical correction (default: the evaluation photographs, with a warning)")
    Path calibImages;

    @Option(names = "--calib", paramLabel = "N", defaultValue = "32",
            description = "number of calibration photographs for empirical correction and auto ranges (default: ${DEFAULT-VALUE})")
    int calib;

    /** Whether 8-bit networks run lowered ({@link LowerFakeQuant}); a bad --fake-quant value is an error. */
    boolean lowered() {
        return LowerFakeQuant.parseMode(fakeQuant);
    }

    DfqRecipe.Correction correction() {
        if (correct == null) {
            return DfqRecipe.Correction.NONE;
        }
        return switch (correct.toLowerCase(Locale.ROOT)) {
            case "analytic" -> DfqRecipe.Correction.ANALYTIC;
            case "empirical" -> DfqRecipe.Correction.EMPIRICAL;
            case "none" -> DfqRecipe.Correction.NONE;
            default -> throw new DfqException("--correct must be analytic, empirical or none, got '" + correct + "'");
        };
    }

    QuantScheme weightScheme() {
        return perChannel ? QuantScheme.perChannel(bitsWeight, symmetric) : QuantScheme.perTensor(bitsWeight, symmetric);
    }

    /** The activation range spec with "auto" and the "bn:n" width resolved. */
    String rangeSpec(boolean hasStats) {
        String r = actRange.trim().toLowerCase(Locale.ROOT);
        if (r.equals("auto")) {
            return hasStats ? "bn" : "calib:" + calib;
        }
        return r.startsWith("bn:") ? "bn" : r;
    }

    double sigmas() {
        String r = actRange.trim().toLowerCase(Locale.ROOT);
        if (r.startsWith("bn:")) {
            try {
                return Double.parseDouble(r.substring(3));
            } catch (NumberFormatException e) {
                throw new DfqException("--act-range " + actRange + ": n must be a number, e.g. bn:6");
            }
        }
        return 6;
    }

    DfqRecipe recipe(boolean hasStats) {
        if (calib < 1) {
            throw new DfqException("--calib must be at least 1, got " + calib);
        }
        return new DfqRecipe(relu, equalize, absorb, correction(), weightScheme(), bitsAct, rangeSpec(hasStats), sigmas());
    }
}
