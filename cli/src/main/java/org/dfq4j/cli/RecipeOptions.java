package org.dfq4j.cli;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.DfqRecipe.Correction;
import picocli.CommandLine.Option;

/**
 * The float rewrites of a recipe, named after the reference CLI ({@code --relu --equalize --absorb
 * --correct}); the one place that maps flags to a {@link DfqRecipe} and back.
 */
final class RecipeOptions {

    @Option(names = "--relu", description = "replace ReLU6 by ReLU (the paper's recipe; changes FP32)")
    boolean relu;

    @Option(names = "--equalize", description = "cross-layer equalization (with dead-channel elimination); "
            + "without --relu each ReLU6 is kept exactly as a per-channel clip")
    boolean equalize;

    @Option(names = "--equalize-residual", description = "with --equalize, also equalize residual streams (one scale "
            + "per channel shared by every layer writing into and reading from a chain of residual adds; exact in FP32; "
            + "raises weight SQNR but unbalances the sums' channels, which per-tensor activation quantization pays for)")
    boolean equalizeResidual;

    @Option(names = "--equalize-strength", paramLabel = "auto|B", defaultValue = "1", converter = Converters.Strength.class,
            description = "with --equalize, how far to equalize: each channel's scale S becomes S^B, B in (0, 1] "
                    + "(default ${DEFAULT-VALUE}: full, the paper); auto: the B of 1, 0.875, 0.75, 0.625, 0.5 whose "
                    + "quantized outputs are closest to FP32 on the calibration photographs (1 when data-free). "
                    + "Exact in FP32; partial equalization leaves activation channels less unequal")
    OptionalDouble equalizeStrength = OptionalDouble.of(1);

    @Option(names = "--absorb", description = "high-bias absorption (needs BatchNorm statistics)")
    boolean absorb;

    @Option(names = "--correct", paramLabel = "KIND", description = "bias correction: ${COMPLETION-CANDIDATES}; "
            + "analytic is data-free and needs BatchNorm statistics, empirical needs calibration photographs (layer "
            + "means with quantized weights), sequential also quantizes the activations while measuring")
    Correction correct = Correction.NONE;

    /**
     * The float-rewrite flags given, e.g. "--relu --equalize" (empty when none), for commands that
     * run their own rows and refuse them.
     */
    String floatRewriteFlags() {
        String f = flags(applyTo(DfqRecipe.builder()).correction(Correction.NONE).build());
        return f.equals(flags(DfqRecipe.builder().build())) ? "" : f;
    }

    /** The builder with these rewrites set. */
    DfqRecipe.Builder applyTo(DfqRecipe.Builder b) {
        return b.replaceRelu6(relu).equalize(equalize || equalizeResidual).equalizeResidual(equalizeResidual)
                .absorb(absorb).correction(correct).equalizeStrength(equalizeStrength);
    }

    /** The flags that reproduce a recipe's rewrites and weight scheme, e.g. "--relu --equalize --correct=analytic". */
    static String flags(DfqRecipe r) {
        List<String> f = new ArrayList<>();
        if (r.replaceRelu6()) {
            f.add("--relu");
        }
        if (r.equalize() && r.equalizeResidual()) {
            f.add("--equalize-residual");
        } else if (r.equalize()) {
            f.add("--equalize");
        }
        if (r.equalizeStrength().isEmpty() || r.equalizeStrength().getAsDouble() != 1) {
            f.add("--equalize-strength " + (r.equalizeStrength().isEmpty() ? "auto"
                    : BigDecimal.valueOf(r.equalizeStrength().getAsDouble()).stripTrailingZeros().toPlainString()));
        }
        if (r.absorb()) {
            f.add("--absorb");
        }
        if (r.correction() != Correction.NONE) {
            f.add("--correct=" + r.correction().name().toLowerCase(Locale.ROOT));
        }
        if (r.weights().perChannel()) {
            f.add("--per-channel");
        }
        if (r.weights().symmetric()) {
            f.add("--symmetric");
        }
        if (r.rounding() != org.dfq4j.rewrite.quant.Rounding.NEAREST) {
            f.add("--rounding " + r.rounding().name().toLowerCase(Locale.ROOT));
        }
        return f.isEmpty() ? "(none)" : String.join(" ", f);
    }

    /** A strength other than 1 without equalization would do nothing: say so before anything is read. */
    static void requireEqualizationForStrength(DfqRecipe r) {
        if (!r.equalize() && (r.equalizeStrength().isEmpty() || r.equalizeStrength().getAsDouble() != 1)) {
            throw new org.dfq4j.rewrite.DfqException("--equalize-strength sets how far --equalize goes; add --equalize "
                    + "(or drop --equalize-strength)");
        }
    }

    /**
     * Steps that need BatchNorm statistics on a model that has none: say so, naming the flag, before
     * anything runs.
     */
    static void requirePossible(DfqRecipe r, boolean hasStats, boolean quantize) {
        requireEqualizationForStrength(r);
        if (hasStats) {
            return;
        }
        if (r.absorb()) {
            throw new org.dfq4j.rewrite.DfqException("--absorb needs BatchNorm statistics, and this model was BN-folded "
                    + "at export; drop --absorb");
        }
        if (r.correction() == Correction.ANALYTIC) {
            throw new org.dfq4j.rewrite.DfqException("--correct=analytic needs BatchNorm statistics, and this model was "
                    + "BN-folded at export; use --correct=empirical (with --calib-images DIR)");
        }
        if (quantize && r.activationRanges().kind() == org.dfq4j.rewrite.quant.RangeSpec.Kind.BATCH_NORM) {
            throw new org.dfq4j.rewrite.DfqException("--act-range bn needs BatchNorm statistics, and this model was "
                    + "BN-folded at export; use calib, model (without --equalize) or none");
        }
    }
}
