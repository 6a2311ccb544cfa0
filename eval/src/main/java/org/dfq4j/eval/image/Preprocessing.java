package org.dfq4j.eval.image;

import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.TensorRange;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How a photograph becomes a network input: an immutable, declarative spec.
 *
 * <ol>
 *   <li>centre crop: the largest centred rectangle with the target's aspect ratio, scaled by
 *       {@code crop} (for a square target: a square whose side is {@code crop} times the shorter
 *       side); or no crop at all, the whole photograph being stretched to the target;
 *   <li>resize to the model's input size with Java2D ({@link ResizeFilter});
 *   <li>per channel c (R, G, B): {@code y = (x * scale + offset - mean[c]) / std[c]} on 8-bit x.
 * </ol>
 *
 * The output size is not part of the spec: it comes from the model ({@code Network.inputShape()}).
 *
 * <p>Text form ({@link #parse}, {@link #toString}): a preset name, a list of {@code key=value}
 * items, or a preset name followed by items that override it, e.g. {@code inception},
 * {@code crop=0.875,filter=bilinear,scale=0.00784313725,offset=-1},
 * {@code crop=1,mean=123.7:116.3:103.5,std=58.4:57.1:57.4}, {@code unit,filter=bicubic}. Keys not
 * given after no preset take neutral values: no crop, bilinear, scale 1, offset 0, mean 0, std 1.
 */
public final class Preprocessing {

    /** Number of colour channels produced (R, G, B in this order). */
    public static final int CHANNELS = 3;

    private static final double NO_CROP = 0;

    /** MobileNet/Inception: crop 0.875, bilinear, x/127.5 - 1. The default. */
    public static final Preprocessing INCEPTION = new Preprocessing(0.875, ResizeFilter.BILINEAR, 1 / 127.5, -1,
            uniform(0), uniform(1));
    /** Crop 0.875, bilinear, x/255 (e.g. Tiny-Darknet). */
    public static final Preprocessing UNIT = new Preprocessing(0.875, ResizeFilter.BILINEAR, 1 / 255.0, 0,
            uniform(0), uniform(1));
    /**
     * torchvision's ImageNet evaluation: Resize(256) of the shorter side, CenterCrop(224), ToTensor
     * (x/255), Normalize(mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225). The crop keeps the central
     * 224/256 = 0.875 of the shorter side, then resizes that square to the model's input, which at 224
     * is the same region at the same size.
     */
    public static final Preprocessing TORCHVISION = new Preprocessing(224.0 / 256, ResizeFilter.BILINEAR, 1 / 255.0, 0,
            new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225});
    /** The same as {@link #TORCHVISION} (its older name). */
    public static final Preprocessing IMAGENET = TORCHVISION;
    /** No crop (whole photograph stretched), bilinear, x/127.5 - 1 (DeepLab-like models). */
    public static final Preprocessing RESIZE = new Preprocessing(NO_CROP, ResizeFilter.BILINEAR, 1 / 127.5, -1,
            uniform(0), uniform(1));
    public static final Preprocessing DEFAULT = INCEPTION;

    private static final Map<String, Preprocessing> PRESETS = presets();
    private static final Map<String, String> ALIASES = Map.of("imagenet", "torchvision", "unit", "darknet",
            "resize", "deeplab");
    private static final Preprocessing NEUTRAL = new Preprocessing(NO_CROP, ResizeFilter.BILINEAR, 1, 0,
            uniform(0), uniform(1));
    private static final String KEYS = "crop=<fraction in (0,1]|none>, filter=<nearest|bilinear|bicubic>, "
            + "scale=<number>, offset=<number>, mean=<v|r:g:b>, std=<v|r:g:b>";

    private final double crop;
    private final ResizeFilter filter;
    private final double scale;
    private final double offset;
    private final double[] mean;
    private final double[] std;
    /** lut[c][v] = the normalized value of 8-bit value v in channel c. */
    private final float[][] lut;

    private Preprocessing(double crop, ResizeFilter filter, double scale, double offset, double[] mean, double[] std) {
        this.crop = crop + 0.0;
        this.filter = filter;
        this.scale = scale + 0.0;
        this.offset = offset + 0.0;
        this.mean = mean.clone();
        this.std = std.clone();
        this.lut = new float[CHANNELS][256];
        for (int c = 0; c < CHANNELS; c++) {
            this.mean[c] += 0.0;
            for (int v = 0; v < 256; v++) {
                lut[c][v] = (float) ((v * scale + offset - mean[c]) / std[c]);
            }
        }
    }

    /**
     * Presets named after the code they reproduce: {@code inception} (TensorFlow's Inception and
     * MobileNet evaluation), {@code torchvision} (torchvision's ImageNet evaluation), {@code darknet}
     * (Darknet's classifiers: x/255), {@code deeplab} (TensorFlow's DeepLab: the whole photograph,
     * x/127.5 - 1). The older names {@code imagenet}, {@code unit} and {@code resize} still work.
     */
    private static Map<String, Preprocessing> presets() {
        Map<String, Preprocessing> m = new LinkedHashMap<>();
        m.put("inception", INCEPTION);
        m.put("torchvision", TORCHVISION);
        m.put("darknet", UNIT);
        m.put("deeplab", RESIZE);
        return m;
    }

    /** The named presets, in the order they are documented (older names not included). */
    public static Map<String, Preprocessing> presetsByName() {
        return PRESETS;
    }

    /** The preset name this spec equals ("torchvision"), or null for a spec of its own. */
    public String presetName() {
        return PRESETS.entrySet().stream().filter(e -> e.getValue().equals(this)).map(Map.Entry::getKey).findFirst()
                .orElse(null);
    }

    /** For reports: the preset's name and its spec, e.g. "torchvision (crop=0.875,...)", or the spec alone. */
    public String describe() {
        String name = presetName();
        return name == null ? toString() : name + " (" + this + ")";
    }

    /**
     * Parses a preset name and/or {@code key=value} items (see the class comment).
     *
     * @throws DfqException naming the offending item and listing the valid keys and presets
     */
    public static Preprocessing parse(String text) {
        if (text == null || text.isBlank()) {
            throw error("empty preprocessing spec");
        }
        String[] items = text.trim().split(",", -1);
        int start = 0;
        Preprocessing base = NEUTRAL;
        String first = items[0].trim();
        if (!first.contains("=")) {
            String key = first.toLowerCase(Locale.ROOT);
            base = PRESETS.get(ALIASES.getOrDefault(key, key));
            if (base == null) {
                throw error("unknown preprocessing preset '" + first + "' in '" + text + "'");
            }
            start = 1;
        }
        double crop = base.crop;
        ResizeFilter filter = base.filter;
        double scale = base.scale;
        double offset = base.offset;
        double[] mean = base.mean;
        double[] std = base.std;
        Set<String> seen = new HashSet<>();
        for (int i = start; i < items.length; i++) {
            String item = items[i].trim();
            int eq = item.indexOf('=');
            if (eq < 0) {
                throw error("preprocessing item '" + item + "' in '" + text
                        + "' is not key=value (a preset name may only come first)");
            }
            String key = item.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = item.substring(eq + 1).trim();
            if (!seen.add(key)) {
                throw error("preprocessing key '" + key + "' given twice in '" + text + "'");
            }
            switch (key) {
                case "crop" -> crop = parseCrop(value, text);
                case "filter" -> filter = parseFilter(value, text);
                case "scale" -> scale = parseNumber(key, value, text);
                case "offset" -> offset = parseNumber(key, value, text);
                case "mean" -> mean = parseChannels(key, value, text);
                case "std" -> {
                    std = parseChannels(key, value, text);
                    for (double s : std) {
                        if (!(s > 0)) {
                            throw badValue(key, value, text, "every std must be > 0");
                        }
                    }
                }
                default -> throw error("unknown preprocessing key '" + key + "' in '" + text + "'");
            }
        }
        return new Preprocessing(crop, filter, scale, offset, mean, std);
    }

    private static double parseCrop(String value, String text) {
        if (value.equalsIgnoreCase("none")) {
            return NO_CROP;
        }
        double v = parseNumber("crop", value, text);
        if (!(v > 0 && v <= 1)) {
            throw badValue("crop", value, text, "a fraction in (0,1] or 'none'");
        }
        return v;
    }

    private static ResizeFilter parseFilter(String value, String text) {
        for (ResizeFilter f : ResizeFilter.values()) {
            if (f.specName().equalsIgnoreCase(value)) {
                return f;
            }
        }
        throw badValue("filter", value, text, "nearest, bilinear or bicubic");
    }

    private static double parseNumber(String key, String value, String text) {
        double v;
        try {
            v = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw badValue(key, value, text, "a number");
        }
        if (!Double.isFinite(v)) {
            throw badValue(key, value, text, "a finite number");
        }
        return v;
    }

    private static double[] parseChannels(String key, String value, String text) {
        String[] parts = value.split(":", -1);
        if (parts.length != 1 && parts.length != CHANNELS) {
            throw badValue(key, value, text, "one value or " + CHANNELS + " values r:g:b");
        }
        double[] v = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                v[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                v[i] = Double.NaN;
            }
            if (!Double.isFinite(v[i])) {
                throw badValue(key, value, text, "finite numbers, one value or " + CHANNELS + " values r:g:b");
            }
        }
        return v.length == 1 ? uniform(v[0]) : v;
    }

    private static DfqException badValue(String key, String value, String text, String expected) {
        return error("preprocessing key '" + key + "' has bad value '" + value + "' in '" + text + "' (expected "
                + expected + ")");
    }

    private static DfqException error(String what) {
        return new DfqException(what + "; valid keys: " + KEYS + "; presets: " + String.join(", ", PRESETS.keySet())
                + " (older names: imagenet, unit, resize)");
    }

    private static double[] uniform(double v) {
        double[] a = new double[CHANNELS];
        Arrays.fill(a, v);
        return a;
    }

    /** The centre-crop fraction, or empty when the whole photograph is stretched to the target. */
    public OptionalDouble crop() {
        return crop == NO_CROP ? OptionalDouble.empty() : OptionalDouble.of(crop);
    }

    public ResizeFilter filter() {
        return filter;
    }

    public double scale() {
        return scale;
    }

    public double offset() {
        return offset;
    }

    /** Per-channel mean (R, G, B), subtracted after scale and offset. */
    public double[] mean() {
        return mean.clone();
    }

    /** Per-channel standard deviation (R, G, B), divided by last. */
    public double[] std() {
        return std.clone();
    }

    /** The normalized value of an 8-bit sample of channel c (0 = R, 1 = G, 2 = B). */
    public float normalize(int channel, int value) {
        return lut[channel][value];
    }

    /**
     * The region of an imageWidth x imageHeight photograph that is resized to the target. Its size
     * is rounded to whole pixels (at least 1) and it starts at floor((image - region) / 2).
     */
    public Rectangle cropRegion(int imageWidth, int imageHeight, int targetHeight, int targetWidth) {
        if (crop == NO_CROP) {
            return new Rectangle(0, 0, imageWidth, imageHeight);
        }
        double w;
        double h;
        if ((long) imageWidth * targetHeight >= (long) imageHeight * targetWidth) {
            h = crop * imageHeight;
            w = h * targetWidth / targetHeight;
        } else {
            w = crop * imageWidth;
            h = w * targetHeight / targetWidth;
        }
        int cw = (int) Math.max(1, Math.min(imageWidth, Math.round(w)));
        int ch = (int) Math.max(1, Math.min(imageHeight, Math.round(h)));
        return new Rectangle((imageWidth - cw) / 2, (imageHeight - ch) / 2, cw, ch);
    }

    /**
     * Crops an RGB image and resizes it with Java2D: the crop region, as a sub-image, is drawn into a
     * TYPE_INT_RGB image of the target size with the filter as the interpolation hint.
     */
    public BufferedImage cropAndResize(BufferedImage rgb, int targetHeight, int targetWidth) {
        Rectangle r = cropRegion(rgb.getWidth(), rgb.getHeight(), targetHeight, targetWidth);
        BufferedImage region = rgb.getSubimage(r.x, r.y, r.width, r.height);
        BufferedImage out = new BufferedImage(targetWidth, targetHeight, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, filter.renderingHint());
            g.drawImage(region, 0, 0, targetWidth, targetHeight, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    /**
     * Crops, resizes and normalizes an RGB image into {@code dest[offset ..]} as planar CHW floats
     * (3 x targetHeight x targetWidth values, channel order R, G, B).
     */
    public void writeChw(BufferedImage rgb, int targetHeight, int targetWidth, float[] dest, int offset) {
        BufferedImage resized = cropAndResize(rgb, targetHeight, targetWidth);
        int[] pixels = ((DataBufferInt) resized.getRaster().getDataBuffer()).getData();
        int plane = targetHeight * targetWidth;
        for (int i = 0; i < plane; i++) {
            int p = pixels[i];
            dest[offset + i] = lut[0][(p >> 16) & 0xFF];
            dest[offset + plane + i] = lut[1][(p >> 8) & 0xFF];
            dest[offset + 2 * plane + i] = lut[2][p & 0xFF];
        }
    }

    /** Decodes a photograph and returns its CHW floats for a target size. */
    public float[] load(Path file, int targetHeight, int targetWidth) {
        float[] chw = new float[CHANNELS * targetHeight * targetWidth];
        writeChw(RgbDecoder.read(file), targetHeight, targetWidth, chw, 0);
        return chw;
    }

    /** One photograph as a batch of one, [1, 3, H, W] for a network input [3, H, W]. */
    public INDArray batchOf(Path photograph, long[] inputShape) {
        checkInputShape(inputShape);
        int h = (int) inputShape[1];
        int w = (int) inputShape[2];
        return Nd4j.create(load(photograph, h, w), new long[] {1, CHANNELS, h, w}, 'c');
    }

    /** The range pixel values 0..255 map into, over all channels: the network input's value range. */
    public TensorRange valueRange() {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < CHANNELS; c++) {
            for (int v : new int[] {0, 255}) {
                double x = normalize(c, v);
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
        }
        return new TensorRange(lo, hi);
    }

    /**
     * Checks that a model's input shape [C, H, W] can be fed by this preprocessing.
     *
     * @throws DfqException when C is not 3 or H, W are not positive
     */
    public static void checkInputShape(long[] chw) {
        if (chw.length != 3 || chw[0] != CHANNELS || chw[1] < 1 || chw[2] < 1
                || chw[1] > Integer.MAX_VALUE || chw[2] > Integer.MAX_VALUE) {
            throw new DfqException("the model's input shape " + Arrays.toString(chw)
                    + " is not [3, H, W]: image preprocessing produces RGB input only");
        }
    }

    /** The canonical spec: every key, with mean and std only when they are not 0 and 1. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        s.append("crop=").append(crop == NO_CROP ? "none" : number(crop));
        s.append(",filter=").append(filter.specName());
        s.append(",scale=").append(number(scale));
        s.append(",offset=").append(number(offset));
        if (!Arrays.equals(mean, uniform(0)) || !Arrays.equals(std, uniform(1))) {
            s.append(",mean=").append(channels(mean));
            s.append(",std=").append(channels(std));
        }
        return s.toString();
    }

    private static String channels(double[] v) {
        if (v[0] == v[1] && v[1] == v[2]) {
            return number(v[0]);
        }
        return number(v[0]) + ":" + number(v[1]) + ":" + number(v[2]);
    }

    private static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && Double.compare(crop, p.crop) == 0 && filter == p.filter
                && Double.compare(scale, p.scale) == 0 && Double.compare(offset, p.offset) == 0
                && Arrays.equals(mean, p.mean) && Arrays.equals(std, p.std);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * (31 * Double.hashCode(crop) + filter.hashCode()) + Double.hashCode(scale))
                + Double.hashCode(offset)) + 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }
}
