package org.dfq4j.cli;

import static org.dfq4j.cli.DfqRun.dfq;

import java.nio.file.Files;
import java.nio.file.Path;
import org.dfq4j.zoo.tflite.TinyTflite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.Padding;

/** {@code dfq info} refuses bad layer attributes when it reads the model, in one line naming file and operator. */
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
}
