package org.dfq4j.rewrite.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.dfq4j.rewrite.DfqException;

/**
 * The one way dfq4j writes a file (reports, Markdown, overlays, saved networks): nothing is lost
 * and no reader sees half a file.
 *
 * <ol>
 *   <li>The content goes to a temporary file {@code .<name>.dfq-<random>.tmp} in the target's folder,
 *       created fresh (so with the user's umask) and locked while it is written.
 *   <li>It is forced to disk and renamed over the target (ATOMIC_MOVE). A replaced file keeps its
 *       permissions; a symbolic link is followed, so the file it points to is replaced and the link stays.
 *   <li>A failed write deletes its temporary file and leaves the target as it was. A JVM that is
 *       stopped (SIGTERM, Ctrl-C) deletes the temporary files it is writing from a shutdown hook. One
 *       that is killed (SIGKILL) leaves its temporary file unlocked; the next write to the same target
 *       deletes it (a temporary file another live process holds locked is left alone).
 * </ol>
 *
 * Whether a target may be replaced at all (an input, an existing file without {@code --force}) is
 * the caller's decision, made before any work; this class only writes.
 */
public final class AtomicFile {

    /** Writes content to a stream; the stream is buffered and must not be closed by the callback. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private static final String MARK = ".dfq-";
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Temporary files being written by this JVM, deleted by the shutdown hook. */
    private static final Set<Path> ACTIVE = ConcurrentHashMap.newKeySet();
    private static volatile boolean hookInstalled;

    private AtomicFile() {
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) {
        write(target, out -> out.write(bytes));
    }

    /**
     * Writes what {@code content} produces to {@code target} atomically, creating missing parent
     * folders.
     *
     * @throws DfqException naming the target when it cannot be written (the target is then unchanged)
     */
    public static void write(Path target, Content content) {
        Path file = resolve(target, "output " + target);
        Path dir = file.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            removeStaleTemporaries(dir, file.getFileName().toString());
            tmp = createTemporary(dir, file.getFileName().toString());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                 FileLock ignored = ch.lock()) {
                keepPermissions(tmp, file);
                OutputStream out = new BufferedOutputStream(new ChannelStream(ch), 1 << 16);
                content.writeTo(out);
                out.flush();
                ch.force(true);
                move(tmp, file);
                tmp = null;
            }
            syncFolder(dir);
        } catch (IOException e) {
            throw new DfqException("cannot write " + target + ": " + describe(e), e);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
        }
    }

    /**
     * The file a write to {@code target} replaces: the absolute path, with a symbolic link followed.
     *
     * @param name how messages call the target, e.g. "report out.json"
     * @throws DfqException when the target is a folder or a link to a missing file
     */
    public static Path resolve(Path target, String name) {
        Path abs = target.toAbsolutePath().normalize();
        try {
            if (Files.isSymbolicLink(abs)) {
                if (!Files.exists(abs)) {
                    throw new DfqException(name + " is a symbolic link to a missing file; give another path");
                }
                abs = abs.toRealPath();
            }
        } catch (IOException e) {
            throw new DfqException(name + " cannot be resolved: " + describe(e), e);
        }
        if (Files.isDirectory(abs)) {
            throw new DfqException(name + " is a folder; give a file name");
        }
        return abs;
    }

    /** Whether {@code name} is a temporary file of a write to {@code target} (this or an earlier version's). */
    static boolean isTemporaryOf(String name, String target) {
        return temporaries(target).matcher(name).matches();
    }

    /**
     * ".name.dfq-hex.tmp" (this class), ".name.digits.tmp" and ".name" + "digits.tmp" (the two writers
     * it replaced, whose killed runs left such files).
     */
    private static Pattern temporaries(String target) {
        return Pattern.compile("\\." + Pattern.quote(target) + "(" + Pattern.quote(MARK) + "[0-9a-f]+|\\.?[0-9]+)\\.tmp");
    }

    private static Path createTemporary(Path dir, String name) throws IOException {
        installHook();
        for (int attempt = 0; ; attempt++) {
            byte[] r = new byte[8];
            RANDOM.nextBytes(r);
            Path tmp = dir.resolve("." + name + MARK + HexFormat.of().formatHex(r) + ".tmp");
            ACTIVE.add(tmp);
            try {
                // no attributes given: the file gets the mode an ordinary new file gets (umask)
                Files.newByteChannel(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return tmp;
            } catch (FileAlreadyExistsException e) {
                ACTIVE.remove(tmp);
                if (attempt > 10) {
                    throw e;
                }
            } catch (IOException | RuntimeException e) {
                ACTIVE.remove(tmp);
                throw e;
            }
        }
    }

    /** Deletes temporary files of earlier writes to {@code name} that no live process holds. */
    private static void removeStaleTemporaries(Path dir, String name) throws IOException {
        Pattern p = temporaries(name);
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, f -> p.matcher(f.getFileName().toString()).matches())) {
            for (Path f : s) {
                if (ACTIVE.contains(f) || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE);
                     FileLock lock = ch.tryLock()) {
                    if (lock != null) {
                        Files.deleteIfExists(f);
                    }
                } catch (OverlappingFileLockException | NoSuchFileException e) {
                    // held by this JVM, or gone meanwhile: not stale
                }
            }
        }
    }

    private static void move(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        ACTIVE.remove(tmp);
    }

    /** A replaced file keeps its permissions; a new one keeps what its creation gave it. */
    private static void keepPermissions(Path tmp, Path target) throws IOException {
        if (!Files.exists(target) || !Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
            return;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(target);
        Files.setPosixFilePermissions(tmp, perms);
    }

    /** Makes the rename durable; some file systems cannot sync a folder, which only weakens durability. */
    private static void syncFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException ignored) {
            // best effort
        }
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the write already failed; a later write to the same target removes it
        }
        ACTIVE.remove(tmp);
    }

    private static synchronized void installHook() {
        if (hookInstalled) {
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ACTIVE.forEach(AtomicFile::deleteQuietly),
                "dfq-remove-temporary-files"));
        hookInstalled = true;
    }

    private static String describe(IOException e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        String kind = e.getClass().getSimpleName();
        String reason = switch (kind) {
            case "AccessDeniedException" -> "permission denied";
            case "NoSuchFileException" -> "no such file or folder";
            case "FileSystemException" -> m;
            default -> kind + (m.isEmpty() ? "" : ": " + m);
        };
        return reason.replaceAll("\\s+", " ").trim() + (kind.equals("AccessDeniedException") ? " (check that the folder is writable)" : "");
    }

    /** An output stream onto a channel that leaves the channel open when closed. */
    private static final class ChannelStream extends OutputStream {
        private final FileChannel ch;

        ChannelStream(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }

        @Override
        public void close() {
            // the writer closes the channel after forcing it to disk
        }
    }
}
