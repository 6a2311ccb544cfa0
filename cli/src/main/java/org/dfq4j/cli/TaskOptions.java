package org.dfq4j.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.dfq4j.eval.data.ClassList;
import org.dfq4j.eval.data.GroundTruth;
import org.dfq4j.eval.data.Holdout;
import org.dfq4j.eval.data.ImageBatches;
import org.dfq4j.eval.data.ImageFolderDataset;
import org.dfq4j.eval.detection.DetectionDataset;
import org.dfq4j.eval.detection.LabelMap;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.segmentation.SegmentationDataset;
import org.dfq4j.eval.segmentation.SegmentationSample;
import org.dfq4j.rewrite.DfqException;
import picocli.CommandLine.Option;

/** What to evaluate on: the task, the photographs, their labels and the preprocessing. */
final class TaskOptions {

    @Option(names = "--task", paramLabel = "TASK", defaultValue = "classification",
            description = "what the model does: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    TaskKind task;

    @Option(names = "--images", required = true, paramLabel = "DIR",
            description = "classification: an ImageNet folder in any of three layouts (detected): <synset>_<name>.JPEG "
                    + "photographs, one sub-folder per synset (torchvision ImageFolder), or flat files with "
                    + "--ground-truth; segmentation: a Pascal VOC root or a "
                    + "folder of <name>.jpg + <name>_mask.png pairs (or photographs alone: fidelity only); detection: "
                    + "a Pascal VOC root, or photographs (fidelity only)")
    Path images;

    @Option(names = "--labels", paramLabel = "FILE",
            description = "classification: class file, line i = class id (synset) of output i (required); "
                    + "segmentation/detection: class names, line i = class i (optional)")
    Path labels;

    @Option(names = "--ground-truth", paramLabel = "FILE",
            description = "classification of flat validation files (ILSVRC2012_val_*.JPEG): LOC_val_solution.csv, or "
                    + "lines '<file> <synset>' or '<file> <index>' (0-based, sorted-synset order)")
    Path groundTruth;

    @Option(names = "--annotations", paramLabel = "PATH",
            description = "detection: a COCO instances JSON for the photographs in --images")
    Path annotations;

    @Option(names = "--split", paramLabel = "NAME", description = "Pascal VOC split (ImageSets/*/NAME.txt), e.g. val")
    String split;

    @Option(names = "--preprocess", paramLabel = "NAME|SPEC", converter = Converters.Preprocess.class,
            description = "preset named after its origin (inception, torchvision, darknet, deeplab) or a spec such as "
                    + "crop=0.875,scale=0.0078431,offset=-1 (default: what a file from dfq export records; classification "
                    + "torchvision for other .onnx models, inception otherwise; deeplab for segmentation and detection)")
    Preprocessing preprocess;

    @Option(names = "--limit", paramLabel = "N", description = "use only the first N photographs (sorted by name)")
    Integer limit;

    @Option(names = "--holdout", paramLabel = "N",
            description = "hold N of the photographs out for calibration and evaluate the others: of the M photographs "
                    + "in name order (after --limit), those at positions floor(j*M/N), j = 0..N-1 (every M/N-th); "
                    + "calibration uses them (--calib defaults to N), so it is disjoint from the evaluation")
    Integer holdout;

    @Option(names = "--skip-bad-images", description = "leave out photographs that cannot be decoded (damaged, "
            + "truncated) and say which, instead of stopping with an error; they are found by decoding every "
            + "photograph once before the run")
    boolean skipBadImages;

    /** The files and folders this task reads (for the output checks). */
    List<Path> inputs() {
        List<Path> in = new ArrayList<>();
        for (Path p : new Path[] {images, labels, groundTruth, annotations}) {
            if (p != null) {
                in.add(p);
            }
        }
        return in;
    }

    /** The model the task runs: its format (and an exported file's own record) picks the default preprocessing. */
    private String model = "";

    /** Sets the model whose format picks the default preprocessing (see {@link TaskKind#defaultPreprocessing}). */
    TaskOptions forModel(String modelSpec) {
        this.model = modelSpec == null ? "" : modelSpec;
        return this;
    }

    Preprocessing preprocessing() {
        return preprocess != null ? preprocess : task.defaultPreprocessing(model).preprocessing();
    }

    /** The preprocessing for reports: preset name, spec, and whether it is a default and why. */
    String describePreprocessing() {
        return preprocessing().describe() + (preprocess != null ? ""
                : ", " + task.defaultPreprocessing(model).why() + " (--preprocess to change)");
    }

    private int limit() {
        if (limit != null && limit < 1) {
            throw new DfqException("--limit must be at least 1, got " + limit);
        }
        return limit == null ? Integer.MAX_VALUE : limit;
    }

    /**
     * The task with its dataset, the photographs (for calibration when no other folder is given), and
     * the photographs left out as undecodable (with --skip-bad-images), each with the reason.
     */
    record Built(Task task, List<Path> photographs, String description, Map<Path, String> skipped,
                 List<Path> heldOut) {

        Built(Task task, List<Path> photographs, String description, Map<Path, String> skipped) {
            this(task, photographs, description, skipped, List.of());
        }

        /** One line naming the photographs left out, if any. */
        void reportSkipped(PrintWriter out) {
            if (!skipped.isEmpty()) {
                out.println(skippedLine(skipped, photographs.size() + skipped.size()));
            }
        }
    }

    static String skippedLine(Map<Path, String> skipped, int of) {
        return "warning: skipped " + skipped.size() + " of " + of + " photographs that cannot be decoded: "
                + skipped.keySet().stream().map(p -> p.getFileName().toString()).collect(Collectors.joining(", "));
    }

    /** The photographs among {@code files} that decode, or an error when none does. */
    static Map<Path, String> undecodable(List<Path> files, String where) {
        Map<Path, String> bad = Photographs.undecodable(files, ImageBatches.defaultDecodeThreads());
        if (!files.isEmpty() && bad.size() == files.size()) {
            throw new DfqException("none of the " + files.size() + " photographs in " + where + " can be decoded; first: "
                    + bad.values().iterator().next());
        }
        return bad;
    }

    /** The task on every photograph the options select (none left out yet). */
    Built build(int batch, PrintStream progress) {
        return build(batch, progress, Map.of());
    }

    /**
     * With --skip-bad-images, the task without the photographs that cannot be decoded (each is decoded
     * once to find out); otherwise {@code built} itself.
     */
    Built withoutUndecodable(Built built, int batch, PrintStream progress) {
        if (!skipBadImages) {
            return built;
        }
        Map<Path, String> bad = undecodable(built.photographs(), images.toString());
        return bad.isEmpty() ? built : build(batch, progress, bad);
    }

    /** The task without the photographs {@code bad} (found undecodable before); progress to {@code progress} (or none). */
    Built build(int batch, PrintStream progress, Map<Path, String> bad) {
        Preprocessing pre = preprocessing();
        switch (task) {
            case CLASSIFICATION -> {
                if (labels == null) {
                    throw new DfqException("--labels CLASSFILE is required for classification (line i = class id of output i)");
                }
                ImageFolderDataset d = ImageFolderDataset.scan(images, ClassList.read(labels), limit(),
                        groundTruth == null ? null : GroundTruth.read(groundTruth));
                Holdout h = holdout(d.files());
                d = d.without(union(h.calibration(), bad.keySet()));
                return new Built(new ClassificationTask(d, pre, batch, progress), d.files(),
                        d.size() + " photographs from " + images + ": " + d.describe() + holdoutNote(h) + skippedNote(bad),
                        bad, without(h.calibration(), bad.keySet()));
            }
            case SEGMENTATION -> {
                if (groundTruth != null) {
                    throw new DfqException("--ground-truth labels classification photographs; segmentation reads masks");
                }
                SegmentationDataset d = segmentationData();
                if (limit != null) {
                    d = d.first(limit());
                }
                Holdout h = holdout(d.samples().stream().map(SegmentationSample::image).toList());
                d = d.without(union(h.calibration(), bad.keySet()));
                List<String> names = labels == null ? null : ClassList.read(labels).ids();
                return new Built(new SegmentationTask(d, pre, batch, names, progress),
                        d.samples().stream().map(SegmentationSample::image).toList(),
                        d.samples().size() + " photographs from " + images + (d.hasMasks() ? "" : " (no masks: fidelity only)")
                                + holdoutNote(h) + skippedNote(bad), bad, without(h.calibration(), bad.keySet()));
            }
            default -> {
                if (groundTruth != null) {
                    throw new DfqException("--ground-truth labels classification photographs; for detection use --annotations");
                }
                LabelMap map = labels == null ? null : LabelMap.read(labels);
                DetectionDataset d = detectionData(map);
                if (limit != null) {
                    d = d.first(limit());
                }
                Holdout h = holdout(d.images().stream().map(a -> a.image()).toList());
                d = d.without(union(h.calibration(), bad.keySet()));
                return new Built(new DetectionTask(d, preprocess == null ? null : pre, batch, map, progress),
                        d.images().stream().map(a -> a.image()).toList(),
                        d.images().size() + " photographs from " + images + (d.hasGroundTruth() ? "" : " (no boxes: fidelity only)")
                                + holdoutNote(h) + skippedNote(bad), bad, without(h.calibration(), bad.keySet()));
            }
        }
    }

    /** The --holdout split of {@code photographs} (in the dataset's order); none held out without --holdout. */
    private Holdout holdout(List<Path> photographs) {
        return holdout == null ? new Holdout(List.of(), photographs) : Holdout.of(photographs, holdout);
    }

    private static String holdoutNote(Holdout h) {
        return h.calibration().isEmpty() ? "" : " (--holdout: " + h.describe() + ")";
    }

    private static Set<Path> union(List<Path> a, Set<Path> b) {
        Set<Path> u = new HashSet<>(a);
        u.addAll(b);
        return u;
    }

    private static List<Path> without(List<Path> files, Set<Path> left) {
        return files.stream().filter(f -> !left.contains(f)).toList();
    }

    private static String skippedNote(Map<Path, String> bad) {
        return bad.isEmpty() ? "" : " (" + bad.size() + " undecodable skipped)";
    }

    private SegmentationDataset segmentationData() {
        if (Files.isDirectory(images.resolve("SegmentationClass"))) {
            return SegmentationDataset.voc(images, split == null ? "val" : split);
        }
        if (!Files.isDirectory(images)) {
            throw new DfqException("image folder " + images + " does not exist or is not a folder");
        }
        try (var files = Files.list(images)) {
            boolean masks = files.anyMatch(f -> f.getFileName().toString().contains(SegmentationDataset.MASK_SUFFIX + "."));
            return masks ? SegmentationDataset.pairedFolder(images) : SegmentationDataset.photographs(images);
        } catch (java.io.IOException e) {
            throw new DfqException("cannot list image folder " + images + ": " + e.getMessage(), e);
        }
    }

    private DetectionDataset detectionData(LabelMap map) {
        if (annotations != null) {
            if (map == null) {
                throw new DfqException("--annotations needs --labels (the model's label file) to map category names");
            }
            return DetectionDataset.coco(annotations, images, map);
        }
        if (Files.isDirectory(images.resolve("Annotations"))) {
            if (map == null) {
                throw new DfqException("a Pascal VOC folder needs --labels (the model's label file) to map class names");
            }
            return DetectionDataset.voc(images, split, map);
        }
        return DetectionDataset.photographs(images);
    }
}
