package org.dfq4j.rewrite.graph;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.io.AtomicFile;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * Saves a {@link Network} (a rewritten graph included) to one file and loads it back with identical
 * outputs: a zip holding the SameDiff graph ({@code graph.sd}, SameDiff's own format), the metadata
 * ({@code network.json}: input, outputs, recorded ranges, statistics, properties) and the attachments
 * ({@code attachments/<name>.npy}). Writes go through {@link AtomicFile}.
 */
public final class NetworkFile {
    public static final String EXTENSION = ".dfq";
    private static final String GRAPH = "graph.sd";
    private static final String META = "network.json";
    private static final String ATTACHMENTS = "attachments/";

    private NetworkFile() {
    }

    /**
     * Writes the network to {@code target} with {@link AtomicFile}.
     *
     * @throws DfqException naming the target when it cannot be written
     */
    public static void save(Network net, Path target) {
        AtomicFile.write(target, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            zip.putNextEntry(new ZipEntry(META));
            zip.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(metadata(net)));
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry(GRAPH));
            ByteArrayOutputStream graph = new ByteArrayOutputStream();
            net.sameDiff().save(graph, false);
            graph.writeTo(zip);
            zip.closeEntry();
            List<String> names = new ArrayList<>(net.attachments().keySet());
            for (int i = 0; i < names.size(); i++) {
                zip.putNextEntry(new ZipEntry(ATTACHMENTS + i + ".npy"));
                zip.write(Nd4j.toNpyByteArray(net.attachments().get(names.get(i))));
                zip.closeEntry();
            }
            zip.finish();
        });
    }

    /**
     * Loads a network saved by {@link #save}, checked like an imported model
     * ({@link ModelChecks#requireUsable}).
     *
     * @throws DfqException naming the file when it is missing, not a dfq network file, or damaged
     */
    @SuppressWarnings("unchecked")
    public static Network load(Path file) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(file); ZipInputStream zip = new ZipInputStream(in)) {
            // entries inflate to little more than they take in the file (float weights barely compress):
            // a damaged size or a zip bomb stops at this bound instead of exhausting memory
            long budget = 16 * Files.size(file) + (1 << 20);
            byte[] buf = new byte[1 << 16];
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                ByteArrayOutputStream content = new ByteArrayOutputStream();
                for (int n = zip.read(buf); n > 0; n = zip.read(buf)) {
                    budget -= n;
                    if (budget < 0) {
                        throw new DfqException(file + " inflates to far more than a saved network does; it is damaged");
                    }
                    content.write(buf, 0, n);
                }
                entries.put(e.getName(), content.toByteArray());
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof DfqException d) {
                throw d;
            }
            throw new DfqException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (!entries.containsKey(META) || !entries.containsKey(GRAPH)) {
            throw new DfqException(file + " is not a dfq network file (no " + META + " or " + GRAPH
                    + "): save one with dfq eval --out PATH" + EXTENSION);
        }
        try {
            Map<String, Object> m = new ObjectMapper().readValue(entries.get(META), Map.class);
            SameDiff sd = SameDiff.load(new ByteArrayInputStream(entries.get(GRAPH)), false);
            List<Number> shape = (List<Number>) m.get("inputShape");
            Network net = new Network((String) m.get("name"), sd, (String) m.get("input"),
                    shape.stream().mapToLong(Number::longValue).toArray(), (List<String>) m.get("outputs"));
            ((Map<String, List<Number>>) m.get("recordedRanges")).forEach((k, v) ->
                    net.recordedRanges().put(k, new TensorRange(v.get(0).doubleValue(), v.get(1).doubleValue())));
            ((Map<String, Map<String, List<Number>>>) m.get("stats")).forEach((k, v) ->
                    net.stats().put(k, new ChannelStats(doubles(v.get("mean")), doubles(v.get("std")))));
            net.properties().putAll((Map<String, String>) m.get("properties"));
            List<String> names = (List<String>) m.get("attachments");
            for (int i = 0; i < names.size(); i++) {
                byte[] npy = entries.get(ATTACHMENTS + i + ".npy");
                if (npy == null) {
                    throw new DfqException(file + ": attachment '" + names.get(i) + "' is missing; the file is damaged");
                }
                net.attachments().put(names.get(i), Nd4j.createNpyFromByteArray(npy));
            }
            return ModelChecks.requireUsable(net, file.toString());
        } catch (IOException | RuntimeException e) {
            if (e instanceof DfqException d) {
                throw d;
            }
            throw new DfqException(file + " is damaged and cannot be loaded: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> metadata(Network net) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "dfq4j-network-1");
        m.put("name", net.name());
        m.put("input", net.input());
        m.put("inputShape", net.inputShape());
        m.put("outputs", net.outputs());
        Map<String, double[]> ranges = new LinkedHashMap<>();
        net.recordedRanges().forEach((k, v) -> ranges.put(k, new double[] {v.min(), v.max()}));
        m.put("recordedRanges", ranges);
        Map<String, Map<String, double[]>> stats = new LinkedHashMap<>();
        net.stats().forEach((k, v) -> stats.put(k, Map.of("mean", v.mean(), "std", v.std())));
        m.put("stats", stats);
        m.put("properties", net.properties());
        m.put("attachments", new ArrayList<>(net.attachments().keySet()));
        return m;
    }

    private static double[] doubles(List<Number> l) {
        return l.stream().mapToDouble(Number::doubleValue).toArray();
    }
}
