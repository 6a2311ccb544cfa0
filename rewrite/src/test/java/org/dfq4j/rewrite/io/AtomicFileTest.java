package org.dfq4j.rewrite.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {

    @TempDir
    Path dir;

    private List<String> temporaries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void writesAndReplacesKeepingTheTargetsPermissions() throws IOException {
        Path t = dir.resolve("r.json");
        AtomicFile.write(t, utf8("one"));
        Path plain = Files.createFile(dir.resolve("plain"));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(t),
                "a new file gets the mode any new file gets here (umask), not the temporary file's 0600");
        Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rw-r-----"));
        AtomicFile.write(t, utf8("two"));
        assertEquals("two", Files.readString(t));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(t)));
        assertEquals(List.of(), temporaries());
    }

    @Test
    void followsASymbolicLinkAndKeepsIt() throws IOException {
        Path real = Files.writeString(dir.resolve("real.md"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link.md"), real.getFileName());
        AtomicFile.write(link, utf8("new"));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("new", Files.readString(real));
    }

    @Test
    void aFailedWriteLeavesTheTargetAndNoTemporaryFile() throws IOException {
        Path t = Files.writeString(dir.resolve("keep.json"), "previous");
        DfqException e = assertThrows(DfqException.class, () -> AtomicFile.write(t, out -> {
            out.write(utf8("half"));
            throw new IOException("disk full");
        }));
        assertTrue(e.getMessage().contains(t.toString()) && e.getMessage().contains("disk full"), e.getMessage());
        assertEquals("previous", Files.readString(t));
        assertEquals(List.of(), temporaries());
    }

    @Test
    void aFolderIsNotAFile() throws IOException {
        Path d = Files.createDirectory(dir.resolve("out"));
        assertThrows(DfqException.class, () -> AtomicFile.write(d, utf8("x")));
    }

    @Test
    void removesStaleTemporariesOfTheSameTargetOnly() throws IOException {
        Path t = dir.resolve("q.dfq");
        // left by killed runs: this writer's form and the two forms of the writers it replaced
        for (String stale : List.of(".q.dfq.dfq-0a1b2c3d.tmp", ".q.dfq8234234234.tmp", ".q.dfq.123456.tmp")) {
            Files.writeString(dir.resolve(stale), "partial");
        }
        Files.writeString(dir.resolve(".other.dfq.dfq-0a1b.tmp"), "another target's");
        Files.writeString(dir.resolve(".q.dfq.backup.tmp"), "a user's file");
        AtomicFile.write(t, utf8("whole"));
        assertEquals("whole", Files.readString(t));
        assertEquals(List.of(".other.dfq.dfq-0a1b.tmp", ".q.dfq.backup.tmp"), temporaries().stream().sorted().toList());
    }

    @Test
    void leavesATemporaryFileAnotherWriterHoldsLocked() throws IOException {
        Path t = dir.resolve("busy.json");
        Path live = Files.writeString(dir.resolve(".busy.json.dfq-00ff.tmp"), "in progress");
        try (FileChannel ch = FileChannel.open(live, StandardOpenOption.WRITE); FileLock l = ch.lock()) {
            AtomicFile.write(t, utf8("done"));
            assertTrue(Files.exists(live), "a locked temporary file belongs to a live writer");
        }
        AtomicFile.write(t, utf8("again"));
        assertFalse(Files.exists(live), "unlocked, it is stale");
    }

    /** Starts a process that blocks in the middle of writing {@code target}; returns once it has started writing. */
    private static Process blockedWriter(Path target) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                BlockedWriter.class.getName(), target.toString()).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        assertEquals("writing", line, "the writer process did not start writing");
        return p;
    }

    @Test
    void sigtermRemovesTheTemporaryFile() throws Exception {
        Path t = Files.writeString(dir.resolve("term.json"), "previous");
        Process p = blockedWriter(t);
        assertEquals(1, temporaries().size(), "a temporary file exists while writing");
        p.destroy(); // SIGTERM
        p.waitFor();
        assertEquals(List.of(), temporaries(), "the shutdown hook removes the temporary file");
        assertEquals("previous", Files.readString(t));
    }

    @Test
    void afterSigkillTheNextWriteRemovesTheTemporaryFile() throws Exception {
        Path t = Files.writeString(dir.resolve("kill.json"), "previous");
        Process p = blockedWriter(t);
        p.destroyForcibly(); // SIGKILL: no hook runs
        p.waitFor();
        assertEquals(1, temporaries().size(), "a killed writer leaves its temporary file");
        assertEquals("previous", Files.readString(t));
        AtomicFile.write(t, utf8("next"));
        assertEquals(List.of(), temporaries());
        assertArrayEquals(utf8("next"), Files.readAllBytes(t));
    }
}
