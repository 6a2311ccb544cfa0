package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.dfq4j.eval.classify.ClassificationEvaluator;
import org.dfq4j.eval.classify.ClassificationResult;
import org.dfq4j.eval.classify.Classifier;
import org.dfq4j.eval.data.ClassList;
import org.dfq4j.eval.data.GroundTruth;
import org.dfq4j.eval.data.ImageFolderDataset;
import org.dfq4j.eval.data.ImageNetLayout;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.testing.SharedData;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The 200 ImageNet dev photographs laid out (with symbolic links) in each of the three layouts that
 * {@code dfq eval} detects give the same top-1 and top-5, photograph by photograph, with MobileNetV2
 * (1001 outputs): {@code <synset>_*.JPEG} with the 1001-line class file, torchvision's class
 * sub-folders with a 1000-line class file (the background offset worked out), and the official flat
 * file names, in another order, with {@code LOC_val_solution.csv}.
 */
class ImageNetLayoutsTopOneTest {

    @TempDir
    Path dir;


    @Test
    void threeLayoutsGiveTheSameTop1() throws Exception {
        Path photos = SharedData.required("images/imagenet-dev");
        Path model = SharedData.required("models/mobilenet_v2_1.0_224_ptq.tflite");
        Path synsets1001 = SharedData.required("models/imagenet_synsets_1001.txt");
        List<String> lines = Files.readAllLines(synsets1001);
        Path synsets1000 = Files.write(dir.resolve("synsets_1000.txt"), lines.subList(1, lines.size()));

        Path folders = Files.createDirectory(dir.resolve("val"));
        Path flat = Files.createDirectory(dir.resolve("flat"));
        List<String> csv = new ArrayList<>(List.of("ImageId,PredictionString"));
        Map<String, String> synsetOfOfficial = new TreeMap<>();
        List<Path> files;
        try (var s = Files.list(photos)) {
            files = s.filter(p -> p.toString().endsWith(".JPEG")).sorted().toList();
        }
        assertEquals(200, files.size());
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i).toAbsolutePath();
            String synset = ImageFolderDataset.classIdOf(f.getFileName().toString());
            String official = String.format("ILSVRC2012_val_%08d", 200 - i); // another order than the synsets'
            Files.createDirectories(folders.resolve(synset));
            Files.createSymbolicLink(folders.resolve(synset).resolve(official + ".JPEG"), f);
            Files.createSymbolicLink(flat.resolve(official + ".JPEG"), f);
            csv.add(official + "," + synset + " 10 20 100 200");
            synsetOfOfficial.put(official + ".JPEG", synset);
        }
        Path groundTruth = Files.write(dir.resolve("LOC_val_solution.csv"), csv);

        ClassList classes1001 = ClassList.read(synsets1001);
        ClassList classes1000 = ClassList.read(synsets1000);
        Network net = ModelFiles.read(model.toString());
        Classifier memo = new RowMemo(Classifier.of(net));
        ClassificationResult prefix = evaluate(memo, ImageFolderDataset.scan(photos, classes1001));
        ImageFolderDataset foldersData = ImageFolderDataset.scan(folders, classes1000);
        ClassificationResult imageFolder = evaluate(memo, foldersData);
        ImageFolderDataset flatData = ImageFolderDataset.scan(flat, classes1001, Integer.MAX_VALUE,
                GroundTruth.read(groundTruth));
        ClassificationResult official = evaluate(memo, flatData);

        assertEquals(ImageNetLayout.CLASS_FOLDERS, foldersData.layout());
        assertEquals(ImageNetLayout.FLAT_WITH_GROUND_TRUTH, flatData.layout());
        assertTrue(imageFolder.labelAlignment().contains("output 0 is background"), imageFolder.labelAlignment());
        assertTrue(prefix.top1() > 80, "MobileNetV2 top-1 on the dev photographs: " + prefix.top1());
        assertEquals(prefix.top1(), imageFolder.top1(), 1e-9);
        assertEquals(prefix.top1(), official.top1(), 1e-9);
        assertEquals(prefix.top5(), imageFolder.top5(), 1e-9);
        assertEquals(prefix.top5(), official.top5(), 1e-9);

        // photograph by photograph: the predicted synset of each file is the same in every layout
        Map<String, String> byOriginal = predictedSynsets(prefix, classes1001);
        assertEquals(200, byOriginal.size());
        for (ClassificationResult r : List.of(imageFolder, official)) {
            ClassList c = r == imageFolder ? classes1000 : classes1001;
            int same = 0;
            for (Map.Entry<String, String> e : predictedSynsets(r, c).entrySet()) {
                String original = files.get(200 - Integer.parseInt(e.getKey().substring(15, 23))).getFileName().toString();
                assertEquals(synsetOfOfficial.get(e.getKey()), ImageFolderDataset.classIdOf(original));
                same += e.getValue().equals(byOriginal.get(original)) ? 1 : 0;
            }
            assertEquals(200, same, r.dataset());
        }
        assertEquals(200, ((RowMemo) memo).computed, "each photograph ran through the network once");
    }

    private static ClassificationResult evaluate(Classifier c, ImageFolderDataset d) {
        return new ClassificationEvaluator("mobilenet_v2", c, new long[] {3, 224, 224}, Preprocessing.INCEPTION, 20)
                .withProgress(null).evaluate(d);
    }

    /** File name -> synset of the top-1 prediction. */
    private static Map<String, String> predictedSynsets(ClassificationResult r, ClassList classes) {
        Map<String, String> m = new TreeMap<>();
        r.predictions().forEach(p -> m.put(p.file(), classes.id(p.top1())));
        return m;
    }

    /**
     * The network's scores for each input row, computed once per distinct row (the three layouts hold
     * the same 200 photographs, so the network runs 200 times, not 600): rows are keyed by their exact
     * float contents, so a row differing in any bit would run again.
     */
    private static final class RowMemo implements Classifier {
        private final Classifier inner;
        private final Map<String, INDArray> rows = new HashMap<>();
        int computed;

        RowMemo(Classifier inner) {
            this.inner = inner;
        }

        @Override
        public INDArray logits(INDArray images) {
            List<INDArray> out = new ArrayList<>();
            List<Integer> missing = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < images.size(0); i++) {
                String key = Arrays.toString(images.slice(i).dup().data().asFloat());
                keys.add(key);
                if (!rows.containsKey(key)) {
                    missing.add(i);
                }
            }
            if (!missing.isEmpty()) {
                INDArray batch = Nd4j.concat(0, missing.stream().map(i -> images.slice(i).dup()
                        .reshape(1, 3, 224, 224)).toArray(INDArray[]::new));
                INDArray scores = inner.logits(batch);
                for (int j = 0; j < missing.size(); j++) {
                    rows.put(keys.get(missing.get(j)), scores.slice(j).dup());
                    computed++;
                }
            }
            for (String k : keys) {
                out.add(rows.get(k).reshape(1, -1));
            }
            return Nd4j.concat(0, out.toArray(INDArray[]::new));
        }
    }
}
