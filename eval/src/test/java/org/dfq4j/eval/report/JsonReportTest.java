package org.dfq4j.eval.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class JsonReportTest {

    private static final ObjectMapper READER = new ObjectMapper();

    @TempDir
    Path dir;

    record Run(String model, double top1, int images) {
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesMapsAndRecordsAsParseableJson() throws IOException {
        Path target = dir.resolve("out/result.json");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", "mobilenet");
        m.put("top1", 89.5);
        m.put("sqnr", Double.POSITIVE_INFINITY);
        m.put("runs", List.of(new Run("fp32", 89.5, 200)));
        JsonReport.write(target, m);
        JsonNode n = READER.readTree(target.toFile());
        assertEquals("mobilenet", n.get("model").asText());
        assertEquals(89.5, n.get("top1").asDouble());
        assertEquals("Infinity", n.get("sqnr").asText());
        assertEquals(200, n.get("runs").get(0).get("images").asInt());
        assertEquals("fp32", n.get("runs").get(0).get("model").asText());
        try (Stream<Path> s = Files.list(target.getParent())) {
            assertEquals(List.of("result.json"), s.map(p -> p.getFileName().toString()).toList(),
                    "no temporary file may remain");
        }
    }

    @Test
    void reportIsReadableByOthersLikeAnOrdinaryFile() throws IOException {
        Path target = dir.resolve("result.json");
        Assumptions.assumeTrue(Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class),
                "not a POSIX file system; skipping");
        JsonReport.write(target, Map.of("a", 1));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-rw----"));
        JsonReport.write(target, Map.of("a", 2));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
    }

    @Test
    void failedWriteLeavesThePreviousFileIntact() throws IOException {
        Path target = dir.resolve("result.json");
        JsonReport.write(target, Map.of("top1", 70.0));
        String before = Files.readString(target);
        // a plain Object has no properties: Jackson refuses to serialize it
        Map<String, Object> bad = new LinkedHashMap<>();
        bad.put("top1", 1.0);
        bad.put("oops", new Object());
        DfqException e = assertThrows(DfqException.class, () -> JsonReport.write(target, bad));
        assertTrue(e.getMessage().contains(target.toString()), e.getMessage());
        assertEquals(before, Files.readString(target));
        assertEquals(List.of("result.json"), listing());
    }

    @Test
    void unwritableTargetIsAnErrorNamingIt() throws IOException {
        Files.writeString(dir.resolve("file"), "x");
        Path target = dir.resolve("file/result.json");
        DfqException e = assertThrows(DfqException.class, () -> JsonReport.write(target, Map.of("a", 1)));
        assertTrue(e.getMessage().contains(target.toString()), e.getMessage());
    }

    @Test
    void readersNeverSeeAHalfWrittenFile() throws Exception {
        Path target = dir.resolve("result.json");
        int versions = 40;
        List<Map<String, Object>> values = new ArrayList<>();
        for (int v = 0; v < versions; v++) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", v);
            List<Integer> payload = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                payload.add(v * i);
            }
            m.put("payload", payload);
            values.add(m);
        }
        JsonReport.write(target, values.get(0));
        AtomicBoolean done = new AtomicBoolean();
        List<String> failures = new ArrayList<>();
        int[] reads = {0};
        Thread reader = new Thread(() -> {
            while (!done.get()) {
                try {
                    JsonNode n = READER.readTree(Files.readAllBytes(target));
                    int v = n.get("version").asInt();
                    JsonNode p = n.get("payload");
                    if (p.size() != 20_000 || p.get(19_999).asInt() != v * 19_999) {
                        failures.add("inconsistent version " + v);
                    }
                    reads[0]++;
                } catch (NoSuchFileException e) {
                    failures.add("target missing during a write");
                } catch (IOException | RuntimeException e) {
                    failures.add(e.toString());
                }
            }
        });
        reader.start();
        for (int v = 1; v < versions; v++) {
            JsonReport.write(target, values.get(v));
        }
        done.set(true);
        reader.join();
        assertEquals(List.of(), failures);
        assertTrue(reads[0] > 0, "the reader read at least once");
        assertEquals(versions - 1, READER.readTree(target.toFile()).get("version").asInt());
        assertEquals(List.of("result.json"), listing());
    }
}
