package org.dfq4j.eval.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The 200 ImageNet dev photographs against the MobileNetV2 class file and the reference labels. */
class ImageNetDevLabelsTest {

    private static final String IMAGES = "images/imagenet-dev";
    private static final String SYNSETS = "models/imagenet_synsets_1001.txt";
    private static final String REFERENCE = "reference/mobilenet_v2_dev200_fp32.csv";


    @Test
    void labelsAreOnePlusTheSortedSynsetPosition() throws IOException {
        Path images = SharedData.required(IMAGES);
        Path synsetFile = SharedData.required(SYNSETS);
        Path reference = SharedData.required(REFERENCE);
        ImageFolderDataset d = ImageFolderDataset.scan(images, ClassList.read(synsetFile));
        assertEquals(200, d.size());

        // independent: the 1000 synsets (lines 2..1001 of the file) sorted; label = 1 + position
        List<String> sorted = Files.readAllLines(synsetFile).subList(1, 1001).stream().map(String::strip).sorted()
                .toList();
        Map<String, Integer> referenceLabel = new HashMap<>();
        List<String> rows = Files.readAllLines(reference);
        assertEquals("filename,label,pred", rows.get(0));
        for (String row : rows.subList(1, rows.size())) {
            String[] f = row.split(",");
            referenceLabel.put(f[0], Integer.parseInt(f[1]));
        }
        assertEquals(200, referenceLabel.size());
        for (LabeledImage im : d.images()) {
            String synset = im.name().substring(0, im.name().indexOf('_'));
            assertEquals(synset, im.classId());
            assertEquals(1 + sorted.indexOf(synset), im.label(), im.name());
            assertEquals(referenceLabel.get(im.name()), im.label(), im.name());
        }
    }

    @Test
    void realPhotographsIncludingGreyOnesDecodeToRgbInRange() {
        Path images = SharedData.required(IMAGES);
        ImageFolderDataset d = ImageFolderDataset.scan(images, ClassList.read(SharedData.required(SYNSETS)));
        // n02692877_airship.JPEG is a one-component (grey) JPEG
        List<Path> files = List.of(images.resolve("n01440764_tench.JPEG"), images.resolve("n02692877_airship.JPEG"),
                d.files().get(199));
        try (ImageBatches batches = new ImageBatches(files, Preprocessing.INCEPTION, new long[] {3, 224, 224}, 3, 2)) {
            INDArray x = batches.next().images();
            assertArrayEquals(new long[] {3, 3, 224, 224}, x.shape());
            assertTrue(x.minNumber().doubleValue() >= -1 && x.maxNumber().doubleValue() <= 1);
            INDArray grey = x.get(NDArrayIndex.point(1));
            assertEquals(grey.get(NDArrayIndex.point(0)), grey.get(NDArrayIndex.point(1)));
            assertEquals(grey.get(NDArrayIndex.point(0)), grey.get(NDArrayIndex.point(2)));
            // a colour photograph has channels that differ
            INDArray tench = x.get(NDArrayIndex.point(0));
            assertTrue(tench.get(NDArrayIndex.point(0)).sub(tench.get(NDArrayIndex.point(2))).norm1Number()
                    .doubleValue() > 100);
        }
    }
}
