package org.dfq4j.eval.detection;

import java.util.Objects;

/**
 * An annotated object.
 *
 * @param box normalized [ymin, xmin, ymax, xmax]
 * @param classId the label-file line of its class (the model's score column)
 * @param difficult VOC's "difficult" flag (COCO's iscrowd): a detection matching it is neither a
 *     true nor a false positive, and it is not counted among the objects to find
 */
public record GroundTruthBox(Box box, int classId, boolean difficult) implements java.io.Serializable {

    public GroundTruthBox {
        Objects.requireNonNull(box);
    }
}
