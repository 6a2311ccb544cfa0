package org.dfq4j.rewrite;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.CalibratedRanges;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a {@link DfqRecipe} end to end, the one place that knows the order: the float pipeline, then
 * calibration images (only if the recipe needs them), the activation range source, weight
 * quantization and fake-quant insertion, and optionally lowering for speed. The result is the
 * network and the log of everything applied.
 *
 * <pre>{@code
 * Quantizer q = Quantizer.builder(recipe).calibration(photos).inputRange(-1, 1).build();
 * QuantizedNetwork out = q.quantize(network);
 * }</pre>
 *
 * The caller's network is never changed. Calibration images are loaded once per quantizer and
 * shared by every step and every call that needs them.
 */
public final class Quantizer {

    /** The rewrite log's step name for the choice of an equalization strength. */
    public static final String CHOOSE_STRENGTH = "ChooseEqualizationStrength";

    private final DfqRecipe recipe;
    private final Calibration calibration;
    private final TensorRange inputRange;
    private final RangeSource customRanges;
    private final boolean lower;
    private List<INDArray> loaded;
    private long[] loadedShape;

    private Quantizer(Builder b) {
        this.recipe = b.recipe;
        this.calibration = b.calibration;
        this.inputRange = b.inputRange;
        this.customRanges = b.rangeSource;
        this.lower = b.lower;
    }

    /** {@code other}'s configuration with another recipe, sharing its loaded calibration images. */
    private Quantizer(Quantizer other, DfqRecipe recipe) {
        this.recipe = recipe;
        this.calibration = other.calibration;
        this.inputRange = other.inputRange;
        this.customRanges = other.customRanges;
        this.lower = false;
        synchronized (other) {
            this.loaded = other.loaded;
            this.loadedShape = other.loadedShape;
        }
    }

    /** A quantizer for {@code recipe}, to configure. */
    public static Builder builder(DfqRecipe recipe) {
        return new Builder(recipe);
    }

    /** The recipe. */
    public DfqRecipe recipe() {
        return recipe;
    }

    /** The whole recipe on a copy of {@code original}: float pipeline, then {@link #quantize(Rewritten)}. */
    public QuantizedNetwork quantize(Network original) {
        long t0 = System.nanoTime();
        Rewritten prepared = floatPipeline(original);
        double floatSeconds = (System.nanoTime() - t0) / 1e9;
        QuantizedNetwork q = quantize(prepared);
        RewriteLog log = new RewriteLog();
        log.addAll(prepared.log());
        log.addAll(q.log());
        return new QuantizedNetwork(prepared.network(), q.network(), q.executable(), q.ranges(), q.execution(), log,
                floatSeconds + q.seconds());
    }

    /**
     * The float rewrites of the recipe on a copy of {@code original} (absorption is refused on a
     * network without BatchNorm statistics). An equalization strength left to choose is chosen here:
     * each of {@link DfqRecipe#STRENGTHS} is rewritten and quantized as the recipe says, and the one
     * whose outputs on the calibration images are closest to FP32 (highest SQNR) is kept; without
     * calibration images (a data-free recipe) it is 1.
     */
    public Rewritten floatPipeline(Network original) {
        if (recipe.absorb() && !DfqRecipe.hasStatistics(original)) {
            throw new DfqException("high-bias absorption needs BatchNorm statistics, and network '" + original.name()
                    + "' has none (BN-folded at export)");
        }
        if (recipe.equalize() && recipe.equalizeStrength().isEmpty()) {
            return chooseStrength(original);
        }
        return recipe.floatPipeline().run(original);
    }

    private Rewritten chooseStrength(Network original) {
        if (!recipe.needsCalibration(DfqRecipe.hasStatistics(original))) {
            Rewritten r = recipe.toBuilder().equalizeStrength(1).build().floatPipeline().run(original);
            r.log().add(CHOOSE_STRENGTH, "strength 1 (full equalization): a data-free recipe has no "
                    + "calibration images to choose on");
            return r;
        }
        List<INDArray> images = calibrationImages(original.inputShape());
        List<List<INDArray>> reference = new ArrayList<>();
        Rewritten best = null;
        double bestDb = Double.NEGATIVE_INFINITY;
        double bestStrength = 1;
        Map<String, Object> tried = new LinkedHashMap<>();
        List<String> said = new ArrayList<>();
        for (double beta : DfqRecipe.STRENGTHS) {
            Quantizer candidate = new Quantizer(this, recipe.toBuilder().equalizeStrength(beta).build());
            Rewritten prepared = candidate.recipe.floatPipeline().run(original);
            if (reference.isEmpty()) {
                // every strength computes the same float function: one reference serves them all
                images.forEach(b -> reference.add(outputs(prepared.network(), b)));
            }
            Network quantized = candidate.quantize(prepared).network();
            double db = outputSqnrDb(reference, quantized, images);
            tried.put(String.format(Locale.ROOT, "sqnrDb@%s", beta), db);
            said.add(String.format(Locale.ROOT, "%s: %.2f", beta, db));
            if (db > bestDb) {
                best = prepared;
                bestDb = db;
                bestStrength = beta;
            }
        }
        int n = images.stream().mapToInt(b -> (int) b.size(0)).sum();
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("strength", bestStrength);
        v.put("images", n);
        v.putAll(tried);
        best.log().add(CHOOSE_STRENGTH, String.format(Locale.ROOT,
                "strength %s chosen by output SQNR against FP32 on %d calibration images (%s dB)", bestStrength, n,
                String.join(", ", said)), List.of(), v);
        return best;
    }

    /** A network's outputs on a batch, in the order of {@link Network#outputs()}. */
    private static List<INDArray> outputs(Network net, INDArray batch) {
        Map<String, INDArray> out = net.run(batch);
        return net.outputs().stream().map(out::get).toList();
    }

    /** SQNR in dB of a network's outputs against reference outputs, summed over every output and image. */
    private static double outputSqnrDb(List<List<INDArray>> reference, Network net, List<INDArray> images) {
        double[] sn = new double[2];
        for (int k = 0; k < images.size(); k++) {
            List<INDArray> out = outputs(net, images.get(k));
            for (int o = 0; o < out.size(); o++) {
                QuantizationReport.addSignalAndNoise(reference.get(k).get(o), out.get(o), sn);
            }
        }
        return QuantizationReport.sqnrDb(sn);
    }

    /**
     * Bias correction, weight quantization and activation fake-quant with the configured ranges on a
     * copy of the float pipeline's result; lowered too if asked. The log holds the quantization steps
     * only.
     */
    public QuantizedNetwork quantize(Rewritten prepared) {
        return quantize(prepared, rangeSource(prepared.network()));
    }

    /** As {@link #quantize(Rewritten)} with activations left float: 8-bit weights only (W8). */
    public QuantizedNetwork quantizeWeights(Rewritten prepared) {
        return quantize(prepared, RangeSource.none());
    }

    private QuantizedNetwork quantize(Rewritten prepared, RangeSource ranges) {
        Network net = prepared.network();
        if (recipe.correction() == DfqRecipe.Correction.ANALYTIC && !DfqRecipe.hasStatistics(net)) {
            throw new DfqException("analytic bias correction needs BatchNorm statistics, and network '" + net.name()
                    + "' has none (BN-folded at export); use empirical correction with calibration images");
        }
        List<INDArray> batches = recipe.correction().empirical() ? images(net) : List.of();
        long t0 = System.nanoTime();
        Rewritten q = recipe.quantPipeline(ranges, batches).run(net);
        double seconds = (System.nanoTime() - t0) / 1e9;
        RewriteLog log = new RewriteLog();
        log.addAll(q.log());
        Network executable = q.network();
        String execution = "fake-quant ops";
        if (lower && !(ranges instanceof RangeSource.None)) {
            LowerFakeQuant.Lowered l = LowerFakeQuant.of(q.network());
            executable = l.network();
            execution = l.describe();
        }
        return new QuantizedNetwork(net, q.network(), executable, ranges.name(), execution, log, seconds);
    }

    /** The range source this quantizer uses for a float network (calibration images are loaded here if needed). */
    public RangeSource rangeSource(Network prepared) {
        if (customRanges != null) {
            return customRanges;
        }
        RangeSpec spec = recipe.activationRanges().resolve(DfqRecipe.hasStatistics(prepared));
        return switch (spec.kind()) {
            case BATCH_NORM -> {
                if (!DfqRecipe.hasStatistics(prepared)) {
                    throw new DfqException("bn activation ranges need BatchNorm statistics, and network '"
                            + prepared.name() + "' has none (BN-folded at export); use calib, model or none");
                }
                if (inputRange == null) {
                    throw new DfqException("bn activation ranges need the input's value range fixed by preprocessing "
                            + "(e.g. [-1, 1] for x/127.5-1); give it to the quantizer");
                }
                yield spec.mse() ? RangeSource.batchNormMse(activationScheme(), inputRange)
                        : RangeSource.batchNorm(spec.sigmas(), inputRange);
            }
            case MODEL -> RangeSource.recorded();
            case CALIBRATION -> new CalibratedRanges(CalibratedRanges.firstImages(images(prepared),
                    recipe.calibrationImages()), spec.mse() ? activationScheme() : null);
            case NONE -> RangeSource.none();
            case AUTO -> throw new IllegalStateException("auto ranges were not resolved");
        };
    }

    private QuantScheme activationScheme() {
        return QuantScheme.perTensor(recipe.activationBits(), false);
    }

    private List<INDArray> images(Network net) {
        return calibrationImages(net.inputShape());
    }

    /** The recipe's calibration images for a network input [C, H, W] (loaded once). */
    public synchronized List<INDArray> calibrationImages(long[] inputShape) {
        if (loadedShape != null && !Arrays.equals(loadedShape, inputShape)) {
            throw new DfqException("this quantizer's calibration images were loaded for input "
                    + Arrays.toString(loadedShape) + "; use one quantizer per network input shape");
        }
        if (loaded == null) {
            loaded = calibration.batches(recipe.calibrationImages(), inputShape);
            loadedShape = inputShape.clone();
        }
        return loaded;
    }

    /** Configures a {@link Quantizer}. */
    public static final class Builder {
        private final DfqRecipe recipe;
        private Calibration calibration = Calibration.none();
        private TensorRange inputRange;
        private RangeSource rangeSource;
        private boolean lower;

        private Builder(DfqRecipe recipe) {
            this.recipe = Objects.requireNonNull(recipe);
        }

        /** Calibration images, for empirical correction and calibration ranges (default none). */
        public Builder calibration(Calibration c) {
            calibration = Objects.requireNonNull(c);
            return this;
        }

        /** The value range preprocessing maps pixels into, e.g. [-1, 1] for x/127.5-1 (needed by bn ranges). */
        public Builder inputRange(double min, double max) {
            inputRange = new TensorRange(min, max);
            return this;
        }

        /** As {@link #inputRange(double, double)}. */
        public Builder inputRange(TensorRange r) {
            inputRange = r;
            return this;
        }

        /** A range source of your own, used instead of the recipe's {@link DfqRecipe#activationRanges()}. */
        public Builder rangeSource(RangeSource r) {
            rangeSource = Objects.requireNonNull(r);
            return this;
        }

        /**
         * Whether to lower fake-quant networks for speed ({@link LowerFakeQuant}: scales folded into the
         * weights, a rounding by scalar ops per tensor; default false: ND4J's fake-quant ops, the reference).
         */
        public Builder lowered(boolean v) {
            lower = v;
            return this;
        }

        /** The quantizer. */
        public Quantizer build() {
            return new Quantizer(this);
        }
    }
}
