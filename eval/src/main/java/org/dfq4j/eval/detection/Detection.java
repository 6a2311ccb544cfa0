package org.dfq4j.eval.detection;

import java.util.Objects;

/**
 * One detected object.
 *
 * @param box normalized [ymin, xmin, ymax, xmax]
 * @param classId the column of the model's class scores, which is also the line of its label
 *     file (for the SSD COCO model: 0 = background, never detected; 1 = person). TFLite's own
 *     output class is this minus the background offset.
 * @param score the class score the detection was selected with
 */
public record Detection(Box box, int classId, float score) implements java.io.Serializable {

    public Detection {
        Objects.requireNonNull(box);
    }
}
