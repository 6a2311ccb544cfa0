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
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.io.AtomicFile;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

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
            zip.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(Metadata.of(net)));
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
                    + " inside); give a file written by NetworkFile.save (" + EXTENSION + ")");
        }
        try {
            Metadata m = JSON.readValue(entries.get(META), Metadata.class);
            SameDiff sd = SameDiff.load(new ByteArrayInputStream(entries.get(GRAPH)), false);
            Map<String, TensorRange> ranges = new LinkedHashMap<>();
            m.recordedRanges().forEach((k, v) -> ranges.put(k, new TensorRange(v[0], v[1])));
            Map<String, ChannelStats> stats = new LinkedHashMap<>();
            m.stats().forEach((k, v) -> stats.put(k, new ChannelStats(v.mean(), v.std())));
            Map<String, INDArray> attachments = new LinkedHashMap<>();
            List<String> names = m.attachments();
            for (int i = 0; i < names.size(); i++) {
                byte[] npy = entries.get(ATTACHMENTS + i + ".npy");
                if (npy == null) {
                    throw new DfqException(file + ": attachment '" + names.get(i) + "' is missing; the file is damaged");
                }
                attachments.put(names.get(i), Nd4j.createNpyFromByteArray(npy));
            }
            return ModelChecks.requireUsable(Network.adopt(m.name(), sd, m.input(), m.inputShape(), m.outputs(), ranges,
                    stats, m.properties(), attachments), file.toString());
        } catch (IOException | RuntimeException e) {
            if (e instanceof DfqException d) {
                throw d;
            }
            throw new DfqException(file + " is damaged and cannot be loaded: " + e.getMessage(), e);
        }
    }

    /** network.json: what the graph file does not hold. */
    record Metadata(String format, String name, String input, long[] inputShape, List<String> outputs,
                    Map<String, double[]> recordedRanges, Map<String, Stats> stats, Map<String, String> properties,
                    List<String> attachments) {

        static final String FORMAT = "dfq4j-network-1";

        Metadata {
            recordedRanges = recordedRanges == null ? Map.of() : recordedRanges;
            stats = stats == null ? Map.of() : stats;
            properties = properties == null ? Map.of() : properties;
            attachments = attachments == null ? List.of() : attachments;
        }

        static Metadata of(Network net) {
            Map<String, double[]> ranges = new LinkedHashMap<>();
            net.recordedRanges().forEach((k, v) -> ranges.put(k, new double[] {v.min(), v.max()}));
            Map<String, Stats> stats = new LinkedHashMap<>();
            net.stats().forEach((k, v) -> stats.put(k, new Stats(v.mean(), v.std())));
            return new Metadata(FORMAT, net.name(), net.input(), net.inputShape(), net.outputs(), ranges, stats,
                    net.properties(), new ArrayList<>(net.attachments().keySet()));
        }
    }

    /** One layer's statistics in network.json. */
    record Stats(double[] mean, double[] std) {
    }
}
