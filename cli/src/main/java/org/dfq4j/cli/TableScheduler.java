package org.dfq4j.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * Runs the cells of a {@code dfq table} on a cluster ({@code dfq table --spark MASTER}). The CLI does
 * not depend on any implementation: it finds one with {@link java.util.ServiceLoader} when a jar that
 * provides it (the distributed module, on Apache Spark) is on the class path.
 *
 * <p>An implementation only schedules: every piece is made by {@link TableJob#evaluate} (the same
 * orchestration as the single-machine table), the reference cell's pieces before the others, and the
 * driver combines what it returns ({@link DfqTable#assemble}).
 */
public interface TableScheduler {

    /**
     * Evaluates every cell of {@code job} on every shard at {@code master}.
     *
     * @return for each cell of {@link TableJob#cells()}, its pieces in shard (photograph) order, without
     *     outputs
     */
    Map<TableCell, List<TablePiece>> run(TableJob job, String master, PrintWriter progress);

    /**
     * The inputs of {@code args} (the {@code dfq} command line) that name a shared file system by URI
     * ({@code hdfs://}, {@code s3a://}, {@code file:}), listed here (names only); null when every input
     * is a local path. The default: none (local paths only).
     */
    default TableInputs inputs(List<String> args, PrintWriter progress) {
        return null;
    }
}
