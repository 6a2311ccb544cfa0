package org.dfq4j.zoo.tflite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.Network;

/**
 * Reads a TensorFlow Lite model (.tflite) into a float NCHW {@link Network}.
 *
 * <ul>
 *   <li>Integer weights are dequantized, (q - zero_point) * scale, per tensor or per channel; int32
 *       biases with scale input_scale * weight_scale[c]. Float models load as they are.
 *   <li>The range every quantized activation records becomes {@code recordedRanges()} of the variable
 *       holding it; a quantized input is taken as its real value, with properties {@code input.type}
 *       and {@code input.range}. QUANTIZE and DEQUANTIZE are identities.
 *   <li>Activations are NHWC in the file and NCHW in the graph: weights are re-laid out (conv
 *       [out,kh,kw,in] to [kh,kw,in,out], depthwise [1,kh,kw,C*m] to [kh,kw,C,m], dense [out,in] to
 *       [in,out]) and axis arguments remapped; 4-D outputs are NCHW, other outputs keep TFLite's layout.
 *   <li>Fused activations become separate relu/relu6 ops after the layer; so does the clamp a quantized
 *       weight layer's output range implies when the converter dropped the activation (zero point =
 *       qmin: ReLU, or ReLU6 when the range ends at 6).
 *   <li>A trailing {@code TFLite_Detection_PostProcess} is not run: the outputs are its box and class
 *       inputs, its options the properties {@code postprocess.*}, its anchors the attachment
 *       {@code postprocess.anchors}.
 *   <li>Properties {@code format} = tflite and {@code source} = the file.
 * </ul>
 */
public final class TfliteReader {

    private TfliteReader() {
    }

    /**
     * @throws DfqException with a one-line message naming the file when it is missing, not a TFLite
     *     model, corrupt or truncated, or uses an op or feature this reader does not translate
     */
    public static Network read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DfqException(file + ": no such file");
        } catch (IOException e) {
            throw new DfqException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        TfliteModel model = TfliteModel.parse(file, bytes);
        String name = file.getFileName().toString().replaceFirst("\\.tflite$", "");
        return ModelChecks.requireUsable(GraphTranslator.translate(model, name), file.toString());
    }
}
