package org.dfq4j.zoo.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.OperatorSetIdProto;
import onnx.Onnx.StringStringEntryProto;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorShapeProto;
import onnx.Onnx.TypeProto;
import onnx.Onnx.ValueInfoProto;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Writes small ONNX models with the protobuf builders, for tests that need no Python. */
public final class OnnxModelWriter {

    private final int opset;
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
    private int counter;

    public OnnxModelWriter(int opset) {
        this.opset = opset;
    }

    int opset() {
        return opset;
    }

    /** A float input; a dim of -1 is written as the symbolic dim "N", "H", ... by position. */
    public OnnxModelWriter input(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        String[] symbols = {"N", "C", "H", "W"};
        for (int i = 0; i < dims.length; i++) {
            shape.addDim(dims[i] < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam(symbols[i])
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(dims[i]));
        }
        graph.addInput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))));
        return this;
    }

    public OnnxModelWriter output(String name) {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
        return this;
    }

    /** A float initializer stored as little-endian raw_data, as exporters do. */
    public String floats(String name, INDArray value) {
        graph.addInitializer(floatTensor(name, value));
        return name;
    }

    /** An int64 initializer stored in the typed int64_data field. */
    public String longs(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        graph.addInitializer(t);
        return name;
    }

    /** A Constant node holding a tensor; returns its output name. */
    public String constant(INDArray value) {
        String out = "const_" + (counter++);
        graph.addNode(NodeProto.newBuilder().setOpType("Constant").setName(out).addOutput(out)
                .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
                        .setT(value.dataType().isFPType() ? floatTensor("", value) : longTensor(value))));
        return out;
    }

    /** A node with one output named after it; returns the output name. */
    public String node(String op, String name, List<String> inputs, AttributeProto... attributes) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(name + "_out");
        for (AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return name + "_out";
    }

    /** A node with several outputs, named {@code <name>_out0, <name>_out1, ...}; returns their names. */
    public List<String> node(String op, String name, List<String> inputs, int outputs, AttributeProto... attributes) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs);
        List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < outputs; i++) {
            names.add(name + "_out" + i);
        }
        n.addAllOutput(names);
        for (AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return names;
    }

    public static AttributeProto ints(String name, long... v) {
        return OnnxProtos.ints(name, v);
    }

    public static AttributeProto integer(String name, long v) {
        return OnnxProtos.integer(name, v);
    }

    public static AttributeProto real(String name, float v) {
        return OnnxProtos.real(name, v);
    }

    public static AttributeProto string(String name, String v) {
        return OnnxProtos.string(name, v);
    }

    /** Any initializer (e.g. int8 levels or an int32 bias built with {@link OnnxProtos}); returns its name. */
    public String initializer(TensorProto t) {
        graph.addInitializer(t);
        return t.getName();
    }

    public ModelProto build() {
        return ModelProto.newBuilder().setIrVersion(7).setProducerName("dfq4j-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(graph).build();
    }

    public Path write(Path file) throws IOException {
        Files.write(file, build().toByteArray());
        return file;
    }

    private static TensorProto floatTensor(String name, INDArray value) {
        INDArray f = value.castTo(DataType.FLOAT).dup('c');
        return OnnxProtos.floats(name, f.data().asFloat(), f.shape());
    }

    private static TensorProto longTensor(INDArray value) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE);
        for (long d : value.shape()) {
            t.addDims(d);
        }
        for (long i = 0; i < value.length(); i++) {
            t.addInt64Data(value.getLong(i));
        }
        return t.build();
    }
}
