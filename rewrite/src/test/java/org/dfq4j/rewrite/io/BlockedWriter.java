package org.dfq4j.rewrite.io;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A process that starts an {@link AtomicFile} write to {@code args[0]}, writes a first part, says
 * "writing" on stdout and then blocks forever: the state a run is in when it is killed mid-write.
 */
public final class BlockedWriter {

    private BlockedWriter() {
    }

    public static void main(String[] args) {
        AtomicFile.write(Path.of(args[0]), out -> {
            out.write("partial".getBytes(StandardCharsets.UTF_8));
            out.flush();
            System.out.println("writing");
            System.out.flush();
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
