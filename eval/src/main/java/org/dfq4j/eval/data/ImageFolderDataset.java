package org.dfq4j.eval.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.rewrite.DfqException;

/**
 * An ImageNet-style folder of labelled photographs: files {@code <classId>_<anything>.JPEG} (also
 * .jpg, .jpeg, .png, .bmp, any case) whose class id is the text before the first '_' (the whole
 * name without extension when there is no '_'), mapped to output indices by a {@link ClassList}.
 *
 * <p>Photographs are in file-name order. Other files, hidden files and sub-folders are ignored. A
 * photograph whose class the class list lacks is an error, never skipped silently.
 */
public record ImageFolderDataset(Path directory, ClassList classes, List<LabeledImage> images) {

    /** File extensions (lower case) of the photographs a folder is scanned for. */
    public static final Set<String> EXTENSIONS = Photographs.EXTENSIONS;

    /**
     * @param directory the folder
     * @param classes   the class list labels index
     * @param images    the photographs, in file-name order
     */
    public ImageFolderDataset {
        images = List.copyOf(images);
    }

    /** Every photograph of a folder. */
    public static ImageFolderDataset scan(Path directory, ClassList classes) {
        return scan(directory, classes, Integer.MAX_VALUE);
    }

    /**
     * The first {@code limit} photographs of a folder in file-name order. Every photograph of the
     * folder is checked against the class list, also those beyond the limit.
     *
     * @throws DfqException when the folder is missing, holds no photograph, or a photograph's class
     *     is not in the class list; or when limit is below 1
     */
    public static ImageFolderDataset scan(Path directory, ClassList classes, int limit) {
        Photographs.first(List.of(), limit); // checks the limit before the folder is read
        if (!Files.isDirectory(directory)) {
            throw new DfqException("image folder " + directory + " does not exist or is not a folder");
        }
        List<Path> files = Photographs.in(directory);
        if (files.isEmpty()) {
            throw new DfqException("image folder " + directory + " holds no photographs (" + Photographs.extensionList() + "); name them <class>_<anything>.JPEG");
        }
        List<LabeledImage> images = new ArrayList<>(files.size());
        Path firstUnknown = null;
        int unknown = 0;
        for (Path f : files) {
            String id = classIdOf(f.getFileName().toString());
            OptionalInt label = classes.indexOf(id);
            if (label.isEmpty()) {
                if (unknown++ == 0) {
                    firstUnknown = f;
                }
            } else {
                images.add(new LabeledImage(f, id, label.getAsInt()));
            }
        }
        if (unknown > 0) {
            throw new DfqException(unknown + " photograph(s) in " + directory + " have a class that " + classes.source()
                    + " does not list, first: " + firstUnknown.getFileName() + " (class '"
                    + classIdOf(firstUnknown.getFileName().toString())
                    + "'); name photographs <class>_<anything> with a class of the class file, or use the class file"
                    + " of this model");
        }
        return new ImageFolderDataset(directory, classes, Photographs.first(images, limit));
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
        return new ImageFolderDataset(directory, classes, images.stream().filter(i -> !files.contains(i.file())).toList());
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

    @Override
    public String toString() {
        return "ImageFolderDataset[" + directory + ", " + images.size() + " photographs, " + classes + "]";
    }
}
