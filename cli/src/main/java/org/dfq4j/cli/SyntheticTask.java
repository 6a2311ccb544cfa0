package org.dfq4j.cli;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.metric.Fidelity;
import org.dfq4j.eval.runtime.Runner;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Generated inputs, no ground truth: fidelity only (logit SQNR and top-1 agreement with a reference). */
record SyntheticTask(INDArray images, int batch) implements Task {

    @Override
    public Score score(Runner net, String label) {
        long n = images.size(0);
        List<INDArray> parts = new ArrayList<>();
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i += batch) {
            INDArray x = images.get(NDArrayIndex.interval(i, Math.min(n, i + batch)), NDArrayIndex.all(),
                    NDArrayIndex.all(), NDArrayIndex.all()).dup();
            parts.add(net.output(x).dup());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        INDArray logits = Nd4j.concat(0, parts.toArray(new INDArray[0]));
        return new Score(Map.of(), logits, n / seconds, (int) n, null);
    }

    @Override
    public Map<String, Double> fidelity(Score reference, Score test) {
        INDArray ref = (INDArray) reference.retained();
        INDArray tst = (INDArray) test.retained();
        long[] a = ref.argMax(1).toLongVector();
        long[] b = tst.argMax(1).toLongVector();
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            same += a[i] == b[i] ? 1 : 0;
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("sqnrDb", Fidelity.sqnrDb(ref, tst));
        m.put("agreement", 100.0 * same / a.length);
        return m;
    }

    /** A run's top-1 outputs and scores [images x classes], row by row. */
    record Logits(int[] top1, float[] values, int classes) implements Serializable {
    }

    /** Agreements and SQNR sums over some images. */
    record Agreements(int images, long agreements, Fidelity.Sqnr sqnr, double seconds) implements Tally {

        @Override
        public Tally plus(Tally next) {
            Agreements n = (Agreements) next;
            return new Agreements(images + n.images, agreements + n.agreements, sqnr.plus(n.sqnr), seconds + n.seconds);
        }

        @Override
        public Map<String, Double> metrics() {
            return Map.of();
        }

        @Override
        public Map<String, Double> fidelity() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("sqnrDb", sqnr.db());
            m.put("agreement", 100.0 * agreements / images);
            return m;
        }
    }

    @Override
    public Logits outputs(Score score) {
        INDArray logits = (INDArray) score.retained();
        long[] top = logits.argMax(1).toLongVector();
        int[] top1 = new int[top.length];
        for (int i = 0; i < top.length; i++) {
            top1[i] = (int) top[i];
        }
        float[] values = logits.castTo(DataType.FLOAT).dup('c').data().asFloat();
        return new Logits(top1, values, values.length / top1.length);
    }

    @Override
    public Tally tally(Score score, Serializable reference) {
        Logits ref = (Logits) reference;
        Logits mine = outputs(score);
        long same = 0;
        Fidelity.Sqnr sqnr = new Fidelity.Sqnr();
        for (int i = 0; i < mine.top1().length; i++) {
            same += ref.top1()[i] == mine.top1()[i] ? 1 : 0;
            sqnr.add(ref.values(), mine.values(), i * mine.classes(), mine.classes());
        }
        return new Agreements(mine.top1().length, same, sqnr, score.images() / score.imagesPerSecond());
    }

    @Override
    public int size() {
        return (int) images.size(0);
    }

    @Override
    public List<Path> files() {
        return List.of();
    }

    @Override
    public Task slice(int from, int to) {
        return new SyntheticTask(images.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.all()).dup(), batch);
    }

    @Override
    public Kind kind() {
        return Kind.SYNTHETIC;
    }
}
