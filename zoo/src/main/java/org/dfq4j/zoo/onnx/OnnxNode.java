package org.dfq4j.zoo.onnx;

import java.util.HashMap;
import java.util.Map;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.NodeProto;
import org.dfq4j.rewrite.DfqException;

/**
 * One ONNX node with typed attribute look-ups and the wording every error about it uses
 * ({@code file: node 'name' (OpType): ...}).
 */
final class OnnxNode {

    private final NodeProto proto;
    private final String file;
    private final String name;
    private final Map<String, AttributeProto> attributes = new HashMap<>();

    OnnxNode(NodeProto proto, String file, int index) {
        this.proto = proto;
        this.file = file;
        this.name = proto.getName().isEmpty() ? proto.getOpType() + "_" + index : proto.getName();
        for (AttributeProto a : proto.getAttributeList()) {
            attributes.put(a.getName(), a);
        }
    }

    String opType() {
        return proto.getOpType();
    }

    String domain() {
        return proto.getDomain();
    }

    /** The node's name, or {@code OpType_index} when the file leaves it empty. */
    String name() {
        return name;
    }

    int inputCount() {
        return proto.getInputCount();
    }

    /** Name of input {@code i}, or the empty string when it is absent (ONNX's optional inputs). */
    String input(int i) {
        return i < proto.getInputCount() ? proto.getInput(i) : "";
    }

    boolean hasInput(int i) {
        return !input(i).isEmpty();
    }

    int outputCount() {
        return proto.getOutputCount();
    }

    String output(int i) {
        return proto.getOutput(i);
    }

    boolean has(String attribute) {
        return attributes.containsKey(attribute);
    }

    long integer(String attribute, long dflt) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? dflt : a.getI();
    }

    float real(String attribute, float dflt) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? dflt : a.getF();
    }

    String string(String attribute, String dflt) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? dflt : ProtoBytes.string(a);
    }

    /** The ints attribute, or {@code dflt} (may be null) when absent. */
    long[] integers(String attribute, long[] dflt) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? dflt : a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    float[] reals(String attribute) {
        AttributeProto a = attributes.get(attribute);
        if (a == null) {
            return null;
        }
        float[] f = new float[a.getFloatsCount()];
        for (int i = 0; i < f.length; i++) {
            f[i] = a.getFloats(i);
        }
        return f;
    }

    AttributeProto attribute(String attribute) {
        return attributes.get(attribute);
    }

    /** {@code file: node 'name' (OpType)}: the prefix of every message about this node. */
    String where() {
        return file + ": node '" + name + "' (" + opType() + ")";
    }

    /** A one-line user error about this node. */
    DfqException error(String what) {
        return new DfqException(where() + ": " + what);
    }
}
