package org.dfq4j.eval.detection;

import java.util.Locale;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;

/**
 * The options of TFLite's {@code TFLite_Detection_PostProcess} op, as an importer records them in
 * {@code Network.properties()} under {@code postprocess.<option>}.
 *
 * @param maxDetections most detections (anchors) kept per image
 * @param maxClassesPerDetection classes reported per kept anchor (fast NMS)
 * @param scoreThreshold scores below it are dropped before NMS (TFLite keeps {@code score >= threshold})
 * @param iouThreshold a box overlapping a kept one by more than this IoU is suppressed
 * @param numClasses classes without the background
 * @param yScale divides the y centre encoding
 * @param xScale divides the x centre encoding
 * @param hScale divides the log-height encoding
 * @param wScale divides the log-width encoding
 * @param useRegularNms per-class NMS instead of the fast class-agnostic NMS
 * @param detectionsPerClass most detections per class (regular NMS)
 */
public record PostProcessOptions(int maxDetections, int maxClassesPerDetection, float scoreThreshold,
                                 float iouThreshold, int numClasses, float yScale, float xScale, float hScale,
                                 float wScale, boolean useRegularNms, int detectionsPerClass) {

    /** The prefix of the op's options in a network's properties. */
    public static final String PREFIX = "postprocess.";
    /** TFLite's default for {@code detections_per_class}. */
    public static final int DEFAULT_DETECTIONS_PER_CLASS = 100;

    public PostProcessOptions {
        if (maxDetections < 0 || maxClassesPerDetection < 1 || numClasses < 1 || detectionsPerClass < 1) {
            throw new DfqException("TFLite_Detection_PostProcess options out of range: max_detections="
                    + maxDetections + ", max_classes_per_detection=" + maxClassesPerDetection + ", num_classes="
                    + numClasses + ", detections_per_class=" + detectionsPerClass);
        }
        if (!(iouThreshold > 0 && iouThreshold <= 1)) {
            throw new DfqException("TFLite_Detection_PostProcess nms_iou_threshold must be in (0,1], got "
                    + iouThreshold);
        }
        if (!(yScale != 0 && xScale != 0 && hScale != 0 && wScale != 0) || !Float.isFinite(yScale + xScale + hScale
                + wScale)) {
            throw new DfqException("TFLite_Detection_PostProcess scales must be finite and non-zero, got y_scale="
                    + yScale + ", x_scale=" + xScale + ", h_scale=" + hScale + ", w_scale=" + wScale);
        }
    }

    /**
     * Reads {@code postprocess.max_detections}, {@code max_classes_per_detection},
     * {@code nms_score_threshold}, {@code nms_iou_threshold}, {@code num_classes}, {@code y_scale},
     * {@code x_scale}, {@code h_scale}, {@code w_scale} (all required) and {@code use_regular_nms}
     * (default false), {@code detections_per_class} (default 100).
     *
     * @throws DfqException naming a missing or malformed property
     */
    public static PostProcessOptions fromProperties(Map<String, String> properties) {
        return new PostProcessOptions(integer(properties, "max_detections"),
                integer(properties, "max_classes_per_detection"), real(properties, "nms_score_threshold"),
                real(properties, "nms_iou_threshold"), integer(properties, "num_classes"),
                real(properties, "y_scale"), real(properties, "x_scale"), real(properties, "h_scale"),
                real(properties, "w_scale"), bool(properties, "use_regular_nms"),
                properties.containsKey(PREFIX + "detections_per_class") ? integer(properties, "detections_per_class")
                        : DEFAULT_DETECTIONS_PER_CLASS);
    }

    private static String value(Map<String, String> p, String key) {
        String v = p.get(PREFIX + key);
        if (v == null) {
            throw new DfqException("network property " + PREFIX + key + " is missing; detection needs a model whose"
                    + " importer recorded the TFLite_Detection_PostProcess options (a TFLite SSD model)");
        }
        return v.strip();
    }

    private static int integer(Map<String, String> p, String key) {
        String v = value(p, key);
        try {
            double d = Double.parseDouble(v);
            if (d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE) {
                return (int) d;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new DfqException("network property " + PREFIX + key + " = '" + v + "' is not an integer");
    }

    private static float real(Map<String, String> p, String key) {
        String v = value(p, key);
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new DfqException("network property " + PREFIX + key + " = '" + v + "' is not a number", e);
        }
    }

    private static boolean bool(Map<String, String> p, String key) {
        String v = p.get(PREFIX + key);
        if (v == null) {
            return false;
        }
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw new DfqException("network property " + PREFIX + key + " = '" + v
                    + "' is not true or false");
        };
    }
}
