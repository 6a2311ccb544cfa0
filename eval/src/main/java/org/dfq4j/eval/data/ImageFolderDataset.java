package org.dfq4j.eval.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.rewrite.DfqException;

/**
 * A folder of labelled photographs (.JPEG, .jpg, .jpeg, .png, .bmp, any case) in one of the three
 * ImageNet layouts ({@link ImageNetLayout}), detected from the folder:
 *
 * <ul>
 *   <li>with a ground-truth file: the flat validation files, each photograph's class read from the
 *       file ({@link GroundTruth});
 *   <li>photographs in the folder itself: {@code <classId>_<anything>.JPEG}, the class id being the
 *       text before the first '_' (the whole name without extension when there is no '_');
 *   <li>no photographs in the folder but in its sub-folders: one sub-folder per class, named by its
 *       class id (torchvision's ImageFolder).
 * </ul>
 *
 * Class ids are mapped to output indices by a {@link ClassList}. Photographs are in file-name order
 * (class folders: folder, then file name). Other files and hidden files are ignored. A photograph
 * whose class the class list lacks is an error, never skipped silently.
 */
public record ImageFolderDataset(Path directory, ClassList classes, List<LabeledImage> images, ImageNetLayout layout,
                                 String labelSource) {

    /** File extensions (lower case) of the photographs a folder is scanned for. */
    public static final Set<String> EXTENSIONS = Photographs.EXTENSIONS;

    private static final Pattern OFFICIAL_NAME = Pattern.compile("ILSVRC\\d{4}_(val|test)_\\d+");

    /**
     * @param directory   the folder
     * @param classes     the class list labels index
     * @param images      the photographs, in file-name order (class folders: folder, then file name)
     * @param layout      the layout the folder was read in
     * @param labelSource where the labels came from, for reports: "file names", "folder names" or the
     *                    ground-truth file
     */
    public ImageFolderDataset {
        images = List.copyOf(images);
    }

    /** Every photograph of a folder. */
    public static ImageFolderDataset scan(Path directory, ClassList classes) {
        return scan(directory, classes, Integer.MAX_VALUE);
    }

    /** The first {@code limit} photographs of a folder without a ground-truth file. */
    public static ImageFolderDataset scan(Path directory, ClassList classes, int limit) {
        return scan(directory, classes, limit, null);
    }

    /**
     * The first {@code limit} photographs of a folder, in the layout the folder has (flat files
     * labelled by {@code groundTruth} when it is not null). Every photograph of the folder is
     * checked against the class list, also those beyond the limit.
     *
     * @throws DfqException when the folder is missing, holds no photograph, a photograph has no
     *     class or a class that the class list lacks; or when limit is below 1
     */
    public static ImageFolderDataset scan(Path directory, ClassList classes, int limit, GroundTruth groundTruth) {
        Photographs.first(List.of(), limit); // checks the limit before the folder is read
        if (!Files.isDirectory(directory)) {
            throw new DfqException("image folder " + directory + " does not exist or is not a folder");
        }
        List<Path> files = Photographs.in(directory);
        ImageNetLayout layout;
        List<LabeledImage> images;
        if (groundTruth != null) {
            layout = ImageNetLayout.FLAT_WITH_GROUND_TRUTH;
            images = labelled(directory, files, classes, f -> groundTruth.classIdOf(f.getFileName().toString(), classes)
                    .orElse(null), "is not listed in ground-truth file " + groundTruth.source());
        } else if (!files.isEmpty()) {
            layout = ImageNetLayout.CLASS_PREFIX;
            String first = files.get(0).getFileName().toString();
            if (OFFICIAL_NAME.matcher(GroundTruth.stem(first)).matches()
                    && classes.indexOf(classIdOf(first)).isEmpty()) {
                throw new DfqException("image folder " + directory + " holds the official flat validation files ("
                        + first + ", ...), whose names carry no class; give their classes with --ground-truth FILE"
                        + " (LOC_val_solution.csv, or lines '<file> <synset>' or '<file> <index>')");
            }
            images = labelled(directory, files, classes, f -> classIdOf(f.getFileName().toString()), null);
        } else {
            layout = ImageNetLayout.CLASS_FOLDERS;
            List<Path> inFolders = new ArrayList<>();
            for (Path sub : subFolders(directory)) {
                inFolders.addAll(Photographs.in(sub));
            }
            if (inFolders.isEmpty()) {
                throw new DfqException("image folder " + directory + " holds no photographs (" + Photographs.extensionList()
                        + "), neither itself nor in class sub-folders; name them <class>_<anything>.JPEG, put them in"
                        + " one sub-folder per class, or give flat files with --ground-truth FILE");
            }
            images = labelled(directory, inFolders, classes, f -> f.getParent().getFileName().toString(), null);
        }
        String source = groundTruth != null ? groundTruth.describe(classes) : layout == ImageNetLayout.CLASS_FOLDERS
                ? "folder names" : "file names";
        return new ImageFolderDataset(directory, classes, Photographs.first(images, limit), layout, source);
    }

    /** Labels every file by {@code classId} (null: no class, an error with {@code whyNone}). */
    private static List<LabeledImage> labelled(Path directory, List<Path> files, ClassList classes,
                                               Function<Path, String> classId, String whyNone) {
        List<LabeledImage> images = new ArrayList<>(files.size());
        Path firstUnknown = null;
        String firstUnknownId = null;
        int unknown = 0;
        Path firstMissing = null;
        int missing = 0;
        for (Path f : files) {
            String id = classId.apply(f);
            if (id == null) {
                if (missing++ == 0) {
                    firstMissing = f;
                }
                continue;
            }
            OptionalInt label = classes.indexOf(id);
            if (label.isEmpty()) {
                if (unknown++ == 0) {
                    firstUnknown = f;
                    firstUnknownId = id;
                }
            } else {
                images.add(new LabeledImage(f, id, label.getAsInt()));
            }
        }
        if (missing > 0) {
            throw new DfqException(missing + " photograph(s) in " + directory + " have no class: the first, "
                    + firstMissing.getFileName() + ", " + whyNone);
        }
        if (unknown > 0) {
            throw new DfqException(unknown + " photograph(s) in " + directory + " have a class that " + classes.source()
                    + " does not list, first: " + directory.relativize(firstUnknown) + " (class '" + firstUnknownId
                    + "'); label photographs with classes of the class file, or use the class file of this model");
        }
        return images;
    }

    private static List<Path> subFolders(Path directory) {
        try (var s = Files.list(directory)) {
            return s.filter(p -> Files.isDirectory(p) && !p.getFileName().toString().startsWith("."))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new DfqException("image folder " + directory + " cannot be listed: " + e.getMessage(), e);
        }
    }

    /**
     * The class id in a photograph's file name: the text before the first '_', or the name without
     * its extension when there is no '_'.
     */
    public static String classIdOf(String fileName) {
        int underscore = fileName.indexOf('_');
        if (underscore >= 0) {
            return fileName.substring(0, underscore);
        }
        int dot = fileName.lastIndexOf('.');
        return dot < 0 ? fileName : fileName.substring(0, dot);
    }

    /** This dataset without the photographs in {@code files} (say, ones that cannot be decoded). */
    public ImageFolderDataset without(Set<Path> files) {
        return new ImageFolderDataset(directory, classes, images.stream().filter(i -> !files.contains(i.file())).toList(),
                layout, labelSource);
    }

    public int size() {
        return images.size();
    }

    public List<Path> files() {
        return images.stream().map(LabeledImage::file).toList();
    }

    public int[] labels() {
        return images.stream().mapToInt(LabeledImage::label).toArray();
    }

    /** e.g. "class sub-folders (torchvision ImageFolder), labels from folder names", for reports. */
    public String describe() {
        return layout.description() + ", labels from " + labelSource;
    }

    @Override
    public String toString() {
        return "ImageFolderDataset[" + directory + ", " + images.size() + " photographs, " + classes + "]";
    }
}
