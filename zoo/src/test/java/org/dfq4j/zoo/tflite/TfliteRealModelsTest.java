package org.dfq4j.zoo.tflite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.testing.SharedData;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The reader on the real models in ../shared/data (skipped when absent): MobileNetV2 int8 (per-channel)
 * and uint8 (per-tensor) against an independent float implementation's top-1 predictions, DeepLabV3
 * against a reference segmentation, and the SSD detector's heads, options and anchors.
 */
class TfliteRealModelsTest {

    private static final String REFERENCE = "reference/mobilenet_v2_dev200_fp32.csv";
    /** Every 25th of the 200 photographs: 8 photos spread over the classes. */
    private static final int STEP = 25;


    private static Map<Path, Integer> referencePredictions() throws IOException {
        Path csv = SharedData.required(REFERENCE);
        Path images = SharedData.required("images/imagenet-dev");
        List<String> lines = Files.readAllLines(csv);
        Map<Path, Integer> out = new TreeMap<>();
        for (int i = 1; i < lines.size(); i += STEP) {
            String[] row = lines.get(i).split(",");
            out.put(images.resolve(row[0]), Integer.parseInt(row[2]));
        }
        return out;
    }

    private static int agreeingTop1(Network n, Map<Path, Integer> reference) throws IOException {
        List<Path> files = new ArrayList<>(reference.keySet());
        INDArray probs = n.output(Photos.centreCropped(files, 224));
        assertArrayEquals(new long[] {files.size(), 1001}, probs.shape());
        int agree = 0;
        for (int i = 0; i < files.size(); i++) {
            if (probs.getRow(i).argMax().getInt(0) == reference.get(files.get(i))) {
                agree++;
            }
        }
        return agree;
    }

    private static Map<OpKind, Integer> opCounts(Network n) {
        return OpCounts.of(n);
    }

    /** All but at most one of the reference photographs get the reference's top-1. */
    private static void assertAgreesWithReference(Network n) throws IOException {
        Map<Path, Integer> ref = referencePredictions();
        int agree = agreeingTop1(n, ref);
        assertTrue(agree >= ref.size() - 1, agree + " of " + ref.size() + " top-1 agree with the reference");
    }

    /** Every recorded range belongs to a variable of the graph. */
    private static void rangesNameVariables(Network n) {
        assertTrue(!n.recordedRanges().isEmpty());
        for (String v : n.recordedRanges().keySet()) {
            assertTrue(n.sameDiff().hasVariable(v), "range for unknown variable " + v);
        }
    }

    @Test
    void mobileNetV2Int8PerChannelAgreesWithFloatReference() throws IOException {
        Network n = TfliteReader.read(SharedData.required("models/mobilenet_v2_1.0_224_ptq.tflite"));
        Map<OpKind, Integer> ops = opCounts(n);
        assertEquals(36, ops.get(OpKind.CONV2D));
        assertEquals(17, ops.get(OpKind.DEPTHWISE_CONV2D));
        assertEquals(10, ops.get(OpKind.ADD));
        assertEquals(35, ops.get(OpKind.RELU6), "fused RELU6 as separate ops");
        rangesNameVariables(n);
        // uint8 input, scale 1/127.5, zero point 127: real input in [-127/127.5, 128/127.5]
        TensorRange in = n.recordedRanges().get("input");
        assertEquals(-127 / 127.5, in.min(), 1e-6);
        assertEquals(128 / 127.5, in.max(), 1e-6);
        assertEquals("uint8", n.properties().get("input.type"));

        assertAgreesWithReference(n);
    }

    @Test
    void mobileNetV2Uint8QatClassifiesLikeReference() throws IOException {
        Network n = TfliteReader.read(SharedData.required("models/mobilenet_v2_1.0_224_qat_uint8.tflite"));
        assertEquals(1, opCounts(n).get(OpKind.AVG_POOL));
        rangesNameVariables(n);
        // a different (quantization-aware trained) network than the reference's: near, not equal
        assertAgreesWithReference(n);
    }

    @Test
    void deepLabSegmentsTheBirdLikeTheReferenceMask() throws IOException {
        Network n = TfliteReader.read(SharedData.required("models/deeplabv3_mnv2_dm05_257_float.tflite"));
        assertTrue(n.recordedRanges().isEmpty(), "a float model records no ranges");
        INDArray logits = n.output(Photos.resized(SharedData.required("images/scenes/bird_segmentation.bmp"), 257));
        assertArrayEquals(new long[] {1, 21, 257, 257}, logits.shape());

        INDArray classes = logits.argMax(1);
        BufferedImage mask = Photos.read(SharedData.required("images/scenes/bird_segmentation_mask.bmp"));
        Raster r = mask.getRaster();
        // the 513x513 mask and the 257x257 output share corners: output pixel i is mask pixel 2i
        assertEquals(2 * 256 + 1, mask.getWidth());
        int agree = 0;
        for (int y = 0; y < 257; y++) {
            for (int x = 0; x < 257; x++) {
                if (classes.getInt(0, y, x) == r.getSample(2 * x, 2 * y, 0)) {
                    agree++;
                }
            }
        }
        double fraction = agree / (257.0 * 257.0);
        assertTrue(fraction > 0.9, "pixel agreement " + fraction);
    }

    @Test
    void ssdEndsAtPostProcessInputsWithOptionsAndAnchors() throws IOException {
        Network n = TfliteReader.read(SharedData.required("models/ssd_mobilenet_v1_coco_uint8.tflite"));
        assertEquals(List.of("Squeeze", "convert_scores"), n.outputs());
        Map<String, String> p = n.properties();
        assertEquals("90", p.get("postprocess.num_classes"));
        assertEquals("10", p.get("postprocess.max_detections"));
        assertEquals("1", p.get("postprocess.max_classes_per_detection"));
        assertEquals(0.6, Double.parseDouble(p.get("postprocess.nms_iou_threshold")), 1e-6);
        assertEquals(10.0, Double.parseDouble(p.get("postprocess.y_scale")), 0.0);
        assertEquals(5.0, Double.parseDouble(p.get("postprocess.h_scale")), 0.0);

        INDArray anchors = n.attachments().get("postprocess.anchors");
        assertArrayEquals(new long[] {1917, 4}, anchors.shape());
        // anchors are (y_center, x_center, h, w) in image-relative units: centres inside the image
        INDArray centres = anchors.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2));
        assertTrue(centres.minNumber().doubleValue() >= 0 && centres.maxNumber().doubleValue() <= 1);

        // the backbone's old-TOCO convs record uint8 [0, 6] outputs without a fused activation: ReLU6 restored
        assertEquals(OpKind.RELU6, OpKind.of(n.sameDiff()
                .getVariableOutputOp("FeatureExtractor/MobilenetV1/MobilenetV1/Conv2d_0/Relu6")));

        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 300, 300).muli(2).subi(1);
        Map<String, INDArray> out = n.run(x);
        assertArrayEquals(new long[] {2, 1917, 4}, out.get("Squeeze").shape());
        INDArray scores = out.get("convert_scores");
        assertArrayEquals(new long[] {2, 1917, 91}, scores.shape());
        assertTrue(scores.minNumber().doubleValue() >= 0 && scores.maxNumber().doubleValue() <= 1);
    }
}
