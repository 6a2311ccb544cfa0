package org.dfq4j.distributed;

import java.io.PrintWriter;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.dfq4j.cli.TableCell;
import org.dfq4j.cli.TableInputs;
import org.dfq4j.cli.TableJob;
import org.dfq4j.cli.TablePiece;
import org.dfq4j.cli.TableScheduler;
import scala.Tuple2;

/**
 * {@code dfq table --spark MASTER} on Apache Spark. Two stages: the reference cell (the first row's
 * FP32 run) on every shard, kept on the executors (memory, spilling to disk); then every other cell
 * on every shard ({@code cartesian} of the kept references with the cells), each task comparing with
 * the reference outputs of its shard, which move between executors, never through the driver. Every
 * task is {@link TableJob#evaluate}: the executor reads the model and its shard's photographs itself
 * and runs the single-machine orchestration, rewrite and calibration included. What returns to the
 * driver is the pieces' additive tallies and rewrite logs; a failed task is retried by Spark
 * ({@code spark.task.maxFailures}, or local[N,F]) and recomputes the same piece.
 */
public final class SparkTableScheduler implements TableScheduler {

    /**
     * Test hook, a Spark property: {@code ROW:COLUMN:SHARD} (e.g. {@code 0:W8:1}, or {@code 0:W6A8:1}
     * for an extra bit width's cell) makes the first attempt of that piece's task fail, to check that
     * Spark's retry gives the same table.
     */
    public static final String FAIL_ONCE = "spark.dfq.test.failOnce";

    /** One piece as a task made it: which cell and shard, on which attempt, how long the task took. */
    record Made(TableCell cell, int shard, int attempt, double seconds, TablePiece piece) implements Serializable {

        Made light() {
            return new Made(cell, shard, attempt, seconds, piece.withoutOutputs());
        }
    }

    @Override
    public Map<TableCell, List<TablePiece>> run(TableJob job, String master, PrintWriter progress) {
        SparkConf conf = new SparkConf().setAppName("dfq table").setMaster(master);
        if (master.startsWith("local")) {
            conf.setIfMissing("spark.ui.enabled", "false").setIfMissing("spark.driver.host", "127.0.0.1")
                    .setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        long t0 = System.nanoTime();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            String failOnce = conf.get(FAIL_ONCE, "");
            List<TableJob.Shard> shards = job.shards(sc.defaultParallelism());
            progress.printf("spark: %s, %d photographs in %d shards x %d cells = %d tasks%n", master, job.photographs(),
                    shards.size(), job.cells().size(), shards.size() * job.cells().size());
            progress.flush();
            TableCell reference = job.reference();
            JavaPairRDD<TableJob.Shard, Made> references = sc.parallelize(shards, shards.size())
                    .mapToPair(s -> new Tuple2<>(s, make(job, reference, s, null, failOnce)))
                    .persist(StorageLevel.MEMORY_AND_DISK());
            List<Made> made = new ArrayList<>(references.values().map(Made::light).collect());
            List<TableCell> others = job.cells().subList(1, job.cells().size());
            if (!others.isEmpty()) {
                JavaRDD<TableCell> cells = sc.parallelize(others, others.size());
                made.addAll(references.cartesian(cells)
                        .map(t -> make(job, t._2(), t._1()._1(), t._1()._2().piece(), failOnce).light()).collect());
            }
            references.unpersist();
            summarize(made, (System.nanoTime() - t0) / 1e9, progress);
            return byCell(job, made);
        }
    }

    /** Inputs given as URIs ({@code hdfs://}, {@code s3a://}, {@code file:}): read through Hadoop's file system. */
    @Override
    public TableInputs inputs(List<String> args, PrintWriter progress) {
        return HadoopInputs.of(args, progress);
    }

    /** A task: one piece, failing on purpose on its first attempt if the test hook names it. */
    static Made make(TableJob job, TableCell cell, TableJob.Shard shard, TablePiece reference, String failOnce) {
        TaskContext task = TaskContext.get();
        int attempt = task == null ? 0 : task.attemptNumber();
        if (attempt == 0 && failOnce.equals(cell.row() + ":" + cell.column() + ":" + shard.index())) {
            throw new IllegalStateException("failure injected by " + FAIL_ONCE + "=" + failOnce + " (first attempt)");
        }
        long t0 = System.nanoTime();
        TablePiece piece = job.evaluate(cell, shard, reference);
        return new Made(cell, shard.index(), attempt, (System.nanoTime() - t0) / 1e9, piece);
    }

    private static Map<TableCell, List<TablePiece>> byCell(TableJob job, List<Made> made) {
        Map<TableCell, List<TablePiece>> pieces = new LinkedHashMap<>();
        for (TableCell c : job.cells()) {
            pieces.put(c, made.stream().filter(m -> m.cell().equals(c)).sorted(Comparator.comparingInt(Made::shard))
                    .map(Made::piece).toList());
        }
        return pieces;
    }

    /**
     * What a user sizes shards with: per task, the setup (model read, photographs listed; once per
     * executor JVM), the overhead around the evaluation (model copy, rewrite, calibration), and the
     * evaluation itself per photograph.
     */
    private static void summarize(List<Made> made, double wall, PrintWriter out) {
        double setup = 0;
        int setups = 0;
        double overhead = 0;
        double maxOverhead = 0;
        double evaluation = 0;
        long photographs = 0;
        int retried = 0;
        for (Made m : made) {
            setup += m.piece().setupSeconds();
            setups += m.piece().setupSeconds() > 0 ? 1 : 0;
            double o = m.seconds() - m.piece().setupSeconds() - m.piece().evaluationSeconds();
            overhead += o;
            maxOverhead = Math.max(maxOverhead, o);
            evaluation += m.piece().evaluationSeconds();
            photographs += m.piece().images();
            retried += m.attempt() > 0 ? 1 : 0;
        }
        out.println(String.format(Locale.ROOT, "spark: %d tasks in %.1f s; per task: setup %.2f s (model read, "
                + "photographs listed; %d times, once per executor), rewrite and calibration %.2f s mean (max %.2f), "
                + "evaluation %.2f s mean (%.4f s per photograph)", made.size(), wall, setups == 0 ? 0 : setup / setups,
                setups, overhead / made.size(), maxOverhead, evaluation / made.size(), evaluation / photographs));
        if (retried > 0) {
            out.println("spark: " + retried + " task" + (retried == 1 ? "" : "s") + " succeeded after Spark retried a"
                    + " failed attempt");
        }
        out.flush();
    }
}
