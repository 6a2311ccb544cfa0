package org.dfq4j.cli;

import static org.dfq4j.cli.DfqRun.dfq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import com.fasterxml.jackson.databind.ObjectMapper;

/** A truncated photograph is an error naming it, unless --skip-bad-images, which reports what it skipped. */
class BadImagesTest extends TinyClassifierTest {

    static Path photos;

    @BeforeAll
    static void setUp() throws Exception {
        photos = Files.createDirectory(dir.resolve("photos"));
        for (int i = 0; i < 3; i++) {
            BufferedImage im = new BufferedImage(160, 120, BufferedImage.TYPE_INT_RGB);
            java.util.Random r = new java.util.Random(i);
            for (int y = 0; y < 120; y++) {
                for (int x = 0; x < 160; x++) {
                    im.setRGB(x, y, ((x + i * 40) & 255) << 16 | (y & 255) << 8 | r.nextInt(64));
                }
            }
            ImageIO.write(im, "jpeg", photos.resolve("n0" + (1 + i % 2) + "_photo" + i + ".JPEG").toFile());
        }
        byte[] whole = Files.readAllBytes(photos.resolve("n01_photo0.JPEG"));
        Files.write(photos.resolve("n01_truncated.JPEG"), Arrays.copyOf(whole, whole.length * 4 / 5));
    }

    @Test
    void aTruncatedJpegIsAnErrorNamingIt() {
        dfq("eval", "--model", model.toString(), "--images", photos.toString(), "--labels", classes.toString())
                .failsWithOneLine("n01_truncated.JPEG", "--skip-bad-images");
    }

    @Test
    void skipBadImagesGoesOnAndSaysWhichWereSkipped() throws Exception {
        Path j = dir.resolve("skipped.json");
        DfqRun r = dfq("eval", "--model", model.toString(), "--images", photos.toString(), "--labels",
                classes.toString(), "--skip-bad-images", "--json", j.toString());
        assertEquals(0, r.code(), r.err());
        String all = r.out() + r.err();
        assertTrue(all.contains("skipped 1 ") && all.contains("n01_truncated.JPEG"), all);
        Map<?, ?> m = new ObjectMapper().readValue(j.toFile(), Map.class);
        assertEquals(3, ((Number) m.get("images")).intValue());
    }
}
