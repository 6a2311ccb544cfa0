package org.dfq4j.eval.detection;

/**
 * An axis-aligned box in TFLite's corner order {@code [ymin, xmin, ymax, xmax]}, in coordinates
 * normalized to the photograph (0..1; decoded boxes may reach slightly outside).
 */
public record Box(float ymin, float xmin, float ymax, float xmax) implements java.io.Serializable {

    /** Height times width; 0 for an empty or inverted box. */
    public float area() {
        return Math.max(0f, ymax - ymin) * Math.max(0f, xmax - xmin);
    }

    /**
     * Intersection over union with another box, 0 when either box has no area (as
     * TFLite_Detection_PostProcess computes it; continuous coordinates, no "+1" pixel convention).
     */
    public float iou(Box o) {
        float a = (ymax - ymin) * (xmax - xmin);
        float b = (o.ymax - o.ymin) * (o.xmax - o.xmin);
        if (a <= 0 || b <= 0) {
            return 0f;
        }
        float ih = Math.max(Math.min(ymax, o.ymax) - Math.max(ymin, o.ymin), 0f);
        float iw = Math.max(Math.min(xmax, o.xmax) - Math.max(xmin, o.xmin), 0f);
        float inter = ih * iw;
        return inter / (a + b - inter);
    }

    /** A box given in pixels (left, top, right, bottom) of a width x height image, normalized. */
    public static Box ofPixels(double left, double top, double right, double bottom, int width, int height) {
        return new Box((float) (top / height), (float) (left / width), (float) (bottom / height),
                (float) (right / width));
    }
}
