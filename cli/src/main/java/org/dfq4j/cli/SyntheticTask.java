package org.dfq4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.eval.metric.Fidelity;
import org.dfq4j.eval.runtime.Runner;
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

    @Override
    public Kind kind() {
        return Kind.SYNTHETIC;
    }
}
