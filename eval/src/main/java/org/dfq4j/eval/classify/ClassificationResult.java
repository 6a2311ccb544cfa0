package org.dfq4j.eval.classify;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import org.dfq4j.eval.metric.ImagePrediction;
import org.dfq4j.eval.report.Provenance;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The outcome of one classification run, with its provenance (model, photographs, preprocessing
 * spec, batch size).
 *
 * @param model the evaluated model's name
 * @param dataset where the photographs came from
 * @param classes where the class list came from (the class file)
 * @param preprocessing the canonical preprocessing spec
 * @param top1 top-1 accuracy in percent
 * @param top5 top-5 accuracy in percent
 * @param wallSeconds wall time of the whole evaluation loop (decoding, forward passes, ranking)
 * @param forwardSeconds time spent inside the classifier, including copying its scores to the host
 * @param predictions per photograph, in dataset order: label and the five best outputs
 * @param logits the scores [images, K] when the run kept them (for SQNR against another run)
 * @param layout how the photographs were laid out and labelled ({@link org.dfq4j.eval.data.ImageFolderDataset#describe()})
 * @param labelAlignment how the class file's lines met the model's outputs ({@link org.dfq4j.eval.data.LabelAlignment})
 */
public record ClassificationResult(String model, String dataset, String classes, String preprocessing,
                                   int batchSize, int images, double top1, double top5, double wallSeconds,
                                   double forwardSeconds, List<ImagePrediction> predictions, Optional<INDArray> logits,
                                   String layout, String labelAlignment) {

    public ClassificationResult {
        Objects.requireNonNull(model);
        Objects.requireNonNull(dataset);
        Objects.requireNonNull(classes);
        Objects.requireNonNull(preprocessing);
        Objects.requireNonNull(layout);
        Objects.requireNonNull(labelAlignment);
        predictions = List.copyOf(predictions);
        logits = logits.map(INDArray::dup);
        if (predictions.size() != images) {
            throw new IllegalArgumentException(predictions.size() + " predictions for " + images + " images");
        }
    }

    /** A copy of the kept scores, so that the result stays unchanged. */
    @Override
    public Optional<INDArray> logits() {
        return logits.map(INDArray::dup);
    }

    /** Photographs per second of wall time, everything included. */
    public double imagesPerSecond() {
        return images / wallSeconds;
    }

    /** Photographs per second of time inside the classifier. */
    public double forwardImagesPerSecond() {
        return images / forwardSeconds;
    }

    /** The top-1 predictions in dataset order. */
    public int[] top1Predictions() {
        return predictions.stream().mapToInt(ImagePrediction::top1).toArray();
    }

    /** One photograph in a report: its file, label and the five best outputs. */
    public record PredictionReport(String file, int label, int[] top5) {
    }

    /**
     * What JSON reports hold (serialize this, not the result, which holds an INDArray):
     * provenance, metrics, timings and, when asked, one entry per photograph. Never the logits.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Report(@JsonUnwrapped Provenance provenance, String classes, String layout,
                         String labelAlignment, double top1, double top5,
                         double wallSeconds, double forwardSeconds, double imagesPerSecond, double forwardImagesPerSecond,
                         List<PredictionReport> predictions) {
    }

    /** The JSON report, with one entry per photograph when {@code withPredictions}. */
    public Report report(boolean withPredictions) {
        return new Report(new Provenance(model, dataset, preprocessing, batchSize, images), classes, layout,
                labelAlignment, top1, top5,
                wallSeconds, forwardSeconds, imagesPerSecond(), forwardImagesPerSecond(), withPredictions
                ? predictions.stream().map(p -> new PredictionReport(p.file(), p.label(), p.ranked())).toList() : null);
    }
}
