package org.dfq4j.zoo.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.TensorProto;

/**
 * The one place the ONNX reader touches the protobuf runtime behind the ONNX classes. The generated
 * classes ({@code onnx.Onnx.*}) ship in nd4j-api, compiled against ND4J's shaded copy of protobuf
 * (the artifact org.nd4j:protobuf, relocated into ND4J's namespace); their {@code bytes} fields return
 * that copy's {@code ByteString}, for which there is no other accessor. Everything else in the reader
 * sees plain Java types (repeated strings are read by index, not as the shaded list type).
 */
final class ProtoBytes {

    private ProtoBytes() {
    }

    /** A tensor's raw_data as a read-only little-endian buffer (empty when the values are in typed fields). */
    static ByteBuffer rawData(TensorProto t) {
        return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A string attribute's value, decoded as UTF-8. */
    static String string(AttributeProto a) {
        return a.getS().toString(StandardCharsets.UTF_8);
    }
}
