package org.dfq4j.zoo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkFile;
import org.dfq4j.zoo.mobilenet.MobileNetV2Builder;
import org.dfq4j.zoo.onnx.OnnxReader;
import org.dfq4j.zoo.tfjs.TfjsLayersReader;
import org.dfq4j.zoo.tflite.TfliteReader;

/**
 * Opens a model by what its name says: a {@code .tflite} file, an {@code .onnx} file, a TF.js
 * layers {@code model.json} (or the folder holding it), or {@code builtin:mobilenetv2} for the
 * synthetic MobileNetV2 that needs no files.
 */
public final class ModelFiles {
    public static final String BUILTIN_MOBILENET = "builtin:mobilenetv2";

    private ModelFiles() {
    }

    /**
     * Reads the model {@code spec} names.
     *
     * @throws DfqException naming the file when it is missing, unreadable, corrupt or unsupported; also
     *     when reading it runs out of memory (a corrupt size in the file, or too little heap)
     */
    public static Network read(String spec) {
        return read(spec, null);
    }

    /**
     * Reads the model {@code spec} names with its input fixed to {@code chw} = [C, H, W] (null: as the
     * file declares). ONNX files may declare symbolic dims, which this resolves; any other model's
     * input is fixed, and a {@code chw} that differs from it is an error.
     *
     * @throws DfqException as {@link #read(String)}, and when {@code chw} contradicts the model
     */
    public static Network read(String spec, long[] chw) {
        try {
            Network net = load(spec, chw);
            if (chw != null && !java.util.Arrays.equals(chw, net.inputShape())) {
                throw new DfqException("input shape " + java.util.Arrays.toString(chw) + " does not fit " + spec
                        + ", whose input is fixed at " + java.util.Arrays.toString(net.inputShape())
                        + " (C,H,W); an input shape resolves symbolic dims of ONNX models");
            }
            return net;
        } catch (OutOfMemoryError e) {
            throw new DfqException("out of memory while reading " + spec + ": the file is corrupt or needs more heap"
                    + " (JAVA_OPTS=-Xmx8g)", e);
        }
    }

    /**
     * The files reading {@code spec} reads: a model file, or the folder of a TF.js model (model.json and
     * its weight shards); none for a built-in model.
     */
    public static List<Path> files(String spec) {
        if (spec.startsWith("builtin:")) {
            return List.of();
        }
        Path p = Path.of(spec);
        if (Files.isDirectory(p)) {
            return List.of(p);
        }
        String name = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean tfjs = name.endsWith(".json") && p.toAbsolutePath().getParent() != null;
        return tfjs ? List.of(p, p.toAbsolutePath().getParent()) : List.of(p);
    }

    private static Network load(String spec, long[] chw) {
        if (spec.startsWith("builtin:")) {
            if (!spec.equals(BUILTIN_MOBILENET)) {
                throw new DfqException("unknown built-in model '" + spec + "': the built-in model is " + BUILTIN_MOBILENET);
            }
            return MobileNetV2Builder.synthetic(1.0, 224, 1000, 42);
        }
        Path p = Path.of(spec);
        if (!Files.exists(p)) {
            throw new DfqException("model file " + p + " does not exist: give a .tflite, .onnx or TF.js model.json");
        }
        if (Files.isDirectory(p)) {
            Path json = p.resolve("model.json");
            if (!Files.isRegularFile(json)) {
                throw new DfqException("model folder " + p + " has no model.json: give a .tflite, .onnx or TF.js model.json");
            }
            p = json;
        }
        if (!Files.isReadable(p)) {
            throw new DfqException("model file " + p + " is not readable: check its permissions");
        }
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".tflite")) {
            return TfliteReader.read(p).withName(stem(p));
        }
        if (name.endsWith(".onnx")) {
            return OnnxReader.read(p, chw).withName(stem(p));
        }
        if (name.endsWith(NetworkFile.EXTENSION)) {
            return NetworkFile.load(p);
        }
        if (name.endsWith(".json")) {
            return TfjsLayersReader.read(p).withName(p.toAbsolutePath().getParent().getFileName().toString());
        }
        throw new DfqException("model file " + p + ": unrecognised format '" + name
                + "' (expected .tflite, .onnx, " + NetworkFile.EXTENSION + " or a TF.js model.json)");
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
