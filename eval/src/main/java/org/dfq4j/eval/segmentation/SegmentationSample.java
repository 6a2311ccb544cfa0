package org.dfq4j.eval.segmentation;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * One photograph of a segmentation dataset and, when the dataset has ground truth, its mask of
 * class ids (same width and height as the photograph).
 *
 * @param name the sample's id (VOC image id, or the file name without extension)
 */
public record SegmentationSample(String name, Path image, Optional<Path> mask) {

    public SegmentationSample {
        Objects.requireNonNull(name);
        Objects.requireNonNull(image);
        Objects.requireNonNull(mask);
    }
}
