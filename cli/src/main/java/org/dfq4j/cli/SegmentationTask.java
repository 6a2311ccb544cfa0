package org.dfq4j.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.image.RgbDecoder;
import org.dfq4j.eval.overlay.OverlayWriter;
import org.dfq4j.eval.segmentation.ConfusionMatrix;
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
        ConfusionMatrix c = SegmentationFidelity.compare((SegmentationResult) reference.retained(),
                (SegmentationResult) test.retained());
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("mIoU", 100 * c.meanIou());
        m.put("pixelAccuracy", 100 * c.pixelAccuracy());
        return m;
    }

    @Override
    public Kind kind() {
        return Kind.SEGMENTATION;
    }
}
