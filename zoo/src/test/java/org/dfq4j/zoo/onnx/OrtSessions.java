package org.dfq4j.zoo.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Runs a model in ONNX Runtime for tests (the zoo module has it as a test dependency only). */
final class OrtSessions {

    private OrtSessions() {
    }

    /** All outputs of one run; {@code simulate} disables QDQ fusion. */
    static Map<String, INDArray> run(byte[] model, String input, INDArray batch, boolean simulate) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = options(simulate); OrtSession s = env.createSession(model, o);
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch.castTo(DataType.FLOAT).dup('c')
                     .data().asFloat()), batch.shape());
             OrtSession.Result r = s.run(Map.of(input, x))) {
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (Map.Entry<String, OnnxValue> e : r) {
                OnnxTensor t = (OnnxTensor) e.getValue();
                FloatBuffer fb = t.getFloatBuffer();
                float[] v = new float[fb.remaining()];
                fb.get(v);
                out.put(e.getKey(), Nd4j.create(v, t.getInfo().getShape(), 'c'));
            }
            return out;
        }
    }

    /** Op types (with non-default domains) of the graph ONNX Runtime executes after its fusions. */
    static Map<String, Integer> kernels(byte[] model, boolean simulate, Path dir) throws OrtException, IOException {
        Path optimized = Files.createTempFile(dir, "optimized", ".onnx");
        try (OrtSession.SessionOptions o = options(simulate)) {
            o.setOptimizedModelFilePath(optimized.toString());
            OrtEnvironment.getEnvironment().createSession(model, o).close();
        }
        Map<String, Integer> counts = new TreeMap<>();
        for (NodeProto n : ModelProto.parseFrom(Files.readAllBytes(optimized)).getGraph().getNodeList()) {
            counts.merge((n.getDomain().isEmpty() ? "" : n.getDomain() + ".") + n.getOpType(), 1, Integer::sum);
        }
        return counts;
    }

    private static OrtSession.SessionOptions options(boolean simulate) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(1);
        o.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
        if (simulate) {
            o.addConfigEntry("session.disable_quant_qdq", "1");
        }
        return o;
    }
}
