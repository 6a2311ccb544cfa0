package org.dfq4j.eval.detection;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A photograph and its annotated objects (empty when the dataset has no ground truth, or the
 * photograph shows none of the classes).
 *
 * @param name the image id (VOC) or file name (COCO)
 * @param width the photograph's width in pixels
 * @param height the photograph's height in pixels
 */
public record AnnotatedImage(String name, Path image, int width, int height, List<GroundTruthBox> objects) {

    public AnnotatedImage {
        Objects.requireNonNull(name);
        Objects.requireNonNull(image);
        objects = List.copyOf(objects);
    }
}
