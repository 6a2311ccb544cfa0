package org.dfq4j.eval.image;

import java.awt.RenderingHints;

/** The Java2D interpolation used to resize the cropped photograph to the model's input size. */
public enum ResizeFilter {
    NEAREST(RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR),
    BILINEAR(RenderingHints.VALUE_INTERPOLATION_BILINEAR),
    BICUBIC(RenderingHints.VALUE_INTERPOLATION_BICUBIC);

    private final Object hint;

    ResizeFilter(Object hint) {
        this.hint = hint;
    }

    /** The value for {@link RenderingHints#KEY_INTERPOLATION}. */
    public Object renderingHint() {
        return hint;
    }

    /** The name used in preprocessing specs: {@code nearest}, {@code bilinear}, {@code bicubic}. */
    public String specName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
