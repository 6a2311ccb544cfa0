package org.dfq4j.eval.detection;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.dfq4j.eval.data.ImageBatches;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.runtime.Runner;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.graph.Network;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs an SSD detector over photographs in batches (the next batch decoded in the background),
 * applies TFLite's post-processing ({@link SsdPostProcess}) to its two outputs and measures VOC
 * mAP against the dataset's boxes.
 *
 * <p>The model is any function from a batch [N, 3, H, W] to named outputs, among which the box
 * encodings [N, anchors, 4] and class scores [N, anchors, C] are recognised by shape; so an 8-bit
 * simulation of a network is evaluated the same way as the network. SSD preprocessing is
 * {@link Preprocessing#RESIZE}: the whole photograph resized to H x W, x/127.5 - 1 (the uint8
 * model's (q - 128) / 128 up to 0.4%). Immutable: the {@code with...} methods return changed
 * copies. A progress line goes to stderr (or the stream given) when there is more than one batch.
 */
public final class DetectionEvaluator {

    private final String modelName;
    private final Function<INDArray, Map<String, INDArray>> model;
    private final long[] inputShape;
    private final SsdPostProcess postProcess;
    private final Preprocessing preprocessing;
    private final int batchSize;
    private final PrintStream progress;
    private final int decodeThreads;
    private final LabelMap labels;
    private final double iouThreshold;

    /**
     * @param model batch [N, 3, H, W] to outputs including box encodings and class scores
     * @param inputShape the model's input [3, H, W]
     */
    public DetectionEvaluator(String modelName, Function<INDArray, Map<String, INDArray>> model, long[] inputShape,
                              SsdPostProcess postProcess, Preprocessing preprocessing, int batchSize) {
        this(modelName, model, inputShape, postProcess, preprocessing, batchSize, System.err,
                ImageBatches.defaultDecodeThreads(), null, MeanAveragePrecision.VOC_IOU);
    }

    private DetectionEvaluator(String modelName, Function<INDArray, Map<String, INDArray>> model, long[] inputShape,
                               SsdPostProcess postProcess, Preprocessing preprocessing, int batchSize,
                               PrintStream progress, int decodeThreads, LabelMap labels, double iouThreshold) {
        ImageBatches.checkShapeAndBatch(inputShape, batchSize);
        this.modelName = Objects.requireNonNull(modelName);
        this.model = Objects.requireNonNull(model);
        this.inputShape = inputShape.clone();
        this.postProcess = Objects.requireNonNull(postProcess);
        this.preprocessing = Objects.requireNonNull(preprocessing);
        this.batchSize = batchSize;
        this.progress = progress;
        this.decodeThreads = decodeThreads;
        this.labels = labels;
        this.iouThreshold = iouThreshold;
    }

    /**
     * Evaluates an imported TFLite SSD: its outputs, its recorded post-processing
     * ({@link SsdPostProcess#of}) and {@link Preprocessing#RESIZE} at its input size. It runs a
     * channels-last copy ({@link ChannelsLast}): the same outputs, several times faster on oneDNN.
     */
    public static DetectionEvaluator of(Network network, int batchSize) {
        return of(Runner.of(ChannelsLast.of(network).network()), batchSize);
    }

    /**
     * Evaluates a runner (ND4J or ONNX Runtime) of an SSD whose post-processing options and anchors it
     * carries ({@link SsdPostProcess#of(String, Map, Map)}), with {@link Preprocessing#RESIZE}.
     */
    public static DetectionEvaluator of(Runner runner, int batchSize) {
        return new DetectionEvaluator(runner.name(), runner::run, runner.inputShape(),
                SsdPostProcess.of(runner.name(), runner.properties(), runner.attachments()), Preprocessing.RESIZE,
                batchSize);
    }

    private DetectionEvaluator with(PrintStream out, int threads, LabelMap l, double iou, Preprocessing p) {
        return new DetectionEvaluator(modelName, model, inputShape, postProcess, p, batchSize, out, threads, l, iou);
    }

    /** Progress to another stream, or none when {@code out} is null. */
    public DetectionEvaluator withProgress(PrintStream out) {
        return with(out, decodeThreads, labels, iouThreshold, preprocessing);
    }

    /** Number of threads decoding photographs in the background. */
    public DetectionEvaluator withDecodeThreads(int threads) {
        if (threads < 1) {
            throw new DfqException("decode threads must be at least 1, got " + threads);
        }
        return with(progress, threads, labels, iouThreshold, preprocessing);
    }

    /** Class names for the per-class AP (otherwise "class i"). */
    public DetectionEvaluator withLabels(LabelMap l) {
        return with(progress, decodeThreads, l, iouThreshold, preprocessing);
    }

    /** Another IoU threshold than VOC's 0.5. */
    public DetectionEvaluator withIouThreshold(double iou) {
        if (!(iou >= 0 && iou < 1)) {
            throw new DfqException("IoU threshold must be in [0,1), got " + iou);
        }
        return with(progress, decodeThreads, labels, iou, preprocessing);
    }

    /** Another preprocessing than {@link Preprocessing#RESIZE}. */
    public DetectionEvaluator withPreprocessing(Preprocessing p) {
        return with(progress, decodeThreads, labels, iouThreshold, Objects.requireNonNull(p));
    }

    /**
     * Detects objects in every photograph of the dataset; mAP is measured when the dataset has
     * ground truth and is NaN otherwise.
     *
     * @throws DfqException when a photograph cannot be decoded or the model's outputs are not an
     *     SSD's box encodings and class scores for the post-processing's anchors and classes
     */
    public DetectionResult evaluate(DetectionDataset dataset) {
        List<AnnotatedImage> images = dataset.images();
        List<List<Detection>> detections = new ArrayList<>(images.size());
        MeanAveragePrecision map = new MeanAveragePrecision(iouThreshold);
        ImageBatches.Timing time = ImageBatches.run(dataset.files(), preprocessing, inputShape, batchSize,
                decodeThreads, progress, batch -> heads(model.apply(batch.images())), (batch, heads) -> {
                    List<List<Detection>> found = postProcess.apply(heads[0], heads[1]);
                    if (found.size() != batch.size()) {
                        throw new DfqException("model '" + modelName + "' gave " + found.size()
                                + " results for a batch of " + batch.size());
                    }
                    for (int r = 0; r < batch.size(); r++) {
                        detections.add(found.get(r));
                        map.add(found.get(r), images.get(batch.start() + r).objects());
                    }
                });
        Map<String, Double> classAp = new LinkedHashMap<>();
        double meanAp = Double.NaN;
        if (dataset.hasGroundTruth()) {
            map.averagePrecisions().forEach((c, ap) -> classAp.put(labels == null ? "class " + c : labels.name(c), ap));
            meanAp = map.mean();
        }
        return new DetectionResult(modelName, dataset.source(), preprocessing.toString(), batchSize, images.size(),
                iouThreshold, meanAp, classAp, time.wallSeconds(), time.forwardSeconds(),
                images.stream().map(AnnotatedImage::name).toList(), detections);
    }

    /** The box encodings (last dimension 4) and class scores (numClasses or numClasses + 1) among the outputs. */
    private INDArray[] heads(Map<String, INDArray> outputs) {
        int classes = postProcess.options().numClasses();
        List<String> boxes = new ArrayList<>();
        List<String> scores = new ArrayList<>();
        outputs.forEach((name, a) -> {
            if (a.rank() == 3) {
                long last = a.size(2);
                if (last == 4) {
                    boxes.add(name);
                } else if (last == classes || last == classes + 1) {
                    scores.add(name);
                }
            }
        });
        if (boxes.size() != 1 || scores.size() != 1) {
            Map<String, String> shapes = new LinkedHashMap<>();
            outputs.forEach((k, v) -> shapes.put(k, Arrays.toString(v.shape())));
            throw new DfqException("model '" + modelName + "' outputs " + shapes + " do not include exactly one SSD"
                    + " box encoding [N, anchors, 4] and one class score [N, anchors, " + classes + " or "
                    + (classes + 1) + "] tensor; detection needs an SSD whose outputs end at its post-processing op");
        }
        return new INDArray[] {outputs.get(boxes.get(0)), outputs.get(scores.get(0))};
    }
}
