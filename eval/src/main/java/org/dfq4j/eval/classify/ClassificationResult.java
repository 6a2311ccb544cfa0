package org.dfq4j.eval.classify;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.dfq4j.eval.metric.ImagePrediction;
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

    /**
     * The result as a JSON-ready map (serialize this, not the record, which holds an INDArray): provenance, metrics, timings and, when asked, one entry per
     * photograph (file, label, top5). The logits are never included.
     */
    public Map<String, Object> toMap(boolean withPredictions) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("dataset", dataset);
        m.put("classes", classes);
        m.put("layout", layout);
        m.put("labelAlignment", labelAlignment);
        m.put("preprocessing", preprocessing);
        m.put("batchSize", batchSize);
        m.put("images", images);
        m.put("top1", top1);
        m.put("top5", top5);
        m.put("wallSeconds", wallSeconds);
        m.put("forwardSeconds", forwardSeconds);
        m.put("imagesPerSecond", imagesPerSecond());
        m.put("forwardImagesPerSecond", forwardImagesPerSecond());
        if (withPredictions) {
            m.put("predictions", predictions.stream().map(p -> {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("file", p.file());
                e.put("label", p.label());
                e.put("top5", p.ranked());
                return e;
            }).toList());
        }
        return m;
    }
}
