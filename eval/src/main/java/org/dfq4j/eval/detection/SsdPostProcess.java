package org.dfq4j.eval.detection;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import com.google.common.base.Preconditions;

/**
 * What TFLite's {@code TFLite_Detection_PostProcess} op computes from an SSD's outputs, in Java:
 *
 * <ol>
 *   <li>decode each anchor's centre-size encoding (ty, tx, th, tw) against the anchor
 *       (yca, xca, ha, wa): {@code ycenter = ty / y_scale * ha + yca},
 *       {@code xcenter = tx / x_scale * wa + xca}, {@code h = exp(th / h_scale) * ha},
 *       {@code w = exp(tw / w_scale) * wa}, box = [ycenter - h/2, xcenter - w/2, ycenter + h/2,
 *       xcenter + w/2] (in double, stored as float, as TFLite does);
 *   <li>fast NMS ({@code use_regular_nms} false): each anchor's best class (background column
 *       excluded) is its score; {@link NonMaxSuppression} across all classes keeps at most
 *       {@code max_detections} anchors, each reported with its {@code max_classes_per_detection}
 *       best classes;
 *   <li>regular NMS ({@code use_regular_nms} true): NMS per class keeps at most
 *       {@code detections_per_class} anchors of that class; of all these, the
 *       {@code max_detections} best scores are reported.
 * </ol>
 *
 * The class scores may carry a background column 0 ({@code numClasses + 1} columns) or not
 * ({@code numClasses}); the op's options say which. Immutable and thread-safe.
 */
public final class SsdPostProcess {

    /** The attachment holding the anchors [numAnchors, 4] as (ycenter, xcenter, h, w). */
    public static final String ANCHORS = "postprocess.anchors";

    private final PostProcessOptions options;
    private final float[] anchors;
    private final ScoreConversion conversion;

    /**
     * @param anchors [numAnchors, 4] as (ycenter, xcenter, h, w), normalized
     */
    public SsdPostProcess(PostProcessOptions options, INDArray anchors, ScoreConversion conversion) {
        if (anchors.rank() != 2 || anchors.size(1) != 4 || anchors.size(0) < 1) {
            throw new DfqException("detection anchors must be [numAnchors, 4] (ycenter, xcenter, h, w), got "
                    + Arrays.toString(anchors.shape()));
        }
        this.options = options;
        this.anchors = anchors.castTo(DataType.FLOAT).dup('c').data().asFloat();
        this.conversion = conversion;
    }

    /**
     * The post-processing recorded with a network: options from its properties
     * ({@link PostProcessOptions#fromProperties}), anchors from its {@value #ANCHORS} attachment,
     * scores converted as {@link ScoreConversion#AUTO} decides.
     *
     * @throws DfqException when the network lacks them (it is not an imported TFLite SSD)
     */
    public static SsdPostProcess of(Network network) {
        return of(network.name(), network.properties(), network.attachments());
    }

    /** The post-processing recorded with a model under {@code name}: options in its properties, anchors attached. */
    public static SsdPostProcess of(String name, java.util.Map<String, String> properties,
                                    java.util.Map<String, INDArray> attachments) {
        INDArray anchors = attachments.get(ANCHORS);
        if (anchors == null) {
            throw new DfqException("model '" + name + "' has no attachment " + ANCHORS
                    + "; detection needs an SSD imported from TFLite with its TFLite_Detection_PostProcess op"
                    + " (or exported from one by dfq export)");
        }
        return new SsdPostProcess(PostProcessOptions.fromProperties(properties), anchors, ScoreConversion.AUTO);
    }

    /** The same post-processing with another score conversion. */
    public SsdPostProcess withScores(ScoreConversion c) {
        return new SsdPostProcess(options, this, c);
    }

    private SsdPostProcess(PostProcessOptions options, SsdPostProcess from, ScoreConversion conversion) {
        this.options = options;
        this.anchors = from.anchors;
        this.conversion = conversion;
    }

    public PostProcessOptions options() {
        return options;
    }

    public ScoreConversion scoreConversion() {
        return conversion;
    }

    public int anchorCount() {
        return anchors.length / 4;
    }

    /**
     * Decodes every anchor's box.
     *
     * @param encodings per anchor {@code stride} values from {@code offset}, the first four
     *     (ty, tx, th, tw); any further ones (keypoints) are ignored, as TFLite does
     */
    public Box[] decode(float[] encodings, int offset, int stride) {
        int n = anchorCount();
        Preconditions.checkArgument(stride >= 4 && offset + (long) n * stride <= encodings.length,
                "encodings of %s anchors with stride %s at %s exceed %s values", n, stride, offset, encodings.length);
        Box[] boxes = new Box[n];
        for (int a = 0; a < n; a++) {
            int e = offset + a * stride;
            double ya = anchors[4 * a];
            double xa = anchors[4 * a + 1];
            double ha = anchors[4 * a + 2];
            double wa = anchors[4 * a + 3];
            float yc = (float) (encodings[e] / (double) options.yScale() * ha + ya);
            float xc = (float) (encodings[e + 1] / (double) options.xScale() * wa + xa);
            float halfH = (float) (0.5 * Math.exp(encodings[e + 2] / (double) options.hScale()) * ha);
            float halfW = (float) (0.5 * Math.exp(encodings[e + 3] / (double) options.wScale()) * wa);
            boxes[a] = new Box(yc - halfH, xc - halfW, yc + halfH, xc + halfW);
        }
        return boxes;
    }

    /**
     * Detections of a batch.
     *
     * @param boxEncodings [N, numAnchors, E] with E &ge; 4
     * @param classScores [N, numAnchors, C], C = numClasses or numClasses + 1 (background first)
     * @return per image, the detections in the order TFLite outputs them
     * @throws DfqException when the shapes do not fit the anchors and options
     */
    public List<List<Detection>> apply(INDArray boxEncodings, INDArray classScores) {
        long[] b = boxEncodings.shape();
        long[] s = classScores.shape();
        int anchorCount = anchorCount();
        if (b.length != 3 || b[1] != anchorCount || b[2] < 4) {
            throw new DfqException("SSD box encodings " + Arrays.toString(b) + " are not [N, " + anchorCount
                    + ", 4] for the " + anchorCount + " anchors");
        }
        int columns = s.length == 3 ? (int) s[2] : -1;
        if (s.length != 3 || s[0] != b[0] || s[1] != anchorCount
                || (columns != options.numClasses() && columns != options.numClasses() + 1)) {
            throw new DfqException("SSD class scores " + Arrays.toString(s) + " are not [" + b[0] + ", "
                    + anchorCount + ", " + options.numClasses() + " or " + (options.numClasses() + 1) + "]");
        }
        float[] enc = boxEncodings.castTo(DataType.FLOAT).dup('c').data().asFloat();
        float[] scores = classScores.castTo(DataType.FLOAT).dup('c').data().asFloat();
        if (conversion.resolve(scores) == ScoreConversion.SIGMOID) {
            for (int i = 0; i < scores.length; i++) {
                scores[i] = (float) (1 / (1 + Math.exp(-scores[i])));
            }
        }
        int n = (int) b[0];
        int stride = (int) b[2];
        List<List<Detection>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(detect(enc, i * anchorCount * stride, stride, scores, i * anchorCount * columns, columns));
        }
        return out;
    }

    /**
     * Detections of one image from its encodings and scores (already converted).
     *
     * @param columns numClasses, or numClasses + 1 with the background in column 0
     */
    public List<Detection> detect(float[] encodings, int encodingOffset, int stride, float[] scores,
                                  int scoreOffset, int columns) {
        int labelOffset = columns - options.numClasses();
        Preconditions.checkArgument(labelOffset == 0 || labelOffset == 1,
                "%s score columns for %s classes", columns, options.numClasses());
        Box[] boxes = decode(encodings, encodingOffset, stride);
        return options.useRegularNms() ? regular(boxes, scores, scoreOffset, columns, labelOffset)
                : fast(boxes, scores, scoreOffset, columns, labelOffset);
    }

    private List<Detection> fast(Box[] boxes, float[] scores, int offset, int columns, int labelOffset) {
        int classes = options.numClasses();
        int perAnchor = Math.min(options.maxClassesPerDetection(), classes);
        float[] best = new float[boxes.length];
        for (int a = 0; a < boxes.length; a++) {
            int row = offset + a * columns + labelOffset;
            float m = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                m = Math.max(m, scores[row + c]);
            }
            best[a] = m;
        }
        int[] selected = NonMaxSuppression.select(boxes, best, options.scoreThreshold(), options.iouThreshold(),
                options.maxDetections());
        List<Detection> out = new ArrayList<>(selected.length * perAnchor);
        for (int a : selected) {
            int row = offset + a * columns + labelOffset;
            for (int c : topClasses(scores, row, classes, perAnchor)) {
                out.add(new Detection(boxes[a], c + labelOffset, scores[row + c]));
            }
        }
        return out;
    }

    /** The k best of {@code count} scores from {@code row}, by decreasing score, lower index first on ties. */
    private static int[] topClasses(float[] scores, int row, int count, int k) {
        Integer[] order = new Integer[count];
        for (int c = 0; c < count; c++) {
            order[c] = c;
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer c) -> -scores[row + c]));
        int[] top = new int[k];
        for (int i = 0; i < k; i++) {
            top[i] = order[i];
        }
        return top;
    }

    private List<Detection> regular(Box[] boxes, float[] scores, int offset, int columns, int labelOffset) {
        List<Detection> all = new ArrayList<>();
        float[] classScores = new float[boxes.length];
        for (int c = 0; c < options.numClasses(); c++) {
            for (int a = 0; a < boxes.length; a++) {
                classScores[a] = scores[offset + a * columns + labelOffset + c];
            }
            for (int a : NonMaxSuppression.select(boxes, classScores, options.scoreThreshold(),
                    options.iouThreshold(), options.detectionsPerClass())) {
                all.add(new Detection(boxes[a], c + labelOffset, classScores[a]));
            }
        }
        all.sort(Comparator.comparingDouble((Detection d) -> -d.score()));
        return new ArrayList<>(all.subList(0, Math.min(options.maxDetections(), all.size())));
    }
}
