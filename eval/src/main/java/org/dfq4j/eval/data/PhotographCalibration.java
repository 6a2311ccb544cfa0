package org.dfq4j.eval.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Calibration images from photographs: the first n (sorted by file name), decoded and preprocessed
 * like the evaluation photographs, in batches of 8. Decoded once per input shape and reused.
 */
public final class PhotographCalibration implements Calibration {

    /** Photographs per calibration batch. */
    public static final int BATCH = 8;

    private final List<Path> files;
    private final Preprocessing preprocessing;
    private final String description;
    private List<INDArray> loaded;
    private long[] loadedShape;
    private int loadedCount;

    private PhotographCalibration(List<Path> files, Preprocessing preprocessing, String description) {
        this.files = List.copyOf(files);
        this.preprocessing = preprocessing;
        this.description = description;
    }

    /**
     * The photographs of a folder.
     *
     * @throws DfqException when the folder does not exist or holds no photographs
     */
    public static PhotographCalibration folder(Path dir, Preprocessing preprocessing) {
        if (!Files.isDirectory(dir)) {
            throw new DfqException("calibration folder " + dir + " does not exist or is not a folder");
        }
        List<Path> files = Photographs.in(dir);
        if (files.isEmpty()) {
            throw new DfqException("calibration folder " + dir + " holds no photographs (" + Photographs.extensionList()
                    + ")");
        }
        return new PhotographCalibration(files, preprocessing, files.size() + " photographs in " + dir);
    }

    /** Given photographs, in the order they are used. */
    public static PhotographCalibration of(List<Path> files, Preprocessing preprocessing, String description) {
        return new PhotographCalibration(files, preprocessing, description);
    }

    /** How many photographs there are. */
    public int size() {
        return files.size();
    }

    /** The photographs, in the order they are used. */
    public List<Path> files() {
        return files;
    }

    /** These photographs without {@code left} (say, ones that cannot be decoded). */
    public PhotographCalibration without(Set<Path> left, String description) {
        return new PhotographCalibration(files.stream().filter(f -> !left.contains(f)).toList(), preprocessing, description);
    }

    @Override
    public synchronized List<INDArray> batches(int n, long[] inputShape) {
        if (files.size() < n) {
            throw new DfqException(description + ": " + files.size() + " photographs, " + n
                    + " calibration images needed; give more photographs or ask for fewer");
        }
        if (loaded == null || loadedCount != n || !Arrays.equals(loadedShape, inputShape)) {
            List<INDArray> batches = new ArrayList<>();
            try (ImageBatches it = new ImageBatches(files.subList(0, n), preprocessing, inputShape, BATCH,
                    ImageBatches.defaultDecodeThreads())) {
                while (it.hasNext()) {
                    batches.add(it.next().images());
                }
            }
            loaded = List.copyOf(batches);
            loadedShape = inputShape.clone();
            loadedCount = n;
        }
        return loaded;
    }

    @Override
    public String description() {
        return description;
    }
}
