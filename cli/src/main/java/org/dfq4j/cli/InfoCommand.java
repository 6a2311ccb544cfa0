package org.dfq4j.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.view.GraphView;
import org.dfq4j.zoo.onnx.OnnxReader;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code dfq info}: the imported graph, op by op, with shapes and recorded quantization ranges. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "List the imported graph: ops in order with output shapes, parameter count, recorded ranges; "
                + "or, with --supported-ops, the ONNX ops the reader converts.")
final class InfoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    OptionalModelOption model;

    @Option(names = "--supported-ops", description = "list the ONNX ops the reader converts, with the forms it accepts")
    boolean supportedOps;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (supportedOps) {
            out.println("ONNX ops the reader converts (default domain); any other op is refused by name:");
            OnnxReader.SUPPORTED_OPS.forEach((op, note) -> out.printf("  %-19s %s%n", op, note));
            return 0;
        }
        if (model.path == null) {
            throw new DfqException("dfq info needs --model PATH (or --supported-ops)");
        }
        out.println(Backend.current().describe());
        Network net = model.read();
        GraphView g = GraphView.of(net);
        List<String> outs = new ArrayList<>();
        for (String op : g.ops()) {
            outs.addAll(g.outputs(op));
        }
        long[] in = net.inputShape();
        INDArray probe = Nd4j.zeros(DataType.FLOAT, 1, in[0], in[1], in[2]);
        Map<String, INDArray> values = net.run(probe, outs);
        out.printf("model: %s (%s)%n", net.name(), net.properties().getOrDefault("format", "?"));
        out.printf("input: %s [N,%d,%d,%d] float%n", net.input(), in[0], in[1], in[2]);
        out.printf("%4s  %-18s %-44s %-20s %s%n", "#", "op", "output", "shape", "weights / range");
        int i = 0;
        for (String op : g.ops()) {
            String var = g.outputs(op).get(0);
            INDArray v = values.get(var);
            StringBuilder extra = new StringBuilder();
            for (String input : g.inputs(op)) {
                if (g.isConstant(input) && g.constantLength(input) > 1 && input.endsWith("/W")) {
                    extra.append("W").append(Arrays.toString(g.constantShape(input)));
                }
            }
            TensorRange r = net.recordedRanges().get(var);
            if (r != null) {
                extra.append(extra.length() > 0 ? " " : "").append("range ").append(r);
            }
            out.printf("%4d  %-18s %-44s %-20s %s%n", i++, g.opType(op), abbreviate(var, 44),
                    v == null ? "?" : Arrays.toString(v.shape()), extra);
        }
        out.printf("outputs: %s%n", net.outputs());
        out.printf("ops: %d, parameters: %,d, recorded activation ranges: %d%n", g.ops().size(),
                net.parameterCount(), net.recordedRanges().size());
        net.properties().forEach((k, v) -> out.printf("property %s = %s%n", k, v));
        net.attachments().forEach((k, v) -> out.printf("attachment %s %s%n", k, Arrays.toString(v.shape())));
        return 0;
    }

    private static String abbreviate(String s, int n) {
        return s.length() <= n ? s : "…" + s.substring(s.length() - n + 1);
    }
}
