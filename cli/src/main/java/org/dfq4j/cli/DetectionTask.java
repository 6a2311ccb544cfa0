package org.dfq4j.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.detection.DetectionDataset;
import org.dfq4j.eval.detection.DetectionEvaluator;
import org.dfq4j.eval.detection.DetectionFidelity;
import org.dfq4j.eval.detection.DetectionResult;
import org.dfq4j.eval.detection.LabelMap;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.graph.Network;

/** VOC mAP@0.5 against boxes; fidelity = mAP of a run's detections against a reference run's (score >= 0.5). */
record DetectionTask(DetectionDataset data, Preprocessing preprocessing, int batch, LabelMap labels,
                     PrintStream progress) implements Task {

    @Override
    public String name() {
        return "detection";
    }

    @Override
    public List<String> tableColumns() {
        return List.of("mAP");
    }

    @Override
    public Score score(Network net, String label) {
        DetectionEvaluator ev = DetectionEvaluator.of(net.withName(label), batch).withProgress(progress);
        if (preprocessing != null) {
            ev = ev.withPreprocessing(preprocessing);
        }
        if (labels != null) {
            ev = ev.withLabels(labels);
        }
        DetectionResult r = ev.evaluate(data);
        Map<String, Double> m = new LinkedHashMap<>();
        if (r.hasGroundTruth()) {
            m.put("mAP", 100 * r.meanAp());
        }
        m.put("detectionsPerImage", r.detectionsPerImage());
        return new Score(m, r, r.imagesPerSecond(), r.toMap(true, labels));
    }

    @Override
    public List<String> overlayFiles() {
        return data.images().stream().map(x -> org.dfq4j.eval.overlay.OverlayWriter.fileName(x.name())).toList();
    }

    @Override
    public int writeOverlays(Score reference, Score test, java.nio.file.Path dir) {
        DetectionResult ref = (DetectionResult) reference.retained();
        DetectionResult tst = (DetectionResult) test.retained();
        org.dfq4j.eval.overlay.OverlayWriter w = new org.dfq4j.eval.overlay.OverlayWriter(dir);
        var images = data.images();
        for (int i = 0; i < images.size(); i++) {
            w.writeDetections(images.get(i).name(), org.dfq4j.eval.image.RgbDecoder.read(images.get(i).image()),
                    ref.detections().get(i), tst.detections().get(i), labels, OVERLAY_MIN_SCORE);
        }
        return images.size();
    }

    @Override
    public List<String> describe(Score score) {
        DetectionResult r = (DetectionResult) score.retained();
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < r.images(); i++) {
            StringBuilder sb = new StringBuilder(r.names().get(i)).append(":");
            int shown = 0;
            for (org.dfq4j.eval.detection.Detection d : r.detections().get(i)) {
                if (d.score() >= OVERLAY_MIN_SCORE && shown < 5) {
                    sb.append(String.format(java.util.Locale.ROOT, " %s %.2f",
                            labels == null ? "class " + d.classId() : labels.name(d.classId()), d.score()));
                    shown++;
                }
            }
            lines.add(shown == 0 ? sb.append(" nothing above ").append(OVERLAY_MIN_SCORE).toString() : sb.toString());
        }
        return lines;
    }

    /** Detections drawn on overlays: those a person would call found. */
    static final float OVERLAY_MIN_SCORE = 0.5f;

    @Override
    public Map<String, Double> fidelity(Score reference, Score test) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("mAP", 100 * DetectionFidelity.compare((DetectionResult) reference.retained(),
                (DetectionResult) test.retained(), DetectionFidelity.DEFAULT_MIN_REFERENCE_SCORE).mean());
        return m;
    }
}
