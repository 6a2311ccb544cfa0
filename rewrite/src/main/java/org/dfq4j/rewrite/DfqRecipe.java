package org.dfq4j.rewrite;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.Transform;
import org.dfq4j.rewrite.quant.CorrectBiasAnalytically;
import org.dfq4j.rewrite.quant.CorrectBiasEmpirically;
import org.dfq4j.rewrite.quant.FoldClampsIntoFakeQuant;
import org.dfq4j.rewrite.quant.InsertFakeQuant;
import org.dfq4j.rewrite.quant.QuantizeBiases;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.QuantizeWeights;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.rewrite.transform.AbsorbHighBias;
import org.dfq4j.rewrite.transform.CrossLayerEqualization;
import org.dfq4j.rewrite.transform.EliminateDeadChannels;
import org.dfq4j.rewrite.transform.FoldBatchNorm;
import org.dfq4j.rewrite.transform.ReplaceRelu6;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One configuration of the data-free pipeline, named after the reference CLI's flags
 * ({@code --relu --equalize --absorb --correct}). The float part (BatchNorm folding, ReLU6
 * replacement, dead-channel elimination with equalization, absorption) is {@link #floatPipeline};
 * the 8-bit simulation (bias correction, offline weight quantization, activation fake-quant) is
 * {@link #quantPipeline}. Order, as the paper prescribes: equalize, absorb, quantize weights, correct.
 *
 * <p>Equalization without {@code relu} keeps every ReLU6 it crosses exactly, as a per-channel clip
 * min(max(x, 0), 6/s_i) (white paper), so the float network is unchanged.
 */
public record DfqRecipe(boolean relu, boolean equalize, boolean absorb, Correction correction,
                        QuantScheme weights, int actBits, String actRange, double sigmas) {

    public enum Correction { NONE, ANALYTIC, EMPIRICAL }

    public DfqRecipe {
        if (actBits < 2 || actBits > 16) {
            throw new DfqException("--bits-act must be between 2 and 16, got " + actBits);
        }
        if (!(sigmas > 0)) {
            throw new DfqException("the bn range width n must be positive, got " + sigmas);
        }
    }

    /**
     * Whether the network will have per-channel BatchNorm statistics once folded (it has BatchNorm
     * ops, or statistics already): the data-free steps (absorption, analytic correction, bn ranges)
     * need them, and models folded at export (every TFLite file) have none.
     */
    public static boolean hasStatistics(Network net) {
        return !net.stats().isEmpty() || net.sameDiff().getOps().values().stream()
                .anyMatch(op -> op.getOp().opName().equals("batchnorm"));
    }

    /** No rewrite beyond BatchNorm folding: the paper's "naive" baseline. */
    public static DfqRecipe naive(QuantScheme weights, int actBits, String actRange) {
        return new DfqRecipe(false, false, false, Correction.NONE, weights, actBits, actRange, 6);
    }

    public DfqRecipe withRelu(boolean v) {
        return new DfqRecipe(v, equalize, absorb, correction, weights, actBits, actRange, sigmas);
    }

    public DfqRecipe withEqualize(boolean v) {
        return new DfqRecipe(relu, v, absorb, correction, weights, actBits, actRange, sigmas);
    }

    public DfqRecipe withAbsorb(boolean v) {
        return new DfqRecipe(relu, equalize, v, correction, weights, actBits, actRange, sigmas);
    }

    public DfqRecipe withCorrection(Correction c) {
        return new DfqRecipe(relu, equalize, absorb, c, weights, actBits, actRange, sigmas);
    }

    public DfqRecipe withWeights(QuantScheme s) {
        return new DfqRecipe(relu, equalize, absorb, correction, s, actBits, actRange, sigmas);
    }

    public DfqRecipe withActRange(String r) {
        return new DfqRecipe(relu, equalize, absorb, correction, weights, actBits, r, sigmas);
    }

    /** Fold BatchNorm; then, as asked, ReLU6 to ReLU, dead channels and equalization, absorption. */
    public Pipeline floatPipeline() {
        List<Transform> t = new ArrayList<>();
        t.add(RewriteDriver.of(new FoldBatchNorm()));
        if (relu) {
            t.add(RewriteDriver.of(new ReplaceRelu6()));
        }
        if (equalize) {
            t.add(new EliminateDeadChannels());
            t.add(new CrossLayerEqualization(!relu, CrossLayerEqualization.DEFAULT_THRESHOLD,
                    CrossLayerEqualization.DEFAULT_MAX_ITERATIONS));
        }
        if (absorb) {
            t.add(new AbsorbHighBias());
        }
        return new Pipeline(t);
    }

    /**
     * Bias correction (analytic, or empirical on {@code calibration}), offline weight quantization,
     * and activation fake-quant with ranges from {@code ranges} (none: weights only), then biases
     * rounded to int32 levels as integer runtimes store them.
     */
    public Pipeline quantPipeline(RangeSource ranges, List<INDArray> calibration) {
        List<Transform> t = new ArrayList<>();
        QuantizeWeights quantize = new QuantizeWeights(weights);
        switch (correction) {
            case ANALYTIC -> t.add(new CorrectBiasAnalytically(weights));
            case EMPIRICAL -> t.add(new CorrectBiasEmpirically(List.of(quantize), calibration));
            case NONE -> { }
        }
        t.add(quantize);
        if (!(ranges instanceof RangeSource.None)) {
            t.add(new InsertFakeQuant(actBits, ranges));
            t.add(new FoldClampsIntoFakeQuant());
            t.add(new QuantizeBiases());
        }
        return new Pipeline(t);
    }

    /** The flags that reproduce this recipe, e.g. "--relu --equalize --correct=analytic". */
    public String flags() {
        List<String> f = new ArrayList<>();
        if (relu) {
            f.add("--relu");
        }
        if (equalize) {
            f.add("--equalize");
        }
        if (absorb) {
            f.add("--absorb");
        }
        if (correction != Correction.NONE) {
            f.add("--correct=" + correction.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (weights.perChannel()) {
            f.add("--per-channel");
        }
        if (weights.symmetric()) {
            f.add("--symmetric");
        }
        return f.isEmpty() ? "(none)" : String.join(" ", f);
    }

    /** Provenance for JSON reports. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("relu", relu);
        m.put("equalize", equalize);
        m.put("absorb", absorb);
        m.put("correct", correction.name().toLowerCase(java.util.Locale.ROOT));
        m.put("bitsWeight", weights.bits());
        m.put("perChannel", weights.perChannel());
        m.put("symmetric", weights.symmetric());
        m.put("bitsAct", actBits);
        m.put("actRange", actRange);
        m.put("flags", flags());
        return m;
    }
}
