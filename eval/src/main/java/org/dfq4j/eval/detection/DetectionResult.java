package org.dfq4j.eval.detection;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import org.dfq4j.eval.report.Provenance;

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

    /** One detection in a report: class name (or id), score, box (ymin, xmin, ymax, xmax). */
    public record DetectionReport(@JsonProperty("class") Object classId, double score, List<Float> box) {
    }

    /** One image's detections in a report. */
    public record ImageReport(String image, List<DetectionReport> detections) {
    }

    /**
     * What JSON reports hold: provenance, mAP and per-class AP in percent (when measured),
     * detections per image and timings; with detections, every image's.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"model", "dataset", "preprocessing", "batchSize", "images", "iouThreshold", "mAP", "classAp"})
    public record Report(@JsonUnwrapped Provenance provenance, double iouThreshold, @JsonProperty("mAP") Double meanAp,
                         Map<String, Double> classAp, double detectionsPerImage, double wallSeconds,
                         double forwardSeconds, double imagesPerSecond, List<ImageReport> perImage) {
    }

    /** The JSON report; with {@code withDetections}, every image's detections named by {@code labels} (ids when null). */
    public Report report(boolean withDetections, LabelMap labels) {
        Map<String, Double> perClass = null;
        if (hasGroundTruth()) {
            perClass = new LinkedHashMap<>();
            for (Map.Entry<String, Double> e : classAp.entrySet()) {
                perClass.put(e.getKey(), 100 * e.getValue());
            }
        }
        List<ImageReport> perImage = null;
        if (withDetections) {
            perImage = new ArrayList<>(images);
            for (int i = 0; i < images; i++) {
                perImage.add(new ImageReport(names.get(i), detections.get(i).stream().map(d -> new DetectionReport(
                        labels == null ? (Object) d.classId() : labels.name(d.classId()), d.score(),
                        List.of(d.box().ymin(), d.box().xmin(), d.box().ymax(), d.box().xmax()))).toList()));
            }
        }
        return new Report(new Provenance(model, dataset, preprocessing, batchSize, images), iouThreshold,
                hasGroundTruth() ? 100 * meanAp : null, perClass, detectionsPerImage(), wallSeconds, forwardSeconds,
                imagesPerSecond(), perImage);
    }
}
