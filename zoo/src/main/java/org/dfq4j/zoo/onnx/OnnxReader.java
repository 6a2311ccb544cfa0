package org.dfq4j.zoo.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.OperatorSetIdProto;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorShapeProto;
import onnx.Onnx.ValueInfoProto;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.zoo.onnx.Value.GraphTensor;
import org.nd4j.shade.protobuf.InvalidProtocolBufferException;

/**
 * Reads an ONNX model (a CNN with one NCHW float image input) into a {@link Network} built through
 * {@link NetworkBuilder}, so the graph holds the project's canonical op forms rather than the
 * op-per-ONNX-primitive graph of ND4J's generic importer. Shape arithmetic around flattens and views
 * is evaluated at import. Properties: {@code format=onnx}, {@code source=<path>}, {@code opset},
 * {@code producer}.
 */
public final class OnnxReader {

    private OnnxReader() {
    }

    /** Reads a model whose input declares fixed channel, height and width. */
    public static Network read(Path file) {
        return read(file, null);
    }

    /**
     * Reads a model, fixing its input to {@code chw = [C, H, W]} (for models whose input dims are
     * symbolic); {@code null} takes the dims the file declares.
     */
    public static Network read(Path file, long[] chw) {
        try {
            return convert(file, chw);
        } catch (DfqException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DfqException(file + ": cannot convert the ONNX model: " + oneLine(e));
        }
    }

    private static Network convert(Path file, long[] chw) {
        String where = file.toString();
        ModelProto model = parse(file);
        GraphProto g = model.getGraph();
        int opset = opset(model, where);
        Set<String> initializers = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) {
            initializers.add(t.getName());
        }
        List<ValueInfoProto> inputs = g.getInputList().stream()
                .filter(v -> !initializers.contains(v.getName())).toList();
        if (inputs.size() != 1) {
            throw new DfqException(where + ": the model has " + inputs.size() + " graph inputs "
                    + inputs.stream().map(ValueInfoProto::getName).toList() + "; the ONNX reader takes models with one image input");
        }
        ValueInfoProto input = inputs.get(0);
        long[] declared = declaredShape(input, where);
        long[] shape = inputShape(input.getName(), declared, chw, where);
        String bad = ModelChecks.inputProblem(shape[0], shape[1], shape[2]);
        if (bad != null) {
            throw new DfqException(where + ": input '" + input.getName() + "': " + bad);
        }
        String name = file.getFileName().toString().replaceFirst("\\.onnx$", "");
        NetworkBuilder builder = new NetworkBuilder(name, shape[0], shape[1], shape[2]);
        OnnxConverter converter = new OnnxConverter(opset, builder, Math.max(0, declared[0]), uses(g));
        converter.defineInput(input.getName(), shape);
        for (TensorProto t : g.getInitializerList()) {
            converter.defineConstant(t.getName(), TensorDecoder.decode(t, where));
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            OnnxNode node = new OnnxNode(g.getNode(i), where, i);
            try {
                converter.convert(node);
            } catch (DfqException e) {
                throw e;
            } catch (RuntimeException e) {
                throw node.error("conversion failed: " + oneLine(e));
            }
        }
        List<String> outputs = new ArrayList<>();
        for (ValueInfoProto o : g.getOutputList()) {
            Value v = converter.lookup(o.getName());
            if (!(v instanceof GraphTensor t)) {
                throw new DfqException(where + ": graph output '" + o.getName() + "' is "
                        + (v == null ? "not produced by any node" : "a constant") + "; nothing to compute");
            }
            outputs.add(t.var().name());
        }
        if (outputs.isEmpty()) {
            throw new DfqException(where + ": the model declares no graph outputs");
        }
        Network net = builder.build(outputs.toArray(String[]::new));
        net.properties().put("format", "onnx");
        net.properties().put("source", where);
        net.properties().put("opset", Integer.toString(opset));
        net.properties().put("producer", (model.getProducerName() + " " + model.getProducerVersion()).trim());
        return ModelChecks.requireUsable(net, where);
    }

    private static ModelProto parse(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DfqException("cannot read ONNX model " + file + ": " + oneLine(e));
        }
        ModelProto model;
        try {
            model = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw new DfqException(file + ": not a readable ONNX model (truncated or corrupt protobuf: " + oneLine(e) + ")");
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0 || model.getIrVersion() <= 0) {
            throw new DfqException(file + ": not an ONNX model (no IR version or no graph nodes); is the file truncated or of another format?");
        }
        return model;
    }

    private static int opset(ModelProto model, String where) {
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                return (int) o.getVersion();
            }
        }
        throw new DfqException(where + ": the model imports no default (ai.onnx) opset");
    }

    /** The input's dims, -1 where symbolic or absent. */
    private static long[] declaredShape(ValueInfoProto input, String where) {
        if (!input.getType().hasTensorType() || input.getType().getTensorType().getElemType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new DfqException(where + ": input '" + input.getName() + "' is not a float tensor");
        }
        TensorShapeProto s = input.getType().getTensorType().getShape();
        if (s.getDimCount() != 4) {
            throw new DfqException(where + ": input '" + input.getName() + "' has rank " + s.getDimCount()
                    + "; the ONNX reader takes NCHW image inputs (rank 4)");
        }
        long[] dims = new long[4];
        for (int i = 0; i < 4; i++) {
            TensorShapeProto.Dimension d = s.getDim(i);
            dims[i] = d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : -1;
        }
        return dims;
    }

    private static long[] inputShape(String input, long[] declared, long[] chw, String where) {
        long[] fixed = Arrays.copyOfRange(declared, 1, 4);
        if (chw == null) {
            if (Arrays.stream(fixed).anyMatch(d -> d < 0)) {
                throw new DfqException(where + ": input '" + input + "' has symbolic dims " + Arrays.toString(fixed)
                        + " (C,H,W); pass the input shape [C,H,W] explicitly");
            }
            return fixed;
        }
        if (chw.length != 3 || Arrays.stream(chw).anyMatch(d -> d <= 0)) {
            throw new DfqException(where + ": input shape must be three positive dims [C,H,W], got " + Arrays.toString(chw));
        }
        for (int i = 0; i < 3; i++) {
            if (fixed[i] > 0 && fixed[i] != chw[i]) {
                throw new DfqException(where + ": input '" + input + "' is declared " + Arrays.toString(fixed)
                        + " (C,H,W), which contradicts the given " + Arrays.toString(chw));
            }
        }
        return chw.clone();
    }

    /** How many node inputs and graph outputs read each tensor name. */
    private static Map<String, Integer> uses(GraphProto g) {
        Map<String, Integer> uses = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String in : n.getInputList()) {
                uses.merge(in, 1, Integer::sum);
            }
        }
        for (ValueInfoProto o : g.getOutputList()) {
            uses.merge(o.getName(), 1, Integer::sum);
        }
        return uses;
    }

    /** A throwable as one line, its class named unless the message is a sentence of ours. */
    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? "" : e.getMessage().replaceAll("\\s+", " ").trim();
        return e instanceof DfqException ? m : e.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m);
    }
}
