package org.dfq4j.eval.detection;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.dfq4j.eval.segmentation.ImageSize;
import org.dfq4j.eval.segmentation.SegmentationDataset;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.rewrite.DfqException;

/**
 * Photographs with annotated boxes, or photographs only:
 *
 * <ul>
 *   <li>{@link #voc}: Pascal VOC, {@code Annotations/<id>.xml} with photographs in
 *       {@code JPEGImages}, all annotations or those of {@code ImageSets/Main/<split>.txt};
 *   <li>{@link #coco}: a COCO instances JSON file and the folder of its images;
 *   <li>{@link #photographs}: a folder of photographs without ground truth, for measuring an 8-bit
 *       model against its FP32 reference (segmentation masks, {@code *_mask.*}, left out).
 * </ul>
 */
public record DetectionDataset(String source, List<AnnotatedImage> images, boolean groundTruth) {

    /** File extensions (lower case) of photographs in a plain folder. */
    public static final Set<String> EXTENSIONS = Photographs.EXTENSIONS;

    /**
     * @param source      where the images came from, for reports
     * @param images      the images with their objects, in order
     * @param groundTruth whether the objects are ground truth (false for a plain folder of photographs)
     */
    public DetectionDataset {
        images = List.copyOf(images);
    }

    /** Images given in code; {@code groundTruth} says whether their objects are the truth. */
    public static DetectionDataset of(String source, List<AnnotatedImage> images, boolean groundTruth) {
        if (images.isEmpty()) {
            throw new DfqException("detection dataset " + source + " has no images");
        }
        return new DetectionDataset(source, images, groundTruth);
    }

    /**
     * A Pascal VOC layout under {@code root} (the folder holding Annotations and JPEGImages).
     *
     * @param split a list in ImageSets/Main ("val", "test", ...), or null for every annotation
     * @throws DfqException when the folders or the list are missing, or an annotation is bad
     */
    public static DetectionDataset voc(Path root, String split, LabelMap labels) {
        Path annotations = root.resolve("Annotations");
        Path imageDir = root.resolve("JPEGImages");
        if (!Files.isDirectory(annotations) || !Files.isDirectory(imageDir)) {
            throw new DfqException("Pascal VOC folder " + root + " lacks Annotations/ or JPEGImages/; give the"
                    + " folder holding both");
        }
        List<Path> files;
        if (split == null) {
            files = list(annotations, n -> n.toLowerCase(Locale.ROOT).endsWith(".xml"));
        } else {
            Path list = root.resolve("ImageSets").resolve("Main").resolve(split + ".txt");
            if (!Files.isRegularFile(list)) {
                throw new DfqException("Pascal VOC split list " + list + " does not exist");
            }
            try {
                files = Files.readAllLines(list, StandardCharsets.UTF_8).stream().map(String::strip)
                        .filter(s -> !s.isEmpty()).map(s -> s.split("\\s+")[0])
                        .map(id -> annotations.resolve(id + ".xml")).toList();
            } catch (IOException e) {
                throw new DfqException("Pascal VOC split list " + list + " cannot be read: " + e.getMessage(), e);
            }
        }
        if (files.isEmpty()) {
            throw new DfqException("Pascal VOC folder " + root + " has no annotations" + (split == null ? ""
                    : " in split " + split));
        }
        List<AnnotatedImage> images = new ArrayList<>(files.size());
        for (Path xml : files) {
            images.add(VocAnnotation.read(xml, imageDir, labels));
        }
        return new DetectionDataset(root + (split == null ? "" : " (" + split + ")"), images, true);
    }

    /**
     * A COCO instances file and the folder of its images.
     *
     * @throws DfqException when the file is bad or lists no images
     */
    public static DetectionDataset coco(Path instancesJson, Path imageDir, LabelMap labels) {
        List<AnnotatedImage> images = CocoAnnotations.read(instancesJson, imageDir, labels);
        if (images.isEmpty()) {
            throw new DfqException("COCO annotation file " + instancesJson + " lists no images");
        }
        return new DetectionDataset(instancesJson.toString(), images, true);
    }

    /**
     * Every photograph of a folder, without ground truth, in file-name order; files named
     * {@code <name>_mask.<ext>} are segmentation masks and left out.
     *
     * @throws DfqException when the folder is missing, holds no photograph, or one is unreadable
     */
    public static DetectionDataset photographs(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new DfqException("image folder " + directory + " does not exist or is not a folder");
        }
        List<AnnotatedImage> images = new ArrayList<>();
        for (Path f : Photographs.in(directory)) {
            String n = f.getFileName().toString();
            String stem = n.substring(0, n.lastIndexOf('.'));
            if (stem.endsWith(SegmentationDataset.MASK_SUFFIX)) {
                continue;
            }
            ImageSize s = ImageSize.read(f);
            images.add(new AnnotatedImage(stem, f, s.width(), s.height(), List.of()));
        }
        if (images.isEmpty()) {
            throw new DfqException("folder " + directory + " holds no photographs (" + Photographs.extensionList() + ")");
        }
        return new DetectionDataset(directory.toString(), images, false);
    }

    private static List<Path> list(Path dir, Predicate<String> name) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> name.test(p.getFileName().toString()) && Files.isRegularFile(p))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new DfqException("folder " + dir + " cannot be listed: " + e.getMessage(), e);
        }
    }

    /** The first {@code limit} images (all when there are fewer). */
    public DetectionDataset first(int limit) {
        return new DetectionDataset(source, Photographs.first(images, limit), groundTruth);
    }

    /** This dataset without the images whose photograph is in {@code files}. */
    public DetectionDataset without(Set<Path> files) {
        return new DetectionDataset(source, images.stream().filter(i -> !files.contains(i.image())).toList(), groundTruth);
    }

    public int size() {
        return images.size();
    }

    /** Whether the images' objects are ground truth (false for a plain folder of photographs). */
    public boolean hasGroundTruth() {
        return groundTruth;
    }

    public List<Path> files() {
        return images.stream().map(AnnotatedImage::image).toList();
    }

    @Override
    public String toString() {
        return "DetectionDataset[" + source + ", " + images.size() + " images]";
    }
}
