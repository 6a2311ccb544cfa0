package org.dfq4j.cli;

import com.google.common.base.Preconditions;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.eval.detection.AnnotatedImage;
import org.dfq4j.eval.detection.Detection;
import org.dfq4j.eval.detection.DetectionDataset;
import org.dfq4j.eval.detection.DetectionEvaluator;
import org.dfq4j.eval.detection.DetectionFidelity;
import org.dfq4j.eval.detection.DetectionResult;
import org.dfq4j.eval.detection.GroundTruthBox;
import org.dfq4j.eval.detection.LabelMap;
import org.dfq4j.eval.detection.MeanAveragePrecision;
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
            for (Detection d : r.detections().get(i)) {
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

    /** A run's detections, by image name. */
    record Found(List<String> names, List<List<Detection>> detections) implements Serializable {
    }

    /**
     * Detection lists over some photographs, with their ground-truth boxes and the reference run's
     * detections: mAP is not additive, its inputs are (concatenated in photograph order).
     */
    record Lists(List<List<Detection>> detections, List<List<GroundTruthBox>> truths, boolean groundTruth,
                 List<List<Detection>> reference, double iouThreshold, double seconds) implements Tally {

        @Override
        public Tally plus(Tally next) {
            Lists n = (Lists) next;
            return new Lists(concat(detections, n.detections), concat(truths, n.truths), groundTruth,
                    concat(reference, n.reference), iouThreshold, seconds + n.seconds);
        }

        private static <T> List<T> concat(List<T> a, List<T> b) {
            List<T> all = new ArrayList<>(a);
            all.addAll(b);
            return all;
        }

        @Override
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            if (groundTruth) {
                MeanAveragePrecision map = new MeanAveragePrecision(iouThreshold);
                for (int i = 0; i < detections.size(); i++) {
                    map.add(detections.get(i), truths.get(i));
                }
                if (!Double.isNaN(map.mean())) {
                    m.put("mAP", 100 * map.mean());
                }
            }
            m.put("detectionsPerImage", detections.stream().mapToInt(List::size).average().orElse(0));
            return m;
        }

        @Override
        public Map<String, Double> fidelity() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("mAP", 100 * DetectionFidelity.compare(reference, detections,
                    DetectionFidelity.DEFAULT_MIN_REFERENCE_SCORE, iouThreshold).mean());
            return m;
        }

        @Override
        public int images() {
            return detections.size();
        }
    }

    @Override
    public Found outputs(Score score) {
        DetectionResult r = (DetectionResult) score.retained();
        return new Found(r.names(), r.detections());
    }

    @Override
    public Tally tally(Score score, Serializable reference) {
        DetectionResult r = (DetectionResult) score.retained();
        Found ref = (Found) reference;
        Preconditions.checkArgument(ref.names().equals(r.names()), "the reference run covers other photographs");
        return new Lists(r.detections(), data.images().stream().map(AnnotatedImage::objects).toList(),
                data.hasGroundTruth(), ref.detections(), r.iouThreshold(), r.wallSeconds());
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public List<Path> files() {
        return data.files();
    }

    @Override
    public Task slice(int from, int to) {
        return new DetectionTask(data.without(Task.outside(data.files(), from, to)), preprocessing, batch, labels, progress);
    }

    @Override
    public Kind kind() {
        return Kind.DETECTION;
    }
}
