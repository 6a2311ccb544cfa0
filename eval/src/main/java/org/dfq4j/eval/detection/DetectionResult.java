package org.dfq4j.eval.detection;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The outcome of one detection run with its provenance (model, dataset, preprocessing spec, batch
 * size, IoU threshold). Immutable.
 *
 * @param meanAp VOC mAP in [0,1] at {@code iouThreshold}; NaN when the dataset has no ground truth
 * @param classAp AP of each class with ground truth, by class name (label file), in class-id order
 * @param wallSeconds wall time of the whole loop (decoding, forward passes, post-processing)
 * @param forwardSeconds time inside the model, copying its outputs to the host included
 * @param names the images' names in dataset order
 * @param detections per image, in dataset order, as the post-processing output them
 */
public record DetectionResult(String model, String dataset, String preprocessing, int batchSize, int images,
                              double iouThreshold, double meanAp, Map<String, Double> classAp,
                              double wallSeconds, double forwardSeconds, List<String> names,
                              List<List<Detection>> detections) {

    public DetectionResult {
        Objects.requireNonNull(model);
        Objects.requireNonNull(dataset);
        Objects.requireNonNull(preprocessing);
        classAp = Collections.unmodifiableMap(new LinkedHashMap<>(classAp));
        names = List.copyOf(names);
        List<List<Detection>> d = new ArrayList<>(detections.size());
        detections.forEach(l -> d.add(List.copyOf(l)));
        detections = List.copyOf(d);
        if (names.size() != images || detections.size() != images) {
            throw new IllegalArgumentException(names.size() + " names and " + detections.size()
                    + " detection lists for " + images + " images");
        }
    }

    /** Whether the run was measured against ground truth. */
    public boolean hasGroundTruth() {
        return !Double.isNaN(meanAp);
    }

    /** Photographs per second of wall time, everything included. */
    public double imagesPerSecond() {
        return images / wallSeconds;
    }

    /** Detections per image on average. */
    public double detectionsPerImage() {
        return detections.stream().mapToInt(List::size).average().orElse(0);
    }

    /**
     * The result as a JSON-ready map: provenance, mAP and per-class AP in percent (when measured),
     * detections per image and timings; with {@code withDetections}, every image's detections.
     */
    public Map<String, Object> toMap(boolean withDetections, LabelMap labels) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("dataset", dataset);
        m.put("preprocessing", preprocessing);
        m.put("batchSize", batchSize);
        m.put("images", images);
        m.put("iouThreshold", iouThreshold);
        if (hasGroundTruth()) {
            m.put("mAP", 100 * meanAp);
            Map<String, Object> perClass = new LinkedHashMap<>();
            classAp.forEach((k, v) -> perClass.put(k, 100 * v));
            m.put("classAp", perClass);
        }
        m.put("detectionsPerImage", detectionsPerImage());
        m.put("wallSeconds", wallSeconds);
        m.put("forwardSeconds", forwardSeconds);
        m.put("imagesPerSecond", imagesPerSecond());
        if (withDetections) {
            List<Object> perImage = new ArrayList<>(images);
            for (int i = 0; i < images; i++) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("image", names.get(i));
                e.put("detections", detections.get(i).stream().map(d -> {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("class", labels == null ? d.classId() : labels.name(d.classId()));
                    o.put("score", d.score());
                    o.put("box", List.of(d.box().ymin(), d.box().xmin(), d.box().ymax(), d.box().xmax()));
                    return o;
                }).toList());
                perImage.add(e);
            }
            m.put("perImage", perImage);
        }
        return m;
    }
}
