package org.dfq4j.cli;

import com.google.common.base.Preconditions;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.classify.ClassificationEvaluator;
import org.dfq4j.eval.classify.ClassificationResult;
import org.dfq4j.eval.data.ImageFolderDataset;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.metric.Fidelity;
import org.dfq4j.eval.metric.ImagePrediction;
import org.dfq4j.eval.runtime.Runner;
import org.nd4j.linalg.api.buffer.DataType;

/** Top-1/top-5 on labelled photographs; fidelity = top-1 agreement and logit SQNR against a reference. */
record ClassificationTask(ImageFolderDataset data, Preprocessing preprocessing, int batch, PrintStream progress)
        implements Task {

    @Override
    public Score score(Runner runner, String label) {
        ClassificationResult r = ClassificationEvaluator.of(runner.named(label), preprocessing, batch)
                .withProgress(progress).withRetainedLogits(true).evaluate(data);
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("top1", r.top1());
        m.put("top5", r.top5());
        return new Score(m, r, r.imagesPerSecond(), r.images(), r.report(true));
    }

    /** How the class file met the model's outputs (worked out, never guessed: see LabelAlignment). */
    @Override
    public List<String> describe(Score score) {
        return List.of("labels: " + ((ClassificationResult) score.retained()).labelAlignment());
    }

    @Override
    public Map<String, Double> fidelity(Score reference, Score test) {
        ClassificationResult ref = (ClassificationResult) reference.retained();
        ClassificationResult tst = (ClassificationResult) test.retained();
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("agreement", Fidelity.top1AgreementPercent(ref.predictions(), tst.predictions()));
        m.put("sqnrDb", Fidelity.sqnrDb(ref.logits().orElseThrow(), tst.logits().orElseThrow()));
        return m;
    }

    /** A run's photographs (by file), top-1 outputs and scores [images x classes], row by row. */
    record Outputs(List<String> files, int[] top1, float[] logits, int classes) implements Serializable {
    }

    /** Hits, agreements and SQNR sums over some photographs. */
    record Counts(int images, long top1, long top5, long agreements, Fidelity.Sqnr sqnr, double seconds)
            implements Tally {

        @Override
        public Tally plus(Tally next) {
            Counts n = (Counts) next;
            return new Counts(images + n.images, top1 + n.top1, top5 + n.top5, agreements + n.agreements,
                    sqnr.plus(n.sqnr), seconds + n.seconds);
        }

        @Override
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("top1", 100.0 * top1 / images);
            m.put("top5", 100.0 * top5 / images);
            return m;
        }

        @Override
        public Map<String, Double> fidelity() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("agreement", 100.0 * agreements / images);
            m.put("sqnrDb", sqnr.db());
            return m;
        }
    }

    @Override
    public Outputs outputs(Score score) {
        ClassificationResult r = (ClassificationResult) score.retained();
        float[] logits = r.logits().orElseThrow().castTo(DataType.FLOAT).dup('c').data().asFloat();
        return new Outputs(r.predictions().stream().map(ImagePrediction::file).toList(), r.top1Predictions(), logits,
                logits.length / r.images());
    }

    @Override
    public Tally tally(Score score, Serializable reference) {
        ClassificationResult r = (ClassificationResult) score.retained();
        Outputs ref = (Outputs) reference;
        Outputs mine = outputs(score);
        Preconditions.checkArgument(ref.files().equals(mine.files()) && ref.classes() == mine.classes(),
                "the reference run covers other photographs or classes");
        List<ImagePrediction> p = r.predictions();
        long agreements = 0;
        Fidelity.Sqnr sqnr = new Fidelity.Sqnr();
        for (int i = 0; i < p.size(); i++) {
            agreements += ref.top1()[i] == mine.top1()[i] ? 1 : 0;
            sqnr.add(ref.logits(), mine.logits(), i * mine.classes(), mine.classes());
        }
        return new Counts(p.size(), p.stream().filter(x -> x.hit(1)).count(),
                p.stream().filter(x -> x.hit(ClassificationEvaluator.RANKED)).count(), agreements, sqnr, r.wallSeconds());
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
        return new ClassificationTask(data.without(Task.outside(data.files(), from, to)), preprocessing, batch, progress);
    }

    @Override
    public Kind kind() {
        return Kind.CLASSIFICATION;
    }
}
