package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.dfq4j.distributed.SparkTableScheduler;
import org.dfq4j.rewrite.testing.SharedData;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code dfq table --spark local[...]} prints exactly the single-machine table (and writes the same
 * JSON, timings aside) for classification, segmentation and detection, also when a task fails once
 * and Spark retries it. Small generated models and photographs; detection runs the shared SSD on
 * two scene photographs.
 */
class SparkTableTest {

    @TempDir
    static Path dir;
    static Path classifier;
    static Path classes;
    static Path photos;
    static Path segmenter;
    static Path segmentationPhotos;

    /** Photographs of seeded noise around a colour, so the classifier's predictions and SQNR vary. */
    @BeforeAll
    static void setUp() throws Exception {
        float[] w = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0.25f, 0};
        float[] fc = {4, 0, 0, 1, 0, 4, 0, -1};
        classifier = TinyClassifier.write(dir.resolve("colours.onnx"), 16, Nd4j.createFromArray(w).reshape(4, 3, 1, 1),
                true, Nd4j.createFromArray(fc).reshape(2, 4));
        classes = Files.writeString(dir.resolve("classes.txt"), "red\ngreen\n");
        photos = Files.createDirectory(dir.resolve("photos"));
        Random random = new Random(15);
        for (int i = 0; i < 7; i++) {
            noise(photos.resolve((i % 2 == 0 ? "red_" : "green_") + i + ".png"), random, 40, 30);
        }
        float[] k = new float[3 * 3];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) random.nextGaussian();
        }
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 16, 16);
        m.output(m.node("Conv", "conv", List.of("x", m.floats("w", Nd4j.createFromArray(k).reshape(3, 3, 1, 1)))));
        segmenter = m.write(dir.resolve("segmenter.onnx"));
        segmentationPhotos = Files.createDirectory(dir.resolve("scenes"));
        for (int i = 0; i < 5; i++) {
            noise(segmentationPhotos.resolve("s" + i + ".png"), random, 24, 20);
            BufferedImage mask = new BufferedImage(24, 20, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 20; y++) {
                for (int x = 0; x < 24; x++) {
                    mask.getRaster().setSample(x, y, 0, x < 8 ? 0 : y < 10 ? 1 : 2);
                }
            }
            ImageIO.write(mask, "png", segmentationPhotos.resolve("s" + i + "_mask.png").toFile());
        }
    }

    private static void noise(Path file, Random random, int width, int height) throws Exception {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int r = random.nextInt(256);
        int g = random.nextInt(256);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.setRGB(x, y, (clamp(r + random.nextInt(80) - 40) << 16) | (clamp(g + random.nextInt(80) - 40) << 8)
                        | random.nextInt(256));
            }
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    private static List<String> classification() {
        return List.of("table", "--model", classifier.toString(), "--images", photos.toString(), "--labels",
                classes.toString(), "--preprocess", "unit", "--calib", "3", "--batch", "2");
    }

    @Test
    void classificationOnSparkIsExactlyTheSingleMachineTable() throws Exception {
        assertSameTable(classification(), "local[2]", List.of());
    }

    /**
     * {@code --holdout} on Spark: every executor recomputes the same split from the photograph list and
     * calibrates on the held-out photographs (fetched by URI before they are read), the driver's shards
     * cover the rest: the single-machine table.
     */
    @Test
    void holdoutOnSparkIsTheSingleMachineTable() throws Exception {
        List<String> args = new ArrayList<>(classification());
        args.addAll(List.of("--holdout", "3"));
        String out = assertSameTable(args, uris(args, photos, classes), "local[2]", List.of("--shards", "2"));
        assertTrue(out.contains("4 photographs from " + photos + ":"), out);
    }

    /**
     * The photographs and the class file by {@code file:} URI, read through Hadoop's file system: the
     * driver lists the folder (names only), the executors fetch the photographs of their shards.
     */
    @Test
    void photographsByHadoopUriGiveTheSameTable() throws Exception {
        List<String> byUri = uris(classification(), photos, classes);
        String out = assertSameTable(classification(), byUri, "local[2]", List.of("--shards", "3"));
        // the output names the folder by its URI, put back as the path for the comparison
        assertTrue(out.contains("spark: " + photos + " listed through Hadoop's file system: 7 files, 7 photographs"), out);
        assertTrue(out.contains("7 photographs from " + photos + ":"), out);
    }

    /** Segmentation by URI: masks fetched with their photographs, calibration photographs fetched too. */
    @Test
    void segmentationByHadoopUriGivesTheSameTable() throws Exception {
        List<String> args = List.of("table", "--task", "segmentation", "--model", segmenter.toString(), "--images",
                segmentationPhotos.toString(), "--calib", "2", "--batch", "2");
        assertSameTable(args, uris(args, segmentationPhotos), "local[2]", List.of("--shards", "2"));
    }

    @Test
    void aMissingUriIsOneErrorLine() {
        List<String> args = new ArrayList<>(uris(classification(), photos));
        args.set(args.indexOf(photos.toUri().toString()), photos.resolveSibling("absent").toUri().toString());
        args.addAll(List.of("--spark", "local[2]"));
        DfqRun.dfq(args.toArray(new String[0])).failsWithOneLine("--images", "absent", "Hadoop");
    }

    /** {@code args} with each of {@code local} given as its {@code file:} URI. */
    private static List<String> uris(List<String> args, Path... local) {
        List<String> out = new ArrayList<>(args);
        for (Path p : local) {
            out.set(out.indexOf(p.toString()), p.toUri().toString());
        }
        return out;
    }

    @Test
    void aTaskThatFailsOnceIsRetriedAndTheTableIsStillExact() throws Exception {
        System.setProperty(SparkTableScheduler.FAIL_ONCE, "0:W8:1");
        try {
            String out = assertSameTable(classification(), "local[2,2]", List.of("--shards", "3"));
            assertTrue(out.contains("spark: 1 task succeeded after Spark retried a failed attempt"), out);
        } finally {
            System.clearProperty(SparkTableScheduler.FAIL_ONCE);
        }
    }

    /**
     * {@code --bits}: each extra bit width is a cell of its own (one task per row, bit width and shard);
     * the extra columns, the JSON "bits" maps and the Markdown are the single-machine run's.
     */
    @Test
    void extraBitWidthsOnSparkAreTheSingleMachineColumns() throws Exception {
        Path md = dir.resolve("bits-single.md");
        Path sparkMd = dir.resolve("bits-spark.md");
        List<String> args = new ArrayList<>(classification());
        args.addAll(List.of("--bits", "6/8,4/8", "--markdown", md.toString()));
        List<String> sparkRun = new ArrayList<>(args);
        sparkRun.set(sparkRun.indexOf(md.toString()), sparkMd.toString());
        String out = assertSameTable(args, sparkRun, "local[2]", List.of("--shards", "2"));
        // 7 rows of 5 cells (FP32, W8, W8A8, W6A8, W4A8; no BatchNorm: +absorption cannot run) on 2 shards
        assertTrue(out.contains("in 2 shards x 35 cells = 70 tasks"), out);
        assertTrue(out.contains(" | W6A8 ") && out.contains(" | W4A8 "), "the rows' progress lines: " + out);
        assertTrue(table(out).contains("W6A8") && table(out).contains("W4A8"), out);
        assertEquals(Files.readString(md), Files.readString(sparkMd), "the Markdown table");
        assertTrue(Files.readString(sparkMd).contains("W4A8 top1"), Files.readString(sparkMd));
    }

    /** A task of an extra bit width's cell that fails once is retried: the table is still exact. */
    @Test
    void anExtraBitWidthTaskThatFailsOnceIsRetried() throws Exception {
        List<String> args = new ArrayList<>(classification());
        args.addAll(List.of("--bits", "6/8"));
        System.setProperty(SparkTableScheduler.FAIL_ONCE, "0:W6A8:1");
        try {
            String out = assertSameTable(args, "local[2,2]", List.of("--shards", "3"));
            assertTrue(out.contains("spark: 1 task succeeded after Spark retried a failed attempt"), out);
        } finally {
            System.clearProperty(SparkTableScheduler.FAIL_ONCE);
        }
    }

    @Test
    void segmentationOnSparkIsExactlyTheSingleMachineTable() throws Exception {
        assertSameTable(List.of("table", "--task", "segmentation", "--model", segmenter.toString(), "--images",
                segmentationPhotos.toString(), "--calib", "2", "--batch", "2"), "local[2]", List.of("--shards", "3"));
    }

    @Test
    void detectionOnSparkIsExactlyTheSingleMachineTable() throws Exception {
        String ssd = "models/ssd_mobilenet_v1_coco_uint8.tflite";
        assumeTrue(SharedData.file(ssd).isPresent(), SharedData.missing(ssd));
        Path scenes = Files.createDirectories(dir.resolve("detection"));
        for (String name : List.of("grace_hopper.bmp", "parrot.jpg")) {
            Files.createSymbolicLink(scenes.resolve(name), SharedData.file("images/scenes/" + name).orElseThrow());
        }
        assertSameTable(List.of("table", "--task", "detection", "--model", SharedData.file(ssd).orElseThrow().toString(),
                "--images", scenes.toString(), "--calib", "1"), "local[2]", List.of());
    }

    /**
     * Runs the table on one machine and on Spark at {@code master} and asserts the same printed table and
     * the same JSON but for timings; returns the Spark run's output.
     */
    private static String assertSameTable(List<String> args, String master, List<String> sparkArgs) throws Exception {
        return assertSameTable(args, args, master, sparkArgs);
    }

    /**
     * As above, the Spark run given {@code sparkRun}: the same inputs, some named otherwise (by URI), which
     * its output and JSON name as given; they are compared with those names put back.
     */
    private static String assertSameTable(List<String> args, List<String> sparkRun, String master, List<String> sparkArgs)
            throws Exception {
        String name = "t" + Math.abs((sparkRun.toString() + master).hashCode());
        Path single = dir.resolve(name + "-single.json");
        Path spark = dir.resolve(name + "-spark.json");
        String one = DfqRun.ok(with(args, List.of("--json", single.toString())));
        List<String> s = new ArrayList<>(List.of("--spark", master, "--json", spark.toString()));
        s.addAll(sparkArgs);
        String many = asGiven(DfqRun.ok(with(sparkRun, s)), sparkRun, args);
        assertTrue(many.contains("spark: " + master), many);
        assertEquals(table(one), table(many), "the Spark run's table");
        assertEquals(described(one), described(many), "the preprocessing and the reference run's describe lines");
        assertTrue(described(many).get(0).startsWith("preprocess: "), many);
        assertEquals(withoutTimings(json(Files.readString(single))),
                withoutTimings(json(asGiven(Files.readString(spark), sparkRun, args))), "the Spark run's JSON");
        assertFalse(table(one).contains("n/a: ?"), one);
        return many;
    }

    /** {@code text} with each argument of {@code named} that differs from {@code args}' replaced by that. */
    private static String asGiven(String text, List<String> named, List<String> args) {
        String t = text;
        for (int i = 0; i < args.size(); i++) {
            if (!named.get(i).equals(args.get(i))) {
                t = t.replace(named.get(i), args.get(i));
            }
        }
        return t;
    }

    private static String[] with(List<String> args, List<String> more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(more);
        return all.toArray(new String[0]);
    }

    /** The printed table: from its header line to the end, without the "wrote" lines. */
    private static String table(String out) {
        int start = out.indexOf("\nrow ");
        assertTrue(start >= 0, out);
        return out.substring(start + 1).lines().filter(l -> !l.startsWith("wrote ")).reduce("", (a, b) -> a + b + "\n");
    }

    /**
     * The preprocessing line and the reference run's describe lines: how the class file met the
     * outputs, what the detector found on each photograph.
     */
    private static List<String> described(String out) {
        return out.lines().filter(l -> l.matches("(preprocess|labels): .*|[\\w.-]+\\.(bmp|jpg|png): .*")).toList();
    }

    private static Object json(String text) throws Exception {
        return JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build().readValue(text, Object.class);
    }

    /** The value with every timing (imagesPerSecond, pipelineSeconds) removed, recursively. */
    @SuppressWarnings("unchecked")
    private static Object withoutTimings(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> copy = new java.util.LinkedHashMap<>();
            ((Map<String, Object>) m).forEach((k, x) -> {
                if (!k.equals("imagesPerSecond") && !k.equals("pipelineSeconds")) {
                    copy.put(k, withoutTimings(x));
                }
            });
            return copy;
        }
        if (v instanceof List<?> l) {
            return l.stream().map(SparkTableTest::withoutTimings).toList();
        }
        return v;
    }
}
