package org.dfq4j.zoo.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import onnx.Onnx.StringStringEntryProto;
import org.nd4j.shade.protobuf.ByteString;
import org.nd4j.shade.protobuf.CodedInputStream;
import org.nd4j.shade.protobuf.WireFormat;

/**
 * The one place the ONNX reader and exporter touch the protobuf runtime behind the ONNX classes. The generated
 * classes ({@code onnx.Onnx.*}) ship in nd4j-api, compiled against ND4J's shaded copy of protobuf
 * (the artifact org.nd4j:protobuf, relocated into ND4J's namespace); their {@code bytes} fields return
 * that copy's {@code ByteString}, for which there is no other accessor. Everything else in the reader
 * sees plain Java types (repeated strings are read by index, not as the shaded list type).
 * Writing, it is the one place that makes such a {@code ByteString}.
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

    /** Sets a tensor's raw_data to these bytes. */
    static TensorProto.Builder setRawData(TensorProto.Builder t, byte[] data) {
        return t.setRawData(ByteString.copyFrom(data));
    }

    /** Sets a string attribute's value, encoded as UTF-8. */
    static AttributeProto.Builder setString(AttributeProto.Builder a, String value) {
        return a.setS(ByteString.copyFromUtf8(value));
    }

    /** ModelProto's field number of metadata_props. */
    private static final int METADATA_PROPS = 14;

    /**
     * A model file's metadata_props alone: every other field (the graph and its weights) is skipped
     * unparsed, so this is cheap for a large model.
     */
    static Map<String, String> metadata(InputStream model) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(model);
        in.setSizeLimit(Integer.MAX_VALUE);
        Map<String, String> out = new LinkedHashMap<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (WireFormat.getTagFieldNumber(tag) == METADATA_PROPS
                    && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                StringStringEntryProto e = StringStringEntryProto.parseFrom(in.readBytes());
                out.put(e.getKey(), e.getValue());
            } else if (!in.skipField(tag)) {
                break;
            }
        }
        return out;
    }
}
