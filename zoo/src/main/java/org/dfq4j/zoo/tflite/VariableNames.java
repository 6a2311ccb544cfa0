package org.dfq4j.zoo.tflite;

import java.util.HashSet;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Readable, unique SameDiff variable names derived from TFLite tensor names. Converters join
 * several fused op names with ';' ("a/Relu6;a/BiasAdd;..."): the first is kept; characters outside
 * [A-Za-z0-9_/.-] become '_'; a clash gets a numeric suffix.
 */
final class VariableNames {

    /** Suffixes NetworkBuilder adds to a layer name for its constants and padding. */
    private static final String[] LAYER_SUFFIXES = {"", "/W", "/b", "/pad", "/pad/paddings"};

    private final SameDiff sd;
    private final Set<String> taken = new HashSet<>();

    VariableNames(SameDiff sd) {
        this.sd = sd;
    }

    /** The readable form of a TFLite tensor name, "tensor_<index>" if nothing readable remains. */
    static String sanitize(String tfliteName, int index) {
        String first = tfliteName.split(";", 2)[0];
        String s = first.replaceAll("[^A-Za-z0-9_/.-]", "_").replaceAll("/{2,}", "/").replaceAll("^/+|/+$", "");
        return s.isEmpty() ? "tensor_" + index : s;
    }

    /** A name not yet used, based on {@code base}. */
    String unique(String base) {
        return claim(base, new String[] {""});
    }

    /** A layer name whose derived constant names (/W, /b, /pad) are also free. */
    String uniqueLayer(String base) {
        return claim(base, LAYER_SUFFIXES);
    }

    private String claim(String base, String[] suffixes) {
        String name = base;
        for (int i = 1; !free(name, suffixes); i++) {
            name = base + "_" + i;
        }
        for (String s : suffixes) {
            taken.add(name + s);
        }
        return name;
    }

    private boolean free(String name, String[] suffixes) {
        for (String s : suffixes) {
            if (taken.contains(name + s) || sd.hasVariable(name + s)) {
                return false;
            }
        }
        return true;
    }
}
