package org.dfq4j.zoo.tflite;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A test-local image loader (javax.imageio + Java2D): the published MobileNetV2/DeepLab preprocessing,
 * into an NCHW float batch scaled to [-1, 1] by x / 127.5 - 1.
 */
final class Photos {

    private Photos() {
    }

    /** Centre crop of 87.5% of the shorter side, bilinear resize to size x size. */
    static INDArray centreCropped(List<Path> files, int size) throws IOException {
        float[] v = new float[files.size() * 3 * size * size];
        for (int i = 0; i < files.size(); i++) {
            BufferedImage img = read(files.get(i));
            int side = (int) Math.round(0.875 * Math.min(img.getWidth(), img.getHeight()));
            int x0 = (img.getWidth() - side) / 2;
            int y0 = (img.getHeight() - side) / 2;
            fill(v, i, resize(img, x0, y0, side, side, size, size));
        }
        return Nd4j.create(v, new long[] {files.size(), 3, size, size}, 'c');
    }

    /** The whole image, bilinear resize to size x size (DeepLab). */
    static INDArray resized(Path file, int size) throws IOException {
        BufferedImage img = read(file);
        float[] v = new float[3 * size * size];
        fill(v, 0, resize(img, 0, 0, img.getWidth(), img.getHeight(), size, size));
        return Nd4j.create(v, new long[] {1, 3, size, size}, 'c');
    }

    static BufferedImage read(Path file) throws IOException {
        BufferedImage img = ImageIO.read(file.toFile());
        if (img == null) {
            throw new IOException("cannot decode " + file);
        }
        return img;
    }

    private static BufferedImage resize(BufferedImage src, int x, int y, int w, int h, int outW, int outH) {
        BufferedImage out = new BufferedImage(outW, outH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, outW, outH, x, y, x + w, y + h, null);
        g.dispose();
        return out;
    }

    /** Writes image n of an NCHW batch: x / 127.5 - 1 per RGB channel. */
    private static void fill(float[] v, int n, BufferedImage rgb) {
        int h = rgb.getHeight();
        int w = rgb.getWidth();
        int plane = h * w;
        int base = n * 3 * plane;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = rgb.getRGB(x, y);
                int at = base + y * w + x;
                v[at] = (float) (((p >> 16) & 0xFF) / 127.5 - 1);
                v[at + plane] = (float) (((p >> 8) & 0xFF) / 127.5 - 1);
                v[at + 2 * plane] = (float) ((p & 0xFF) / 127.5 - 1);
            }
        }
    }
}
