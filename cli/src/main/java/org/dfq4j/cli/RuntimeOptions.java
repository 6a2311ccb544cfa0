package org.dfq4j.cli;

import java.util.Locale;
import org.dfq4j.eval.runtime.OnnxRuntimeRunner;
import org.dfq4j.rewrite.DfqException;
import picocli.CommandLine.Option;

/** Which runtime runs the model: ND4J/SameDiff (dfq4j's own path) or ONNX Runtime (an .onnx file as it is). */
final class RuntimeOptions {

    @Option(names = "--runtime", paramLabel = "nd4j|onnxruntime", defaultValue = "nd4j",
            description = "nd4j: dfq4j's reader and the DFQ pipeline on ND4J (default); onnxruntime: run the .onnx "
                    + "file as it is in ONNX Runtime (export one with dfq export), same datasets, metrics and report")
    String runtime;

    @Option(names = "--ort-qdq", paramLabel = "int8|simulate", defaultValue = "int8",
            description = "with --runtime onnxruntime, a QDQ model runs on ONNX Runtime's integer kernels (int8, "
                    + "default: what deployment gets) or with QDQ fusion disabled (simulate: a float simulation "
                    + "of the file's quantizers, with float rounding inside each layer like dfq4j's own simulation)")
    String ortQdq;

    @Option(names = "--reference", paramLabel = "PATH.onnx",
            description = "with --runtime onnxruntime, also run this ONNX file (e.g. the FP32 export) on the same "
                    + "photographs and report the model's agreement with it (top-1 agreement, mIoU or mAP to it)")
    java.nio.file.Path reference;

    boolean onnxRuntime() {
        return switch (runtime.toLowerCase(Locale.ROOT)) {
            case "nd4j" -> {
                if (reference != null) {
                    throw new DfqException("--reference compares two ONNX files in ONNX Runtime: add --runtime onnxruntime");
                }
                yield false;
            }
            case "onnxruntime" -> true;
            default -> throw new DfqException("--runtime must be nd4j or onnxruntime, got '" + runtime + "'");
        };
    }

    OnnxRuntimeRunner.Mode mode() {
        return OnnxRuntimeRunner.Mode.parse(ortQdq);
    }
}
