package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.transforms.custom.FakeQuantWithMinMaxVars;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Simulates per-tensor activation quantization: after every {@link QuantizationPoint} (network input,
 * weight layer outputs after their fused activation, add and concat outputs) it inserts a
 * {@code fake_quant_with_min_max_vars} op with the range a {@link RangeSource} gives. Every consumer,
 * and the network output if the tensor is one, then reads the fake-quantized tensor.
 *
 * <p>The op rounds half up, like {@link QuantParams}. Asymmetric: the range is extended to include 0
 * first, so 0 is a level (the op's own nudging would otherwise shift a range that excludes 0).
 * Symmetric: the range becomes [-M, M], M = max|bound|, on the narrow integer range, so z = 0.
 * Points without a range (the source has none for them) and zero-width ranges stay float; each is
 * logged with the reason, as is every inserted range and the source's name.
 */
public final class InsertFakeQuant extends PatternJointRule {

    private final QuantScheme scheme;
    private final RangeSource source;

    /**
     * @param scheme per-tensor activation scheme (bits, symmetric or not)
     * @param source where the ranges come from
     */
    public InsertFakeQuant(QuantScheme scheme, RangeSource source) {
        super(QuantizationPoint.PATTERN, "not applied");
        if (scheme.perChannel()) {
            throw new DfqException("activation quantization is per-tensor; got '" + scheme + "'");
        }
        this.scheme = scheme;
        this.source = source;
    }

    /** Asymmetric per-tensor activations at the given bit width. */
    public InsertFakeQuant(int bits, RangeSource source) {
        this(QuantScheme.perTensor(bits, false), source);
    }

    /** The network input's points and every match, in topological order; each gets the range the source gives. */
    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        if (source instanceof RangeSource.None) {
            log.add(name(), "activation ranges: none; activations stay float (weights-only quantization)",
                    List.of(), RewriteLog.values("source", source.name()));
            return;
        }
        GraphView g = matches.view();
        List<QuantizationPoint> points = new ArrayList<>();
        for (String p : g.placeholders()) {
            points.add(QuantizationPoint.ofInput(g, p));
        }
        for (Match m : matches.list()) {
            points.add(QuantizationPoint.of(g, m));
        }
        List<RangeSource.PointRange> ranges = source.ranges(g, points);
        List<String> inserted = new ArrayList<>();
        List<String> left = new ArrayList<>();
        for (RangeSource.PointRange pr : ranges) {
            String t = pr.point().tensor();
            String consumer = g.soleConsumer(t);
            if (consumer != null && g.kind(consumer) == OpKind.FAKE_QUANT) {
                log.add(name(), "skipped: already fake-quantized", List.of(t));
                continue;
            }
            if (!pr.known()) {
                left.add(t);
                log.add(name(), "left float: " + pr.note(), List.of(t), RewriteLog.values("source", source.name()));
                continue;
            }
            TensorRange r = opRange(pr.range());
            // the op divides by its scale, (max - min) / (2^bits - 1) in float: a zero range, or one so narrow
            // that the scale underflows, would make every value NaN
            if (!((float) (r.width() / ((1L << scheme.bits()) - 1)) >= Float.MIN_NORMAL)) {
                left.add(t);
                log.add(name(), "left float: zero range " + pr.range(), List.of(t), RewriteLog.values("source", source.name()));
                continue;
            }
            insert(editor, t, r);
            inserted.add(t);
            QuantParams q = QuantParams.of(scheme, r.min(), r.max());
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("source", source.name());
            values.put("min", r.min());
            values.put("max", r.max());
            values.put("scale", q.scale());
            values.put("zeroPoint", q.zeroPoint());
            log.add(name(), "fake-quant " + scheme + " (" + pr.note() + ")", List.of(t), values);
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("source", source.name());
        summary.put("quantized", inserted.size());
        summary.put("leftFloat", left.size());
        log.add(name(), inserted.size() + " activation tensors fake-quantized " + scheme + " with ranges from '"
                + source.name() + "'; " + left.size() + " left float", left, summary);
    }

    /** The min/max handed to the op: including 0 (asymmetric) or symmetric about 0. */
    private TensorRange opRange(TensorRange r) {
        if (scheme.symmetric()) {
            double m = Math.max(Math.abs(r.min()), Math.abs(r.max()));
            return new TensorRange(-m, m);
        }
        return new TensorRange(Math.min(0, r.min()), Math.max(0, r.max()));
    }

    private void insert(GraphEditor editor, String tensor, TensorRange r) {
        String min = editor.addConstant(tensor + "/fq_min", Nd4j.createFromArray((float) r.min()));
        String max = editor.addConstant(tensor + "/fq_max", Nd4j.createFromArray((float) r.max()));
        String name = editor.freshName(tensor + "/fq");
        editor.insertAfter(tensor, x -> {
            SameDiff sd = x.getSameDiff();
            SDVariable out = new FakeQuantWithMinMaxVars(sd, x, sd.getVariable(min), sd.getVariable(max),
                    scheme.symmetric(), scheme.bits()).outputVariable();
            sd.renameVariable(out.name(), name);
            return sd.getVariable(name);
        });
    }

    @Override
    public String toString() {
        return name() + "[" + scheme + ", " + source.name() + "]";
    }
}
