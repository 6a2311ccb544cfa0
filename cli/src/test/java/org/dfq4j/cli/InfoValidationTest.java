package org.dfq4j.cli;

import static org.dfq4j.cli.DfqRun.dfq;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.dfq4j.zoo.tfjs.KerasModelWriter;
import org.dfq4j.zoo.tflite.TinyTflite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.Padding;

/** {@code dfq info} refuses bad layer attributes when it reads the model, in one line naming file and layer. */
class InfoValidationTest {

    @TempDir
    Path dir;

    private Path conv(String name, int stride, int dilation) throws Exception {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 6, 6, 2);
        int w = t.floats("w", new float[3 * 3 * 3 * 2], 3, 3, 3, 2);
        int y = t.activation("y", 1, 6, 6, 3);
        int o = Conv2DOptions.createConv2DOptions(t.fb(), Padding.SAME, stride, stride, ActivationFunctionType.NONE,
                dilation, dilation);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, o, new int[] {x, w, -1}, new int[] {y});
        return Files.write(dir.resolve(name), t.finish(new int[] {x}, new int[] {y}));
    }

    @Test
    void aGoodModelIsListed() throws Exception {
        DfqRun.ok("info", "--model", conv("good.tflite", 1, 1).toString());
    }

    @Test
    void badStridesAndDilationsAreRefusedAtReadTime() throws Exception {
        dfq("info", "--model", conv("stride0.tflite", 0, 1).toString())
                .failsWithOneLine("stride0.tflite", "operator #0", "stride");
        dfq("info", "--model", conv("strideneg.tflite", -1, 1).toString())
                .failsWithOneLine("strideneg.tflite", "stride");
        dfq("info", "--model", conv("dilation0.tflite", 1, 0).toString())
                .failsWithOneLine("dilation0.tflite", "dilation");
        dfq("info", "--model", conv("dilationneg.tflite", 1, -2).toString())
                .failsWithOneLine("dilationneg.tflite", "dilation");
    }

    /** The small TF.js classifier with its Conv2D layer's config changed by {@code edit}. */
    private Path tfjsConv(String name, Consumer<ObjectNode> edit) throws Exception {
        Path json = KerasModelWriter.smallConvNet(Files.createDirectories(dir.resolve(name)));
        ObjectMapper mapper = new ObjectMapper();
        JsonNode root = mapper.readTree(json.toFile());
        for (JsonNode layer : root.at("/modelTopology/model_config/config/layers")) {
            if (layer.path("class_name").asText().equals("Conv2D")) {
                edit.accept((ObjectNode) layer.get("config"));
            }
        }
        mapper.writeValue(json.toFile(), root);
        return json;
    }

    @Test
    void badTfjsStridesAndDilationsAreRefusedAtReadTime() throws Exception {
        DfqRun.ok("info", "--model", tfjsConv("tfjs-ok", c -> c.putArray("strides").add(2).add(2)).toString());
        dfq("info", "--model", tfjsConv("tfjs-stride0", c -> c.putArray("strides").add(0).add(1)).toString())
                .failsWithOneLine("tfjs-stride0", "model.json", "conv2d_1", "stride");
        dfq("info", "--model", tfjsConv("tfjs-dilationneg", c -> c.put("dilation_rate", -1)).toString())
                .failsWithOneLine("tfjs-dilationneg", "model.json", "conv2d_1", "dilation");
    }

    @Test
    void badOnnxStridesAndDilationsAreRefusedAtReadTime() throws Exception {
        for (String attribute : List.of("strides", "dilations")) {
            OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 8, 8);
            m.output(m.node("Conv", "conv", List.of("x", m.floats("w", Nd4j.rand(DataType.FLOAT, 4, 3, 3, 3))),
                    OnnxModelWriter.ints(attribute, 1, 0)));
            Path p = m.write(dir.resolve(attribute + "0.onnx"));
            dfq("info", "--model", p.toString()).failsWithOneLine(p.getFileName().toString(), "conv", attribute);
        }
    }

    /** The 4-byte edit that made the JVM print a raw OutOfMemoryError: now one line at read time. */
    @Test
    void aCorruptVectorLengthIsOneLineNotAnOutOfMemoryError() throws Exception {
        Path p = Files.write(dir.resolve("oom.tflite"), TinyTflite.scaleVectorLengthOverflow());
        dfq("info", "--model", p.toString()).failsWithOneLine("oom.tflite", "corrupt");
    }
}
