package org.dfq4j.cli;

import com.google.common.base.Preconditions;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.image.RgbDecoder;
import org.dfq4j.eval.overlay.OverlayWriter;
import org.dfq4j.eval.segmentation.ConfusionMatrix;
import org.dfq4j.eval.segmentation.LabelMask;
import org.dfq4j.eval.segmentation.SegmentationDataset;
import org.dfq4j.eval.segmentation.SegmentationEvaluator;
import org.dfq4j.eval.segmentation.SegmentationFidelity;
import org.dfq4j.eval.segmentation.SegmentationResult;
import org.dfq4j.eval.segmentation.SegmentationSample;
import org.dfq4j.eval.runtime.Runner;

/** Mean IoU and pixel accuracy against masks; fidelity = mIoU of a run's masks against a reference run's. */
record SegmentationTask(SegmentationDataset data, Preprocessing preprocessing, int batch, List<String> classNames,
                        PrintStream progress) implements Task {

    @Override
    public Score score(Runner runner, String label) {
        SegmentationEvaluator ev = SegmentationEvaluator.of(runner.named(label), preprocessing, batch)
                .withProgress(progress).withRetainedMasks(true);
        if (classNames != null) {
            ev = ev.withClassNames(classNames);
        }
        SegmentationResult r = ev.evaluate(data);
        Map<String, Double> m = new LinkedHashMap<>();
        if (r.hasGroundTruth()) {
            m.put("mIoU", 100 * r.meanIou());
            m.put("pixelAccuracy", 100 * r.pixelAccuracy());
        }
        return new Score(m, r, r.imagesPerSecond(), r.images(), r.report());
    }

    @Override
    public List<String> overlayNames() {
        return data.samples().stream().map(SegmentationSample::name).toList();
    }

    @Override
    public void drawOverlay(OverlayWriter w, int i, Score reference, Score test) {
        SegmentationSample sample = data.samples().get(i);
        w.writeMasks(sample.name(), RgbDecoder.read(sample.image()),
                ((SegmentationResult) reference.retained()).masks().orElseThrow().get(i),
                ((SegmentationResult) test.retained()).masks().orElseThrow().get(i));
    }

    @Override
    public Map<String, Double> fidelity(Score reference, Score test) {
        return values(SegmentationFidelity.compare((SegmentationResult) reference.retained(),
                (SegmentationResult) test.retained()));
    }

    /** A run's predicted masks, by sample name. */
    record Masks(List<String> names, List<LabelMask> masks) implements Serializable {
    }

    /** Pixel counts over some photographs: against the masks (null without them) and against the reference run. */
    record Confusions(int images, ConfusionMatrix truth, ConfusionMatrix reference, double seconds) implements Tally {

        @Override
        public Tally plus(Tally next) {
            Confusions n = (Confusions) next;
            return new Confusions(images + n.images, truth == null || n.truth == null ? null : truth.plus(n.truth),
                    reference.plus(n.reference), seconds + n.seconds);
        }

        @Override
        public Map<String, Double> metrics() {
            return truth == null || Double.isNaN(truth.meanIou()) ? new LinkedHashMap<>() : values(truth);
        }

        @Override
        public Map<String, Double> fidelity() {
            return values(reference);
        }
    }

    private static Map<String, Double> values(ConfusionMatrix c) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("mIoU", 100 * c.meanIou());
        m.put("pixelAccuracy", 100 * c.pixelAccuracy());
        return m;
    }

    @Override
    public Masks outputs(Score score) {
        SegmentationResult r = (SegmentationResult) score.retained();
        return new Masks(r.names(), r.masks().orElseThrow());
    }

    @Override
    public Tally tally(Score score, Serializable reference) {
        SegmentationResult r = (SegmentationResult) score.retained();
        Masks ref = (Masks) reference;
        List<LabelMask> predicted = r.masks().orElseThrow();
        ConfusionMatrix truth = null;
        if (data.hasMasks()) {
            truth = new ConfusionMatrix(r.classes());
            for (int i = 0; i < predicted.size(); i++) {
                Path mask = data.samples().get(i).mask().orElseThrow();
                truth.add(LabelMask.read(mask), predicted.get(i), mask.toString());
            }
        }
        Preconditions.checkArgument(ref.names().equals(r.names()), "the reference run covers other photographs");
        return new Confusions(r.images(), truth, SegmentationFidelity.compare(ref.masks(), predicted, r.classes(),
                r.names()), r.wallSeconds());
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public List<Path> files() {
        List<Path> files = new java.util.ArrayList<>();
        for (SegmentationSample s : data.samples()) {
            files.add(s.image());
            s.mask().ifPresent(files::add);
        }
        return files;
    }

    @Override
    public Task slice(int from, int to) {
        List<Path> files = data.samples().stream().map(SegmentationSample::image).toList();
        return new SegmentationTask(data.without(Task.outside(files, from, to)), preprocessing, batch, classNames, progress);
    }

    @Override
    public Kind kind() {
        return Kind.SEGMENTATION;
    }
}
