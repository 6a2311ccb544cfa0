package org.dfq4j.rewrite.graph;

/**
 * Spatial padding of a convolution or pooling window. {@code SAME} is TensorFlow's rule (output =
 * ceil(input / stride), the odd extra row or column at the bottom/right); {@code EXPLICIT} gives the
 * four zero-pad amounts (ONNX pads, Keras ZeroPadding2D).
 */
public record Padding(Mode mode, int top, int bottom, int left, int right) {

    /** How a window is padded: TensorFlow SAME, none (VALID), or explicit amounts. */
    public enum Mode { SAME, VALID, EXPLICIT }

    public static final Padding SAME = new Padding(Mode.SAME, 0, 0, 0, 0);
    public static final Padding VALID = new Padding(Mode.VALID, 0, 0, 0, 0);

    public Padding {
        if (top < 0 || bottom < 0 || left < 0 || right < 0) {
            throw new IllegalArgumentException("negative padding " + top + "," + bottom + "," + left + "," + right);
        }
    }

    public static Padding explicit(int top, int bottom, int left, int right) {
        if (top == 0 && bottom == 0 && left == 0 && right == 0) {
            return VALID;
        }
        return new Padding(Mode.EXPLICIT, top, bottom, left, right);
    }

    /** True when the explicit amounts are the same on both sides of each axis (a conv op can take them). */
    public boolean symmetric() {
        return top == bottom && left == right;
    }
}
