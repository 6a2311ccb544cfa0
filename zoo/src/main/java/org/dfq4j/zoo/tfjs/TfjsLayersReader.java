package org.dfq4j.zoo.tfjs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.Network;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads a TensorFlow.js layers model: {@code model.json} (a Keras topology, Sequential or
 * functional, plus a weights manifest) and its binary weight shards beside it, into an NCHW
 * {@link Network}. Layers become the canonical ops of
 * {@link org.dfq4j.rewrite.graph.NetworkBuilder} (BatchNormalization stays a separate batchnorm op;
 * a layer's fused activation becomes its own op). The network's properties record
 * {@code format=tfjs-layers} and {@code source=<path of model.json>}.
 *
 * <p>Bad JSON, a missing or wrongly sized shard, or an unsupported layer is a one-line
 * {@link DfqException} naming the file.
 */
public final class TfjsLayersReader {

    public static final String FORMAT = "tfjs-layers";

    private TfjsLayersReader() {
    }

    public static Network read(Path modelJson) {
        JsonNode root = parse(modelJson);
        String format = root.path("format").asText("layers-model");
        JsonNode topology = root.get("modelTopology");
        if (format.equals("graph-model") || (topology != null && topology.has("node"))) {
            throw new DfqException(modelJson + ": a TF.js graph model (a TensorFlow GraphDef); only TF.js layers"
                    + " models (Keras topology) can be read");
        }
        if (topology == null || !topology.isObject()) {
            throw new DfqException(modelJson + ": no modelTopology object; is this a TF.js layers model.json?");
        }
        KerasTopology keras = KerasTopology.parse(modelJson, topology);
        TfjsWeights weights = TfjsWeights.load(modelJson, root.get("weightsManifest"));
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("format", FORMAT);
        properties.put("source", modelJson.toString());
        return ModelChecks.requireUsable(KerasGraphBuilder.build(modelJson, keras, weights).withProperties(properties),
                modelJson.toString());
    }

    private static JsonNode parse(Path modelJson) {
        try {
            JsonNode root = new ObjectMapper().readTree(Files.readAllBytes(modelJson));
            if (root == null || !root.isObject()) {
                throw new DfqException(modelJson + ": not a JSON object; expected a TF.js model.json");
            }
            return root;
        } catch (NoSuchFileException e) {
            throw new DfqException(modelJson + ": file not found");
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new DfqException(modelJson + ": invalid JSON" + where + ": "
                    + e.getOriginalMessage().replaceAll("\\s+", " "), e);
        } catch (IOException e) {
            throw new DfqException(modelJson + ": cannot read: " + e.getMessage(), e);
        }
    }
}
