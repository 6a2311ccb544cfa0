package org.dfq4j.zoo.tflite;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.testing.SharedData;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.zoo.onnx.OnnxExporter;
import org.dfq4j.zoo.onnx.OnnxReader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * MobileNetV2 from ../shared/data (skipped when absent) exported to ONNX: the float export computes
 * in ONNX Runtime what dfq4j computes, and the W8A8 export (calibrated on other photographs than
 * the ones checked) read back by dfq4j is the very simulation it came from.
 */
class OnnxExportRealModelsTest {

    @TempDir
    Path dir;

    private static Path shared(String relative) {
        var f = SharedData.file(relative);
        Assumptions.assumeTrue(f.isPresent(), SharedData.missing(relative));
        return f.get();
    }

    /** Photographs start, start + 25, ... of the 200 (8 of them). */
    private static INDArray photos(int start) throws Exception {
        List<Path> all;
        try (var s = Files.list(shared("images/imagenet-dev"))) {
            all = s.sorted().toList();
        }
        List<Path> picked = new ArrayList<>();
        for (int i = start; i < all.size(); i += 25) {
            picked.add(all.get(i));
        }
        return Photos.centreCropped(picked, 224);
    }

    private static INDArray ort(byte[] model, INDArray x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            try (OrtSession s = env.createSession(model, o);
                 OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.dup('c').data().asFloat()), x.shape());
                 OrtSession.Result r = s.run(Map.of("input", t))) {
                OnnxTensor y = (OnnxTensor) r.get(0);
                FloatBuffer fb = y.getFloatBuffer();
                float[] v = new float[fb.remaining()];
                fb.get(v);
                return Nd4j.create(v, y.getInfo().getShape(), 'c');
            }
        }
    }

    private static double relative(INDArray a, INDArray b) {
        return Transforms.abs(a.sub(b)).maxNumber().doubleValue() / Transforms.abs(a).maxNumber().doubleValue();
    }

    @Test
    void mobileNetV2ExportsFloatAndW8a8() throws Exception {
        Network original = TfliteReader.read(shared("models/mobilenet_v2_1.0_224_ptq.tflite"));
        INDArray x = photos(0);
        DfqRecipe recipe = DfqRecipe.builder().equalize(true).activationRanges(RangeSpec.calibration())
                .calibrationImages(8).build();
        Network fp32 = recipe.floatPipeline().run(original).network();
        double rel = relative(fp32.output(x), ort(OnnxExporter.export(fp32).bytes(), x));
        assertTrue(rel < 1e-4, "float export in ONNX Runtime: relative difference " + rel);

        Quantizer quantizer = Quantizer.builder(recipe).calibration(Calibration.of(List.of(photos(12)), "8 photographs"))
                .inputRange(-1, 1).build();
        Network w8a8 = quantizer.quantize(original).network();
        Path file = Files.write(dir.resolve("mnv2-w8a8.onnx"), OnnxExporter.export(w8a8).bytes());
        Network back = OnnxReader.read(file);
        double same = relative(w8a8.output(x), back.output(x));
        assertTrue(same < 1e-6, "dfq4j's reading of its QDQ export vs the simulation: " + same);
    }
}
