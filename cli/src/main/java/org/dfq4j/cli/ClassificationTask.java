package org.dfq4j.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.classify.ClassificationEvaluator;
import org.dfq4j.eval.classify.ClassificationResult;
import org.dfq4j.eval.data.ImageFolderDataset;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.metric.Fidelity;
import org.dfq4j.eval.runtime.Runner;

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

    @Override
    public Kind kind() {
        return Kind.CLASSIFICATION;
    }
}
