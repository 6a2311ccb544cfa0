package org.dfq4j.zoo.tflite;

import com.google.flatbuffers.FlexBuffers;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The SSD custom op {@code TFLite_Detection_PostProcess} (box decoding against anchors, then
 * non-maximum suppression). It is not run inside the graph: the graph ends at its box-encoding and
 * class-score inputs, its options become network properties {@code postprocess.<option>} and its
 * anchors the attachment {@value #ANCHORS}.
 */
final class DetectionPostProcess {

    static final String OP_NAME = "TFLite_Detection_PostProcess";
    static final String PREFIX = "postprocess.";
    static final String ANCHORS = PREFIX + "anchors";

    private DetectionPostProcess() {
    }

    /**
     * The op's custom options, a FlexBuffer map (max_detections, num_classes, y_scale, ...), as
     * properties {@code postprocess.<key>} = value in decimal ("0.6", "90", "true").
     */
    static Map<String, String> options(ByteBuffer customOptions) {
        byte[] raw = new byte[customOptions.remaining()];
        customOptions.duplicate().get(raw);
        FlexBuffers.Map map = FlexBuffers.getRoot(ByteBuffer.wrap(raw)).asMap();
        FlexBuffers.KeyVector keys = map.keys();
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            out.put(PREFIX + keys.get(i).toString(), text(map.get(i)));
        }
        return out;
    }

    private static String text(FlexBuffers.Reference r) {
        if (r.isBoolean()) {
            return Boolean.toString(r.asBoolean());
        }
        if (r.isFloat()) {
            // TFLite writes these options as 32-bit floats: print the float, not its double widening.
            return Float.toString((float) r.asFloat());
        }
        if (r.isInt() || r.isUInt()) {
            return Long.toString(r.asLong());
        }
        return r.isString() ? r.asString() : r.toString();
    }
}
