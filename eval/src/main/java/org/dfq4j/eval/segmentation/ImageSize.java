package org.dfq4j.eval.segmentation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.dfq4j.rewrite.DfqException;

/** Width and height of an image file, read from its header without decoding the pixels. */
public record ImageSize(int width, int height) {

    /**
     * @throws DfqException naming the file when it is missing or not an image javax.imageio reads
     */
    public static ImageSize read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DfqException("image " + file + " does not exist or is not a regular file");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new DfqException("image " + file + " is not an image javax.imageio can read (JPEG, PNG or BMP);"
                        + " remove it or convert it");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return new ImageSize(reader.getWidth(0), reader.getHeight(0));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof DfqException d) {
                throw d;
            }
            throw new DfqException("image " + file + " cannot be read (" + e.getMessage() + "); the file is corrupt",
                    e);
        }
    }
}
