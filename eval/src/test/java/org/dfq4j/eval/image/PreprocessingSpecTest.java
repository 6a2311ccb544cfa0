package org.dfq4j.eval.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalDouble;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PreprocessingSpecTest {

    @Test
    void inceptionPresetMapsByteRangeToMinusOneOne() {
        Preprocessing p = Preprocessing.parse("inception");
        assertEquals(Preprocessing.INCEPTION, p);
        assertEquals(Preprocessing.DEFAULT, p);
        assertEquals(OptionalDouble.of(0.875), p.crop());
        assertEquals(ResizeFilter.BILINEAR, p.filter());
        for (int c = 0; c < 3; c++) {
            assertEquals(-1f, p.normalize(c, 0), 0f);
            assertEquals(1f, p.normalize(c, 255), 1e-6f);
            assertEquals(128 / 127.5 - 1, p.normalize(c, 128), 1e-6);
        }
    }

    @Test
    void unitPresetDividesBy255() {
        Preprocessing p = Preprocessing.parse("UNIT");
        assertEquals(OptionalDouble.of(0.875), p.crop());
        assertEquals(0f, p.normalize(1, 0), 0f);
        assertEquals(1f, p.normalize(1, 255), 1e-7f);
        assertEquals(51 / 255.0, p.normalize(2, 51), 1e-7);
    }

    @Test
    void imagenetPresetAppliesMeanAndStdAfterUnitScaling() {
        Preprocessing p = Preprocessing.parse("imagenet");
        double[] mean = {0.485, 0.456, 0.406};
        double[] std = {0.229, 0.224, 0.225};
        assertArrayEquals(mean, p.mean());
        assertArrayEquals(std, p.std());
        for (int c = 0; c < 3; c++) {
            assertEquals((200 / 255.0 - mean[c]) / std[c], p.normalize(c, 200), 1e-6);
        }
    }

    @Test
    void presetsAreNamedAfterTheirOriginAndOlderNamesStillWork() {
        assertEquals(java.util.List.of("inception", "torchvision", "darknet", "deeplab"),
                java.util.List.copyOf(Preprocessing.presetsByName().keySet()));
        assertEquals(Preprocessing.parse("imagenet"), Preprocessing.parse("torchvision"));
        assertEquals(Preprocessing.parse("unit"), Preprocessing.parse("darknet"));
        assertEquals(Preprocessing.parse("resize"), Preprocessing.parse("deeplab"));
        // torchvision: Resize(256) + CenterCrop(224) keeps the central 224/256 of the shorter side
        assertEquals(224.0 / 256, Preprocessing.TORCHVISION.crop().getAsDouble(), 0);
        assertEquals("torchvision", Preprocessing.parse("torchvision").presetName());
        assertTrue(Preprocessing.TORCHVISION.describe().startsWith("torchvision (crop=0.875,"),
                Preprocessing.TORCHVISION.describe());
        Preprocessing own = Preprocessing.parse("torchvision,filter=bicubic");
        assertEquals(null, own.presetName());
        assertEquals(own.toString(), own.describe());
    }

    @Test
    void resizePresetDoesNotCrop() {
        Preprocessing p = Preprocessing.parse("resize");
        assertTrue(p.crop().isEmpty());
        assertEquals(-1f, p.normalize(0, 0), 0f);
    }

    @Test
    void keyValueSpecSetsEveryKey() {
        Preprocessing p = Preprocessing.parse("crop=0.875,filter=bilinear,scale=0.00784313725,offset=-1");
        assertEquals(OptionalDouble.of(0.875), p.crop());
        assertEquals(0.00784313725, p.scale());
        assertEquals(-1, p.offset());
        assertEquals(255 * 0.00784313725 - 1, p.normalize(0, 255), 1e-6);
    }

    @Test
    void perChannelMeanAndStdOnRawBytes() {
        Preprocessing p = Preprocessing.parse("crop=1,mean=123.7:116.3:103.5,std=58.4:57.1:57.4");
        assertEquals(OptionalDouble.of(1), p.crop());
        assertEquals(1, p.scale());
        assertEquals(0, p.offset());
        assertEquals((0 - 123.7) / 58.4, p.normalize(0, 0), 1e-6);
        assertEquals((255 - 116.3) / 57.1, p.normalize(1, 255), 1e-6);
        assertEquals((100 - 103.5) / 57.4, p.normalize(2, 100), 1e-6);
    }

    @Test
    void unspecifiedKeysAreNeutral() {
        Preprocessing p = Preprocessing.parse("filter=nearest");
        assertTrue(p.crop().isEmpty());
        assertEquals(ResizeFilter.NEAREST, p.filter());
        assertEquals(200f, p.normalize(0, 200), 0f);
    }

    @Test
    void presetFollowedByOverrides() {
        Preprocessing p = Preprocessing.parse("unit, filter=BICUBIC, crop=none");
        assertEquals(ResizeFilter.BICUBIC, p.filter());
        assertTrue(p.crop().isEmpty());
        assertEquals(Preprocessing.UNIT.scale(), p.scale());
        Preprocessing mean = Preprocessing.parse("inception,mean=0.5,std=2");
        assertArrayEquals(new double[] {0.5, 0.5, 0.5}, mean.mean());
        assertEquals(((10 / 127.5 - 1) - 0.5) / 2, mean.normalize(2, 10), 1e-6);
    }

    @ParameterizedTest
    @ValueSource(strings = {"inception", "unit", "imagenet", "resize", "crop=0.5,filter=nearest,scale=0.1,offset=3",
            "crop=1,mean=123.7:116.3:103.5,std=58.4:57.1:57.4", "unit,mean=0.25,std=0.5",
            "crop=0.3333333333333333,filter=bicubic,scale=1e-5,offset=-0.0"})
    void toStringIsACanonicalSpecThatParsesBackToAnEqualValue(String spec) {
        Preprocessing p = Preprocessing.parse(spec);
        String canonical = p.toString();
        Preprocessing again = Preprocessing.parse(canonical);
        assertEquals(p, again);
        assertEquals(p.hashCode(), again.hashCode());
        assertEquals(canonical, again.toString());
        assertTrue(canonical.startsWith("crop="), canonical);
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v += 15) {
                assertEquals(p.normalize(c, v), again.normalize(c, v), 0f);
            }
        }
    }

    @Test
    void canonicalSpecOfPresetsSpellsOutEveryValue() {
        assertEquals("crop=0.875,filter=bilinear,scale=" + (1 / 127.5) + ",offset=-1", Preprocessing.INCEPTION.toString());
        assertEquals("crop=none,filter=bilinear,scale=" + (1 / 127.5) + ",offset=-1", Preprocessing.RESIZE.toString());
        assertEquals("crop=0.875,filter=bilinear,scale=" + (1 / 255.0)
                + ",offset=0,mean=0.485:0.456:0.406,std=0.229:0.224:0.225", Preprocessing.IMAGENET.toString());
    }

    @Test
    void differentSpecsAreNotEqual() {
        assertNotEquals(Preprocessing.INCEPTION, Preprocessing.UNIT);
        assertNotEquals(Preprocessing.INCEPTION, Preprocessing.RESIZE);
        assertNotEquals(Preprocessing.parse("crop=1"), Preprocessing.parse("crop=none"));
    }

    @Test
    void unknownPresetIsNamedAndPresetsAreListed() {
        DfqException e = assertThrows(DfqException.class, () -> Preprocessing.parse("mobilenet"));
        assertTrue(e.getMessage().contains("'mobilenet'"), e.getMessage());
        assertListsKeysAndPresets(e);
    }

    @Test
    void unknownKeyIsNamedAndKeysAreListed() {
        DfqException e = assertThrows(DfqException.class, () -> Preprocessing.parse("crop=0.9,size=224"));
        assertTrue(e.getMessage().contains("'size'"), e.getMessage());
        assertListsKeysAndPresets(e);
    }

    @ParameterizedTest
    @ValueSource(strings = {"crop=0", "crop=1.5", "crop=abc", "crop=-0.5", "filter=lanczos", "scale=x", "offset=NaN",
            "scale=Infinity", "mean=1:2", "std=0", "std=1:-1:1", "mean=1:x:3"})
    void badValueIsNamedWithItsKey(String spec) {
        DfqException e = assertThrows(DfqException.class, () -> Preprocessing.parse(spec));
        String key = spec.substring(0, spec.indexOf('='));
        String value = spec.substring(spec.indexOf('=') + 1);
        assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
        assertListsKeysAndPresets(e);
        assertEquals(1, e.getMessage().lines().count());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  ", "crop=1,crop=0.5", "crop=1,unit", "inception,", "crop=1,,scale=2"})
    void malformedSpecsAreRejected(String spec) {
        DfqException e = assertThrows(DfqException.class, () -> Preprocessing.parse(spec));
        assertListsKeysAndPresets(e);
    }

    private static void assertListsKeysAndPresets(DfqException e) {
        String m = e.getMessage();
        for (String s : new String[] {"crop=", "filter=", "scale=", "offset=", "mean=", "std=", "inception", "unit",
                "imagenet", "resize"}) {
            assertTrue(m.contains(s), "message lacks " + s + ": " + m);
        }
    }
}
