package org.dfq4j.zoo.tfjs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes small TF.js layers models for tests: a Keras 2 topology (functional or Sequential) and
 * its weights as little-endian shards, one group per layer, each group split over two shard files
 * at an odd byte offset so that readers must concatenate them.
 */
public final class KerasModelWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A weight as the manifest describes it plus its stored bytes. */
    private record Weight(String name, long[] shape, byte[] bytes, ObjectNode quantization) {
    }

    private final boolean sequential;
    private final ArrayNode layers = JSON.createArrayNode();
    private final List<Weight> weights = new ArrayList<>();

    private KerasModelWriter(boolean sequential) {
        this.sequential = sequential;
    }

    /**
     * A small classifier written into {@code dir}: input 8x8x3 -> Conv2D 3x3 (4 filters, ReLU) ->
     * BatchNormalization -> GlobalAveragePooling2D -> Dense (3 classes). Returns the path of model.json.
     */
    public static Path smallConvNet(Path dir) throws IOException {
        KerasModelWriter m = functional(8, 8, 3);
        ObjectNode c = m.layer("Conv2D", "conv2d_1", "input_1").put("filters", 4).put("padding", "same")
                .put("activation", "relu");
        c.putArray("kernel_size").add(3).add(3);
        m.weight("conv2d_1/kernel", org.nd4j.linalg.factory.Nd4j.rand(DataType.FLOAT, 3, 3, 3, 4).subi(0.5));
        m.weight("conv2d_1/bias", org.nd4j.linalg.factory.Nd4j.rand(DataType.FLOAT, 4).subi(0.5));
        m.layer("BatchNormalization", "bn", "conv2d_1").put("epsilon", 0.001);
        m.weight("bn/gamma", org.nd4j.linalg.factory.Nd4j.ones(DataType.FLOAT, 4));
        m.weight("bn/beta", org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, 4));
        m.weight("bn/moving_mean", org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, 4));
        m.weight("bn/moving_variance", org.nd4j.linalg.factory.Nd4j.ones(DataType.FLOAT, 4));
        m.layer("GlobalAveragePooling2D", "gap", "bn");
        m.layer("Dense", "dense", "gap").put("units", 3);
        m.weight("dense/kernel", org.nd4j.linalg.factory.Nd4j.rand(DataType.FLOAT, 4, 3).subi(0.5));
        m.weight("dense/bias", org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, 3));
        return m.write(dir, "dense");
    }

    /** A functional model whose input layer "input_1" takes [null, h, w, c]. */
    static KerasModelWriter functional(int h, int w, int c) {
        KerasModelWriter m = new KerasModelWriter(false);
        ObjectNode cfg = m.layer("InputLayer", "input_1");
        cfg.set("batch_input_shape", JSON.valueToTree(Arrays.asList(null, h, w, c)));
        cfg.put("dtype", "float32");
        return m;
    }

    /** A Keras 2.1.6 Sequential model: no input layer; the first layer added gets batch_input_shape. */
    static KerasModelWriter sequential(int h, int w, int c, String firstClass, String firstName) {
        KerasModelWriter m = new KerasModelWriter(true);
        m.layer(firstClass, firstName).set("batch_input_shape", JSON.valueToTree(Arrays.asList(null, h, w, c)));
        return m;
    }

    /** Adds a layer and returns its config object (holding "name") for the caller to fill. */
    ObjectNode layer(String cls, String name, String... inbound) {
        ObjectNode l = layers.addObject();
        l.put("name", name);
        l.put("class_name", cls);
        ObjectNode cfg = l.putObject("config");
        cfg.put("name", name);
        cfg.put("trainable", true);
        if (!sequential) {
            ArrayNode nodes = l.putArray("inbound_nodes");
            if (inbound.length > 0) {
                ArrayNode node = nodes.addArray();
                for (String in : inbound) {
                    node.addArray().add(in).add(0).add(0).addObject();
                }
            }
        }
        return cfg;
    }

    /** A float32 weight, e.g. "conv2d_1/kernel" in Keras layout. */
    void weight(String name, INDArray value) {
        float[] v = value.castTo(DataType.FLOAT).dup('c').data().asFloat();
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        weights.add(new Weight(name, value.shape(), b.array(), null));
    }

    /** A quantized weight: raw little-endian codes with the manifest's quantization entry. */
    void quantizedWeight(String name, long[] shape, byte[] codes, String dtype, Double min, Double scale) {
        ObjectNode q = JSON.createObjectNode();
        q.put("dtype", dtype);
        if (min != null) {
            q.put("min", min);
            q.put("scale", scale);
        }
        weights.add(new Weight(name, shape, codes, q));
    }

    /** Writes model.json and the shards into {@code dir}; returns the path of model.json. */
    Path write(Path dir, String outputLayer) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", "layers-model");
        ObjectNode topo = root.putObject("modelTopology");
        topo.put("keras_version", "2.1.6");
        topo.put("backend", "tensorflow");
        ObjectNode model = topo.putObject("model_config");
        if (sequential) {
            model.put("class_name", "Sequential");
            model.set("config", layers);
        } else {
            model.put("class_name", "Model");
            ObjectNode cfg = model.putObject("config");
            cfg.put("name", "synthetic");
            cfg.set("layers", layers);
            cfg.set("input_layers", JSON.valueToTree(List.of(List.of("input_1", 0, 0))));
            cfg.set("output_layers", JSON.valueToTree(List.of(List.of(outputLayer, 0, 0))));
        }
        Map<String, List<Weight>> groups = new LinkedHashMap<>();
        for (Weight w : weights) {
            groups.computeIfAbsent(w.name().substring(0, w.name().indexOf('/')), k -> new ArrayList<>()).add(w);
        }
        ArrayNode manifest = root.putArray("weightsManifest");
        int g = 0;
        for (List<Weight> group : groups.values()) {
            g++;
            ObjectNode entry = manifest.addObject();
            ArrayNode specs = entry.putArray("weights");
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (Weight w : group) {
                ObjectNode s = specs.addObject();
                s.put("name", w.name());
                s.set("shape", JSON.valueToTree(w.shape()));
                s.put("dtype", "float32");
                if (w.quantization() != null) {
                    s.set("quantization", w.quantization());
                }
                bytes.write(w.bytes());
            }
            byte[] all = bytes.toByteArray();
            int cut = all.length / 2 | 1;
            String a = "group" + g + "-shard1of2";
            String b = "group" + g + "-shard2of2";
            Files.write(dir.resolve(a), Arrays.copyOfRange(all, 0, Math.min(cut, all.length)));
            Files.write(dir.resolve(b), Arrays.copyOfRange(all, Math.min(cut, all.length), all.length));
            entry.putArray("paths").add(a).add(b);
        }
        Path json = dir.resolve("model.json");
        JSON.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), root);
        return json;
    }
}
