package org.dfq4j.eval.segmentation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.rewrite.DfqException;

/**
 * Photographs with per-pixel class masks, in one of three layouts:
 *
 * <ul>
 *   <li>{@link #voc}: Pascal VOC, {@code JPEGImages/<id>.jpg}, {@code SegmentationClass/<id>.png}
 *       (palette PNGs whose palette index is the class id, 255 = ignore) and the ids listed in
 *       {@code ImageSets/Segmentation/<split>.txt};
 *   <li>{@link #pairedFolder}: one folder of {@code <name>.<ext>} photographs and
 *       {@code <name>_mask.<ext>} masks; photographs without a mask are not part of the dataset;
 *   <li>{@link #photographs}: photographs only (files named {@code *_mask.*} left out), without
 *       ground truth, for measuring an 8-bit model against its FP32 reference.
 * </ul>
 *
 * Masks are read when evaluated ({@link LabelMask#read}); a mask whose size differs from its
 * photograph is reported there.
 */
public record SegmentationDataset(String source, List<SegmentationSample> samples) {

    /** File extensions (lower case) of photographs and masks. */
    public static final Set<String> EXTENSIONS = Photographs.EXTENSIONS;
    /** What ends a mask's name in a paired folder: {@code bird.bmp} has {@code bird_mask.bmp}. */
    public static final String MASK_SUFFIX = "_mask";

    /**
     * @param source  where the samples came from, for reports
     * @param samples photographs with their masks, in order
     */
    public SegmentationDataset {
        samples = List.copyOf(samples);
    }

    /** Samples given in code; {@code source} names them in reports. */
    public static SegmentationDataset of(String source, List<SegmentationSample> samples) {
        if (samples.isEmpty()) {
            throw new DfqException("segmentation dataset " + source + " has no samples");
        }
        return new SegmentationDataset(source, samples);
    }

    /**
     * A Pascal VOC layout under {@code root} (the folder holding JPEGImages).
     *
     * @param split the name of a list in ImageSets/Segmentation ("val", "train", ...)
     * @throws DfqException when the list is missing or empty, or lists an id whose photograph or
     *     mask is missing
     */
    public static SegmentationDataset voc(Path root, String split) {
        Path list = root.resolve("ImageSets").resolve("Segmentation").resolve(split + ".txt");
        if (!Files.isRegularFile(list)) {
            throw new DfqException("Pascal VOC split list " + list + " does not exist; give the folder holding"
                    + " JPEGImages, SegmentationClass and ImageSets/Segmentation, and a split listed there");
        }
        List<String> ids;
        try {
            ids = Files.readAllLines(list, StandardCharsets.UTF_8).stream().map(String::strip)
                    .filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new DfqException("Pascal VOC split list " + list + " cannot be read: " + e.getMessage(), e);
        }
        if (ids.isEmpty()) {
            throw new DfqException("Pascal VOC split list " + list + " lists no image ids");
        }
        List<SegmentationSample> samples = new ArrayList<>(ids.size());
        for (String id : ids) {
            Path image = root.resolve("JPEGImages").resolve(id + ".jpg");
            if (!Files.isRegularFile(image)) {
                throw new DfqException("photograph " + image + " listed in " + list + " does not exist");
            }
            Path mask = root.resolve("SegmentationClass").resolve(id + ".png");
            if (!Files.isRegularFile(mask)) {
                throw new DfqException("mask " + mask + " of photograph " + image + " (listed in " + list
                        + ") does not exist");
            }
            samples.add(new SegmentationSample(id, image, Optional.of(mask)));
        }
        return new SegmentationDataset(root + " (" + split + ")", samples);
    }

    /**
     * The photograph/mask pairs of a folder, in file-name order.
     *
     * @throws DfqException when the folder is missing, holds a mask without a photograph, two
     *     photographs or masks of the same name, or no pair at all
     */
    public static SegmentationDataset pairedFolder(Path directory) {
        Map<String, Path> photos = new LinkedHashMap<>();
        Map<String, Path> masks = new LinkedHashMap<>();
        for (Path f : imageFiles(directory)) {
            String stem = stem(f);
            boolean isMask = isMask(stem);
            String name = isMask ? stem.substring(0, stem.length() - MASK_SUFFIX.length()) : stem;
            Path previous = (isMask ? masks : photos).put(name, f);
            if (previous != null) {
                throw new DfqException("folder " + directory + " holds both " + previous.getFileName() + " and "
                        + f.getFileName() + "; keep one " + (isMask ? "mask" : "photograph") + " per name");
            }
        }
        for (Map.Entry<String, Path> m : masks.entrySet()) {
            if (!photos.containsKey(m.getKey())) {
                throw new DfqException("mask " + m.getValue() + " has no photograph " + m.getKey()
                        + ".<jpg|png|bmp> beside it");
            }
        }
        List<SegmentationSample> samples = new ArrayList<>();
        photos.forEach((name, photo) -> {
            Path mask = masks.get(name);
            if (mask != null) {
                samples.add(new SegmentationSample(name, photo, Optional.of(mask)));
            }
        });
        if (samples.isEmpty()) {
            throw new DfqException("folder " + directory + " holds no photograph with a mask; name masks <name>"
                    + MASK_SUFFIX + ".png beside <name>.jpg");
        }
        return new SegmentationDataset(directory.toString(), samples);
    }

    /**
     * Every photograph of a folder, without masks (ground truth), in file-name order; files whose
     * name ends in {@value #MASK_SUFFIX} are masks and left out.
     *
     * @throws DfqException when the folder is missing or holds no photograph
     */
    public static SegmentationDataset photographs(Path directory) {
        List<SegmentationSample> samples = new ArrayList<>();
        for (Path f : imageFiles(directory)) {
            if (!isMask(stem(f))) {
                samples.add(new SegmentationSample(stem(f), f, Optional.empty()));
            }
        }
        if (samples.isEmpty()) {
            throw new DfqException("folder " + directory + " holds no photographs (" + Photographs.extensionList() + ")");
        }
        return new SegmentationDataset(directory.toString(), samples);
    }

    private static List<Path> imageFiles(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new DfqException("image folder " + directory + " does not exist or is not a folder");
        }
        return Photographs.in(directory);
    }

    private static boolean isMask(String stem) {
        return stem.endsWith(MASK_SUFFIX) && stem.length() > MASK_SUFFIX.length();
    }

    private static String stem(Path file) {
        String n = file.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? n : n.substring(0, dot);
    }

    /** The first {@code limit} samples (all when there are fewer). */
    public SegmentationDataset first(int limit) {
        return new SegmentationDataset(source, Photographs.first(samples, limit));
    }

    /** This dataset without the samples whose photograph is in {@code files}. */
    public SegmentationDataset without(Set<Path> files) {
        return new SegmentationDataset(source, samples.stream().filter(s -> !files.contains(s.image())).toList());
    }

    public int size() {
        return samples.size();
    }

    /** Whether every sample has a mask, so that mIoU against ground truth can be measured. */
    public boolean hasMasks() {
        return samples.stream().allMatch(s -> s.mask().isPresent());
    }

    public List<Path> images() {
        return samples.stream().map(SegmentationSample::image).toList();
    }

    @Override
    public String toString() {
        return "SegmentationDataset[" + source + ", " + samples.size() + " samples]";
    }
}
