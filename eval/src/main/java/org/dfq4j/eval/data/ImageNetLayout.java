package org.dfq4j.eval.data;

/**
 * How an ImageNet-style folder of labelled photographs is laid out; {@link ImageFolderDataset}
 * detects it from the folder (and whether a ground-truth file is given) and names it in every run.
 */
public enum ImageNetLayout {
    /** {@code <class>_<anything>.JPEG} files in one folder: the class is the text before the first '_'. */
    CLASS_PREFIX("<class>_*.JPEG files"),
    /** One sub-folder per class, named by its class id (torchvision's ImageFolder, e.g. {@code val/n01440764/*.JPEG}). */
    CLASS_FOLDERS("class sub-folders (torchvision ImageFolder)"),
    /** The official flat validation files ({@code ILSVRC2012_val_00000001.JPEG}) labelled by a ground-truth file. */
    FLAT_WITH_GROUND_TRUTH("flat files labelled by a ground-truth file");

    private final String description;

    ImageNetLayout(String description) {
        this.description = description;
    }

    /** For the run's report, e.g. "class sub-folders (torchvision ImageFolder)". */
    public String description() {
        return description;
    }
}
