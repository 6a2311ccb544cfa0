package org.dfq4j.cli;

import java.nio.file.Path;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.rewrite.DfqException;
import picocli.CommandLine.Option;

/** Which runtime runs the model: ND4J/SameDiff (dfq4j's own path) or ONNX Runtime (an .onnx file as it is). */
final class RuntimeOptions {

    @Option(names = "--runtime", paramLabel = "RUNTIME", defaultValue = "nd4j",
            description = "${COMPLETION-CANDIDATES}: nd4j runs dfq4j's reader and the DFQ pipeline on ND4J (default); "
                    + "onnxruntime runs the .onnx file as it is in ONNX Runtime (export one with dfq export), same "
                    + "datasets, metrics and report")
    RuntimeKind runtime;

    @Option(names = "--ort-qdq", paramLabel = "MODE", defaultValue = "int8",
            description = "with --runtime onnxruntime, a QDQ model runs on ONNX Runtime's integer kernels (int8, "
                    + "default: what deployment gets) or with QDQ fusion disabled (simulate: a float simulation "
                    + "of the file's quantizers, with float rounding inside each layer like dfq4j's own simulation)")
    OnnxRuntimeRunner.Mode ortQdq;

    @Option(names = "--reference", paramLabel = "PATH.onnx",
            description = "with --runtime onnxruntime, also run this ONNX file (e.g. the FP32 export) on the same "
                    + "photographs and report the model's agreement with it (top-1 agreement, mIoU or mAP to it)")
    Path reference;

    boolean onnxRuntime() {
        if (runtime == RuntimeKind.ND4J && reference != null) {
            throw new DfqException("--reference compares two ONNX files in ONNX Runtime: add --runtime onnxruntime");
        }
        return runtime == RuntimeKind.ONNXRUNTIME;
    }

    OnnxRuntimeRunner.Mode mode() {
        return ortQdq;
    }
}
