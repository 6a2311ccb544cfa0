package org.dfq4j.eval.classify;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.dfq4j.eval.data.ImageBatches;
import org.dfq4j.eval.data.ImageFolderDataset;
import org.dfq4j.eval.data.LabelAlignment;
import org.dfq4j.eval.data.LabeledImage;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.metric.Accuracy;
import org.dfq4j.eval.metric.ImagePrediction;
import org.dfq4j.eval.metric.Ranking;
import org.dfq4j.eval.runtime.Runner;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.graph.Network;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs a classifier over a folder of labelled photographs in batches (the next batch decoded in
 * the background) and measures top-1 and top-5 accuracy, per-image predictions and throughput.
 * Immutable: the {@code with...} methods return changed copies.
 *
 * <p>A progress line goes to stderr (or the stream given) when there is more than one batch.
 */
public final class ClassificationEvaluator {

    /** How many ranked outputs each prediction keeps (top-5 accuracy). */
    public static final int RANKED = 5;

    private final String modelName;
    private final Classifier classifier;
    private final long[] inputShape;
    private final Preprocessing preprocessing;
    private final int batchSize;
    private final PrintStream progress;
    private final boolean retainLogits;
    private final int decodeThreads;

    /**
     * @param modelName the name reported with the results
     * @param inputShape the classifier's input [C, H, W]; the photographs are resized to H x W
     */
    public ClassificationEvaluator(String modelName, Classifier classifier, long[] inputShape,
                                   Preprocessing preprocessing, int batchSize) {
        this(modelName, classifier, inputShape, preprocessing, batchSize, System.err, false,
                ImageBatches.defaultDecodeThreads());
    }

    private ClassificationEvaluator(String modelName, Classifier classifier, long[] inputShape,
                                    Preprocessing preprocessing, int batchSize, PrintStream progress,
                                    boolean retainLogits, int decodeThreads) {
        ImageBatches.checkShapeAndBatch(inputShape, batchSize);
        this.modelName = Objects.requireNonNull(modelName);
        this.classifier = Objects.requireNonNull(classifier);
        this.inputShape = inputShape.clone();
        this.preprocessing = Objects.requireNonNull(preprocessing);
        this.batchSize = batchSize;
        this.progress = progress;
        this.retainLogits = retainLogits;
        this.decodeThreads = decodeThreads;
    }

    /**
     * Evaluates a network's first output, at the network's input size. It runs a channels-last copy
     * ({@link ChannelsLast}): the same outputs, several times faster on oneDNN.
     */
    public static ClassificationEvaluator of(Network network, Preprocessing preprocessing, int batchSize) {
        return of(Runner.of(ChannelsLast.of(network).network()), preprocessing, batchSize);
    }

    /** Evaluates a runner's first output (ND4J or ONNX Runtime), at its input size. */
    public static ClassificationEvaluator of(Runner runner, Preprocessing preprocessing, int batchSize) {
        return new ClassificationEvaluator(runner.name(), runner::output, runner.inputShape(), preprocessing,
                batchSize);
    }

    /** Progress to another stream, or none when {@code out} is null. */
    public ClassificationEvaluator withProgress(PrintStream out) {
        return new ClassificationEvaluator(modelName, classifier, inputShape, preprocessing, batchSize, out,
                retainLogits, decodeThreads);
    }

    /** Whether the result keeps every photograph's scores (images x K floats) for SQNR comparisons. */
    public ClassificationEvaluator withRetainedLogits(boolean retain) {
        return new ClassificationEvaluator(modelName, classifier, inputShape, preprocessing, batchSize, progress,
                retain, decodeThreads);
    }

    /** Number of threads decoding photographs in the background. */
    public ClassificationEvaluator withDecodeThreads(int threads) {
        if (threads < 1) {
            throw new DfqException("decode threads must be at least 1, got " + threads);
        }
        return new ClassificationEvaluator(modelName, classifier, inputShape, preprocessing, batchSize, progress,
                retainLogits, threads);
    }

    /**
     * Classifies every photograph of the dataset.
     *
     * @throws DfqException when a photograph cannot be decoded or the classifier's output does
     *     not have one score per class of the dataset's class list
     */
    public ClassificationResult evaluate(ImageFolderDataset dataset) {
        List<LabeledImage> images = dataset.images();
        int classes = dataset.classes().size();
        List<ImagePrediction> predictions = new ArrayList<>(images.size());
        List<INDArray> kept = new ArrayList<>();
        LabelAlignment[] alignment = new LabelAlignment[1];
        ImageBatches.Timing time = ImageBatches.run(dataset.files(), preprocessing, inputShape, batchSize,
                decodeThreads, progress, batch -> {
                    INDArray out = scoreMatrix(classifier.logits(batch.images()), batch.size());
                    if (alignment[0] == null) {
                        alignment[0] = LabelAlignment.of(dataset.classes(), out.size(1), modelName);
                    }
                    return alignment[0].classScores(out).castTo(DataType.FLOAT).dup('c').data().asFloat();
                }, (batch, flat) -> {
                    for (int r = 0; r < batch.size(); r++) {
                        LabeledImage image = images.get(batch.start() + r);
                        predictions.add(new ImagePrediction(image.name(), image.label(),
                                Ranking.top(flat, r * classes, classes, RANKED)));
                    }
                    if (retainLogits) {
                        kept.add(Nd4j.create(flat, new long[] {batch.size(), classes}, DataType.FLOAT));
                    }
                });
        Optional<INDArray> logits = retainLogits
                ? Optional.of(Nd4j.concat(0, kept.toArray(new INDArray[0]))) : Optional.empty();
        return new ClassificationResult(modelName, dataset.directory().toString(), dataset.classes().source(),
                preprocessing.toString(), batchSize, predictions.size(), Accuracy.topKPercent(predictions, 1),
                Accuracy.topKPercent(predictions, RANKED), time.wallSeconds(), time.forwardSeconds(), predictions, logits,
                dataset.describe(), alignment[0] == null ? "" : alignment[0].description());
    }

    /** [N, K] or [N, K, 1, 1] scores as an [N, K] matrix, checked against the batch. */
    private INDArray scoreMatrix(INDArray out, int n) {
        long[] s = out.shape();
        boolean matrix = s.length == 2 || (s.length == 4 && s[2] == 1 && s[3] == 1);
        if (!matrix || s[0] != n) {
            throw new DfqException("model '" + modelName + "' output " + Arrays.toString(s)
                    + " is not one row of class scores per image [" + n + ", K]; classification needs a classifier"
                    + " output");
        }
        return s.length == 2 ? out : out.reshape(n, s[1]);
    }
}
