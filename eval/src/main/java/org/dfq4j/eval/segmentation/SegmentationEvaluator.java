package org.dfq4j.eval.segmentation;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.dfq4j.eval.data.ImageBatches;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.runtime.Runner;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.graph.Network;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a segmentation model over photographs in batches (the next batch decoded in the
 * background) and measures mIoU and pixel accuracy against the dataset's masks. For each
 * photograph the model's logits [K, h, w] are resized bilinearly to the mask's size (the
 * photograph's size when there is no mask) before the argmax ({@link LogitsToMask}).
 *
 * <p>The model is any function from a batch [N, 3, H, W] to logits [N, K, h, w], so an 8-bit
 * simulation of a network is evaluated the same way as the network. Immutable: the
 * {@code with...} methods return changed copies. A progress line goes to stderr (or the stream
 * given) when there is more than one batch.
 */
public final class SegmentationEvaluator {

    private final String modelName;
    private final Function<INDArray, INDArray> model;
    private final long[] inputShape;
    private final Preprocessing preprocessing;
    private final int batchSize;
    private final PrintStream progress;
    private final boolean retainMasks;
    private final int decodeThreads;
    private final List<String> classNames;

    /**
     * @param modelName the name reported with the results
     * @param model batch [N, 3, H, W] to logits [N, K, h, w]
     * @param inputShape the model's input [3, H, W]; photographs are resized to H x W
     */
    public SegmentationEvaluator(String modelName, Function<INDArray, INDArray> model, long[] inputShape,
                                 Preprocessing preprocessing, int batchSize) {
        this(modelName, model, inputShape, preprocessing, batchSize, System.err, false,
                ImageBatches.defaultDecodeThreads(), List.of());
    }

    private SegmentationEvaluator(String modelName, Function<INDArray, INDArray> model, long[] inputShape,
                                  Preprocessing preprocessing, int batchSize, PrintStream progress,
                                  boolean retainMasks, int decodeThreads, List<String> classNames) {
        ImageBatches.checkShapeAndBatch(inputShape, batchSize);
        this.modelName = Objects.requireNonNull(modelName);
        this.model = Objects.requireNonNull(model);
        this.inputShape = inputShape.clone();
        this.preprocessing = Objects.requireNonNull(preprocessing);
        this.batchSize = batchSize;
        this.progress = progress;
        this.retainMasks = retainMasks;
        this.decodeThreads = decodeThreads;
        this.classNames = List.copyOf(classNames);
    }

    /**
     * Evaluates a network's first output, at the network's input size. It runs a channels-last copy
     * ({@link ChannelsLast}): the same outputs, several times faster on oneDNN.
     */
    public static SegmentationEvaluator of(Network network, Preprocessing preprocessing, int batchSize) {
        return of(Runner.of(ChannelsLast.of(network).network()), preprocessing, batchSize);
    }

    /** Evaluates a runner's first output (ND4J or ONNX Runtime), at its input size. */
    public static SegmentationEvaluator of(Runner runner, Preprocessing preprocessing, int batchSize) {
        return new SegmentationEvaluator(runner.name(), runner::output, runner.inputShape(), preprocessing,
                batchSize);
    }

    /** Progress to another stream, or none when {@code out} is null. */
    public SegmentationEvaluator withProgress(PrintStream out) {
        return new SegmentationEvaluator(modelName, model, inputShape, preprocessing, batchSize, out, retainMasks,
                decodeThreads, classNames);
    }

    /** Whether the result keeps every predicted mask (for fidelity and overlays). */
    public SegmentationEvaluator withRetainedMasks(boolean retain) {
        return new SegmentationEvaluator(modelName, model, inputShape, preprocessing, batchSize, progress, retain,
                decodeThreads, classNames);
    }

    /** Number of threads decoding photographs in the background. */
    public SegmentationEvaluator withDecodeThreads(int threads) {
        if (threads < 1) {
            throw new DfqException("decode threads must be at least 1, got " + threads);
        }
        return new SegmentationEvaluator(modelName, model, inputShape, preprocessing, batchSize, progress,
                retainMasks, threads, classNames);
    }

    /** Class names for the report (line i of a label file names class i); must match the model's K. */
    public SegmentationEvaluator withClassNames(List<String> names) {
        return new SegmentationEvaluator(modelName, model, inputShape, preprocessing, batchSize, progress,
                retainMasks, decodeThreads, names);
    }

    /**
     * Segments every photograph of the dataset. mIoU and pixel accuracy are measured when every
     * sample has a mask, and are NaN otherwise.
     *
     * @throws DfqException when a photograph or mask cannot be read, a mask's size differs from its
     *     photograph's, a mask holds a class id the model lacks, or the model's output is not
     *     [N, K, h, w] logits
     */
    public SegmentationResult evaluate(SegmentationDataset dataset) {
        List<SegmentationSample> samples = dataset.samples();
        boolean measure = dataset.hasMasks();
        List<LabelMask> kept = retainMasks ? new ArrayList<>(samples.size()) : null;
        ConfusionMatrix[] confusion = {null};
        ImageBatches.Timing time = ImageBatches.run(dataset.images(), preprocessing, inputShape, batchSize,
                decodeThreads, progress, batch -> {
                    INDArray out = model.apply(batch.images());
                    return new Logits(checkLogits(out, batch.size()), out.castTo(DataType.FLOAT).dup('c').data().asFloat());
                }, (batch, out) -> {
                    long[] s = out.shape();
                    if (confusion[0] == null) {
                        confusion[0] = new ConfusionMatrix(checkClasses((int) s[1]));
                    } else if (s[1] != confusion[0].classes()) {
                        throw new DfqException("model '" + modelName + "' gave " + s[1] + " classes after "
                                + confusion[0].classes());
                    }
                    for (int r = 0; r < batch.size(); r++) {
                        LabelMask predicted = predict(samples.get(batch.start() + r), out, r, measure ? confusion[0] : null);
                        if (kept != null) {
                            kept.add(predicted);
                        }
                    }
                });
        int classes = confusion[0] == null ? -1 : confusion[0].classes();
        double[] ious = new double[classes];
        Arrays.fill(ious, Double.NaN);
        if (measure) {
            ious = confusion[0].ious();
        }
        return new SegmentationResult(modelName, dataset.source(), preprocessing.toString(), batchSize,
                samples.size(), classes, measure ? confusion[0].meanIou() : Double.NaN,
                measure ? confusion[0].pixelAccuracy() : Double.NaN, ious, names(classes), time.wallSeconds(),
                time.forwardSeconds(),
                samples.stream().map(SegmentationSample::name).toList(), Optional.ofNullable(kept));
    }

    /** A batch's logits: their shape [N, K, h, w] and values in C order. */
    private record Logits(long[] shape, float[] values) {
    }

    /**
     * The mask predicted for one photograph of a batch, at the photograph's size, counted into
     * {@code confusion} against its mask when given.
     */
    private static LabelMask predict(SegmentationSample sample, Logits out, int r, ConfusionMatrix confusion) {
        long[] s = out.shape();
        int classes = (int) s[1];
        int h = (int) s[2];
        int w = (int) s[3];
        ImageSize size = ImageSize.read(sample.image());
        LabelMask truth = sample.mask().map(LabelMask::read).orElse(null);
        if (truth != null && (truth.width() != size.width() || truth.height() != size.height())) {
            throw new DfqException("mask " + sample.mask().get() + " is " + truth.width() + "x"
                    + truth.height() + " but its photograph " + sample.image() + " is " + size.width()
                    + "x" + size.height() + "; give a mask of the photograph's size");
        }
        LabelMask predicted = LogitsToMask.argmax(out.values(), r * classes * h * w, classes, h, w, size.height(),
                size.width());
        if (confusion != null) {
            confusion.add(truth, predicted, sample.mask().get().toString());
        }
        return predicted;
    }

    private long[] checkLogits(INDArray out, int n) {
        long[] s = out.shape();
        if (s.length != 4 || s[0] != n || s[1] < 1 || s[2] < 1 || s[3] < 1) {
            throw new DfqException("model '" + modelName + "' output " + Arrays.toString(s)
                    + " is not per-pixel class logits [" + n + ", K, h, w]; segmentation needs a segmentation model");
        }
        return s;
    }

    private int checkClasses(int k) {
        if (k >= LabelMask.IGNORE) {
            throw new DfqException("model '" + modelName + "' predicts " + k + " classes; masks hold at most "
                    + (LabelMask.IGNORE - 1));
        }
        if (!classNames.isEmpty() && classNames.size() != k) {
            throw new DfqException("model '" + modelName + "' predicts " + k + " classes but " + classNames.size()
                    + " class names were given; give the label file of this model");
        }
        return k;
    }

    private List<String> names(int classes) {
        if (!classNames.isEmpty()) {
            return classNames;
        }
        List<String> n = new ArrayList<>(classes);
        for (int c = 0; c < classes; c++) {
            n.add("class " + c);
        }
        return n;
    }
}
