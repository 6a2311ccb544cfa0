package org.dfq4j.eval.classify;

import static org.dfq4j.eval.TestImages.pack;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.data.ClassList;
import org.dfq4j.eval.data.ImageFolderDataset;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.metric.Fidelity;
import org.dfq4j.eval.metric.ImagePrediction;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * End to end on a network whose scores are predictable from colours: a 1x1 convolution that keeps
 * R, G, B, a global average pool and a dense layer routing each colour channel to its class.
 */
class ClassificationEvaluatorTest {

    /** Class file order: output 0 is green, 1 is blue, 2 is red. */
    private static final List<String> CLASSES = List.of("green", "blue", "red");
    /** The colour channel (0 = R) whose mean is the score of each class. */
    private static final int[] CHANNEL_OF_CLASS = {1, 2, 0};

    @TempDir
    Path dir;

    private Path images;
    private ClassList classes;

    @BeforeEach
    void photographs() throws IOException {
        images = Files.createDirectory(dir.resolve("images"));
        TestImages.write(TestImages.solid(20, 16, pack(255, 0, 0)), "png", images.resolve("red_1.png"));
        TestImages.write(TestImages.solid(16, 20, pack(200, 30, 10)), "png", images.resolve("red_2.png"));
        TestImages.write(TestImages.solid(12, 12, pack(0, 255, 0)), "png", images.resolve("green_1.png"));
        TestImages.write(TestImages.solid(30, 12, pack(20, 40, 250)), "png", images.resolve("blue_1.png"));
        TestImages.write(TestImages.solid(12, 12, pack(0, 0, 255)), "png", images.resolve("blue_2.png"));
        classes = ClassList.read(Files.write(dir.resolve("classes.txt"), CLASSES));
    }

    private static Network colourNetwork() {
        NetworkBuilder b = new NetworkBuilder("colours", 3, 8, 8);
        INDArray identity = Nd4j.eye(3).castTo(DataType.FLOAT).reshape(1, 1, 3, 3);
        SDVariable conv = b.conv2d("conv", b.input(), identity, null, 1, 1, Padding.VALID, 1, 1);
        SDVariable pooled = b.globalAvgPool("pool", conv, false);
        INDArray route = Nd4j.zeros(DataType.FLOAT, 3, 3);
        for (int k = 0; k < 3; k++) {
            route.putScalar(CHANNEL_OF_CLASS[k], k, 1.0);
        }
        b.dense("logits", pooled, route, null);
        return b.build("logits");
    }

    @Test
    void colourNetworkClassifiesEveryPhotograph() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ClassificationResult r = ClassificationEvaluator.of(colourNetwork(), Preprocessing.UNIT, 2)
                .withProgress(new PrintStream(err, true, StandardCharsets.UTF_8))
                .evaluate(ImageFolderDataset.scan(images, classes));
        assertEquals(5, r.images());
        assertEquals(100.0, r.top1(), 0);
        assertEquals(100.0, r.top5(), 0);
        assertEquals(List.of("blue_1.png", "blue_2.png", "green_1.png", "red_1.png", "red_2.png"),
                r.predictions().stream().map(ImagePrediction::file).toList());
        // labels follow the class file: blue 1, green 0, red 2; all three outputs are ranked
        assertArrayEquals(new int[] {1, 1, 0, 2, 2}, r.predictions().stream().mapToInt(ImagePrediction::label).toArray());
        assertArrayEquals(new int[] {1, 1, 0, 2, 2}, r.top1Predictions());
        // red_2 = (200, 30, 10): red (2) first, then green (1 -> class 0), then blue (class 1)
        assertArrayEquals(new int[] {2, 0, 1}, r.predictions().get(4).ranked());
        assertTrue(r.wallSeconds() > 0 && r.forwardSeconds() > 0 && r.forwardSeconds() <= r.wallSeconds());
        assertEquals(5 / r.wallSeconds(), r.imagesPerSecond(), 1e-9);
        assertEquals(Preprocessing.UNIT.toString(), r.preprocessing());
        assertEquals("colours", r.model());
        assertEquals(classes.source(), r.classes());
        assertEquals(images.toString(), r.dataset());
        // three batches: a progress line redrawn with \r, ending with the total and a newline
        String progress = err.toString(StandardCharsets.UTF_8);
        assertEquals(3, progress.chars().filter(c -> c == '\r').count(), progress);
        assertTrue(progress.contains("5/5 images"), progress);
        assertTrue(progress.endsWith(System.lineSeparator()), progress);
    }

    @Test
    void mislabelledPhotographLowersTopOne() throws IOException {
        TestImages.write(TestImages.solid(12, 12, pack(0, 255, 0)), "png", images.resolve("red_3.png"));
        ClassificationResult r = ClassificationEvaluator.of(colourNetwork(), Preprocessing.UNIT, 8).withProgress(null)
                .evaluate(ImageFolderDataset.scan(images, classes));
        // a green photograph labelled red: top-1 5 of 6; with 3 classes every label is in the top 5
        assertEquals(100.0 * 5 / 6, r.top1(), 1e-9);
        assertEquals(100.0, r.top5(), 0);
        ImagePrediction wrong = r.predictions().get(5);
        assertEquals("red_3.png", wrong.file());
        assertEquals(0, wrong.top1());
    }

    @Test
    void singleBatchShowsNoProgress() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ClassificationEvaluator.of(colourNetwork(), Preprocessing.UNIT, 5)
                .withProgress(new PrintStream(err, true, StandardCharsets.UTF_8))
                .evaluate(ImageFolderDataset.scan(images, classes));
        assertEquals(0, err.size());
    }

    @Test
    void functionalClassifierMatchesTheNetworkAndSqnrMeasuresTheirDifference() {
        ImageFolderDataset data = ImageFolderDataset.scan(images, classes);
        ClassificationResult net = ClassificationEvaluator.of(colourNetwork(), Preprocessing.UNIT, 2).withProgress(null)
                .withRetainedLogits(true).evaluate(data);
        // the same scores computed directly: channel means, columns in class order
        Classifier direct = x -> x.mean(2, 3).getColumns(CHANNEL_OF_CLASS);
        ClassificationResult same = new ClassificationEvaluator("direct", direct, new long[] {3, 8, 8},
                Preprocessing.UNIT, 3).withProgress(null).withRetainedLogits(true).evaluate(data);
        Classifier scaled = x -> direct.logits(x).mul(1.1);
        ClassificationResult noisy = new ClassificationEvaluator("scaled", scaled, new long[] {3, 8, 8},
                Preprocessing.UNIT, 3).withProgress(null).withRetainedLogits(true).evaluate(data);

        INDArray ref = net.logits().orElseThrow();
        assertArrayEquals(new long[] {5, 3}, ref.shape());
        assertEquals(100.0, Fidelity.top1AgreementPercent(net.predictions(), same.predictions()), 0);
        assertTrue(Fidelity.sqnrDb(ref, same.logits().orElseThrow()) > 100, "float rounding only");
        // test = 1.1 * ref: SQNR = 10 log10(1 / 0.01) = 20 dB
        assertEquals(20.0, Fidelity.sqnrDb(same.logits().orElseThrow(), noisy.logits().orElseThrow()), 1e-4);
        assertEquals(100.0, Fidelity.top1AgreementPercent(same.predictions(), noisy.predictions()), 0);
        // a red photograph's scores: R mean 1 for red (class 2), 0 for the others
        assertArrayEquals(new float[] {0, 0, 1}, ref.getRow(3).toFloatVector(), 1e-6f);
    }

    private static List<String> iterable(Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void resultIsImmutableAndWritesAsJson() throws IOException {
        ClassificationResult r = ClassificationEvaluator.of(colourNetwork(), Preprocessing.UNIT, 5).withProgress(null)
                .withRetainedLogits(true).evaluate(ImageFolderDataset.scan(images, classes));
        r.logits().orElseThrow().assign(7);
        assertEquals(1.0, r.logits().orElseThrow().getDouble(3, 2), 1e-6);
        assertThrows(UnsupportedOperationException.class, () -> r.predictions().clear());
        ClassificationResult.Report m = r.report(true);
        assertEquals(5, m.provenance().images());
        assertEquals(5, m.predictions().size());
        assertEquals(null, r.report(false).predictions());
        JsonNode json = new ObjectMapper().readTree(JsonReport.toJson(m));
        assertEquals(5, json.get("images").asInt(), "provenance is written flat");
        assertEquals(List.of("model", "dataset", "preprocessing", "batchSize", "images", "classes", "layout",
                "labelAlignment", "top1", "top5"), iterable(json.fieldNames()).subList(0, 10));
        assertEquals(r.layout(), json.get("layout").asText());
        assertEquals(r.labelAlignment(), json.get("labelAlignment").asText());
        assertFalse(new ObjectMapper().readTree(JsonReport.toJson(r.report(false))).has("predictions"));
        assertEquals(100.0, json.get("top1").asDouble());
        assertEquals(Preprocessing.UNIT.toString(), json.get("preprocessing").asText());
        assertEquals("red_1.png", json.get("predictions").get(3).get("file").asText());
        assertEquals(2, json.get("predictions").get(3).get("top5").get(0).asInt());
    }

    @Test
    void classFileThatDoesNotMatchTheOutputsIsAnError() throws IOException {
        ClassList four = ClassList.read(Files.write(dir.resolve("four.txt"), List.of("green", "blue", "red", "white")));
        DfqException e = assertThrows(DfqException.class, () -> ClassificationEvaluator
                .of(colourNetwork(), Preprocessing.UNIT, 2).withProgress(null)
                .evaluate(ImageFolderDataset.scan(images, four)));
        assertTrue(e.getMessage().contains("3 outputs") && e.getMessage().contains("4 classes"), e.getMessage());
    }

    @Test
    void backgroundLineWithoutAnOutputIsAlignedAndReported() throws IOException {
        ClassList four = ClassList.read(Files.write(dir.resolve("four.txt"), List.of("background", "green", "blue", "red")));
        ClassificationResult r = ClassificationEvaluator.of(colourNetwork(), Preprocessing.UNIT, 2).withProgress(null)
                .evaluate(ImageFolderDataset.scan(images, four));
        assertEquals(100.0, r.top1(), 1e-9);
        assertTrue(r.labelAlignment().contains("class i = output i-1"), r.labelAlignment());
        assertEquals(2, r.predictions().get(0).top1()); // blue_1: output 1 = line 3 of the class file
    }

    @Test
    void extraOutputIsTheBackground() throws IOException {
        // the colour network's output 0 (green) plays the background of a two-class file: blue, red
        Path two = Files.createDirectory(dir.resolve("two"));
        for (String n : List.of("blue_1.png", "red_1.png")) {
            Files.copy(images.resolve(n), two.resolve(n));
        }
        ClassList blueRed = ClassList.read(Files.write(dir.resolve("bluered.txt"), List.of("blue", "red")));
        ClassificationResult r = ClassificationEvaluator.of(colourNetwork(), Preprocessing.UNIT, 2).withProgress(null)
                .evaluate(ImageFolderDataset.scan(two, blueRed));
        assertEquals(100.0, r.top1(), 1e-9);
        assertTrue(r.labelAlignment().contains("output 0 is background"), r.labelAlignment());
    }

    @Test
    void nonClassifierOutputIsAnError() {
        Classifier spatial = x -> x; // [N, 3, 8, 8]
        DfqException e = assertThrows(DfqException.class, () -> new ClassificationEvaluator("spatial", spatial,
                new long[] {3, 8, 8}, Preprocessing.UNIT, 2).withProgress(null)
                .evaluate(ImageFolderDataset.scan(images, classes)));
        assertTrue(e.getMessage().contains("[2, 3, 8, 8]"), e.getMessage());
    }
}
