package org.dfq4j.eval.data;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A photograph and its class: the class id taken from the file name and the model output index of
 * that class.
 */
public record LabeledImage(Path file, String classId, int label) {
    public LabeledImage {
        Objects.requireNonNull(file);
        Objects.requireNonNull(classId);
        if (label < 0) {
            throw new IllegalArgumentException("label must be >= 0, got " + label);
        }
    }

    /** The file name without directories (how reports name the photograph). */
    public String name() {
        return file.getFileName().toString();
    }
}
