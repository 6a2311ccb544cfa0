package org.dfq4j.zoo.tflite;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.zoo.ReaderAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.DepthwiseConv2DOptions;
import org.tensorflow.lite.schema.Padding;
import org.tensorflow.lite.schema.Pool2DOptions;
import org.tensorflow.lite.schema.TensorType;

/**
 * What the reader checks before it allocates or builds anything: vector lengths against the file,
 * layer attributes, tensor sizes, finite weights and usable quantization scales. Each failure is a
 * one-line {@link DfqException} naming the file and the operator or tensor.
 */
class TfliteReaderValidationTest {

    @TempDir
    Path dir;

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static DfqException refused(Path f, String... mustName) {
        return ReaderAssertions.refused(() -> TfliteReader.read(f), f, mustName);
    }

    /** x [1,5,5,2] -> conv 3x3 with the given options -> y. */
    private static byte[] conv(int strideH, int strideW, int dilH, int dilW) {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 5, 5, 2);
        int w = t.floats("w", NhwcReference.randomFloats(3 * 3 * 3 * 2, 1), 3, 3, 3, 2);
        int y = t.activation("y", 1, 5, 5, 3);
        int o = Conv2DOptions.createConv2DOptions(t.fb(), Padding.SAME, strideW, strideH, ActivationFunctionType.NONE,
                dilW, dilH);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, o, new int[] {x, w, -1}, new int[] {y});
        return t.finish(new int[] {x}, new int[] {y});
    }

    @Test
    void validConvolutionReads() throws IOException {
        TfliteReader.read(write("ok.tflite", conv(1, 1, 1, 1)));
        TfliteReader.read(write("dilated.tflite", conv(1, 1, 2, 2)));
    }

    @Test
    void stridesAndDilationsBelowOneAreRefusedAtReadTime() throws IOException {
        refused(write("stride0.tflite", conv(0, 1, 1, 1)), "operator #0", "CONV_2D", "stride");
        refused(write("strideneg.tflite", conv(1, -2, 1, 1)), "operator #0", "stride");
        refused(write("dilation0.tflite", conv(1, 1, 0, 1)), "operator #0", "dilation");
        refused(write("dilationneg.tflite", conv(1, 1, 1, -3)), "operator #0", "dilation");
    }

    @Test
    void depthwiseStrideZeroIsRefused() throws IOException {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 5, 5, 2);
        int w = t.floats("dw", NhwcReference.randomFloats(3 * 3 * 2, 2), 1, 3, 3, 2);
        int y = t.activation("y", 1, 5, 5, 2);
        int o = DepthwiseConv2DOptions.createDepthwiseConv2DOptions(t.fb(), Padding.SAME, 0, 0, 1,
                ActivationFunctionType.NONE, 1, 1);
        t.op(BuiltinOperator.DEPTHWISE_CONV_2D, BuiltinOptions.DepthwiseConv2DOptions, o, new int[] {x, w, -1},
                new int[] {y});
        refused(write("dw.tflite", t.finish(new int[] {x}, new int[] {y})), "DEPTHWISE_CONV_2D", "stride");
    }

    private static byte[] pool(int filter, byte padding) {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 5, 5, 2);
        int y = t.activation("y", 1, 1, 1, 2);
        int o = Pool2DOptions.createPool2DOptions(t.fb(), padding, 1, 1, filter, filter, ActivationFunctionType.NONE);
        t.op(BuiltinOperator.AVERAGE_POOL_2D, BuiltinOptions.Pool2DOptions, o, new int[] {x}, new int[] {y});
        return t.finish(new int[] {x}, new int[] {y});
    }

    @Test
    void aPoolLargerThanItsPaddedInputIsRefused() throws IOException {
        TfliteReader.read(write("pool5.tflite", pool(5, Padding.VALID)));
        refused(write("pool300.tflite", pool(300, Padding.VALID)), "AVERAGE_POOL_2D", "300");
        refused(write("pool0.tflite", pool(0, Padding.VALID)), "AVERAGE_POOL_2D");
    }

    @Test
    void anAbsurdInputSizeIsRefused() throws IOException {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 100_000, 100_000, 3);
        int y = t.activation("y", 1, 100_000, 100_000, 3);
        t.op(BuiltinOperator.RELU, new int[] {x}, new int[] {y});
        refused(write("huge.tflite", t.finish(new int[] {x}, new int[] {y})), "100000");
    }

    @Test
    void aConstantWhoseBytesDoNotFitItsShapeIsRefusedEvenIfUnused() throws IOException {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 2, 2, 1);
        int y = t.activation("y", 1, 2, 2, 1);
        t.floats("spare", new float[3], 2, 2); // 12 bytes for a [2,2] float tensor
        t.op(BuiltinOperator.RELU, new int[] {x}, new int[] {y});
        refused(write("spare.tflite", t.finish(new int[] {x}, new int[] {y})), "spare", "bytes");
    }

    @Test
    void nonFiniteFloatWeightsAreRefusedNamingTheTensor() throws IOException {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            TinyTflite t = new TinyTflite();
            int x = t.activation("x", 1, 5, 5, 2);
            float[] wv = NhwcReference.randomFloats(3 * 3 * 3 * 2, 1);
            wv[7] = bad;
            int w = t.floats("conv/weights", wv, 3, 3, 3, 2);
            int y = t.activation("y", 1, 5, 5, 3);
            int o = Conv2DOptions.createConv2DOptions(t.fb(), Padding.SAME, 1, 1, ActivationFunctionType.NONE, 1, 1);
            t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, o, new int[] {x, w, -1}, new int[] {y});
            refused(write("bad" + bad + ".tflite", t.finish(new int[] {x}, new int[] {y})), "conv/weights",
                    Float.isNaN(bad) ? "NaN" : "Infinity");
        }
    }

    @Test
    void zeroOrNonFiniteQuantizationScalesAreRefusedNamingTheTensor() throws IOException {
        TfliteReader.read(write("scales.tflite", TinyTflite.int8Conv(new float[] {0.1f, 0.2f})));
        refused(write("zero.tflite", TinyTflite.int8Conv(new float[] {0.1f, 0f})), "conv/weights", "scale");
        refused(write("nan.tflite", TinyTflite.int8Conv(new float[] {Float.NaN, 0.2f})), "conv/weights", "scale");
        refused(write("inf.tflite", TinyTflite.int8Conv(new float[] {0.1f, Float.POSITIVE_INFINITY})), "conv/weights", "scale");
        refused(write("neg.tflite", TinyTflite.int8Conv(new float[] {0.1f, -0.2f})), "conv/weights", "scale");
    }

    @Test
    void aZeroActivationScaleIsRefused() throws IOException {
        TinyTflite t = new TinyTflite();
        int x = t.quantizedActivation("x_q", TensorType.INT8, 0f, 0, 1, 2, 2, 1);
        int y = t.activation("y", 1, 2, 2, 1);
        t.op(BuiltinOperator.DEQUANTIZE, new int[] {x}, new int[] {y});
        refused(write("zeroact.tflite", t.finish(new int[] {x}, new int[] {y})), "x_q", "scale");
    }

    /** A string length edited to 2^31 - 1: the read past the end of the file names the tensor it was reading. */
    @Test
    void aReadPastTheEndNamesWhatItWasReading() throws IOException {
        byte[] b = TinyTflite.int8Conv(new float[] {0.1f, 0.2f});
        byte[] name = "conv/weights".getBytes(StandardCharsets.UTF_8);
        int at = TinyTflite.indexOf(b, name);
        assertTrue(at >= 4, "tensor name not found");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at - 4, Integer.MAX_VALUE);
        refused(write("longname.tflite", b), "corrupt or truncated", "reading tensor 1");
    }

    /**
     * A 4-byte edit: the length of a quantization scale vector becomes 2^30 + 1. The last element's
     * offset, (2^30) * 4, overflows int arithmetic back to the first element, so reading it succeeds;
     * allocating the array then asked for 4 GiB (an OutOfMemoryError). The length must be checked
     * against the file ({@link TinyTflite#scaleVectorLengthOverflow}).
     */
    @Test
    void aCorruptVectorLengthIsRefusedBeforeAllocating() throws IOException {
        refused(write("oom.tflite", TinyTflite.scaleVectorLengthOverflow()), "corrupt");
    }
}
