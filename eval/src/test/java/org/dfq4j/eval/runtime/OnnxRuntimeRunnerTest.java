package org.dfq4j.eval.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.NetworkMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.protobuf.ByteString;

/** ONNX Runtime as a runner, on models written here with the protobuf builders. */
class OnnxRuntimeRunnerTest {

    @TempDir
    Path dir;

    /** y = relu(W x + b), a 1x1 convolution of 3 channels into 2; optionally with QDQ around it. */
    private static byte[] model(boolean qdq, Map<String, String> metadata) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("t");
        g.addInput(value("x", -1, 3, 4, 4));
        float[] w = {0.5f, -0.25f, 0.125f, -0.5f, 0.75f, 0.25f};
        float[] b = {0.1f, -0.05f};
        String x = "x";
        String wIn = "w";
        String bIn = "b";
        if (!qdq) {
            g.addInitializer(floats("w", w, 2, 3, 1, 1));
            g.addInitializer(floats("b", b, 2));
        } else {
            g.addInitializer(floats("xs", new float[] {1f / 64}));
            g.addInitializer(bytes("xz", TensorProto.DataType.UINT8, new byte[] {(byte) 128}));
            g.addNode(node("QuantizeLinear", List.of("x", "xs", "xz"), "xq"));
            g.addNode(node("DequantizeLinear", List.of("xq", "xs", "xz"), "xd"));
            x = "xd";
            byte[] levels = new byte[6];
            for (int i = 0; i < 6; i++) {
                levels[i] = (byte) Math.round(w[i] * 128);
            }
            g.addInitializer(bytes("wq", TensorProto.DataType.INT8, levels, 2, 3, 1, 1));
            g.addInitializer(floats("ws", new float[] {1f / 128}));
            g.addInitializer(bytes("wz", TensorProto.DataType.INT8, new byte[] {0}));
            g.addNode(node("DequantizeLinear", List.of("wq", "ws", "wz"), "wd"));
            wIn = "wd";
            ByteBuffer bq = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            bq.putInt(Math.round(b[0] * 64 * 128)).putInt(Math.round(b[1] * 64 * 128));
            g.addInitializer(TensorProto.newBuilder().setName("bq").setDataType(TensorProto.DataType.INT32_VALUE)
                    .addDims(2).setRawData(ByteString.copyFrom(bq.array())));
            g.addInitializer(floats("bs", new float[] {1f / 64 / 128}));
            g.addNode(node("DequantizeLinear", List.of("bq", "bs"), "bd"));
            bIn = "bd";
        }
        g.addNode(node("Conv", List.of(x, wIn, bIn), "c"));
        String y = "c";
        if (qdq) {
            g.addInitializer(floats("ys", new float[] {1f / 32}));
            g.addInitializer(bytes("yz", TensorProto.DataType.UINT8, new byte[] {0}));
            g.addNode(node("Relu", List.of("c"), "r"));
            g.addNode(node("QuantizeLinear", List.of("r", "ys", "yz"), "yq"));
            g.addNode(node("DequantizeLinear", List.of("yq", "ys", "yz"), "y"));
        } else {
            g.addNode(node("Relu", List.of("c"), "y"));
        }
        g.addOutput(value("y", -1, 2, 4, 4));
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(7).setProducerName("test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13)).setGraph(g);
        metadata.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build().toByteArray();
    }

    private static NodeProto node(String op, List<String> in, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(out).addAllInput(in).addOutput(out).build();
    }

    private static ValueInfoProto value(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
    }

    private static TensorProto floats(String name, float[] v, long... dims) {
        ByteBuffer buf = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            buf.putFloat(f);
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(buf.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    private static TensorProto bytes(String name, TensorProto.DataType type, byte[] v, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(v));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** relu(W x + b) computed by hand. */
    private static INDArray expected(INDArray x) {
        INDArray w = Nd4j.createFromArray(0.5f, -0.25f, 0.125f, -0.5f, 0.75f, 0.25f).reshape(2, 3);
        INDArray out = Nd4j.create(DataType.FLOAT, x.size(0), 2, 4, 4);
        for (int n = 0; n < x.size(0); n++) {
            INDArray flat = x.slice(n).reshape(3, 16);
            INDArray y = w.mmul(flat).addiColumnVector(Nd4j.createFromArray(0.1f, -0.05f).reshape(2, 1));
            out.slice(n).assign(Transforms.relu(y).reshape(2, 4, 4));
        }
        return out;
    }

    @Test
    void aFloatModelComputesItsOutputAndReportsItsShapeAndMetadata() {
        INDArray anchors = Nd4j.rand(DataType.FLOAT, 5, 4);
        Map<String, String> meta = NetworkMetadata.encode(Map.of("postprocess.num_classes", "90"),
                Map.of("postprocess.anchors", anchors), k -> true);
        try (OnnxRuntimeRunner r = OnnxRuntimeRunner.open(model(false, meta), "tiny", OnnxRuntimeRunner.Mode.INT8, 1)) {
            assertArrayEquals(new long[] {3, 4, 4}, r.inputShape());
            assertEquals(List.of("y"), r.outputNames());
            INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 4).subi(0.5);
            INDArray y = r.output(x);
            assertTrue(Transforms.abs(y.sub(expected(x))).maxNumber().doubleValue() < 1e-6);
            assertEquals("90", r.properties().get("postprocess.num_classes"));
            assertEquals(anchors, r.attachments().get("postprocess.anchors"));
            assertTrue(r.integerKernels().isEmpty(), r.kernels().toString());
            assertThrows(IllegalArgumentException.class, () -> r.run(Nd4j.rand(DataType.FLOAT, 1, 3, 5, 4)));
        }
    }

    @Test
    void aQdqModelRunsOnIntegerKernelsOrAsASimulationOfItsQuantizers() {
        byte[] bytes = model(true, Map.of());
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 4).subi(0.5);
        try (OnnxRuntimeRunner int8 = OnnxRuntimeRunner.open(bytes, "q", OnnxRuntimeRunner.Mode.INT8, 1);
             OnnxRuntimeRunner sim = OnnxRuntimeRunner.open(bytes, "q", OnnxRuntimeRunner.Mode.SIMULATE, 1)) {
            assertTrue(int8.integerKernels().containsKey("com.microsoft.QLinearConv"), int8.kernels().toString());
            assertTrue(sim.integerKernels().isEmpty(), sim.kernels().toString());
            assertTrue(int8.describe().contains("QLinearConv"), int8.describe());
            INDArray a = int8.output(x);
            INDArray b = sim.output(x);
            // both are on the output grid (1/32) and within one level of the float result
            for (INDArray v : List.of(a, b)) {
                INDArray levels = v.mul(32);
                assertTrue(Transforms.abs(levels.sub(Transforms.round(levels))).maxNumber().doubleValue() < 1e-4);
                assertTrue(Transforms.abs(v.sub(expected(x))).maxNumber().doubleValue() <= 1.0 / 32 + 1.0 / 64);
            }
        }
    }

    @Test
    void aFileThatIsNotAModelIsOneLine() throws Exception {
        Path bad = Files.write(dir.resolve("bad.onnx"), new byte[] {1, 2, 3, 4, 5});
        DfqException e = assertThrows(DfqException.class,
                () -> OnnxRuntimeRunner.open(bad, OnnxRuntimeRunner.Mode.INT8, 1));
        assertTrue(e.getMessage().startsWith("ONNX Runtime cannot load " + bad), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void agreementCountsTopOneAndRelativeDifferences() throws Exception {
        List<Path> photos = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int c = i;
            photos.add(TestImages.write(TestImages.rgb(12, 10, (px, py) -> TestImages.pack(40 * c, 5 * px, 9 * py)),
                    "png", dir.resolve("p" + i + ".png")));
        }
        try (OnnxRuntimeRunner r = OnnxRuntimeRunner.open(model(false, Map.of()), "tiny", OnnxRuntimeRunner.Mode.INT8, 1)) {
            Runner pooled = pool(r, 1f);
            RunnerAgreement same = RunnerAgreement.compare(pooled, pooled, photos, Preprocessing.RESIZE, 2, null);
            assertEquals(5, same.images());
            assertEquals(5, same.agreeing());
            assertEquals(0, same.maxRelative(), 0);
            // swapping the two scores of every photograph: each top-1 changes unless they tie
            Runner swapped = pool(r, -1f);
            RunnerAgreement diff = RunnerAgreement.compare(pooled, swapped, photos, Preprocessing.RESIZE, 2, null);
            assertTrue(diff.agreeing() < 5 && diff.maxRelative() > 0, diff.describe());
        }
    }

    /** The runner's output averaged to [N, 2] scores, times {@code sign} on the second score. */
    private static Runner pool(OnnxRuntimeRunner r, float sign) {
        return new Runner() {
            @Override
            public String name() {
                return "pooled";
            }

            @Override
            public long[] inputShape() {
                return r.inputShape();
            }

            @Override
            public Map<String, INDArray> run(INDArray batch) {
                INDArray s = r.output(batch).mean(2, 3);
                if (sign < 0) {
                    s = Nd4j.hstack(s.getColumn(1).reshape(-1, 1), s.getColumn(0).reshape(-1, 1)).addi(1e-3);
                }
                return Map.of("scores", s);
            }

            @Override
            public Map<String, String> properties() {
                return Map.of();
            }

            @Override
            public Map<String, INDArray> attachments() {
                return Map.of();
            }
        };
    }
}
