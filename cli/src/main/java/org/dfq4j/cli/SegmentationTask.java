package org.dfq4j.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.segmentation.ConfusionMatrix;
import org.dfq4j.eval.segmentation.SegmentationDataset;
import org.dfq4j.eval.segmentation.SegmentationEvaluator;
import org.dfq4j.eval.segmentation.SegmentationFidelity;
import org.dfq4j.eval.segmentation.SegmentationResult;
import org.dfq4j.rewrite.graph.Network;

/** Mean IoU and pixel accuracy against masks; fidelity = mIoU of a run's masks against a reference run's. */
record SegmentationTask(SegmentationDataset data, Preprocessing preprocessing, int batch, List<String> classNames,
                        PrintStream progress) implements Task {

    @Override
    public String name() {
        return "segmentation";
    }

    @Override
    public List<String> tableColumns() {
        return List.of("mIoU", "pixelAccuracy");
    }

    @Override
    public Score score(Network net, String label) {
        SegmentationEvaluator ev = SegmentationEvaluator.of(net.withName(label), preprocessing, batch)
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
        return new Score(m, r, r.imagesPerSecond(), r.toMap());
    }

    @Override
    public List<String> overlayFiles() {
        return data.samples().stream().map(x -> org.dfq4j.eval.overlay.OverlayWriter.fileName(x.name())).toList();
    }

    @Override
    public int writeOverlays(Score reference, Score test, java.nio.file.Path dir) {
        SegmentationResult ref = (SegmentationResult) reference.retained();
        SegmentationResult tst = (SegmentationResult) test.retained();
        org.dfq4j.eval.overlay.OverlayWriter w = new org.dfq4j.eval.overlay.OverlayWriter(dir);
        List<org.dfq4j.eval.segmentation.SegmentationSample> samples = data.samples();
        for (int i = 0; i < samples.size(); i++) {
            w.writeMasks(samples.get(i).name(), org.dfq4j.eval.image.RgbDecoder.read(samples.get(i).image()),
                    ref.masks().orElseThrow().get(i), tst.masks().orElseThrow().get(i));
        }
        return samples.size();
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
}
