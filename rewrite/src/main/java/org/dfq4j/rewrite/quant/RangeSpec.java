package org.dfq4j.rewrite.quant;

import java.util.Locale;
import org.dfq4j.rewrite.DfqException;

/**
 * Which activation range source a recipe asks for (METHOD.md section 7), as a value: {@code auto},
 * {@code bn} (with its width n, {@code bn:n}), {@code model}, {@code calib} or {@code none}. The
 * number of calibration images is the recipe's, not the spec's. {@link #resolve} turns {@code auto}
 * into {@code bn} for networks with BatchNorm statistics and {@code calib} otherwise.
 *
 * @param kind   the source
 * @param sigmas n of {@code bn}: ranges are mean +- n sigma
 */
public record RangeSpec(Kind kind, double sigmas) {

    /** The sources. */
    public enum Kind {
        /** {@link #BATCH_NORM} when the network has BatchNorm statistics, else {@link #CALIBRATION}. */
        AUTO("auto"),
        /** Data-free: mean +- n sigma of the BatchNorm statistics. */
        BATCH_NORM("bn"),
        /** The ranges the model file records. */
        MODEL("model"),
        /** Min/max over calibration images. */
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

    /** {@code bn} for networks with BatchNorm statistics, else {@code calib}. */
    public static RangeSpec auto() {
        return new RangeSpec(Kind.AUTO, DEFAULT_SIGMAS);
    }

    /** mean +- 6 sigma of the BatchNorm statistics. */
    public static RangeSpec batchNorm() {
        return batchNorm(DEFAULT_SIGMAS);
    }

    /** mean +- n sigma of the BatchNorm statistics. */
    public static RangeSpec batchNorm(double sigmas) {
        return new RangeSpec(Kind.BATCH_NORM, sigmas);
    }

    /** The ranges recorded in the model file. */
    public static RangeSpec model() {
        return new RangeSpec(Kind.MODEL, DEFAULT_SIGMAS);
    }

    /** Min/max over the calibration images. */
    public static RangeSpec calibration() {
        return new RangeSpec(Kind.CALIBRATION, DEFAULT_SIGMAS);
    }

    /** Weights-only quantization: activations stay float. */
    public static RangeSpec none() {
        return new RangeSpec(Kind.NONE, DEFAULT_SIGMAS);
    }

    /**
     * Parses "auto", "bn", "bn:n", "model", "calib" or "none" (any case).
     *
     * @throws DfqException naming the text and the accepted values
     */
    public static RangeSpec parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.startsWith("bn:")) {
            try {
                return batchNorm(Double.parseDouble(s.substring(3)));
            } catch (NumberFormatException e) {
                throw new DfqException("activation range source '" + text + "': n must be a number, e.g. bn:6");
            }
        }
        for (Kind k : Kind.values()) {
            if (k.label.equals(s)) {
                return new RangeSpec(k, DEFAULT_SIGMAS);
            }
        }
        if (s.startsWith("calib:")) {
            throw new DfqException("activation range source '" + text + "': the number of calibration images is "
                    + "given once, as the calibration count; the source is just 'calib'");
        }
        throw new DfqException("unknown activation range source '" + text + "'; use auto, bn, bn:n, model, calib or none");
    }

    /** {@code auto} resolved for a network with or without BatchNorm statistics; other specs unchanged. */
    public RangeSpec resolve(boolean hasStatistics) {
        if (kind != Kind.AUTO) {
            return this;
        }
        return hasStatistics ? batchNorm(sigmas) : calibration();
    }

    /** Whether the source needs calibration images. */
    public boolean needsCalibration() {
        return kind == Kind.CALIBRATION;
    }

    /** "bn", "bn:3", "model", "calib", "none" or "auto": what {@link #parse} reads back. */
    @Override
    public String toString() {
        return kind == Kind.BATCH_NORM && sigmas != DEFAULT_SIGMAS ? "bn:" + trim(sigmas) : kind.label;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
