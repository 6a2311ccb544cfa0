package org.dfq4j.zoo.tfjs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.dfq4j.rewrite.graph.ModelChecks;

/**
 * The layer graph of a Keras model as TF.js stores it ({@code modelTopology}): a Sequential model
 * (a chain) or a functional Model (layers with {@code inbound_nodes}), reduced to one input layer,
 * the other layers in the order they are listed, and the output layer names.
 */
record KerasTopology(String name, KerasLayer input, List<KerasLayer> layers, List<String> outputs) {

    KerasTopology {
        layers = List.copyOf(layers);
        outputs = List.copyOf(outputs);
    }

    /** Input size [H, W, C] from the input layer's {@code batch_input_shape} [null, H, W, C]. */
    long[] inputHwc() {
        String field = input.has("batch_input_shape") ? "batch_input_shape" : "batch_shape";
        long[] s = input.longs(field);
        if (s.length != 4 || s[1] <= 0 || s[2] <= 0 || s[3] <= 0) {
            throw input.error("input shape must be a fixed-size image [null, H, W, C], got "
                    + Arrays.toString(s).replace("-1", "null"));
        }
        String bad = ModelChecks.inputProblem(s[3], s[1], s[2]);
        if (bad != null) {
            throw input.error(bad);
        }
        return new long[] {s[1], s[2], s[3]};
    }

    /** Parses {@code modelTopology}: either a wrapper holding {@code model_config} or the model config itself. */
    static KerasTopology parse(Path file, JsonNode topology) {
        JsonNode model = topology.has("model_config") ? topology.get("model_config") : topology;
        String cls = text(model.get("class_name"));
        JsonNode config = model.get("config");
        if (cls == null || config == null) {
            throw new DfqException(file + ": modelTopology has no Keras model config (class_name and config);"
                    + " is this a TF.js layers model?");
        }
        return switch (cls) {
            case "Sequential" -> sequential(file, config);
            case "Model", "Functional" -> functional(file, config);
            default -> throw new DfqException(file + ": unsupported Keras model class '" + cls
                    + "'; only Sequential and functional (Model) topologies can be read");
        };
    }

    private static KerasTopology sequential(Path file, JsonNode config) {
        JsonNode list = config.isArray() ? config : config.get("layers");
        String name = config.isArray() ? "sequential" : textOr(config.get("name"), "sequential");
        if (list == null || !list.isArray() || list.size() == 0) {
            throw new DfqException(file + ": Sequential model has no layers");
        }
        List<KerasLayer> layers = new ArrayList<>();
        for (JsonNode node : list) {
            layers.add(layer(file, node, List.of()));
        }
        KerasLayer input;
        if (layers.get(0).className().equals("InputLayer")) {
            input = layers.remove(0);
        } else {
            // Keras 2 Sequential models put the input shape on the first layer; it names the
            // implicit input layer "<first layer>_input".
            KerasLayer first = layers.get(0);
            ObjectNode cfg = JsonNodeFactory.instance.objectNode();
            for (String f : List.of("batch_input_shape", "batch_shape")) {
                if (first.has(f)) {
                    cfg.set(f, first.config().get(f));
                }
            }
            if (cfg.isEmpty()) {
                throw first.error("the first layer of a Sequential model must give batch_input_shape");
            }
            input = new KerasLayer(file, first.name() + "_input", "InputLayer", cfg, List.of());
        }
        List<KerasLayer> chained = new ArrayList<>();
        String previous = input.name();
        for (KerasLayer l : layers) {
            chained.add(new KerasLayer(file, l.name(), l.className(), l.config(), List.of(previous)));
            previous = l.name();
        }
        return new KerasTopology(name, input, chained, List.of(previous));
    }

    private static KerasTopology functional(Path file, JsonNode config) {
        JsonNode list = config.get("layers");
        if (list == null || !list.isArray() || list.size() == 0) {
            throw new DfqException(file + ": functional model has no layers");
        }
        List<String> inputs = endpoints(file, config, "input_layers");
        List<String> outputs = endpoints(file, config, "output_layers");
        if (inputs.size() != 1) {
            throw new DfqException(file + ": the model has " + inputs.size() + " inputs " + inputs
                    + "; only single-input models can be read");
        }
        KerasLayer input = null;
        List<KerasLayer> layers = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonNode node : list) {
            KerasLayer l = layer(file, node, inbound(file, node));
            if (!names.add(l.name())) {
                throw l.error("the layer name occurs twice in the topology");
            }
            if (l.name().equals(inputs.get(0))) {
                if (!l.className().equals("InputLayer")) {
                    throw l.error("the model input must be an InputLayer");
                }
                input = l;
            } else {
                layers.add(l);
            }
        }
        if (input == null) {
            throw new DfqException(file + ": input layer '" + inputs.get(0) + "' is not among the layers");
        }
        for (KerasLayer l : layers) {
            for (String in : l.inbound()) {
                if (!names.contains(in)) {
                    throw l.error("takes input from unknown layer '" + in + "'");
                }
            }
        }
        for (String o : outputs) {
            if (!names.contains(o)) {
                throw new DfqException(file + ": output layer '" + o + "' is not among the layers");
            }
        }
        return new KerasTopology(textOr(config.get("name"), "model"), input, layers, outputs);
    }

    private static KerasLayer layer(Path file, JsonNode node, List<String> inbound) {
        String cls = text(node.get("class_name"));
        JsonNode config = node.get("config");
        String name = config == null ? null : text(config.get("name"));
        if (name == null) {
            name = text(node.get("name"));
        }
        if (cls == null || config == null || !config.isObject() || name == null) {
            throw new DfqException(file + ": a layer entry lacks class_name, config or name: " + abbreviate(node));
        }
        return new KerasLayer(file, name, cls, config, inbound);
    }

    /** Inbound layer names from Keras 2's {@code inbound_nodes: [[[name, nodeIndex, tensorIndex, kwargs], ...]]}. */
    private static List<String> inbound(Path file, JsonNode node) {
        String name = textOr(node.get("name"), "?");
        JsonNode nodes = node.get("inbound_nodes");
        if (nodes == null || nodes.isNull() || nodes.size() == 0) {
            return List.of();
        }
        if (!nodes.isArray() || nodes.size() > 1) {
            throw new DfqException(file + ": layer '" + name + "' is applied " + nodes.size()
                    + " times (a shared layer); only layers used once can be read");
        }
        List<String> in = new ArrayList<>();
        for (JsonNode ref : nodes.get(0)) {
            if (!ref.isArray() || ref.size() < 3 || !ref.get(0).isTextual()) {
                throw new DfqException(file + ": layer '" + name + "' has inbound_nodes in a form other than"
                        + " Keras 2's [[[layer, node, tensor, kwargs]]]: " + abbreviate(nodes));
            }
            if (ref.get(1).asInt() != 0 || ref.get(2).asInt() != 0) {
                throw new DfqException(file + ": layer '" + name + "' takes output " + ref.get(2).asInt()
                        + " of node " + ref.get(1).asInt() + " of '" + ref.get(0).asText()
                        + "'; only single-output layers used once can be read");
            }
            in.add(ref.get(0).asText());
        }
        return in;
    }

    private static List<String> endpoints(Path file, JsonNode config, String field) {
        JsonNode list = config.get(field);
        if (list == null || !list.isArray()) {
            throw new DfqException(file + ": functional model config has no " + field);
        }
        List<String> names = new ArrayList<>();
        for (JsonNode ref : list) {
            if (!ref.isArray() || ref.size() < 1 || !ref.get(0).isTextual()) {
                throw new DfqException(file + ": malformed " + field + " entry " + abbreviate(ref));
            }
            if (ref.size() >= 3 && (ref.get(1).asInt() != 0 || ref.get(2).asInt() != 0)) {
                throw new DfqException(file + ": " + field + " entry " + ref
                        + " refers to a second node or output; only single-output layers used once can be read");
            }
            names.add(ref.get(0).asText());
        }
        return names;
    }

    private static String text(JsonNode n) {
        return n != null && n.isTextual() ? n.asText() : null;
    }

    private static String textOr(JsonNode n, String dflt) {
        String t = text(n);
        return t == null ? dflt : t;
    }

    private static String abbreviate(JsonNode n) {
        String s = String.valueOf(n);
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }
}
