package org.dfq4j.rewrite;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalDouble;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.Rule;
import org.dfq4j.rewrite.engine.Transform;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.quant.CorrectBiasAnalytically;
import org.dfq4j.rewrite.quant.CorrectBiasEmpirically;
import org.dfq4j.rewrite.quant.FoldClampsIntoFakeQuant;
import org.dfq4j.rewrite.quant.InsertFakeQuant;
import org.dfq4j.rewrite.quant.QuantizeBiases;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.QuantizeWeights;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.quant.Rounding;
import org.dfq4j.rewrite.transform.AbsorbHighBias;
import org.dfq4j.rewrite.transform.CrossLayerEqualization;
import org.dfq4j.rewrite.transform.EliminateDeadChannels;
import org.dfq4j.rewrite.transform.FoldBatchNorm;
import org.dfq4j.rewrite.transform.ReplaceRelu6;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One configuration of the data-free pipeline, as a value. Build one with {@link #builder()}:
 *
 * <pre>{@code
 * DfqRecipe recipe = DfqRecipe.builder().equalize(true).correction(Correction.EMPIRICAL).build();
 * }</pre>
 *
 * The float part ({@link #floatPipeline}): fold BatchNorm; the extra {@link #rules()} to a fixpoint;
 * then, as asked, replace ReLU6 by ReLU, eliminate dead channels and equalize, absorb high biases.
 * Equalization without ReLU6 replacement keeps every ReLU6 it crosses exactly, as a per-channel clip
 * min(max(x, 0), 6/s_i) (white paper), so the float network is unchanged. The 8-bit simulation
 * ({@link #quantPipeline}): bias correction, offline weight quantization, activation fake-quant with
 * ranges from a {@link RangeSource}. Order, as the paper prescribes: equalize, absorb, quantize
 * weights, correct. {@link Quantizer} runs a recipe end to end.
 *
 * @param replaceRelu6      ReLU6 to ReLU (the paper's recipe; changes FP32 where a value exceeds 6)
 * @param equalize          dead-channel elimination and cross-layer equalization
 * @param absorb            high-bias absorption (needs BatchNorm statistics)
 * @param correction        bias correction: none, analytic (data-free) or empirical (calibration images)
 * @param weights           the weight quantization scheme
 * @param activationBits    activation bit width, 2 to 16
 * @param activationRanges  where activation ranges come from
 * @param calibrationImages how many calibration images empirical correction and calibration ranges use
 * @param rules             extra rules, run to a fixpoint right after BatchNorm folding
 * @param rounding          how weights are rounded: to nearest, or {@link Rounding#DATAFREE}
 * @param equalizeResidual  with {@code equalize}, also equalize residual streams (off by default: it raises
 *                          weight SQNR but unbalanced the residual sums' channels and cost W8A8 accuracy on MobileNetV2)
 * @param equalizeStrength  with {@code equalize}, beta in (0, 1]: each converged per-channel scale S_i becomes
 *                          S_i^beta ({@link CrossLayerEqualization}); empty: {@link Quantizer} chooses beta among
 *                          {@link #STRENGTHS} by the output SQNR on the calibration images (1 when there are none)
 */
public record DfqRecipe(boolean replaceRelu6, boolean equalize, boolean absorb, Correction correction,
                        QuantScheme weights, int activationBits, RangeSpec activationRanges, int calibrationImages,
                        List<Rule> rules, Rounding rounding, boolean equalizeResidual, OptionalDouble equalizeStrength) {

    /** Bias correction (METHOD.md sections 5 and 6). */
    public enum Correction {
        /** No correction. */
        NONE,
        /** Data-free: from the BatchNorm statistics. */
        ANALYTIC,
        /** Measured on calibration images, with quantized weights. */
        EMPIRICAL,
        /**
         * Measured on calibration images, sequentially, each layer seeing the outputs of the layers before
         * with quantized weights and quantized activations (weights-only runs fall back to {@link #EMPIRICAL}).
         */
        SEQUENTIAL;

        /** Whether the correction is measured on calibration images. */
        public boolean empirical() {
            return this == EMPIRICAL || this == SEQUENTIAL;
        }
    }

    /** The default number of calibration images. */
    public static final int DEFAULT_CALIBRATION_IMAGES = 32;

    /** The equalization strengths {@link Quantizer} chooses among, full equalization first. */
    public static final List<Double> STRENGTHS = List.of(1.0, 0.875, 0.75, 0.625, 0.5);

    public DfqRecipe {
        Objects.requireNonNull(correction, "correction");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(activationRanges, "activationRanges");
        Objects.requireNonNull(rounding, "rounding");
        Objects.requireNonNull(equalizeStrength, "equalizeStrength");
        rules = List.copyOf(rules);
        if (equalizeStrength.isPresent() && !(equalizeStrength.getAsDouble() > 0 && equalizeStrength.getAsDouble() <= 1)) {
            throw new DfqException("equalization strength must be in (0, 1], got " + equalizeStrength.getAsDouble());
        }
        if (activationBits < QuantScheme.MIN_BITS || activationBits > QuantScheme.MAX_BITS) {
            throw new DfqException("activation bit width " + activationBits + " is not supported; use "
                    + QuantScheme.MIN_BITS + " to " + QuantScheme.MAX_BITS + " bits");
        }
        if (calibrationImages < 1) {
            throw new DfqException("the number of calibration images must be at least 1, got " + calibrationImages);
        }
    }

    /** A builder with the defaults: no rewrite beyond BatchNorm folding (the paper's "naive" baseline), W8A8 per-tensor asymmetric, automatic ranges, 32 calibration images. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this recipe. */
    public Builder toBuilder() {
        return new Builder().replaceRelu6(replaceRelu6).equalize(equalize).absorb(absorb).correction(correction)
                .weights(weights).activationBits(activationBits).activationRanges(activationRanges)
                .calibrationImages(calibrationImages).rules(rules).rounding(rounding).equalizeResidual(equalizeResidual)
                .equalizeStrength(equalizeStrength);
    }

    /**
     * Whether the network will have per-channel BatchNorm statistics once folded (it has BatchNorm
     * ops, or statistics already): the data-free steps (absorption, analytic correction, bn ranges)
     * need them, and models folded at export (every TFLite file) have none.
     */
    public static boolean hasStatistics(Network net) {
        GraphView g = GraphView.of(net);
        return g.hasStats() || g.ops().stream().anyMatch(op -> g.kind(op) == OpKind.BATCH_NORM);
    }

    /** Whether running this recipe needs calibration images (empirical correction or calibration ranges). */
    public boolean needsCalibration(boolean hasStatistics) {
        return correction.empirical() || activationRanges.resolve(hasStatistics).needsCalibration();
    }

    /**
     * Fold BatchNorm; the extra rules; then, as asked, ReLU6 to ReLU, dead channels and equalization, absorption
     * (a strength left to choose is 1 here: {@link Quantizer#floatPipeline} is what chooses it).
     */
    public Pipeline floatPipeline() {
        List<Transform> t = new ArrayList<>();
        t.add(RewriteDriver.of(new FoldBatchNorm()));
        if (!rules.isEmpty()) {
            t.add(new RewriteDriver(rules));
        }
        if (replaceRelu6) {
            t.add(RewriteDriver.of(new ReplaceRelu6()));
        }
        if (equalize) {
            t.add(new EliminateDeadChannels());
            t.add(new CrossLayerEqualization(!replaceRelu6, CrossLayerEqualization.DEFAULT_THRESHOLD,
                    CrossLayerEqualization.DEFAULT_MAX_ITERATIONS, equalizeResidual, equalizeStrength.orElse(1)));
        }
        if (absorb) {
            t.add(new AbsorbHighBias());
        }
        return new Pipeline(t);
    }

    /**
     * Bias correction (analytic, or empirical on {@code calibration}), offline weight quantization,
     * and activation fake-quant with ranges from {@code ranges} ({@link RangeSource#none()}: weights only),
     * then biases rounded to int32 levels as integer runtimes store them.
     */
    public Pipeline quantPipeline(RangeSource ranges, List<INDArray> calibration) {
        List<Transform> t = new ArrayList<>();
        QuantizeWeights quantize = new QuantizeWeights(weights, rounding);
        RangeSource once = RangeSource.once(ranges);
        boolean activations = !(ranges instanceof RangeSource.None);
        switch (correction) {
            case ANALYTIC -> t.add(new CorrectBiasAnalytically(weights, rounding));
            // sequential: the activation ranges are taken once, on the float network, and reused below
            case EMPIRICAL -> t.add(new CorrectBiasEmpirically(List.of(quantize), calibration));
            case SEQUENTIAL -> t.add(new CorrectBiasEmpirically(activations
                    ? List.of(new InsertFakeQuant(activationBits, once), quantize) : List.of(quantize), calibration));
            case NONE -> { }
        }
        t.add(quantize);
        if (activations) {
            t.add(new InsertFakeQuant(activationBits, once));
            t.add(RewriteDriver.of(new FoldClampsIntoFakeQuant()));
            t.add(new QuantizeBiases());
        }
        return new Pipeline(t);
    }

    /** In words, e.g. "replace relu6, equalize, correction analytic; weights 8-bit per-tensor asymmetric; activations 8-bit, ranges bn". */
    @Override
    public String toString() {
        List<String> steps = new ArrayList<>();
        if (replaceRelu6) {
            steps.add("replace relu6");
        }
        if (equalize) {
            steps.add((equalizeResidual ? "equalize with residual streams" : "equalize") + (equalizeStrength.isEmpty()
                    ? " (strength chosen on calibration images)" : equalizeStrength.getAsDouble() == 1 ? ""
                    : String.format(Locale.ROOT, " (strength %s)", equalizeStrength.getAsDouble())));
        }
        if (absorb) {
            steps.add("absorb");
        }
        if (correction != Correction.NONE) {
            steps.add("correction " + correction.name().toLowerCase(Locale.ROOT));
        }
        rules.forEach(r -> steps.add(r.name()));
        return (steps.isEmpty() ? "fold batchnorm only" : String.join(", ", steps)) + "; weights " + weights
                + (rounding == Rounding.NEAREST ? "" : ", " + rounding.name().toLowerCase(Locale.ROOT) + " rounding")
                + "; activations " + activationBits + "-bit, ranges " + activationRanges;
    }

    /** Builds a {@link DfqRecipe}; every setter returns the builder. */
    public static final class Builder {
        private boolean replaceRelu6;
        private boolean equalize;
        private boolean absorb;
        private Correction correction = Correction.NONE;
        private QuantScheme weights = QuantScheme.perTensor(8, false);
        private int activationBits = 8;
        private RangeSpec activationRanges = RangeSpec.auto();
        private int calibrationImages = DEFAULT_CALIBRATION_IMAGES;
        private final List<Rule> rules = new ArrayList<>();
        private Rounding rounding = Rounding.NEAREST;
        private boolean equalizeResidual;
        private OptionalDouble equalizeStrength = OptionalDouble.of(1);

        /**
         * With equalization, each converged per-channel scale S_i becomes S_i^beta, beta in (0, 1]
         * (default 1: full equalization, the paper).
         */
        public Builder equalizeStrength(double beta) {
            equalizeStrength = OptionalDouble.of(beta);
            return this;
        }

        /** As {@link #equalizeStrength(double)}; empty: chosen by {@link Quantizer} on the calibration images. */
        public Builder equalizeStrength(OptionalDouble beta) {
            equalizeStrength = Objects.requireNonNull(beta);
            return this;
        }

        /** With equalization, also equalize residual streams (default false). */
        public Builder equalizeResidual(boolean v) {
            equalizeResidual = v;
            return this;
        }

        private Builder() {
        }

        /** How weights are rounded (default nearest). */
        public Builder rounding(Rounding r) {
            rounding = Objects.requireNonNull(r);
            return this;
        }

        /** Replace ReLU6 by ReLU (default false). */
        public Builder replaceRelu6(boolean v) {
            replaceRelu6 = v;
            return this;
        }

        /** Dead-channel elimination and cross-layer equalization (default false). */
        public Builder equalize(boolean v) {
            equalize = v;
            return this;
        }

        /** High-bias absorption (default false). */
        public Builder absorb(boolean v) {
            absorb = v;
            return this;
        }

        /** Bias correction (default none). */
        public Builder correction(Correction c) {
            correction = Objects.requireNonNull(c);
            return this;
        }

        /** The weight scheme (default 8-bit per-tensor asymmetric). */
        public Builder weights(QuantScheme s) {
            weights = Objects.requireNonNull(s);
            return this;
        }

        /** Activation bit width (default 8). */
        public Builder activationBits(int bits) {
            activationBits = bits;
            return this;
        }

        /** Where activation ranges come from (default auto: bn with BatchNorm statistics, else calib). */
        public Builder activationRanges(RangeSpec r) {
            activationRanges = Objects.requireNonNull(r);
            return this;
        }

        /** How many calibration images to use (default 32). */
        public Builder calibrationImages(int n) {
            calibrationImages = n;
            return this;
        }

        /** Adds a rule run to a fixpoint right after BatchNorm folding. */
        public Builder rule(Rule r) {
            rules.add(Objects.requireNonNull(r));
            return this;
        }

        /** Replaces the extra rules. */
        public Builder rules(List<Rule> rs) {
            rules.clear();
            rules.addAll(rs);
            return this;
        }

        /** The recipe; throws {@link DfqException} for an impossible setting. */
        public DfqRecipe build() {
            return new DfqRecipe(replaceRelu6, equalize, absorb, correction, weights, activationBits, activationRanges,
                    calibrationImages, rules, rounding, equalizeResidual, equalizeStrength);
        }
    }
}
