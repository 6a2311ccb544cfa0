package org.dfq4j.rewrite.quant;

import static org.dfq4j.rewrite.pattern.Patterns.layer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.engine.Transform;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Empirical bias correction (METHOD.md section 6; not data-free): with calibration images, per
 * weight layer in topological order, delta_c = mean over batch and space of the quantized network's
 * layer output minus that of the float network, subtracted from the bias, so each layer sees its
 * upstream layers already corrected.
 *
 * <p>All layers in one pass: a bias change shifts a layer's output by a per-channel constant, so the
 * sequential algorithm equals one run of a scratch copy of the quantized network in which every
 * layer output y is replaced by y - (mean(y) - mean_float) before its consumers read it; mean(y)
 * there is exactly what the sequential algorithm sees at that layer. One float and one quantized
 * forward pass in all; the images form one batch (memory grows with their number).
 *
 * <p>As a {@link Transform} it runs on the float network: it builds the quantized copy with the
 * given quantization transforms, measures the shifts and corrects the float biases, so the
 * quantization that follows in the pipeline starts from corrected biases (weight quantization does
 * not touch biases, so the shifts carry over).
 */
public final class CorrectBiasEmpirically extends PatternJointRule {

    // b -= E[y~] - E[y], measured per layer with every earlier layer already corrected

    private final List<Transform> quantization;
    private final List<INDArray> batches;

    /**
     * @param quantization the transforms that make the quantized network (e.g. QuantizeWeights,
     *                     InsertFakeQuant), applied to a copy
     * @param batches      calibration images [N,C,H,W]
     */
    public CorrectBiasEmpirically(List<? extends Transform> quantization, List<INDArray> batches) {
        super(layer(), "not applied");
        if (batches.isEmpty()) {
            throw new DfqException("empirical bias correction needs calibration images; none were given");
        }
        this.quantization = List.copyOf(quantization);
        this.batches = List.copyOf(batches);
    }

    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        Network reference = editor.network();
        if (reference.properties().containsKey(QuantizeWeights.PROPERTY)) {
            throw new DfqException("empirical bias correction runs on the float network, but the weights of '"
                    + reference.name() + "' are already quantized; run it before QuantizeWeights");
        }
        GraphEditor q = new GraphEditor(reference);
        for (Transform t : quantization) {
            t.apply(q, new RewriteLog());
        }
        INDArray batch = batches.size() == 1 ? batches.get(0) : Nd4j.concat(0, batches.toArray(new INDArray[0]));
        Map<String, double[]> shifts = measureShifts(q.network(), reference, batch);
        GraphView g = matches.view();
        for (Match m : matches.list()) {
            WeightLayer layer = g.weightLayer(m.anchor());
            double[] delta = shifts.get(layer.output());
            if (delta == null) {
                log.add(name(), "skipped: no quantized counterpart", List.of(layer.output()));
                continue;
            }
            INDArray b = g.constant(layer.bias());
            double[] v = b.toDoubleVector();
            double max = 0;
            for (int i = 0; i < v.length; i++) {
                v[i] -= delta[i];
                max = Math.max(max, Math.abs(delta[i]));
            }
            editor.setConstant(layer.bias(), Nd4j.createFromArray(v).reshape(b.shape()));
            log.add(name(), "bias -= measured mean shift", List.of(layer.output()), RewriteLog.values("maxAbsShift", max));
        }
        log.add(name(), shifts.size() + " layers corrected on " + batch.size(0) + " calibration images",
                List.of(), RewriteLog.values("images", batch.size(0), "corrected", shifts.size()));
    }

    /**
     * The sequential mean shifts of every weight layer of {@code quantized} that {@code reference}
     * also has (same output name): delta_L = E[y_L] in the quantized network with every earlier layer
     * already corrected, minus E[y_L] in the reference, per output channel. Subtracting delta_L from
     * the quantized layer's bias is the correction. Neither network is changed.
     */
    public static Map<String, double[]> measureShifts(Network quantized, Network reference, INDArray batch) {
        Map<String, INDArray> floatMeans = layerMeans(reference, batch);
        GraphEditor editor = new GraphEditor(quantized);
        Map<String, String> meanVars = new LinkedHashMap<>();
        for (WeightLayer layer : editor.view().weightLayers()) {
            INDArray target = floatMeans.get(layer.output());
            if (target == null) {
                continue;
            }
            String t = editor.addConstant(layer.output() + "/float_mean", target);
            editor.insertAfter(layer.output(), y -> {
                SameDiff sd = y.getSameDiff();
                SDVariable m = sd.mean(y, true, axes(target.rank()));
                meanVars.put(layer.output(), m.name());
                return y.sub(m).add(sd.getVariable(t)); // y - delta: the layer as if its bias were corrected
            });
        }
        Map<String, INDArray> r = editor.network().run(batch, new ArrayList<>(meanVars.values()));
        Map<String, double[]> shifts = new LinkedHashMap<>();
        meanVars.forEach((layer, m) -> shifts.put(layer,
                r.get(m).sub(floatMeans.get(layer)).reshape(r.get(m).length()).toDoubleVector()));
        return shifts;
    }

    /** Per-channel means (keepDims shape [1,C,1,1] or [1,C]) of every weight layer output on a batch. */
    static Map<String, INDArray> layerMeans(Network net, INDArray batch) {
        GraphEditor editor = new GraphEditor(net);
        Map<String, String> meanVars = new LinkedHashMap<>();
        for (WeightLayer layer : editor.view().weightLayers()) {
            int rank = layer.kind() == WeightLayer.Kind.DENSE ? 2 : 4;
            editor.insertAfter(layer.output(), y -> {
                SameDiff sd = y.getSameDiff();
                meanVars.put(layer.output(), sd.mean(y, true, axes(rank)).name());
                return sd.identity(y);
            });
        }
        Map<String, INDArray> r = editor.network().run(batch, new ArrayList<>(meanVars.values()));
        Map<String, INDArray> out = new LinkedHashMap<>();
        meanVars.forEach((layer, m) -> out.put(layer, r.get(m)));
        return out;
    }

    private static int[] axes(int rank) {
        return rank == 4 ? new int[] {0, 2, 3} : new int[] {0};
    }

    @Override
    public String toString() {
        return name() + quantization;
    }
}
