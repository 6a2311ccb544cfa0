package org.dfq4j.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.eval.detection.AnnotatedImage;
import org.dfq4j.eval.detection.DetectionDataset;
import org.dfq4j.eval.detection.DetectionEvaluator;
import org.dfq4j.eval.detection.DetectionFidelity;
import org.dfq4j.eval.detection.DetectionResult;
import org.dfq4j.eval.detection.LabelMap;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.image.RgbDecoder;
import org.dfq4j.eval.overlay.OverlayWriter;
import org.dfq4j.eval.runtime.Runner;

/** VOC mAP@0.5 against boxes; fidelity = mAP of a run's detections against a reference run's (score >= 0.5). */
record DetectionTask(DetectionDataset data, Preprocessing preprocessing, int batch, LabelMap labels,
                     PrintStream progress) implements Task {

    @Override
    public Score score(Runner runner, String label) {
        DetectionEvaluator ev = DetectionEvaluator.of(runner.named(label), batch).withProgress(progress);
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
        return new Score(m, r, r.imagesPerSecond(), r.images(), r.report(true, labels));
    }

    @Override
    public List<String> overlayNames() {
        return data.images().stream().map(AnnotatedImage::name).toList();
    }

    @Override
    public void drawOverlay(OverlayWriter w, int i, Score reference, Score test) {
        AnnotatedImage image = data.images().get(i);
        w.writeDetections(image.name(), RgbDecoder.read(image.image()),
                ((DetectionResult) reference.retained()).detections().get(i),
                ((DetectionResult) test.retained()).detections().get(i), labels, OVERLAY_MIN_SCORE);
    }

    @Override
    public List<String> describe(Score score) {
        DetectionResult r = (DetectionResult) score.retained();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < r.images(); i++) {
            StringBuilder sb = new StringBuilder(r.names().get(i)).append(":");
            int shown = 0;
            for (org.dfq4j.eval.detection.Detection d : r.detections().get(i)) {
                if (d.score() >= OVERLAY_MIN_SCORE && shown < 5) {
                    sb.append(String.format(Locale.ROOT, " %s %.2f",
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

    @Override
    public Kind kind() {
        return Kind.DETECTION;
    }
}
