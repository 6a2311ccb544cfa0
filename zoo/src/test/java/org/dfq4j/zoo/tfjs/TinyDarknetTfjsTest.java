package org.dfq4j.zoo.tfjs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.testing.SharedData;
import org.dfq4j.rewrite.graph.Network;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The real Tiny-Darknet TF.js model: imports into the canonical ops and, on ten dev photographs,
 * predicts the same top-1 class as an independent float implementation.
 */
class TinyDarknetTfjsTest {

    private static final String MODEL = "models/tiny-darknet-tfjs/model.json";
    private static final String REFERENCE = "reference/tiny_darknet_dev200_fp32.csv";
    private static final String IMAGES = "images/imagenet-dev";
    private static final int SIZE = 224;

    @Test
    void importsAndAgreesWithReferenceTop1() throws IOException {
        Optional<Path> model = SharedData.file(MODEL);
        Optional<Path> reference = SharedData.file(REFERENCE);
        Optional<Path> images = SharedData.file(IMAGES);
        Assumptions.assumeTrue(model.isPresent(), SharedData.missing(MODEL));
        Assumptions.assumeTrue(reference.isPresent(), SharedData.missing(REFERENCE));
        Assumptions.assumeTrue(images.isPresent(), SharedData.missing(IMAGES));

        Network net = TfjsLayersReader.read(model.get());
        assertArrayEquals(new long[] {3, SIZE, SIZE}, net.inputShape());
        assertEquals(List.of("global_average_pooling2d_1"), net.outputs());
        assertEquals("tfjs-layers", net.properties().get("format"));
        assertEquals(Map.of(OpKind.CONV2D, 16, OpKind.BATCH_NORM, 15, OpKind.LEAKY_RELU, 15, OpKind.MAX_POOL, 4,
                OpKind.MEAN, 1), OpCounts.of(net));

        // every 20th photograph of the reference list: 10 images from across the classes
        List<String> rows = Files.readAllLines(reference.get()).subList(1, 201);
        List<String> files = new ArrayList<>();
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < rows.size(); i += 20) {
            String[] cols = rows.get(i).split(",");
            files.add(cols[0]);
            expected.add(Integer.parseInt(cols[2]));
        }
        INDArray batch = Nd4j.create(DataType.FLOAT, files.size(), 3, SIZE, SIZE);
        for (int i = 0; i < files.size(); i++) {
            batch.putSlice(i, load(images.get().resolve(files.get(i))));
        }
        INDArray logits = net.output(batch);
        assertArrayEquals(new long[] {files.size(), 1000}, logits.shape());
        int agree = 0;
        for (int i = 0; i < files.size(); i++) {
            if (logits.getRow(i).argMax().getInt(0) == expected.get(i)) {
                agree++;
            }
        }
        assertTrue(agree >= 9, "top-1 agrees with the reference on " + agree + " of " + files.size());
    }

    /** Centre crop of 87.5% of the shorter side, Java2D bilinear resize to 224x224, x/255, [3,224,224]. */
    private static INDArray load(Path file) throws IOException {
        BufferedImage src = ImageIO.read(file.toFile());
        assertNotNull(src, "cannot decode " + file);
        int side = (int) Math.round(0.875 * Math.min(src.getWidth(), src.getHeight()));
        int x0 = (src.getWidth() - side) / 2;
        int y0 = (src.getHeight() - side) / 2;
        BufferedImage dst = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, SIZE, SIZE, x0, y0, x0 + side, y0 + side, null);
        g.dispose();
        float[] chw = new float[3 * SIZE * SIZE];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                int rgb = dst.getRGB(x, y);
                chw[y * SIZE + x] = ((rgb >> 16) & 0xff) / 255f;
                chw[SIZE * SIZE + y * SIZE + x] = ((rgb >> 8) & 0xff) / 255f;
                chw[2 * SIZE * SIZE + y * SIZE + x] = (rgb & 0xff) / 255f;
            }
        }
        return Nd4j.create(chw, new long[] {3, SIZE, SIZE}, 'c');
    }
}
