package org.dfq4j.eval.report;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * Writes results (maps, lists, records) as indented JSON, atomically: the value is serialized in
 * memory, written to a temporary file in the target's folder, forced to disk and moved over the
 * target with ATOMIC_MOVE (REPLACE_EXISTING where the file system cannot move atomically). A reader
 * never sees a half-written file, and a failed write leaves the previous file as it was.
 *
 * <p>Non-finite numbers (an SQNR of +infinity) are written as the strings "Infinity" and "NaN".
 */
public final class JsonReport {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {
    }

    /** The JSON text of a value. */
    public static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new DfqException("cannot write " + value.getClass().getSimpleName() + " as JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /**
     * Writes a value as JSON to {@code target}, creating missing parent folders.
     *
     * @throws DfqException naming the target when the value cannot be serialized or the file written
     */
    public static void write(Path target, Object value) {
        byte[] json;
        try {
            json = (MAPPER.writeValueAsString(value) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new DfqException("cannot write " + target + ": the result is not serializable as JSON ("
                    + e.getOriginalMessage() + ")", e);
        }
        writeAtomically(target, json);
    }

    /** Writes text (a Markdown table, say) with the same atomic replace as {@link #write}. */
    public static void writeText(Path target, String text) {
        writeAtomically(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes bytes (an encoded image, say) with the same atomic replace as {@link #write}. */
    public static void writeBytes(Path target, byte[] bytes) {
        writeAtomically(target, bytes);
    }

    private static void writeAtomically(Path target, byte[] json) {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + absolute.getFileName() + ".", ".tmp");
            keepReadable(tmp, absolute);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(json);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new DfqException("cannot write " + target + ": " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write already failed; the leftover temporary file is harmless
                }
            }
        }
    }

    /**
     * Temporary files are created owner-only (rw-------); the report gets the permissions of the file
     * it replaces, or rw-r--r-- like an ordinary new file.
     */
    private static void keepReadable(Path tmp, Path target) throws IOException {
        if (!Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
            return;
        }
        Set<PosixFilePermission> perms = Files.exists(target) ? Files.getPosixFilePermissions(target)
                : PosixFilePermissions.fromString("rw-r--r--");
        Files.setPosixFilePermissions(tmp, perms);
    }
}
