package org.dfq4j.cli;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;

/**
 * The inputs of a {@code dfq table --spark} command line that live on a shared file system (a cluster
 * scheduler's: HDFS, S3, {@code file:} URIs), seen on each machine as a local mirror of the folders:
 * every file listed, the photographs empty until {@link #fetch} brings the ones a piece reads. Made on
 * the driver from names only ({@link TableScheduler#inputs}); serializable, so every worker makes its
 * own mirror. The CLI reads files as local paths and never depends on the file system's client.
 */
public interface TableInputs extends Serializable {

    /** The command line with every shared input replaced by its mirror on this machine (made on first use). */
    List<String> localArgs();

    /** Brings these mirror files (photographs, masks) from the shared file system, if not yet here. */
    void fetch(Collection<Path> files);

    /** {@code text} with this machine's mirror folders named by their URIs again (for what is printed). */
    String display(String text);
}
