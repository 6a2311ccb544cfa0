package org.dfq4j.rewrite.quant;

import java.util.Locale;
import org.dfq4j.rewrite.DfqException;

/**
 * Which activation range source a recipe asks for (METHOD.md sections 7 and 8), as a value:
 * {@code auto}, {@code bn} (mean +- 6 sigma of the BatchNorm statistics; {@code bn:n}: n sigma;
 * {@code bn:mse}: MSE-optimal clipping of the clipped-normal distributions they give), {@code model}, {@code calib} (MSE-optimal clipping
 * of the calibration images' values; {@code calib:minmax}: their min/max) or {@code none}. The number
 * of calibration images is the recipe's, not the spec's. {@link #resolve} turns {@code auto} into
 * {@code bn} for networks with BatchNorm statistics and {@code calib} otherwise.
 *
 * @param kind   the source
 * @param sigmas n of {@code bn:n}: ranges are mean +- n sigma
 * @param mse    {@code bn} and {@code calib}: MSE-optimal clipping (the default) instead of n sigma or min/max
 */
public record RangeSpec(Kind kind, double sigmas, boolean mse) {

    /** The sources. */
    public enum Kind {
        /** {@link #BATCH_NORM} when the network has BatchNorm statistics, else {@link #CALIBRATION}. */
        AUTO("auto"),
        /** Data-free: from the BatchNorm statistics (MSE-optimal clipping, or mean +- n sigma). */
        BATCH_NORM("bn"),
        /** The ranges the model file records. */
        MODEL("model"),
        /** Calibration images (MSE-optimal clipping, or min/max). */
        CALIBRATION("calib"),
        /** No activation quantization. */
        NONE("none");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        /** The spec's name, e.g. "bn". */
        public String label() {
            return label;
        }
    }

    /** n = 6, the width the paper's figures use. */
    public static final double DEFAULT_SIGMAS = 6;

    public RangeSpec {
        if (kind == null) {
            throw new DfqException("an activation range source is required");
        }
        if (!(sigmas > 0) || Double.isInfinite(sigmas)) {
            throw new DfqException("the bn range width n must be a positive number, got " + sigmas);
        }
    }

    /** {@code bn} (mean +- 6 sigma) for networks with BatchNorm statistics, else {@code calib} (MSE-optimal). */
    public static RangeSpec auto() {
        return new RangeSpec(Kind.AUTO, DEFAULT_SIGMAS, true);
    }

    /**
     * mean +- 6 sigma of the BatchNorm statistics: the default, since it measured better than the MSE
     * clipping of the clipped normals on Tiny-Darknet (69.0 against 67.0 top-1, W8A8): real
     * activations have heavier tails than the normals, so their MSE optimum clips too much.
     */
    public static RangeSpec batchNorm() {
        return new RangeSpec(Kind.BATCH_NORM, DEFAULT_SIGMAS, false);
    }

    /** MSE-optimal clipping of the BatchNorm statistics' clipped-normal distributions. */
    public static RangeSpec batchNormMse() {
        return new RangeSpec(Kind.BATCH_NORM, DEFAULT_SIGMAS, true);
    }

    /** mean +- n sigma of the BatchNorm statistics. */
    public static RangeSpec batchNorm(double sigmas) {
        return new RangeSpec(Kind.BATCH_NORM, sigmas, false);
    }

    /** The ranges recorded in the model file. */
    public static RangeSpec model() {
        return new RangeSpec(Kind.MODEL, DEFAULT_SIGMAS, false);
    }

    /** MSE-optimal clipping of the calibration images' values. */
    public static RangeSpec calibration() {
        return new RangeSpec(Kind.CALIBRATION, DEFAULT_SIGMAS, true);
    }

    /** Min/max over the calibration images. */
    public static RangeSpec calibrationMinMax() {
        return new RangeSpec(Kind.CALIBRATION, DEFAULT_SIGMAS, false);
    }

    /** Weights-only quantization: activations stay float. */
    public static RangeSpec none() {
        return new RangeSpec(Kind.NONE, DEFAULT_SIGMAS, false);
    }

    /**
     * Parses "auto", "bn", "bn:mse", "bn:n", "model", "calib", "calib:mse", "calib:minmax" or "none" (any case).
     *
     * @throws DfqException naming the text and the accepted values
     */
    public static RangeSpec parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("bn:mse")) {
            return batchNormMse();
        }
        if (s.equals("calib:mse")) {
            return calibration();
        }
        if (s.equals("calib:minmax")) {
            return calibrationMinMax();
        }
        if (s.startsWith("bn:")) {
            try {
                return batchNorm(Double.parseDouble(s.substring(3)));
            } catch (NumberFormatException e) {
                throw new DfqException("activation range source '" + text + "': n must be a number, e.g. bn:6, or mse");
            }
        }
        for (Kind k : Kind.values()) {
            if (k.label.equals(s)) {
                return k == Kind.AUTO ? auto() : k == Kind.BATCH_NORM ? batchNorm() : k == Kind.CALIBRATION
                        ? calibration() : new RangeSpec(k, DEFAULT_SIGMAS, false);
            }
        }
        if (s.startsWith("calib:")) {
            throw new DfqException("activation range source '" + text + "': the number of calibration images is "
                    + "given once, as the calibration count; the source is 'calib', 'calib:mse' or 'calib:minmax'");
        }
        throw new DfqException("unknown activation range source '" + text
                + "'; use auto, bn, bn:n, model, calib, calib:minmax or none");
    }

    /** {@code auto} resolved for a network with or without BatchNorm statistics; other specs unchanged. */
    public RangeSpec resolve(boolean hasStatistics) {
        if (kind != Kind.AUTO) {
            return this;
        }
        return hasStatistics ? batchNorm() : calibration();
    }

    /** Whether the source needs calibration images. */
    public boolean needsCalibration() {
        return kind == Kind.CALIBRATION;
    }

    /** "bn", "bn:3", "model", "calib", "calib:minmax", "none" or "auto": what {@link #parse} reads back. */
    @Override
    public String toString() {
        if (kind == Kind.BATCH_NORM) {
            return mse ? "bn:mse" : sigmas != DEFAULT_SIGMAS ? "bn:" + trim(sigmas) : "bn";
        }
        return kind == Kind.CALIBRATION && !mse ? "calib:minmax" : kind.label;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
